package session

import "errors"

var (
	// ErrPeerMismatch means the peer proved a different identity than the
	// one that was dialed.
	ErrPeerMismatch = errors.New("peer is not the node that was dialed")
	// ErrBadCertificate means the peer's certificate is unusable: missing,
	// more than one, unparsable, or its CN is not the node_id of its key.
	ErrBadCertificate = errors.New("bad peer certificate")
	// ErrProtocol means the peer did not negotiate ALPN dptp/1 or broke the
	// HELLO exchange.
	ErrProtocol = errors.New("peer does not speak dptp/1")
	// ErrRateLimited means too many failed handshakes came from one source.
	ErrRateLimited = errors.New("too many failed handshakes from this source")
	// ErrHandshakeTimeout means the handshake did not finish in time.
	ErrHandshakeTimeout = errors.New("handshake timed out")
	// ErrBadSignature means a D-PC v1 peer's nonce signature does not verify.
	ErrBadSignature = errors.New("bad handshake signature")
	// ErrV1Unsupported means a D-PC v1 peer cannot be served: compatibility
	// is off, or this node's key is not RSA.
	ErrV1Unsupported = errors.New("D-PC v1 peer not supported")
	// ErrV1Downgrade means a node_id that has spoken dptp/1 with this node,
	// or a contact not marked as D-PC v1, tried D-PC v1's weaker handshake.
	ErrV1Downgrade = errors.New("D-PC v1 handshake refused for this node_id")
)

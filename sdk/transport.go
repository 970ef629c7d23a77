package sdk

import (
	"context"
	"io"
	"time"
)

// Transport moves bytes between this host and peers. It is an untrusted byte
// pipe: the host runs mutual TLS over every connection it returns, so a
// transport must not try to authenticate, encrypt or interpret the bytes.
type Transport interface {
	Plugin
	// Listen starts accepting connections. It returns once the addresses are
	// bound; the host then calls Accept until it closes the Listener.
	Listen(ctx context.Context, req ListenRequest) (Listener, error)
	// Dial opens a connection to the peer at req.URI.
	Dial(ctx context.Context, req DialRequest) (Conn, error)
}

// ListenRequest says where to listen.
type ListenRequest struct {
	// Addresses such as "0.0.0.0:8888" or "[::]:8888"; empty means the
	// transport's configured defaults.
	Addresses []string
}

// DialRequest says whom to dial.
type DialRequest struct {
	// URI is a dpc:// URI, e.g. "dpc://198.51.100.7:8888?node_id=…". It is
	// empty when the host dials a CapabilityDialByNodeID transport by node_id
	// alone.
	URI string
	// ExpectedNodeID is the node the host wants; the host's TLS checks
	// identity. A CapabilityDialByNodeID transport signals to it via the hub.
	ExpectedNodeID string
	// Timeout bounds the dial; zero means the transport's default.
	Timeout time.Duration
}

// Listener accepts connections, like net.Listener.
type Listener interface {
	// Accept waits for the next connection. After Close it returns an error.
	Accept() (Conn, error)
	// Addresses reports the addresses actually bound.
	Addresses() []string
	// URIs reports dpc:// URIs (without node_id) where this listener can be
	// reached; may be empty if the transport cannot tell.
	URIs() []string
	Close() error
}

// Paths a connection can take, as `dpc peers` shows them.
const (
	PathDirect      = "direct"
	PathWebRTC      = "webrtc"
	PathWebRTCRelay = "webrtc-relay"
)

// PathReporter is implemented by a Conn that can say how its bytes travel
// (PathDirect, PathWebRTC, PathWebRTCRelay); the host shows it per session.
type PathReporter interface {
	Path() string
}

// Conn is one connection's byte stream, like net.Conn without deadlines.
type Conn interface {
	io.ReadWriteCloser
	// CloseWrite half-closes the connection: the peer reads io.EOF after
	// the bytes already written.
	CloseWrite() error
	LocalAddress() string
	RemoteAddress() string
}

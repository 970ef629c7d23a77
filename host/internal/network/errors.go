package network

import "errors"

var (
	// ErrNoTransport means no transport plugin is running to dial or listen.
	ErrNoTransport = errors.New("no transport plugin is running")
	// ErrSelf means the user tried to connect to or message this node.
	ErrSelf = errors.New("that is this node's own node_id")
	// ErrPeerOffline means a request could not be sent: the peer is not
	// connected and could not be reached in time.
	ErrPeerOffline = errors.New("peer is not connected")
	// ErrNoAnswer means the peer did not answer a request in time.
	ErrNoAnswer = errors.New("peer did not answer in time")
	// ErrPeerRefused means the peer's firewall refused a request.
	ErrPeerRefused = errors.New("refused by the peer")
	// ErrPeerFailed means the peer answered a request with an error.
	ErrPeerFailed = errors.New("the peer could not answer")
	// ErrV1Off means the user asked for a D-PC v1 peer while D-PC v1
	// compatibility is off in dpc.hcl.
	ErrV1Off = errors.New("D-PC v1 compatibility is off")
	// ErrV1NeedsAddress means the user asked to reach a D-PC v1 peer by
	// node_id alone: D-PC v1 nodes are dialed at their address only.
	ErrV1NeedsAddress = errors.New("a D-PC v1 node is reached at its address only: give its dpc:// URI, not the node_id alone")
	// ErrNotOnHub means a peer cannot be reached through the hub now: it is
	// not logged in there, or its signaling socket is closed.
	ErrNotOnHub = errors.New("not reachable through the hub now")
	// ErrNotMailboxCommand means a mailbox envelope carried a command no
	// capability accepts from the mailbox (network.HandleMailbox).
	ErrNotMailboxCommand = errors.New("command not accepted from the mailbox")
	// ErrWrongPeer means the node at a URI is not the node_id it names.
	ErrWrongPeer = errors.New("the node at that address is not the one you named")
	// ErrRemovedWhileDialing means the user removed the peer while this
	// node was dialing it: the session is closed at once, not kept.
	ErrRemovedWhileDialing = errors.New("the peer was removed while this node was dialing it")
)

// PeerError is a peer's ERROR answer to a request. It wraps ErrPeerRefused
// for a permission_denied code, else ErrPeerFailed.
type PeerError struct {
	Peer    string
	Code    string
	Message string
}

func (e *PeerError) Error() string {
	return e.Peer + " answered " + e.Code + ": " + e.Message
}

// Unwrap classifies the error.
func (e *PeerError) Unwrap() error {
	if e.Code == "permission_denied" {
		return ErrPeerRefused
	}
	return ErrPeerFailed
}

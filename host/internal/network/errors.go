package network

import "errors"

var (
	// ErrNoTransport means no transport plugin is running to dial or listen.
	ErrNoTransport = errors.New("no transport plugin is running")
	// ErrSelf means the user tried to connect to or message this node.
	ErrSelf = errors.New("that is this node's own node_id")
	// ErrInvalidMessage means a message the user wrote cannot be sent.
	ErrInvalidMessage = errors.New("invalid message")
)

package channels

import (
	"errors"
	"fmt"
)

// Errors.
var (
	// ErrUnknownChannel: this node has not joined the channel (no such id,
	// or an invite not accepted yet).
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrNoInvite: there is no pending invite to the channel.
	ErrNoInvite = errors.New("no pending invite to this channel")
	// ErrNotMember: the node named is not a member of the channel.
	ErrNotMember = errors.New("not a member of the channel")
	// ErrRemoved: this node was removed from the channel (or left it); it
	// is an ErrNotMember.
	ErrRemoved = fmt.Errorf("%w (removed)", ErrNotMember)
	// ErrNoPermission: this node lacks the permission the operation needs.
	ErrNoPermission = errors.New("permission denied in the channel")
	// ErrNoEnvelopeKey: the invitee's envelope key is not known (it has
	// never had a session with this node).
	ErrNoEnvelopeKey = errors.New("the invitee's envelope key is not known")
	// ErrNoKey: this node holds no key of the channel's current epoch.
	ErrNoKey = errors.New("no key of the channel's current epoch")
	// ErrClosed: the channel is closed.
	ErrClosed = errors.New("the channel is closed")
	// ErrBadArgument: a name, text, id or permission given is not valid.
	ErrBadArgument = errors.New("bad argument")
	// ErrRefused: the channel's rules refused the op this node wrote.
	ErrRefused = errors.New("operation refused by the channel's rules")
	// errCorrupt: a record of the store does not decode.
	errCorrupt = errors.New("corrupt channel record")
)

package network

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// mailboxHandler takes the payload of one mailbox envelope whose sender
// was verified (package mailbox) as from.
type mailboxHandler func(ctx context.Context, from string, f dptp.Frame) error

// HandleMailbox registers fn for the command of T when it arrives in a
// sealed envelope through the hub's mailbox instead of over a session:
// there is no session to answer on, so fn gets the verified sender's
// node_id. Only commands registered here are accepted from a mailbox. The
// router decodes and validates the payload once, as for Handle.
func HandleMailbox[T dptp.Payload](r *Router, fn func(ctx context.Context, from string, msg T) error) {
	var zero T
	command := zero.Command()
	if _, dup := r.mailbox[command]; dup {
		panic("network: two mailbox handlers for " + command) // a wiring bug, found at start
	}
	r.mailbox[command] = func(ctx context.Context, from string, f dptp.Frame) error {
		msg, err := dptp.Decode[T](f)
		if err != nil {
			return err
		}
		return fn(ctx, from, msg)
	}
}

// AcceptsMailbox tells whether a capability registered command with
// HandleMailbox.
func (r *Router) AcceptsMailbox(command string) bool { return r.mailbox[command] != nil }

// DispatchMailbox hands the payload of a mailbox envelope from the verified
// sender from to the handler registered for command. A command nobody
// registered is ErrNotMailboxCommand; an invalid payload wraps
// dptp.ErrInvalidPayload; otherwise it is the handler's error.
func (r *Router) DispatchMailbox(ctx context.Context, from, command string, payload []byte) error {
	h := r.mailbox[command]
	if h == nil {
		return fmt.Errorf("%w: %s", ErrNotMailboxCommand, command)
	}
	return h(ctx, from, dptp.Frame{Command: command, Payload: json.RawMessage(payload)})
}

package mailbox

import "errors"

// Every error Open returns wraps exactly one of the first five; Seal's
// wrap ErrNoEnvelopeKey, ErrBadRecipient or ErrTooLarge. Service.Send
// also returns the hub's (hubsvc.ErrNoHub, hubsvc.ErrNotLoggedIn...).
var (
	// ErrMalformed means the bytes are not a mailbox envelope of this
	// version, or its plaintext is not canonical.
	ErrMalformed = errors.New("malformed mailbox envelope")
	// ErrNotForMe means the envelope does not open with this node's
	// envelope key and node_id: sealed to another node, or altered.
	ErrNotForMe = errors.New("mailbox envelope not sealed to this node")
	// ErrBadSignature means the sender's certificate does not derive its
	// node_id, or its signature does not verify.
	ErrBadSignature = errors.New("mailbox envelope signature does not verify")
	// ErrExpired means the envelope was made more than MaxAge ago.
	ErrExpired = errors.New("mailbox envelope expired")
	// ErrFromFuture means the envelope claims a time more than MaxSkew
	// ahead of this node's clock.
	ErrFromFuture = errors.New("mailbox envelope made in the future")

	// ErrReplay means an envelope was delivered before (the replay set
	// holds its digest until it expires).
	ErrReplay = errors.New("mailbox envelope already delivered")
	// ErrNoEnvelopeKey means the recipient's peer record holds no envelope
	// key to seal to.
	ErrNoEnvelopeKey = errors.New("no envelope key for the recipient")
	// ErrBadRecipient means the recipient's envelope key is not bound to
	// its node_id by the certificate in its peer record.
	ErrBadRecipient = errors.New("the recipient's envelope key is not bound to its node_id")
	// ErrTooLarge means the envelope would exceed MaxEnvelopeSize.
	ErrTooLarge = errors.New("mailbox envelope too large")
)

package chancrypt

import "errors"

// ErrOpen is returned when a sealed body does not open: wrong key, another
// channel, epoch or header, truncated or modified bytes. Which one is not
// said, on purpose.
var ErrOpen = errors.New("channel body does not open")

// ErrUnwrap is returned when a wrapped key does not open with this node's
// envelope key for this channel, epoch and node_id.
var ErrUnwrap = errors.New("wrapped channel key does not open")

// ErrTooLarge is returned for a plaintext or sealed body beyond the limits.
var ErrTooLarge = errors.New("channel body too large")

// ErrInvalidID is returned for a channel id, epoch id or HeaderDigest that is
// not 32 bytes or (channel, epoch) all zero, and for an invalid node_id.
var ErrInvalidID = errors.New("invalid channel identifier")

// ErrInvalidKey is returned for an epoch key that is not 32 bytes or is all
// zero, and for an envelope key that is not X25519.
var ErrInvalidKey = errors.New("invalid channel key")

// ErrEnvelopeBinding is returned by WrapToMember when the member's envelope
// key is not bound to its node key.
var ErrEnvelopeBinding = errors.New("member envelope key is not bound to its node key")

// ErrBadIntroduction is returned when introduction bytes are not a canonical
// introduction, or a statement is not well formed.
var ErrBadIntroduction = errors.New("malformed introduction")

// ErrIntroductionExpired is returned by Verify for an introduction past its expiry.
var ErrIntroductionExpired = errors.New("introduction expired")

// ErrIntroductionFuture is returned by Verify for an introduction dated
// more than MaxClockSkew after now.
var ErrIntroductionFuture = errors.New("introduction dated in the future")

// ErrCertificateMismatch is returned by VouchesFor when the subject's
// certificate is not the one the introduction names.
var ErrCertificateMismatch = errors.New("certificate is not the one vouched for")

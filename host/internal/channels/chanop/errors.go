package chanop

import "errors"

// Sentinel errors. Decoding and verification errors wrap one of these.
var (
	// ErrMalformed is returned for bytes that are not the canonical
	// encoding of an op or a body (truncated, trailing bytes, non-minimal
	// varint, unsorted parents, a field out of its range...).
	ErrMalformed = errors.New("malformed channel operation")
	// ErrTooLarge is returned when a length exceeds its limit.
	ErrTooLarge = errors.New("channel operation field too large")
	// ErrUnknownVersion is returned for a format version other than 1.
	ErrUnknownVersion = errors.New("unknown channel operation format version")
	// ErrUnknownType is returned for an op type outside Create..Close.
	ErrUnknownType = errors.New("unknown channel operation type")
	// ErrBodyHash is returned when the body does not hash to the header's body hash.
	ErrBodyHash = errors.New("channel operation body does not match its hash")
	// ErrBadSignature is returned when the op's signature does not verify.
	ErrBadSignature = errors.New("channel operation signature does not verify")
	// ErrAuthorKey is returned when the key given for an op's author (or a
	// member's certificate) does not derive the node_id it is used for.
	ErrAuthorKey = errors.New("key does not derive the node_id")
	// ErrBadCertificate is returned for a certificate that does not parse or
	// holds an unsupported key.
	ErrBadCertificate = errors.New("bad member certificate")
	// ErrEnvelopeBinding is returned when a member's envelope key binding does not verify.
	ErrEnvelopeBinding = errors.New("envelope key binding does not verify")
	// ErrBadArgument is returned by the builders for arguments that would
	// make an op the decoder refuses.
	ErrBadArgument = errors.New("bad channel operation argument")
)

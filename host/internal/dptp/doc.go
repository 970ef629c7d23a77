// Package dptp is the codec of DPTP, the D-PC Transfer Protocol, as spoken
// on this host's native sessions: the framing, the command names and the
// payload types with their validation. It does no I/O of its own beyond the
// io.Reader / io.Writer it is given and knows nothing about sessions,
// storage or the firewall. The protocol is written down in proto/dptp.md.
//
// # Where it sits
//
// A session runs over a transport plugin's byte stream, inside mutual TLS 1.3
// with ALPN [Protocol] ("dptp/1"). TLS has already proven the peer's node_id
// before the first frame is read, so nothing in this package is about
// identity: HELLO.node_id is only checked for form here and compared with the
// TLS identity by the session.
//
// # Framing
//
// A frame is 10 ASCII decimal digits giving the body length in bytes
// ("%010d", see [HeaderSize]) followed by that many bytes of UTF-8 JSON:
//
//	0000000054{"command":"BYE","payload":{"reason":"shutting down"}}
//
// The body is an object with a string "command" matching [A-Z0-9_]{1,64} and
// an optional "payload" object. Other top-level keys are ignored. [Reader]
// enforces a maximum body size ([DefaultMaxFrameSize] unless told otherwise)
// before allocating anything, and rejects malformed frames with
// [ErrBadHeader], [ErrFrameTooLarge] or [ErrBadFrame]. [Writer] is safe for
// concurrent use and writes each frame with one Write call.
//
// # Payloads
//
// Each command has a payload struct (Hello, SendText, Ack, ...) implementing
// [Payload]. Start with [Decode] (typed) or [DecodePayload] (dispatch on the
// command): unknown fields are ignored so newer peers can add fields, but
// wrong types, duplicated known fields, case-variant field names and values
// outside the limits are [ErrInvalidPayload] errors carrying a [*FieldError]
// that names the field. [Encode] and [Writer.Send] validate before sending.
//
// A session reading frames typically does:
//
//	f, err := r.Read()
//	if err != nil { /* log, close the connection */ }
//	p, err := dptp.DecodePayload(f)
//	switch {
//	case errors.Is(err, dptp.ErrUnknownCommand): // answer ERROR unknown_command, keep going
//	case err != nil: // answer ERROR bad_request (with *FieldError details)
//	}
package dptp

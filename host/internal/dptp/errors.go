package dptp

import (
	"errors"
	"fmt"
)

// ErrFrameTooLarge is returned when a frame header announces more bytes than
// the reader accepts, or when Encode would produce a frame larger than
// DefaultMaxFrameSize. The stream cannot be resynchronised afterwards.
var ErrFrameTooLarge = errors.New("dptp: frame too large")

// ErrBadHeader is returned when the 10-byte length header is not 10 ASCII
// decimal digits (including an HTTP request sent to a DPTP port). The stream
// cannot be resynchronised afterwards.
var ErrBadHeader = errors.New("dptp: bad frame header")

// ErrBadFrame is returned when a complete frame body is not a valid DPTP
// envelope: invalid UTF-8 or JSON, not an object, a missing, empty,
// duplicated or malformed "command", or a "payload" that is not an object.
var ErrBadFrame = errors.New("dptp: bad frame")

// ErrInvalidPayload is returned (inside a *FieldError) when a payload has a
// field of the wrong JSON type or a value that breaks the protocol's rules.
var ErrInvalidPayload = errors.New("dptp: invalid payload")

// ErrCommandMismatch is returned by Decode when the frame carries another
// command than the requested payload type, and by Encode when a Payload is
// sent under another command name.
var ErrCommandMismatch = errors.New("dptp: command mismatch")

// ErrUnknownCommand is returned by DecodePayload for a well-formed command
// name that this package has no payload type for (answer it with ERROR
// code "unknown_command" and keep the connection).
var ErrUnknownCommand = errors.New("dptp: unknown command")

// FieldError describes an invalid payload: which command, which field (a
// JSON path such as "messages[2].text", empty when the problem is the payload
// as a whole) and what is wrong. It unwraps to ErrInvalidPayload, so
// errors.Is(err, ErrInvalidPayload) holds and errors.As gives the details a
// session needs to answer with an ERROR frame.
type FieldError struct {
	// Command is the DPTP command whose payload is invalid.
	Command string
	// Field is the JSON path of the offending field, or "" for the whole payload.
	Field string
	// Problem says what is wrong, in lower case, without the field name.
	Problem string
}

// Error formats the error as "dptp: invalid payload: COMMAND.field: problem".
func (e *FieldError) Error() string {
	where := e.Command
	if e.Field != "" {
		where += "." + e.Field
	}
	return fmt.Sprintf("%s: %s: %s", ErrInvalidPayload, where, e.Problem)
}

// Unwrap returns ErrInvalidPayload.
func (e *FieldError) Unwrap() error { return ErrInvalidPayload }

func fieldErr(cmd, field, format string, args ...any) error {
	return &FieldError{Command: cmd, Field: field, Problem: fmt.Sprintf(format, args...)}
}

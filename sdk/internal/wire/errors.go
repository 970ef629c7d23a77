package wire

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The SDK's sentinel errors (package sdk re-exports them with their docs).
// They are defined here because both sides map them to and from gRPC codes.
var (
	ErrNotFound         = errors.New("not found")
	ErrNotConfigured    = errors.New("plugin is not configured")
	ErrUnsupported      = errors.New("not supported by this plugin")
	ErrPermissionDenied = errors.New("permission denied")
	ErrInvalidArgument  = errors.New("invalid argument")
	ErrUnavailable      = errors.New("unavailable")
)

var codeOf = []struct {
	err  error
	code codes.Code
}{
	{ErrNotFound, codes.NotFound},
	{ErrNotConfigured, codes.FailedPrecondition},
	{ErrUnsupported, codes.Unimplemented},
	{ErrPermissionDenied, codes.PermissionDenied},
	{ErrInvalidArgument, codes.InvalidArgument},
	{ErrUnavailable, codes.Unavailable},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// ToStatus turns an error from Go code into a gRPC status error.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, c := range codeOf {
		if errors.Is(err, c.err) {
			return status.Error(c.code, err.Error())
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// remoteError is an error that crossed the plugin boundary: it prints the
// remote message and matches the sdk sentinel of its code with errors.Is.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// FromStatus turns a gRPC error back into a Go error matching the sdk
// sentinel for its code.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, c := range codeOf {
		if st.Code() == c.code {
			return &remoteError{msg: st.Message(), sentinel: c.err}
		}
	}
	return &remoteError{msg: st.Message()}
}

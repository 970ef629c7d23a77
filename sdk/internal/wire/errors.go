package wire

import (
	"context"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codePair is an error and the gRPC code it crosses the wire as.
type codePair struct {
	err  error
	code codes.Code
}

// sentinels are the SDK's sentinel errors. Package sdk defines them and
// adds them with Sentinel when it is initialised; both sides import sdk.
var sentinels []codePair

// contextCodes come after the sentinels: an error that wraps both crosses
// as the sentinel.
var contextCodes = []codePair{
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// Sentinel maps err to code on both sides of the wire: ToStatus sends an
// error wrapping err with code, FromStatus turns code back into an error
// wrapping err.
func Sentinel(err error, code codes.Code) {
	sentinels = append(sentinels, codePair{err, code})
}

// pairs lists every mapping, sentinels first.
func pairs() func(yield func(codePair) bool) {
	return slices.Values(append(slices.Clip(sentinels), contextCodes...))
}

// ToStatus turns an error from Go code into a gRPC status error.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for c := range pairs() {
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
	for c := range pairs() {
		if st.Code() == c.code {
			return &remoteError{msg: st.Message(), sentinel: c.err}
		}
	}
	return &remoteError{msg: st.Message()}
}

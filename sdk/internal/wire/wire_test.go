package wire

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestOneSideOnly: a plugin-side set never dispenses and a host-side set
// never serves, so a set used on the wrong side fails loudly.
func TestOneSideOnly(t *testing.T) {
	t.Parallel()
	if _, err := (&Server{}).GRPCClient(context.Background(), nil, nil); !errors.Is(err, errServeOnly) {
		t.Errorf("Server.GRPCClient: want errServeOnly, got %v", err)
	}
	if err := (&Dispenser{}).GRPCServer(nil, nil); !errors.Is(err, errDispenseOnly) {
		t.Errorf("Dispenser.GRPCServer: want errDispenseOnly, got %v", err)
	}
}

// TestStatusRoundTrip: a registered sentinel crosses as its code and comes
// back matching it; a sentinel wins over a context error it also wraps.
func TestStatusRoundTrip(t *testing.T) {
	errGone := errors.New("gone")
	Sentinel(errGone, codes.NotFound)
	tests := map[string]struct {
		err      error
		wantCode codes.Code
		wantIs   error
	}{
		"sentinel":                  {err: fmt.Errorf("key k: %w", errGone), wantCode: codes.NotFound, wantIs: errGone},
		"cancelled":                 {err: context.Canceled, wantCode: codes.Canceled, wantIs: context.Canceled},
		"deadline":                  {err: context.DeadlineExceeded, wantCode: codes.DeadlineExceeded, wantIs: context.DeadlineExceeded},
		"sentinel over the context": {err: errors.Join(context.Canceled, errGone), wantCode: codes.NotFound, wantIs: errGone},
		"anything else":             {err: errors.New("boom"), wantCode: codes.Unknown},
		"already a status":          {err: status.Error(codes.Aborted, "x"), wantCode: codes.Aborted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := ToStatus(tc.err)
			if got := status.Code(st); got != tc.wantCode {
				t.Fatalf("want code %v, got %v", tc.wantCode, got)
			}
			back := FromStatus(st)
			if tc.wantIs != nil && !errors.Is(back, tc.wantIs) {
				t.Errorf("want the error back to match %v, got %v", tc.wantIs, back)
			}
			if s, _ := status.FromError(st); back.Error() != s.Message() {
				t.Errorf("want the remote message %q, got %q", s.Message(), back.Error())
			}
		})
	}
	if ToStatus(nil) != nil || FromStatus(nil) != nil {
		t.Error("want nil to stay nil")
	}
}

func TestUnixMs(t *testing.T) {
	t.Parallel()
	when := time.UnixMilli(1_700_000_000_123)
	if got := FromUnixMs(UnixMs(when)); !got.Equal(when) {
		t.Errorf("want %v back, got %v", when, got)
	}
	if UnixMs(time.Time{}) != 0 || !FromUnixMs(0).IsZero() {
		t.Error("want the zero time to cross as 0 and back")
	}
}

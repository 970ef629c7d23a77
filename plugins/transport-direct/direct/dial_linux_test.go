package direct_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// unansweringAddr returns a loopback address whose SYNs go unanswered, so
// that dialing it hangs until a timeout, without leaving this machine: a
// socket listening with a backlog of 0 whose accept queue is already full
// (Linux then drops new SYNs).
func unansweringAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue; never accept.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full: this dial went unanswered
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Skip("could not make a loopback address that leaves dials unanswered")
	return ""
}

func TestDialTimeoutIsBounded(t *testing.T) {
	t.Parallel()
	addr := unansweringAddr(t)
	tests := map[string]struct {
		configMS    int
		reqTimeout  time.Duration
		ctxTimeout  time.Duration
		want        time.Duration
		wantErr     error
		wantMessage string
	}{
		"request timeout": {configMS: 60000, reqTimeout: 300 * time.Millisecond, want: 300 * time.Millisecond,
			wantErr: sdk.ErrUnavailable, wantMessage: "timeout 300ms"},
		"configured timeout": {configMS: 300, want: 300 * time.Millisecond,
			wantErr: sdk.ErrUnavailable, wantMessage: "timeout 300ms"},
		"context deadline first": {configMS: 60000, reqTimeout: time.Minute, ctxTimeout: 300 * time.Millisecond,
			want: 300 * time.Millisecond, wantErr: context.DeadlineExceeded},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.DialTimeoutMS = tc.configMS
			p := newPlugin(t, cfg)
			ctx := context.Background()
			if tc.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			c, err := p.Dial(ctx, sdk.DialRequest{URI: "dpc://" + addr, Timeout: tc.reqTimeout})
			took := time.Since(start)
			if err == nil {
				_ = c.Close()
				t.Fatalf("want the dial to time out, it connected")
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("want %v naming %s and %q, got %v", tc.wantErr, addr, tc.wantMessage, err)
			}
			if took < tc.want-50*time.Millisecond || took > tc.want+30*time.Second {
				t.Errorf("want the dial to give up after about %v, took %v", tc.want, took)
			}
		})
	}
}

package rtc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	// Over real gRPC; the round trip needs a URI, which this transport has
	// not (it dials by node_id), so sdktest skips it: TestDialAccept and
	// TestTransfer cover it through two plugins.
	sdktest.Conformance(t, func() sdk.Plugin { return &rtc.Plugin{} }, sdktest.Options{})
}

func TestInfo(t *testing.T) {
	info := (&rtc.Plugin{}).Info()
	if info.Name != "transport-webrtc" || !slices.Contains(info.Capabilities, sdk.CapabilityDialByNodeID) {
		t.Errorf("want name transport-webrtc with capability %q, got %+v", sdk.CapabilityDialByNodeID, info)
	}
}

func TestDialAccept(t *testing.T) {
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)

	for name, c := range map[string]sdk.Conn{"dialed": dialed, "accepted": accepted} {
		if p := c.(sdk.PathReporter).Path(); p != sdk.PathWebRTC {
			t.Errorf("%s Path: want %q, got %q", name, sdk.PathWebRTC, p)
		}
		if c.LocalAddress() == "" || c.RemoteAddress() == "" {
			t.Errorf("%s: want both addresses, got %q %q", name, c.LocalAddress(), c.RemoteAddress())
		}
	}
	// Both ways, then half-close each way: the other side reads EOF and can
	// still write.
	if _, err := dialed.Write([]byte("ping")); err != nil {
		t.Fatalf("dialed Write: %v", err)
	}
	if err := dialed.CloseWrite(); err != nil {
		t.Fatalf("dialed CloseWrite: %v", err)
	}
	got, err := io.ReadAll(accepted)
	if err != nil || string(got) != "ping" {
		t.Fatalf("accepted: want %q then EOF, got %q (err %v)", "ping", got, err)
	}
	if _, err := dialed.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseWrite: want net.ErrClosed, got %v", err)
	}
	if _, err := accepted.Write([]byte("pong")); err != nil {
		t.Fatalf("accepted Write after the peer's CloseWrite: %v", err)
	}
	_ = accepted.CloseWrite()
	back, err := io.ReadAll(dialed)
	if err != nil || string(back) != "pong" {
		t.Fatalf("dialed: want %q then EOF, got %q (err %v)", "pong", back, err)
	}
}

func TestTransfer(t *testing.T) {
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)
	const size = 20 << 20
	// 20 MB each way at once, in odd-sized writes, compared by sha256.
	send := func(c sdk.Conn) (sum [32]byte, err error) {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		sum = sha256.Sum256(data)
		for off := 0; off < len(data); {
			n := min(len(data)-off, 100_003)
			if _, err := c.Write(data[off : off+n]); err != nil {
				return sum, err
			}
			off += n
		}
		return sum, c.CloseWrite()
	}
	recv := func(c sdk.Conn) (sum [32]byte, n int64, err error) {
		h := sha256.New()
		n, err = io.Copy(h, c)
		copy(sum[:], h.Sum(nil))
		return sum, n, err
	}
	type result struct {
		sent, got [32]byte
		n         int64
		err       error
	}
	run := func(from, to sdk.Conn) <-chan result {
		ch := make(chan result, 1)
		go func() {
			var r result
			var wg sync.WaitGroup
			wg.Add(1)
			var sendErr error
			go func() { defer wg.Done(); r.sent, sendErr = send(from) }()
			r.got, r.n, r.err = recv(to)
			wg.Wait()
			r.err = errors.Join(r.err, sendErr)
			ch <- r
		}()
		return ch
	}
	ab, ba := run(dialed, accepted), run(accepted, dialed)
	for name, ch := range map[string]<-chan result{"dialer→acceptor": ab, "acceptor→dialer": ba} {
		r := <-ch
		if r.err != nil || r.n != size || r.sent != r.got {
			t.Errorf("%s: want %d bytes with sha256 %x, got %d with %x (err %v)", name, size, r.sent, r.n, r.got, r.err)
		}
	}
}

func TestConcurrentConnections(t *testing.T) {
	a, b, ln := pair(t, testConfig(), testConfig())
	const conns, size = 6, 1 << 20
	accepted := make(chan sdk.Conn, conns)
	go func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			// Echo each accepted connection.
			go func() { _, _ = io.Copy(c, c); _ = c.CloseWrite() }()
			accepted <- c
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := a.p.Dial(ctx, sdk.DialRequest{ExpectedNodeID: b.id})
			if err != nil {
				errs <- fmt.Errorf("dial %d: %w", i, err)
				return
			}
			defer c.Close()
			data := make([]byte, size)
			_, _ = rand.Read(data)
			go func() { _, _ = c.Write(data); _ = c.CloseWrite() }()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("conn %d: want the %d bytes echoed, got %d (err %v)", i, size, len(got), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseEndsThePeer(t *testing.T) {
	tests := map[string]struct {
		closeDialer bool
	}{
		"dialer closes":   {closeDialer: true},
		"acceptor closes": {closeDialer: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, b, ln := pair(t, testConfig(), testConfig())
			dialed, accepted := connect(t, a, b, ln)
			closer, peer := accepted, dialed
			if tc.closeDialer {
				closer, peer = dialed, accepted
			}
			errc := make(chan error, 1)
			go func() { errc <- readErr(peer) }() // blocked in Read when Close comes
			if err := closer.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-errc; !errors.Is(err, rtc.ErrClosedByPeer) {
				t.Errorf("peer Read after Close: want ErrClosedByPeer, got %v", err)
			}
			if _, err := closer.Write([]byte("x")); !isClosedErr(err) {
				t.Errorf("Write after Close: want a closed error, got %v", err)
			}
		})
	}
}

func TestCloseAfterCloseWriteLosesNoBytes(t *testing.T) {
	// The writer closes right after its last write: what it wrote still
	// reaches the peer, which reads it all and then EOF.
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)
	data := make([]byte, 4<<20)
	_, _ = rand.Read(data)
	done := make(chan error, 1)
	go func() {
		_, err := dialed.Write(data)
		err = errors.Join(err, dialed.CloseWrite(), dialed.Close())
		done <- err
	}()
	got, err := io.ReadAll(accepted)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("want the %d bytes then EOF, got %d (err %v)", len(data), len(got), err)
	}
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
}

func TestDialRejectsURI(t *testing.T) {
	n := newNode(t, "dpc-node-a", testConfig())
	tests := map[string]sdk.DialRequest{
		"dpc uri":     {URI: "dpc://127.0.0.1:8888", ExpectedNodeID: "dpc-node-b"},
		"no node_id":  {},
		"huge nodeid": {ExpectedNodeID: strings.Repeat("x", 1000)},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := n.p.Dial(context.Background(), req)
			if !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Fatalf("want ErrInvalidArgument, got %v", err)
			}
		})
	}
	if _, err := n.p.Dial(context.Background(), tests["dpc uri"]); !strings.Contains(err.Error(), "by node_id through the hub") {
		t.Errorf("want the error to say it dials by node_id through the hub, got %v", err)
	}
}

func TestDialFailuresSayWhatDidNotHappen(t *testing.T) {
	tests := map[string]struct {
		listen  bool
		drop    bool // the hub loses every signal
		timeout time.Duration
		want    string
		wantErr error
	}{
		"peer not listening": {listen: false, timeout: 15 * time.Second, want: "not listening", wantErr: rtc.ErrClosedByPeer},
		"no answer":          {listen: true, drop: true, timeout: 500 * time.Millisecond, want: "no answer from dpc-node-b through the hub", wantErr: sdk.ErrUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, b := newNode(t, "dpc-node-a", testConfig()), newNode(t, "dpc-node-b", testConfig())
			hub(a, b)
			if tc.drop {
				a.host.OnRouteSignal = nil
			}
			if tc.listen {
				ln, err := b.p.Listen(context.Background(), sdk.ListenRequest{})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			start := time.Now()
			_, err := a.p.Dial(context.Background(), sdk.DialRequest{ExpectedNodeID: b.id, Timeout: tc.timeout})
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %v and sdk.ErrUnavailable saying %q, got %v", tc.wantErr, tc.want, err)
			}
			if took := time.Since(start); took > tc.timeout+10*time.Second {
				t.Errorf("dial took %v, want it bounded by %v", took, tc.timeout)
			}
			// The dialer told the peer it gave up.
			if tc.drop && !waitSignal(t, a.host, func(s sdk.Signal) bool { return s.Type == "webrtc-close" }) {
				t.Errorf("want a webrtc-close sent after the failed dial, got %d signals without one", len(a.host.Signals()))
			}
		})
	}
}

func TestShutdownClosesEverything(t *testing.T) {
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)
	if err := b.p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Errorf("Accept after Shutdown: want an error")
	}
	if err := readErr(accepted); !isClosedErr(err) {
		t.Errorf("accepted Read after Shutdown: want a closed error, got %v", err)
	}
	if err := readErr(dialed); !errors.Is(err, rtc.ErrClosedByPeer) {
		t.Errorf("the peer's Read after Shutdown: want ErrClosedByPeer, got %v", err)
	}
	if _, err := b.p.Dial(context.Background(), sdk.DialRequest{ExpectedNodeID: a.id}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Dial after Shutdown: want ErrNotConfigured, got %v", err)
	}
}

func TestCloseUnblocksABlockedWriter(t *testing.T) {
	// The peer reads nothing, so the writer blocks once SCTP's windows are
	// full; closing either end makes the blocked Write return an error (the
	// writer's own Close after waiting up to 5 s for the peer to take what
	// was written).
	tests := map[string]struct{ closeWriter bool }{
		"writer closes": {closeWriter: true},
		"reader closes": {closeWriter: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, b, ln := pair(t, testConfig(), testConfig())
			dialed, accepted := connect(t, a, b, ln)
			written := make(chan int64, 2)
			errc := make(chan error, 1)
			go func() {
				buf := make([]byte, 64<<10)
				var n int64
				for {
					m, err := dialed.Write(buf)
					n += int64(m)
					if err != nil {
						written <- n
						errc <- err
						return
					}
					if n == 64<<10 {
						written <- n // the first write went through
					}
				}
			}()
			<-written
			if tc.closeWriter {
				_ = dialed.Close()
			} else {
				_ = accepted.Close()
			}
			if err := <-errc; !isClosedErr(err) {
				t.Errorf("blocked Write after Close: want a closed error, got %v", err)
			}
		})
	}
}

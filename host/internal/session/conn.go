package session

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// netConn adapts an sdk.Conn to net.Conn for crypto/tls. Reads go through a
// pump goroutine so that read deadlines work; a write that outlives its
// deadline closes the connection (a stuck transport must not hang a session).
type netConn struct {
	c sdk.Conn

	reads   chan readResult
	pending []byte
	rerr    error
	// heard is set once the peer sent a byte.
	heard atomic.Bool

	mu            sync.Mutex
	readDeadline  time.Time
	writeDeadline time.Time
	closed        chan struct{}
	closeOnce     sync.Once
}

type readResult struct {
	b   []byte
	err error
}

// pumpBuffer is the largest read size of the pump: one gRPC data frame.
// Reads start at pumpMin and grow while they fill the buffer, so an idle
// connection — one of a flood, say — pins pumpMin bytes, not pumpBuffer.
const (
	pumpBuffer = 64 << 10
	pumpMin    = 2 << 10
)

func newNetConn(c sdk.Conn) *netConn {
	n := &netConn{c: c, reads: make(chan readResult, 4), closed: make(chan struct{})}
	go n.pump()
	return n
}

func (n *netConn) pump() {
	size := pumpMin
	for {
		buf := make([]byte, size)
		k, err := n.c.Read(buf)
		if k > 0 {
			n.heard.Store(true)
		}
		switch {
		case k == size:
			size = min(2*size, pumpBuffer)
		case k < size/4:
			size = max(size/2, pumpMin)
		}
		select {
		case n.reads <- readResult{b: buf[:k], err: err}:
		case <-n.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

// errDeadline is net's timeout error, so callers can test os.ErrDeadlineExceeded.
var errDeadline = os.ErrDeadlineExceeded

func (n *netConn) Read(p []byte) (int, error) {
	for len(n.pending) == 0 {
		if n.rerr != nil {
			return 0, n.rerr
		}
		n.mu.Lock()
		dl := n.readDeadline
		n.mu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, errDeadline
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case r := <-n.reads:
			n.pending, n.rerr = r.b, r.err
		case <-timeout:
			return 0, errDeadline
		case <-n.closed:
			return 0, net.ErrClosed
		}
	}
	k := copy(p, n.pending)
	n.pending = n.pending[k:]
	return k, nil
}

func (n *netConn) Write(p []byte) (int, error) {
	n.mu.Lock()
	dl := n.writeDeadline
	n.mu.Unlock()
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return 0, errDeadline
		}
		t := time.AfterFunc(d, func() { _ = n.Close() })
		defer t.Stop()
	}
	k, err := n.c.Write(p)
	if err != nil && !dl.IsZero() && time.Now().After(dl) {
		return k, errDeadline
	}
	return k, err
}

func (n *netConn) Close() error {
	n.closeOnce.Do(func() {
		close(n.closed)
		_ = n.c.Close()
	})
	return nil
}

// CloseWrite half-closes the transport connection.
func (n *netConn) CloseWrite() error { return n.c.CloseWrite() }

func (n *netConn) LocalAddr() net.Addr  { return addr(n.c.LocalAddress()) }
func (n *netConn) RemoteAddr() net.Addr { return addr(n.c.RemoteAddress()) }

func (n *netConn) SetDeadline(t time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.readDeadline, n.writeDeadline = t, t
	return nil
}

func (n *netConn) SetReadDeadline(t time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.readDeadline = t
	return nil
}

func (n *netConn) SetWriteDeadline(t time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.writeDeadline = t
	return nil
}

// addr is a transport address as the transport reported it.
type addr string

func (a addr) Network() string { return "dpc-transport" }
func (a addr) String() string  { return string(a) }

var _ net.Conn = (*netConn)(nil)

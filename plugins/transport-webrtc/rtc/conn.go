package rtc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

// MaxMessage is the largest data channel message sent or accepted
// (proto/webrtc.md §3); bigger ones are slow in pion (stack-notes §5).
const MaxMessage = 64 << 10

// closeWrite is the text message that ends the sender's direction.
const closeWrite = "close-write"

// conn is one connection's byte stream over the session's `dpc` data
// channel, detached: Write blocks while SCTP's send window is full, and
// Read takes one message at a time (SCTP's receive window is the bound).
type conn struct {
	s  *session
	dc *webrtc.DataChannel
	rw datachannel.ReadWriteCloserDeadliner

	local, remote string

	rmu sync.Mutex
	// rbuf holds the rest of a message a short Read did not take.
	rbuf       []byte
	rpos, rlen int
	eof        bool

	wmu     sync.Mutex
	wclosed bool
	// wmax is the largest message the peer takes: MaxMessage, or less when
	// its SDP says so. A browser's answer may carry no a=max-message-size
	// (RFC 8841: 64 KiB), and pion then allows 65535 bytes.
	wmax int
}

func newConn(s *session, dc *webrtc.DataChannel, rw datachannel.ReadWriteCloserDeadliner) *conn {
	c := &conn{s: s, dc: dc, rw: rw, local: "webrtc", remote: "webrtc/" + s.key.peer, wmax: MaxMessage}
	if sctp := s.pc.SCTP(); sctp != nil {
		if m := int(sctp.GetCapabilities().MaxMessageSize); m > 0 && m < c.wmax {
			c.wmax = m
		}
	}
	if pair := s.selectedPair(); pair != nil {
		c.local = net.JoinHostPort(pair.Local.Address, fmt.Sprint(pair.Local.Port))
		c.remote = net.JoinHostPort(pair.Remote.Address, fmt.Sprint(pair.Remote.Port))
	}
	return c
}

// selectedPair is the ICE candidate pair in use, or nil.
func (s *session) selectedPair() *webrtc.ICECandidatePair {
	sctp := s.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil
	}
	return pair
}

// Read returns the peer's bytes in order; io.EOF once the peer sent
// close-write. A connection that ends otherwise (closed by the peer or
// here, path lost) reads an error saying so.
func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rpos < c.rlen {
		n := copy(b, c.rbuf[c.rpos:c.rlen])
		c.rpos += n
		return n, nil
	}
	if c.eof {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	for {
		dst, direct := b, len(b) >= MaxMessage
		if !direct {
			if c.rbuf == nil {
				c.rbuf = make([]byte, MaxMessage)
			}
			dst = c.rbuf
		}
		n, isString, err := c.rw.ReadDataChannel(dst)
		if err != nil {
			return 0, c.readError(err)
		}
		if isString {
			if string(dst[:n]) == closeWrite {
				c.eof = true
				return 0, io.EOF
			}
			c.s.log.Debug("ignoring an unknown text message on the data channel", "bytes", n)
			continue
		}
		if n == 0 {
			continue
		}
		if direct {
			return n, nil
		}
		m := copy(b, dst[:n])
		c.rpos, c.rlen = m, n
		return m, nil
	}
}

// readError says why the data channel stopped giving bytes.
func (c *conn) readError(err error) error {
	if errors.Is(err, io.ErrShortBuffer) {
		err = fmt.Errorf("%s: %w: the peer sent a message over %d bytes", pluginName, sdk.ErrInvalidArgument, MaxMessage)
		c.s.close(err, "message too large")
		return err
	}
	return c.ended(err)
}

// ended is the error of a data channel that failed under Read or Write.
// If this side did not close the session, the peer or the association
// did (pion reports the stream's end before the data channel's close
// callback runs): the session is closed with ErrClosedByPeer.
func (c *conn) ended(err error) error {
	if serr := c.s.closed(); serr != nil {
		return serr
	}
	reason := "its data channel closed before close-write"
	if !errors.Is(err, io.EOF) {
		reason = err.Error()
	}
	c.s.close(fmt.Errorf("%s: %w (%s)", pluginName, ErrClosedByPeer, reason), "")
	return c.s.closed()
}

// Write sends b in messages of at most wmax bytes, blocking while
// the send window is full.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return 0, fmt.Errorf("%s: write after CloseWrite: %w", pluginName, net.ErrClosed)
	}
	n := 0
	for len(b) > 0 {
		if err := c.s.closed(); err != nil {
			return n, err
		}
		chunk := b[:min(len(b), c.wmax)]
		if _, err := c.rw.WriteDataChannel(chunk, false); err != nil {
			return n, c.writeError(err)
		}
		n += len(chunk)
		b = b[len(chunk):]
	}
	return n, nil
}

func (c *conn) writeError(err error) error { return c.ended(err) }

// CloseWrite sends close-write: the peer reads io.EOF after the bytes
// already written, and this side can still read.
func (c *conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return nil
	}
	if err := c.s.closed(); err != nil {
		return err
	}
	if _, err := c.rw.WriteDataChannel([]byte(closeWrite), true); err != nil {
		return c.writeError(err)
	}
	c.wclosed = true
	return nil
}

// Close waits (at most lingerTimeout) until the peer has received the
// bytes already written, then closes the data channel and the peer
// connection and tells the peer with webrtc-close.
func (c *conn) Close() error {
	if c.s.closed() != nil {
		return nil
	}
	c.linger()
	c.s.close(fmt.Errorf("%s: connection closed: %w", pluginName, net.ErrClosed), "closed")
	return nil
}

// linger waits until the data channel's buffered amount (bytes the peer
// has not acknowledged) is zero, lingerTimeout passed or the session ended.
func (c *conn) linger() {
	if c.dc.BufferedAmount() == 0 {
		return
	}
	drained := make(chan struct{})
	var once sync.Once
	c.dc.SetBufferedAmountLowThreshold(0)
	c.dc.OnBufferedAmountLow(func() { once.Do(func() { close(drained) }) })
	if c.dc.BufferedAmount() == 0 {
		return
	}
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		c.s.log.Debug("closing with bytes the peer has not acknowledged", "buffered", c.dc.BufferedAmount())
	case <-c.s.done:
	}
}

// LocalAddress is this side's address of the ICE candidate pair in use
// when the channel opened.
func (c *conn) LocalAddress() string { return c.local }

// RemoteAddress is the peer's address of that pair (a TURN relay's
// address when relayed).
func (c *conn) RemoteAddress() string { return c.remote }

// Path says whether the bytes go through a TURN relay (either side's
// candidate of the pair in use is a relay candidate) or directly.
func (c *conn) Path() string {
	pair := c.s.selectedPair()
	if pair != nil && (pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay) {
		return sdk.PathWebRTCRelay
	}
	return sdk.PathWebRTC
}

// watchChannel makes the session's conn when dc opens, and ends the
// session when dc closes.
func (s *session) watchChannel(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		rw, err := dc.DetachWithDeadline()
		if err != nil {
			s.close(fmt.Errorf("%s: %w: cannot use the data channel: %w", pluginName, sdk.ErrUnavailable, err), "data channel failed")
			return
		}
		s.mu.Lock()
		s.conn = newConn(s, dc, rw)
		s.mu.Unlock()
		close(s.ready)
		s.log.Debug("data channel open", "path", s.conn.Path(), "local_address", s.conn.local, "remote_address", s.conn.remote)
		if !s.offerer {
			go s.deliver()
		}
	})
	dc.OnClose(func() {
		go s.close(fmt.Errorf("%s: %w (its data channel closed)", pluginName, ErrClosedByPeer), "")
	})
}

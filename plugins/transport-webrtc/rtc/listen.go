package rtc

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

// Listen starts taking offers that arrive through the hub; it binds
// nothing (each connection opens its own UDP sockets). req.Addresses are TCP-style listen
// addresses of other transports and do not apply here. One listener at a
// time: a second Listen while one is open is an error.
func (p *Plugin) Listen(_ context.Context, req sdk.ListenRequest) (sdk.Listener, error) {
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	if len(req.Addresses) > 0 {
		st.log.Debug("ignoring listen addresses: offers come through the hub", "addresses", req.Addresses)
	}
	l := &listener{p: p, log: st.log, conns: make(chan *conn), done: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		return nil, fmt.Errorf("%s: %w: shut down", pluginName, sdk.ErrNotConfigured)
	}
	if p.ln != nil {
		return nil, fmt.Errorf("%s: %w: already listening; close the other listener first", pluginName, sdk.ErrInvalidArgument)
	}
	p.ln = l
	st.log.Info("listening for offers through the hub")
	return l, nil
}

// listener hands the host the connections answered while it is open.
type listener struct {
	p         *Plugin
	log       hclog.Logger
	conns     chan *conn
	done      chan struct{}
	closeOnce sync.Once
}

// Accept returns the next answered connection whose data channel is open.
// After Close it returns an error wrapping net.ErrClosed.
func (l *listener) Accept() (sdk.Conn, error) {
	select {
	case <-l.done:
		return nil, fmt.Errorf("%s: listener: %w", pluginName, net.ErrClosed)
	default:
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("%s: listener: %w", pluginName, net.ErrClosed)
	}
}

// Addresses is empty: nothing is bound until an offer arrives.
func (l *listener) Addresses() []string { return nil }

// URIs is empty: peers reach this transport by node_id through the hub.
func (l *listener) URIs() []string { return nil }

// Close stops taking offers (new ones are refused with webrtc-close);
// connections already accepted stay open.
func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.p.mu.Lock()
		if l.p.ln == l {
			l.p.ln = nil
		}
		l.p.mu.Unlock()
		l.log.Info("stopped listening for offers")
	})
	return nil
}

// answer takes a new offer: within the pending bounds and while listening
// it makes an answering session, else it refuses with webrtc-close.
func (p *Plugin) answer(ctx context.Context, st *state, key sessionKey, m message) {
	p.mu.Lock()
	listening := p.ln != nil
	p.mu.Unlock()
	if !listening {
		st.log.Debug("refusing an offer: not listening", "peer_node_id", key.peer, "cid", key.cid)
		p.refuse(st, key, "not listening")
		return
	}
	if err := p.takePending(st.cfg, key.peer); err != nil {
		st.log.Debug("refusing an offer", "peer_node_id", key.peer, "cid", key.cid, "error", err)
		p.refuse(st, key, "busy")
		return
	}
	s, err := newSession(ctx, p, st, key, false)
	if err != nil {
		p.mu.Lock()
		p.releaseSlotLocked(key.peer)
		p.mu.Unlock()
		st.log.Warn("cannot answer an offer", "peer_node_id", key.peer, "error", err)
		p.refuse(st, key, "cannot answer")
		return
	}
	s.pending = true // released by deliver or close
	var taken atomic.Bool
	s.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != dcLabel || taken.Swap(true) {
			s.log.Debug("closing a data channel that is not the connection's", "label", truncate(dc.Label()))
			_ = dc.Close()
			return
		}
		s.watchChannel(dc)
	})
	if err := s.start(); err != nil {
		p.releasePending(s)
		_ = s.pc.Close()
		st.log.Debug("refusing an offer", "peer_node_id", key.peer, "cid", key.cid, "error", err)
		return
	}
	if err := s.answerOffer(m.SDP, false); err != nil {
		s.log.Debug("refusing an offer that does not apply", "error", err)
		s.close(fmt.Errorf("%s: %w: %w", pluginName, ErrInvalidSignal, err), "bad offer")
		return
	}
	// A half-open answer holds its pending slot for at most a dial timeout.
	time.AfterFunc(st.cfg.dialTimeout(), func() {
		select {
		case <-s.ready:
		default:
			s.close(fmt.Errorf("%s: %w: the data channel from %s did not open within %s", pluginName, sdk.ErrUnavailable, key.peer, st.cfg.dialTimeout()), "timed out")
		}
	})
}

// deliver hands an answered, open connection to the listener, releasing
// its pending slot once the host took it.
func (s *session) deliver() {
	s.p.mu.Lock()
	l := s.p.ln
	s.p.mu.Unlock()
	if l == nil {
		s.close(fmt.Errorf("%s: %w: not listening", pluginName, net.ErrClosed), "not listening")
		return
	}
	select {
	case l.conns <- s.conn:
		s.p.releasePending(s)
	case <-l.done:
		s.close(fmt.Errorf("%s: %w: not listening", pluginName, net.ErrClosed), "not listening")
	case <-s.done:
	}
}

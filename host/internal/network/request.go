package network

// Requests this node sends and the answers it awaits, matched by
// request_id (or, for D-PC v1 answers that carry none, by command).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// NewID returns a random id for a message, a transfer or a request.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pendingKey names a request this node sent and awaits answers to.
type pendingKey struct{ peer, id string }

// pending is a request awaiting answers: frames with its request_id are
// delivered on ch until the requester gives up (done).
type pending struct {
	ch   chan dptp.Payload
	done chan struct{}
	// answer is the command of the answer, for D-PC v1 answers that carry
	// no request_id; "" when answers always carry it.
	answer string
	since  time.Time
}

// requests are the requests awaiting answers.
type requests struct {
	mu      sync.Mutex
	pending map[pendingKey]*pending
}

// deliver routes an answer to the request awaiting it. Answers nobody awaits
// (late, after a timeout) are dropped.
func (n *Network) deliver(peer string, p dptp.Payload) {
	id := dptp.RequestIDOf(p)
	rq := &n.requests
	rq.mu.Lock()
	var w *pending
	if id != "" {
		w = rq.pending[pendingKey{peer, id}]
	} else {
		// A D-PC v1 answer without request_id: the oldest request from
		// this node that waits for an answer of its kind.
		for k, c := range rq.pending {
			if k.peer == peer && c.answer == p.Command() && (w == nil || c.since.Before(w.since)) {
				w = c
			}
		}
	}
	rq.mu.Unlock()
	if w == nil {
		n.log.Debug("dropping an answer nobody awaits", "peer", peer, "command", p.Command(), "request_id", id)
		return
	}
	// Blocking here holds the peer's next frames back until the requester
	// reads: back-pressure instead of an unbounded buffer.
	select {
	case w.ch <- p:
	case <-w.done:
	}
}

// Request sends a request to peer and feeds every answer with its
// request_id to handle until handle says done, ctx ends, or the session
// ends. An ERROR answer ends it with a *PeerError. A contact that is
// offline is dialed and waited for until ctx ends.
func (n *Network) Request(ctx context.Context, peer, id string, payload dptp.Payload, handle func(dptp.Payload) (done bool, err error)) error {
	s, err := n.sessionFor(ctx, peer)
	if err != nil {
		return err
	}
	return n.RequestOn(ctx, s, id, payload, handle)
}

// RequestOn is Request on session s: it ends when s does. Only answers from
// s's peer with the request's (random, single-use) id reach handle.
func (n *Network) RequestOn(ctx context.Context, s *session.Session, id string, payload dptp.Payload, handle func(dptp.Payload) (done bool, err error)) error {
	peer, command := s.PeerID, payload.Command()
	rq := &n.requests
	key := pendingKey{peer, id}
	w := &pending{ch: make(chan dptp.Payload, 64), done: make(chan struct{}), answer: n.router.v1Answers[command], since: time.Now()}
	rq.mu.Lock()
	rq.pending[key] = w
	rq.mu.Unlock()
	defer func() {
		rq.mu.Lock()
		delete(rq.pending, key)
		rq.mu.Unlock()
		close(w.done)
	}()
	if err := s.Send(command, payload); err != nil {
		return fmt.Errorf("%w: sending %s to %s: %v", ErrPeerOffline, command, peer, err)
	}
	l := n.linkFor(peer)
	ended := time.NewTicker(100 * time.Millisecond)
	defer ended.Stop()
	for {
		select {
		case p := <-w.ch:
			if e, ok := p.(dptp.ErrorReply); ok {
				return &PeerError{Peer: peer, Code: e.Code, Message: e.Message}
			}
			done, err := handle(p)
			if err != nil || done {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: %s (%s)", ErrNoAnswer, peer, command)
		case <-ended.C:
			if l.session() != s {
				return fmt.Errorf("%w: the connection to %s ended before it answered %s", ErrPeerOffline, peer, command)
			}
		}
	}
}

// sessionFor returns the peer's session, dialing a contact that is offline
// and waiting for it until ctx ends.
func (n *Network) sessionFor(ctx context.Context, peer string) (*session.Session, error) {
	l := n.linkFor(peer)
	if s := l.session(); s != nil {
		return s, nil
	}
	l.kick()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_, reason, _ := l.state()
			if reason != "" {
				return nil, fmt.Errorf("%w: %s: %s", ErrPeerOffline, peer, reason)
			}
			return nil, fmt.Errorf("%w: %s", ErrPeerOffline, peer)
		case <-t.C:
			if s := l.session(); s != nil {
				return s, nil
			}
		}
	}
}

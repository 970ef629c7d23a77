package network

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// link is everything about one peer's connection.
type link struct {
	n    *Network
	peer string

	wake    chan struct{} // dial now / flush the outbox now
	started sync.Once

	mu   sync.Mutex
	sess *session.Session
	sent map[sentKey]bool // outbox items sent on this session
	// queue holds outbox items to send on this session, in order. The
	// durable outboxes are read into it once per session (loaded); after
	// that, Outbox.Put appends to it, so a send never rereads them.
	queue    []queued
	loaded   bool
	st       string
	reason   string
	since    time.Time
	attempts chan attempt  // results of dial attempts, for Connect
	dials    atomic.Uint64 // dial attempts started
	// failures counts dial attempts in a row that failed; a contact that
	// was never reached is given up after Options.GiveUpAfter.
	failures int
	// removed is set, and gone closed, when the network forgot this link
	// (a stranger's, after its session ended); its dialer then ends.
	removed bool
	gone    chan struct{}
	// forgot is l.dials when the user last removed the peer: a dial
	// attempt numbered up to it was started for a contact that is gone,
	// and its session is dropped instead of attached.
	forgot uint64
}

func (n *Network) linkFor(peer string) *link {
	n.mu.Lock()
	defer n.mu.Unlock()
	l, ok := n.links[peer]
	if !ok {
		l = &link{n: n, peer: peer, wake: make(chan struct{}, 1), st: "offline", since: time.Now(),
			attempts: make(chan attempt, 1), gone: make(chan struct{})}
		n.links[peer] = l
	}
	return l
}

func (l *link) state() (string, string, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st, l.reason, l.since
}

func (l *link) setState(st, reason string) {
	l.mu.Lock()
	changed := l.st != st || l.reason != reason
	l.st, l.reason, l.since = st, reason, time.Now()
	l.mu.Unlock()
	if changed {
		l.n.o.Bus.Publish(Event{Type: "peer", Peer: l.peer, Data: map[string]string{"state": st, "reason": reason}})
	}
}

// kick wakes the link: dial if offline, flush the outbox if connected. The
// first kick starts the link's dialer.
func (l *link) kick() {
	l.started.Do(func() {
		if l.n.ctx == nil {
			return
		}
		l.n.wg.Add(1)
		go func() {
			defer l.n.wg.Done()
			l.maintain(l.n.ctx)
		}()
	})
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// attempt is the outcome of dial attempt number seq.
type attempt struct {
	seq uint64
	err error
}

// waitAttempt waits for the outcome of the first dial attempt that starts
// after after (a l.dials value): an attempt already under way used the
// peer record as it was before the caller changed it.
func (l *link) waitAttempt(ctx context.Context, after uint64) (PeerStatus, error) {
	for {
		select {
		case <-ctx.Done():
			return l.n.status(l.peer)
		case a := <-l.attempts:
			if a.seq <= after {
				continue
			}
			st, err := l.n.status(l.peer)
			if err == nil && a.err != nil {
				return st, a.err
			}
			return st, err
		}
	}
}

func (l *link) report(seq uint64, err error) {
	for {
		select {
		case l.attempts <- attempt{seq, err}:
			return
		default:
		}
		// Make room: an older outcome nobody took is stale.
		select {
		case <-l.attempts:
		default:
		}
	}
}

// maintain keeps a contact connected: it dials when there is no session,
// backing off after failures, and flushes the outbox when kicked.
func (l *link) maintain(ctx context.Context) {
	backoff := l.n.o.RedialMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.gone:
			return
		case <-l.wake:
		}
		if l.connected() {
			l.flush()
			continue
		}
		p, err := l.n.o.Peers.Get(l.peer)
		if err != nil || !p.Contact || !l.n.dialable(p) {
			continue // nothing to dial; inbound sessions still work
		}
		l.setState("connecting", "")
		seq := l.dials.Add(1)
		if err := l.dial(ctx, p, seq); err != nil {
			if errors.Is(err, ErrRemovedWhileDialing) {
				l.report(seq, err)
				l.setState("offline", err.Error())
				continue
			}
			l.failures++
			l.report(seq, err)
			if p.LastSeen.IsZero() && l.failures >= l.n.o.GiveUpAfter {
				// Never reached: stop, rather than dial a wrong address
				// forever. dpc connect, or the peer dialing us, revives it.
				reason := fmt.Sprintf("gave up after %d attempts without ever reaching it (dpc connect tries again): %v", l.failures, err)
				l.setState("offline", reason)
				l.n.log.Info("giving up on a contact never reached", "peer", l.peer, "attempts", l.failures, "reason", err)
				continue
			}
			l.setState("offline", err.Error())
			l.n.log.Info("peer unreachable", "peer", l.peer, "retry_in", backoff, "reason", err)
			l.retryIn(ctx, backoff)
			backoff = min(backoff*2, l.n.o.RedialMax)
			continue
		}
		l.report(seq, nil)
		l.failures = 0
		backoff = l.n.o.RedialMin
	}
}

// retryIn schedules a wake-up, unless something wakes the link earlier.
func (l *link) retryIn(ctx context.Context, d time.Duration) {
	t := time.AfterFunc(d, l.kick)
	context.AfterFunc(ctx, func() { t.Stop() })
}

func (l *link) connected() bool { return l.session() != nil }

// session is the current session, or nil.
func (l *link) session() *session.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess
}

// dialTimeout bounds one dial attempt including the handshake.
const dialTimeout = 20 * time.Second

// dial is dial attempt number seq of l.
func (l *link) dial(ctx context.Context, p peers.Peer, seq uint64) error {
	s, uri, err := l.dialPaths(ctx, p)
	if err != nil {
		return err
	}
	return l.n.attach(s, uri, l, seq)
}

// attach makes s the peer's session (or drops it if the other one of two
// simultaneous sessions wins) and serves it. uri is set for outbound
// sessions, to keep in the address cache; from and seq are the link and
// the attempt that dialed it (nil, 0 for an inbound session): if the user
// removed the peer since that attempt started, s is closed and
// ErrRemovedWhileDialing returned, or the peer, forgotten on this side,
// would still have a session (and a channel's pushes would cross a
// partition the user made).
func (n *Network) attach(s *session.Session, uri string, from *link, seq uint64) error {
	if from != nil {
		from.mu.Lock()
		forgotten := from.removed || seq <= from.forgot
		from.mu.Unlock()
		if forgotten {
			n.log.Info("dropping a session dialed before the peer was removed", "peer", s.PeerID)
			_ = s.Send(dptp.CmdBye, dptp.Bye{Reason: "removed by the user"})
			_ = s.Close()
			return ErrRemovedWhileDialing
		}
	}
	n.recordPeer(s, uri)
	if n.o.Peers.IsContact(s.PeerID) {
		s.Trust() // before the first frame is read
	}
	var l *link
	for {
		l = n.linkFor(s.PeerID)
		l.mu.Lock()
		if !l.removed {
			break
		}
		l.mu.Unlock() // forgotten meanwhile: linkFor makes a new one
	}
	if from != nil && (l != from || seq <= l.forgot) {
		// Removed between the check above and now.
		l.mu.Unlock()
		_ = s.Send(dptp.CmdBye, dptp.Bye{Reason: "removed by the user"})
		_ = s.Close()
		return ErrRemovedWhileDialing
	}
	if old := l.sess; old != nil && (s.V1 || old.V1) {
		// Never two connections to one D-PC v1 peer: it would close the
		// newer one when the older ends (dpc-legacy-wire.md §5.2).
		l.mu.Unlock()
		n.log.Info("dropping a second connection to a D-PC v1 peer", "peer", s.PeerID)
		_ = s.Close()
		return nil
	}
	if old := l.sess; old != nil {
		// Two sessions at once (both sides dialed): both nodes keep the one
		// dialed by the smaller node_id, so they agree without talking.
		keepNew := dialer(s, n.self) < dialer(old, n.self)
		if !keepNew {
			l.mu.Unlock()
			_ = s.Send(dptp.CmdBye, dptp.Bye{Reason: "duplicate session"})
			_ = s.Close()
			return nil
		}
		_ = old.Send(dptp.CmdBye, dptp.Bye{Reason: "duplicate session"})
		_ = old.Close()
	}
	l.sess, l.sent, l.queue, l.loaded = s, map[sentKey]bool{}, nil, false
	l.mu.Unlock()
	if n.ctx.Err() != nil {
		// The node is stopping, and Stop may have looked for sessions to
		// close before this one was set: close it here, or it is served on.
		_ = s.Close()
	}
	l.setState("connected", "")
	n.log.Info("peer connected", "peer", s.PeerID, "name", s.PeerName, "outbound", s.Outbound, "remote", s.Remote)
	l.started.Do(func() {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			l.maintain(n.ctx)
		}()
	})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.serve(l, s)
	}()
	l.kick()
	for _, h := range n.hooks {
		if h.Connected != nil {
			h.Connected(s)
		}
	}
	return nil
}

// dialer is the node_id of the side that dialed s.
func dialer(s *session.Session, self string) string {
	if s.Outbound {
		return self
	}
	return s.PeerID
}

// detach forgets s when it ends (unless a newer session replaced it).
func (l *link) detach(s *session.Session, reason string) {
	l.mu.Lock()
	current := l.sess == s
	if current {
		l.sess = nil
	}
	l.mu.Unlock()
	if current {
		for _, h := range l.n.hooks {
			if h.Disconnected != nil {
				h.Disconnected(l.peer)
			}
		}
		l.setState("offline", reason)
		l.n.log.Info("peer disconnected", "peer", l.peer, "reason", reason)
		l.n.dropLink(l)
		l.kick()
	}
}

// send writes a frame on the current session, if there is one; a failure
// only ends the session (the caller's state is durable and resent later).
func (l *link) send(command string, payload any) {
	l.mu.Lock()
	s := l.sess
	l.mu.Unlock()
	if s == nil {
		return
	}
	if err := s.Send(command, payload); err != nil {
		l.n.log.Warn("send failed", "peer", l.peer, "command", command, "error", err)
		_ = s.Close()
	}
}

func (l *link) closeSession(reason string) {
	l.mu.Lock()
	s := l.sess
	l.mu.Unlock()
	if s != nil {
		_ = s.Send(dptp.CmdBye, dptp.Bye{Reason: reason})
		_ = s.Close()
	}
}

// queued is an outbox item and the outbox it came from.
type queued struct {
	box  *Outbox
	item Outgoing
}

// sentKey names an item sent on a session.
type sentKey struct {
	box *Outbox
	id  string
}

// enqueue adds an item the service just stored to this session's queue (a
// session that has not read the outboxes yet will find it there).
func (l *link) enqueue(q queued) {
	l.mu.Lock()
	if l.sess != nil && l.loaded {
		l.queue = append(l.queue, q)
	}
	l.mu.Unlock()
}

// load reads every outbox's items for the peer, in the order the outboxes
// were registered.
func (l *link) load() ([]queued, error) {
	var out []queued
	for _, box := range l.n.outboxes {
		items, err := box.src.Pending(l.peer)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out = append(out, queued{box, it})
		}
	}
	return out, nil
}

// flush sends the queued items not yet sent on this session, oldest
// first; the service takes each out of its durable outbox (on the peer's
// ACK, for chat).
func (l *link) flush() {
	l.mu.Lock()
	s := l.sess
	if s != nil && !l.loaded {
		queued, err := l.load()
		if err != nil {
			l.mu.Unlock()
			l.n.log.Error("reading the outbox", "peer", l.peer, "error", err)
			return
		}
		l.queue, l.loaded = queued, true
	}
	batch := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, q := range batch {
		key := sentKey{q.box, q.item.ID}
		l.mu.Lock()
		done := l.sess != s || l.sent[key]
		if !done {
			l.sent[key] = true
		}
		l.mu.Unlock()
		if done {
			continue
		}
		if err := s.Send(q.item.Payload.Command(), q.item.Payload); err != nil {
			l.n.log.Warn("sending a message failed; it stays queued", "peer", l.peer, "error", err)
			_ = s.Close()
			return
		}
		q.box.src.Written(s, q.item)
	}
}

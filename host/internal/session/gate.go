package session

import (
	"errors"
	"sync"
)

// Defaults of the pre-handshake bounds (see NewGate).
const (
	// DefaultMaxPending is how many inbound connections may be in their
	// handshake at once.
	DefaultMaxPending = 256
	// DefaultMaxPendingPerSource is how many of them may come from one IP.
	DefaultMaxPendingPerSource = 32
)

// ErrShed means a connection was closed before its handshake finished to
// make room for a newer one: too many handshakes were in progress.
var ErrShed = errors.New("dropped before its handshake finished: too many handshakes in progress")

// Gate bounds the inbound connections that have not finished their
// handshake, so a flood of idle connections pins bounded memory: at most
// max at once, and perSource from one source IP.
//
// A new connection is never turned away. Over a bound, the gate closes an
// older pending one instead: from the new connection's source if that
// source is at its bound, else from the source holding the most. Of that
// source's connections it picks the oldest that has not sent a byte, else
// the oldest. Idle connections therefore cannot push out a real peer, whose
// first TLS bytes arrive at once and whose handshake takes milliseconds;
// refusing the newest instead would let a flood hold every slot.
type Gate struct {
	max, perSource int

	mu      sync.Mutex
	count   int
	sources map[string][]*Ticket // per source IP, oldest first
}

// Ticket is one connection's place in a Gate, held until its handshake ends.
type Ticket struct {
	g      *Gate
	source string
	nc     *netConn
	shed   bool // closed by the gate (under g.mu)
	done   bool // left the gate (under g.mu)
}

// NewGate returns a gate for at most max pending connections, perSource of
// them from one source IP; values below 1 mean the defaults.
func NewGate(max, perSource int) *Gate {
	if max < 1 {
		max = DefaultMaxPending
	}
	if perSource < 1 {
		perSource = DefaultMaxPendingPerSource
	}
	return &Gate{max: max, perSource: min(perSource, max), sources: map[string][]*Ticket{}}
}

// Pending returns how many connections are in their handshake.
func (g *Gate) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.count
}

// enter admits nc from remote, closing an older pending connection if a
// bound is reached.
func (g *Gate) enter(remote string, nc *netConn) *Ticket {
	t := &Ticket{g: g, source: sourceKey(remote), nc: nc}
	g.mu.Lock()
	var victim *Ticket
	switch {
	case len(g.sources[t.source]) >= g.perSource:
		victim = g.pick(t.source)
	case g.count >= g.max:
		busiest := ""
		for src, ts := range g.sources {
			if len(ts) > len(g.sources[busiest]) {
				busiest = src
			}
		}
		victim = g.pick(busiest)
	}
	if victim != nil {
		victim.shed = true
		g.remove(victim)
	}
	g.sources[t.source] = append(g.sources[t.source], t)
	g.count++
	g.mu.Unlock()
	if victim != nil {
		_ = victim.nc.Close()
	}
	return t
}

// pick chooses the connection of source to shed: the oldest that has sent
// nothing, else the oldest.
func (g *Gate) pick(source string) *Ticket {
	ts := g.sources[source]
	for _, t := range ts {
		if !t.nc.heard.Load() {
			return t
		}
	}
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

// remove takes t out of the gate (under g.mu).
func (g *Gate) remove(t *Ticket) {
	if t.done {
		return
	}
	t.done = true
	g.count--
	ts := g.sources[t.source]
	for i, x := range ts {
		if x == t {
			ts = append(ts[:i:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		delete(g.sources, t.source)
	} else {
		g.sources[t.source] = ts
	}
}

// leave ends t's handshake and reports whether the gate shed it.
func (t *Ticket) leave() (shed bool) {
	t.g.mu.Lock()
	defer t.g.mu.Unlock()
	t.g.remove(t)
	return t.shed
}

package network

import (
	"context"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// Hooks are what a service does when the network's state changes; nil
// fields are skipped. Hooks of several services run in the order they
// were added.
type Hooks struct {
	// Connected runs when s has become its peer's session, before its
	// first frame is handled.
	Connected func(s *session.Session)
	// Disconnected runs when peer's session has ended.
	Disconnected func(peer string)
	// Contact runs when peer has become a contact (Connect, Accept): it
	// may see and send more than a stranger.
	Contact func(peer string)
	// Accepted runs when the user accepted peer's contact request, to
	// release what the service held from it.
	Accepted func(peer string) error
	// Forgotten runs when a stranger not seen for StrangerLimits.MaxAge
	// was forgotten, to drop what the service held from it.
	Forgotten func(peer string)
	// Run runs from Start until ctx ends (a service's own loop).
	Run func(ctx context.Context)
}

// AddHooks adds a service's hooks; call it before Start.
func (n *Network) AddHooks(h Hooks) { n.hooks = append(n.hooks, h) }

// Router is where services register the commands they handle; register
// before Start.
func (n *Network) Router() *Router { return n.router }

// Go runs fn in the background with the network's context; Stop waits for
// it. Only once Start has run.
func (n *Network) Go(fn func(ctx context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn(n.ctx)
	}()
}

// Session returns peer's current session, or nil.
func (n *Network) Session(peer string) *session.Session {
	n.mu.Lock()
	l := n.links[peer]
	n.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.session()
}

// SendTo writes a frame to peer's current session, if it has one; a failed
// write only ends the session (the caller's state is durable and sent
// again on the next one).
func (n *Network) SendTo(peer, command string, payload any) { n.linkFor(peer).send(command, payload) }

// Wake dials peer now if it is an offline contact (and flushes its outbox
// if connected).
func (n *Network) Wake(peer string) { n.linkFor(peer).kick() }

// Self is this node's node_id.
func (n *Network) Self() string { return n.self }

// Outgoing is one item of a service's durable outbox: sent once per
// session, oldest first, until the service takes it out of its store.
type Outgoing struct {
	// ID is unique among the service's items (a message id).
	ID      string
	Payload dptp.Payload
}

// OutboxSource is a service's durable outbox: the network reads it once
// per session and sends what it holds.
type OutboxSource interface {
	// Pending lists what waits for peer, oldest first.
	Pending(peer string) ([]Outgoing, error)
	// Written is told of each item written on s (a D-PC v1 peer sends no
	// acknowledgement: written is as far as delivery can be known).
	Written(s *session.Session, item Outgoing)
}

// Outbox is a service's handle on the network's outbox mechanics.
type Outbox struct {
	n   *Network
	src OutboxSource
}

// NewOutbox registers src; call it before Start.
func (n *Network) NewOutbox(src OutboxSource) *Outbox {
	o := &Outbox{n: n, src: src}
	n.outboxes = append(n.outboxes, o)
	return o
}

// Put adds an item the service just stored durably to peer's queue and
// sends it now if peer is connected (else it is dialed, and the item goes
// with the outbox on the next session).
func (o *Outbox) Put(peer string, item Outgoing) {
	l := o.n.linkFor(peer)
	l.enqueue(queued{o, item})
	l.kick()
}

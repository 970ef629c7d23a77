package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk"
)

// Transports gives the transport plugins that are running right now. A
// plugin may restart at any time, so callers ask again for every dial.
type Transports interface {
	Transports() []sdk.Transport
}

// Options configure a Network.
type Options struct {
	Identity *identity.Identity
	Name     string
	Software string
	Logger   hclog.Logger
	// Listen is passed to each transport's Listen (empty: its defaults).
	Listen     []string
	Transports Transports
	Peers      *peers.Store
	Chat       *chat.Store
	Files      *files.Store
	Firewall   *firewall.Engine
	// Intel answers peers' requests for context and compute; nil shares
	// nothing and runs nothing for them.
	Intel Intel
	Bus   *Bus
	// Redial bounds the backoff between dial attempts to a contact.
	RedialMin, RedialMax time.Duration
	// DPCv1 lets D-PC Messenger v1 peers connect and be dialed (see v1.go).
	DPCv1 bool
}

// Network is this node's set of peer connections.
type Network struct {
	o      Options
	log    hclog.Logger
	self   string
	lim    *session.Limiter
	ctx    context.Context
	wg     sync.WaitGroup
	mu     sync.Mutex
	links  map[string]*link
	listen map[sdk.Transport]bool

	xferOnce sync.Once
	xfer     *transfers

	intelOnce sync.Once
	is        *intelState

	refusedMu sync.Mutex
	refused   []Refusal
}

// Refusal is an incoming connection this node refused, and why.
type Refusal struct {
	Time   time.Time `json:"time"`
	Remote string    `json:"remote"`
	Reason string    `json:"reason"`
}

// maxRefusals is how many recent refusals are kept for the user.
const maxRefusals = 50

func (n *Network) refuse(remote string, err error) {
	r := Refusal{Time: time.Now().UTC(), Remote: remote, Reason: err.Error()}
	n.refusedMu.Lock()
	n.refused = append(n.refused, r)
	if len(n.refused) > maxRefusals {
		n.refused = n.refused[1:]
	}
	n.refusedMu.Unlock()
	n.log.Warn("refused an incoming connection", "remote", remote, "reason", err)
	n.o.Bus.Publish(Event{Type: "connection_refused", Data: r})
}

// Refusals returns the recent refused incoming connections, oldest first.
func (n *Network) Refusals() []Refusal {
	n.refusedMu.Lock()
	defer n.refusedMu.Unlock()
	return append([]Refusal(nil), n.refused...)
}

// New returns a Network; Run starts it.
func New(o Options) *Network {
	if o.RedialMin == 0 {
		o.RedialMin = time.Second
	}
	if o.RedialMax == 0 {
		o.RedialMax = time.Minute
	}
	if o.Bus == nil {
		o.Bus = NewBus()
	}
	return &Network{o: o, log: o.Logger.Named("network"), self: o.Identity.NodeID,
		lim: session.DefaultLimiter(), links: map[string]*link{}, listen: map[sdk.Transport]bool{}}
}

func (n *Network) sessionOptions() session.Options {
	return session.Options{Identity: n.o.Identity, Name: n.o.Name, Software: n.o.Software, DPCv1: n.o.DPCv1}
}

// Start listens on the transports and dials the contacts, in the
// background, until ctx ends; Stop then waits for everything to finish.
func (n *Network) Start(ctx context.Context) error {
	n.ctx = ctx
	list, err := n.o.Peers.List()
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.listenLoop(ctx)
	}()
	for _, p := range list {
		if p.Contact && len(p.URIs) > 0 {
			n.linkFor(p.NodeID).kick()
		}
	}
	return nil
}

// Stop closes every session (its ctx must be done) and waits for the
// network's goroutines.
func (n *Network) Stop() {
	n.mu.Lock()
	links := make([]*link, 0, len(n.links))
	for _, l := range n.links {
		links = append(links, l)
	}
	n.mu.Unlock()
	for _, l := range links {
		l.closeSession("node shutting down")
	}
	n.wg.Wait()
}

// listenLoop keeps a listener on every running transport, re-listening
// after a transport plugin restarts.
func (n *Network) listenLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		for _, tr := range n.o.Transports.Transports() {
			n.mu.Lock()
			busy := n.listen[tr]
			n.listen[tr] = true
			n.mu.Unlock()
			if busy {
				continue
			}
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.serveTransport(ctx, tr)
				n.mu.Lock()
				delete(n.listen, tr)
				n.mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Network) serveTransport(ctx context.Context, tr sdk.Transport) {
	ln, err := tr.Listen(ctx, sdk.ListenRequest{Addresses: n.o.Listen})
	if err != nil {
		n.log.Error("cannot listen", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	n.log.Info("listening", "addresses", strings.Join(ln.Addresses(), ", "))
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("listener ended", "error", err)
			}
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			s, err := session.Server(ctx, c, n.sessionOptions(), n.lim)
			if errors.Is(err, session.ErrNothingSent) {
				n.log.Debug("a connection closed before its TLS handshake (a port probe)", "remote", c.RemoteAddress())
				return
			}
			if err != nil {
				n.refuse(c.RemoteAddress(), err)
				return
			}
			n.attach(s, "")
		}()
	}
}

// newMessageID returns a random id for a message or request.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// maxText is the longest message text, as DPTP allows.
const maxText = 64 << 10

// Send stores a message to peer durably (conversation + outbox) and returns
// it; delivery happens in the background, now or whenever the peer is back.
func (n *Network) Send(to, text string) (chat.Message, error) {
	if to == n.self {
		return chat.Message{}, ErrSelf
	}
	if !dpcuri.ValidNodeID(to) {
		return chat.Message{}, fmt.Errorf("%w: %q is not a node_id", ErrInvalidMessage, to)
	}
	if text == "" || len(text) > maxText || !utf8.ValidString(text) {
		return chat.Message{}, fmt.Errorf("%w: text must be 1 to %d bytes of UTF-8", ErrInvalidMessage, maxText)
	}
	m := chat.Message{ID: newMessageID(), Peer: to, From: n.self, To: to, Text: text,
		SentAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := n.o.Chat.AddOutgoing(m); err != nil {
		return chat.Message{}, err
	}
	m.State = chat.StateQueued
	l := n.linkFor(to)
	l.enqueue(m)
	l.kick()
	return m, nil
}

// Connect adds the peer at uri as a contact and dials it now; it returns
// once the session is up or the first attempt failed (it keeps retrying).
func (n *Network) Connect(ctx context.Context, uri string) (PeerStatus, error) {
	u, err := dpcuri.Parse(uri)
	if err != nil {
		return PeerStatus{}, err
	}
	if u.NodeID == n.self {
		return PeerStatus{}, ErrSelf
	}
	if _, err := n.o.Peers.Update(u.NodeID, func(p *peers.Peer) {
		p.Contact, p.Request = true, false
		p.RememberURI(u.String())
	}); err != nil {
		return PeerStatus{}, err
	}
	// A new contact may see more of this node's context.
	n.ContextChanged()
	l := n.linkFor(u.NodeID)
	l.kick()
	if l.connected() {
		// Already connected (the peer dialed us): no dial attempt will
		// report, and none is needed.
		return n.status(u.NodeID)
	}
	return l.waitAttempt(ctx)
}

// Accept turns a contact request into a contact and shows the messages it
// held.
func (n *Network) Accept(node string) (PeerStatus, error) {
	p, err := n.o.Peers.Get(node)
	if err != nil {
		return PeerStatus{}, err
	}
	if _, err := n.o.Peers.Update(node, func(p *peers.Peer) { p.Contact, p.Request = true, false }); err != nil {
		return PeerStatus{}, err
	}
	n.ContextChanged() // as a contact it may see more of this node's context
	held, err := n.o.Chat.History(node, time.Time{}, 0)
	if err != nil {
		return PeerStatus{}, err
	}
	l := n.linkFor(node)
	for _, m := range held {
		if m.State == chat.StateRequest {
			if err := n.o.Chat.SetState(node, m.From, m.ID, chat.StateReceived); err != nil {
				return PeerStatus{}, err
			}
			m.State = chat.StateReceived
			n.o.Bus.Publish(Event{Type: "message", Peer: node, Data: m})
			// Tell the sender its message is now really delivered.
			l.send(dptp.CmdAck, dptp.Ack{MessageID: m.ID, Status: dptp.AckStored})
		}
	}
	if len(p.URIs) > 0 {
		l.kick()
	}
	n.o.Bus.Publish(Event{Type: "peer", Peer: node, Data: "accepted"})
	return n.status(node)
}

// PeerStatus is a peer as the user sees it.
type PeerStatus struct {
	peers.Peer
	// State is "connected", "connecting" or "offline".
	State string `json:"state"`
	// Reason says why a peer is offline (the last error), if known.
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Peers lists every known peer with its connection state.
func (n *Network) Peers() ([]PeerStatus, error) {
	list, err := n.o.Peers.List()
	if err != nil {
		return nil, err
	}
	out := make([]PeerStatus, 0, len(list))
	for _, p := range list {
		out = append(out, n.withState(p))
	}
	return out, nil
}

func (n *Network) status(node string) (PeerStatus, error) {
	p, err := n.o.Peers.Get(node)
	if err != nil {
		return PeerStatus{}, err
	}
	return n.withState(p), nil
}

func (n *Network) withState(p peers.Peer) PeerStatus {
	st := PeerStatus{Peer: p, State: "offline"}
	n.mu.Lock()
	l := n.links[p.NodeID]
	n.mu.Unlock()
	if l != nil {
		st.State, st.Reason, st.Since = l.state()
	}
	return st
}

// History returns the conversation with peer.
func (n *Network) History(peer string, limit int) ([]chat.Message, error) {
	return n.o.Chat.History(peer, time.Time{}, limit)
}

// Check asks the firewall about node and resource.
func (n *Network) Check(node, resource string) firewall.Decision {
	return n.o.Firewall.Check(node, resource, n.o.Peers)
}

// Bus is the node's event bus.
func (n *Network) Bus() *Bus { return n.o.Bus }

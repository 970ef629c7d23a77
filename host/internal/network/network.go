package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
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
	Firewall   *firewall.Engine
	Bus        *Bus
	// Redial bounds the backoff between dial attempts to a contact.
	RedialMin, RedialMax time.Duration
	// GiveUpAfter is how many failed dials in a row a contact that was
	// never reached gets before dpc stops dialing it; zero means 20 (about
	// 15 minutes with the default backoff).
	GiveUpAfter int
	// DPCv1 lets D-PC Messenger v1 peers connect and be dialed (see v1.go).
	DPCv1 bool
	// Listened, if set, is told the result of every Listen on a transport
	// (err nil: it listens), so the node can fail at start when it cannot.
	Listened func(tr sdk.Transport, err error)
	// Strangers bounds what peers that are not contacts can make this
	// node store (zero fields: the defaults).
	Strangers StrangerLimits
	// Directory, if set, is the node's hub: it gives the direct dpc:// URIs
	// a node publishes (for a connect by node_id alone) and whether the
	// node is online there (a dial by node_id through the hub needs that).
	// What it says are hints: the handshake checks who answers.
	Directory Directory
}

// Directory is what the node's hub knows of other nodes.
type Directory interface {
	Lookup(ctx context.Context, node string) (sdk.PeerRecord, error)
}

// Listening is what one transport listens on.
type Listening struct {
	// Addresses are the addresses actually bound.
	Addresses []string `json:"addresses"`
	// URIs are the dpc:// URIs (without node_id) the transport reports.
	URIs []string `json:"uris,omitempty"`
}

// Network is this node's set of peer connections.
type Network struct {
	o      Options
	log    hclog.Logger
	self   string
	lim    *session.Limiter
	gate   *session.Gate
	ctx    context.Context
	wg     sync.WaitGroup
	mu     sync.Mutex
	links  map[string]*link
	listen map[sdk.Transport]bool
	// bound holds what each listening transport listens on (under mu).
	bound map[sdk.Transport]Listening

	// strangers is Options.Strangers with the defaults filled in.
	strangers StrangerLimits

	refusedMu sync.Mutex
	refused   []Refusal

	router   *Router
	hooks    []Hooks
	outboxes []*Outbox
	requests requests
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
	if o.GiveUpAfter == 0 {
		o.GiveUpAfter = 20
	}
	if o.Bus == nil {
		o.Bus = NewBus()
	}
	log := o.Logger.Named("network")
	n := &Network{o: o, log: log, self: o.Identity.NodeID,
		lim: session.DefaultLimiter(), gate: session.NewGate(0, 0), strangers: o.Strangers.withDefaults(), links: map[string]*link{}, listen: map[sdk.Transport]bool{},
		bound: map[sdk.Transport]Listening{}, router: newRouter(log), requests: requests{pending: map[pendingKey]*pending{}}}
	n.router.register(n.router.dptp, dptp.CmdError, n.onError)
	HandleV1(n.router, dptp.CmdHello, n.onV1Hello)
	return n
}

// acceptOptions are the session options for incoming connections: a D-PC
// v1 peer may connect when compatibility is on, unless v1Allowed refuses
// its node_id.
func (n *Network) acceptOptions() session.Options {
	return session.Options{Identity: n.o.Identity, Name: n.o.Name, Software: n.o.Software, DPCv1: n.o.DPCv1,
		AcceptV1: n.v1Allowed, Gate: n.gate}
}

// dialOptions are the session options for dialing p: D-PC v1's handshake
// only for a peer the user marked as v1 and that never spoke dptp/1 with
// us. Anything else that declines ALPN dptp/1 is refused before this node
// signs anything, so a peer cannot relay our v1 signature to another node.
func (n *Network) dialOptions(p peers.Peer) session.Options {
	o := session.Options{Identity: n.o.Identity, Name: n.o.Name, Software: n.o.Software}
	switch {
	case !n.o.DPCv1:
	case p.SpokeDPTP:
		o.NoV1Reason = "this peer has spoken dptp/1 with us before; D-PC v1 is refused for it (downgrade)"
	case !p.V1:
		o.NoV1Reason = "the peer is not marked as D-PC v1; if it is a D-PC Messenger node, add it with dpc connect --v1"
	default:
		o.DPCv1 = true
	}
	return o
}

// v1Allowed decides whether node may have a D-PC v1 session (it proved its
// key through v1's handshake, whose signature is not bound to the channel):
// never for a node_id that has spoken dptp/1 with us, nor for a contact the
// user did not mark as v1. A stranger may, as a contact request.
func (n *Network) v1Allowed(node string) error {
	p, err := n.o.Peers.Get(node)
	if errors.Is(err, peers.ErrUnknownPeer) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case p.SpokeDPTP:
		return fmt.Errorf("%w: %s has spoken dptp/1 with this node before, so a D-PC v1 handshake claiming it is a downgrade (possibly a relayed signature)", session.ErrV1Downgrade, node)
	case p.Contact && !p.V1:
		return fmt.Errorf("%w: contact %s is not marked as D-PC v1 (mark it with dpc connect --v1 URI)", session.ErrV1Downgrade, node)
	}
	return nil
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
	for _, h := range n.hooks {
		if h.Run != nil {
			n.Go(h.Run)
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.pruneLoop(ctx)
	}()
	for _, p := range list {
		if p.Contact && n.dialable(p) {
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
	if n.o.Listened != nil {
		n.o.Listened(tr, err)
	}
	if err != nil {
		n.log.Error("cannot listen", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	// node.listen is what was asked for; the addresses are what the
	// transport bound (a port 0 or a wildcard resolves here).
	configured := strings.Join(n.o.Listen, ", ")
	if configured == "" {
		configured = "(the transport's default)"
	}
	n.log.Info("listening", "configured", configured, "addresses", strings.Join(ln.Addresses(), ", "))
	n.setBound(tr, &Listening{Addresses: ln.Addresses(), URIs: ln.URIs()})
	defer n.setBound(tr, nil)
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
			s, err := session.Server(ctx, c, n.acceptOptions(), n.lim)
			if errors.Is(err, session.ErrNothingSent) || errors.Is(err, session.ErrShed) {
				// A port probe, an idle connection or one shed in a
				// flood: not worth a refusal event each.
				n.log.Debug("a connection ended before its handshake", "remote", c.RemoteAddress(), "reason", err)
				return
			}
			if err != nil {
				n.refuse(c.RemoteAddress(), err)
				return
			}
			_ = n.attach(s, "", nil, 0)
		}()
	}
}

// setBound records what tr listens on; nil forgets it.
func (n *Network) setBound(tr sdk.Transport, l *Listening) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if l == nil {
		delete(n.bound, tr)
		return
	}
	n.bound[tr] = *l
}

// Listening returns what the transports listen on right now, in a stable
// order; empty when none listens.
func (n *Network) Listening() []Listening {
	n.mu.Lock()
	out := make([]Listening, 0, len(n.bound))
	for _, l := range n.bound {
		out = append(out, l)
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Listening) int { return slices.Compare(a.Addresses, b.Addresses) })
	return out
}

// ConnectOptions say how to connect to a new contact.
type ConnectOptions struct {
	// V1 marks the peer as a D-PC Messenger v1 node: it is dialed with
	// D-PC v1's weaker handshake if it does not negotiate dptp/1.
	V1 bool
}

// Connect adds the peer at target as a contact and dials it now; it
// returns once the session is up or the first attempt failed (it keeps
// retrying). target is a dpc:// URI, or a bare node_id: then the peer is
// reached over whatever path works (the direct addresses its hub profile
// publishes, WebRTC through the hub).
func (n *Network) Connect(ctx context.Context, target string, o ConnectOptions) (PeerStatus, error) {
	u := dpcuri.URI{NodeID: target}
	if !dpcuri.ValidNodeID(target) {
		var err error
		if u, err = dpcuri.Parse(target); err != nil {
			return PeerStatus{}, err
		}
	}
	if u.NodeID == n.self {
		return PeerStatus{}, ErrSelf
	}
	var hints []string
	if u.Host == "" {
		hints = n.lookup(ctx, u.NodeID)
	}
	before, err := n.o.Peers.Get(u.NodeID)
	isNew := errors.Is(err, peers.ErrUnknownPeer)
	if o.V1 {
		if u.Host == "" {
			return PeerStatus{}, ErrV1NeedsAddress
		}
		if !n.o.DPCv1 {
			return PeerStatus{}, fmt.Errorf("%w: set node { dpc_v1 = true } in dpc.hcl to talk to D-PC Messenger v1 nodes", ErrV1Off)
		}
		if before.SpokeDPTP {
			return PeerStatus{}, fmt.Errorf("%w: %s has spoken dptp/1 with this node; it cannot be marked as D-PC v1", session.ErrV1Downgrade, u.NodeID)
		}
	}
	if _, err := n.o.Peers.Update(u.NodeID, func(p *peers.Peer) {
		p.Contact, p.Request = true, false
		p.V1 = p.V1 || o.V1
		for _, h := range hints {
			p.AddURI(h)
		}
		if u.Host != "" {
			p.RememberURI(u.String())
		}
	}); err != nil {
		return PeerStatus{}, err
	}
	// A new contact may see more, and send frames as large as contacts may.
	n.becameContact(u.NodeID)
	l := n.linkFor(u.NodeID)
	dials := l.dials.Load()
	l.kick()
	if l.connected() {
		// Already connected (the peer dialed us): no dial attempt will
		// report, and none is needed.
		return n.status(u.NodeID)
	}
	st, err := l.waitAttempt(ctx, dials)
	if errors.Is(err, session.ErrPeerMismatch) || errors.Is(err, session.ErrV1Downgrade) {
		// Someone else answers at that address (or would only talk v1
		// while claiming a node_id that spoke dptp/1): a contact made just
		// now for it is not kept.
		if isNew {
			if rerr := n.Remove(u.NodeID); rerr != nil {
				n.log.Error("forgetting a contact that was never reached", "peer", u.NodeID, "error", rerr)
			}
		}
		return st, fmt.Errorf("%w: %w", ErrWrongPeer, err)
	}
	return st, err
}

// Remove forgets a peer: its session ends and its record goes. The
// conversation stays, and messages still queued for it are sent if it is
// ever added again.
func (n *Network) Remove(node string) error {
	n.mu.Lock()
	l := n.links[node]
	n.mu.Unlock()
	if err := n.o.Peers.Remove(node); err != nil {
		return err
	}
	if l != nil {
		// A dial under way was for the contact just removed: its session
		// is dropped when it comes (attach).
		l.mu.Lock()
		l.forgot = l.dials.Load()
		l.mu.Unlock()
		l.closeSession("removed by the user")
	}
	n.o.Bus.Publish(Event{Type: "peer", Peer: node, Data: "removed"})
	return nil
}

// Accept turns a contact request into a contact and shows the messages it
// held.
func (n *Network) Accept(node string) (PeerStatus, error) {
	p, err := n.o.Peers.Get(node)
	if err != nil {
		return PeerStatus{}, err
	}
	if _, err := n.o.Peers.Update(node, func(p *peers.Peer) {
		p.Contact, p.Request = true, false
		// A request that came over D-PC v1 stays reachable over v1.
		p.V1 = p.V1 || (p.Protocol == peers.ProtocolV1 && !p.SpokeDPTP)
	}); err != nil {
		return PeerStatus{}, err
	}
	n.becameContact(node)
	for _, h := range n.hooks {
		if h.Accepted != nil {
			if err := h.Accepted(node); err != nil {
				return PeerStatus{}, err
			}
		}
	}
	if n.dialable(p) {
		n.linkFor(node).kick()
	}
	n.o.Bus.Publish(Event{Type: "peer", Peer: node, Data: "accepted"})
	return n.status(node)
}

// becameContact tells the services that node is now a contact, and lets
// its live session send frames as large as contacts may.
func (n *Network) becameContact(node string) {
	for _, h := range n.hooks {
		if h.Contact != nil {
			h.Contact(node)
		}
	}
	n.trust(node)
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
		if s := l.session(); s != nil {
			st.Protocol = protocolOf(s) // the live session's, not the record's last one
			st.Path = s.Path
		}
	}
	return st
}

// Check asks the firewall about node and resource.
func (n *Network) Check(node, resource string) firewall.Decision {
	return n.o.Firewall.Check(node, resource, n.o.Peers)
}

// protocolOf is the peers.Protocol* that s speaks.
func protocolOf(s *session.Session) string {
	if s.V1 {
		return peers.ProtocolV1
	}
	return peers.ProtocolDPTP
}

// Bus is the node's event bus.
func (n *Network) Bus() *Bus { return n.o.Bus }

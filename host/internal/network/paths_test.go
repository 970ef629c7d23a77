package network_test

// The connection strategy: direct addresses first, then transports that
// reach a peer by node_id alone (WebRTC through the hub), whichever path
// comes up first. A fake by-node-id transport stands in for WebRTC: it
// dials the loopback address a test maps the node_id to, as a hub's
// signaling would find the node, and says its path is "webrtc".

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// signaled is a fake transport that dials by node_id.
type signaled struct {
	mu sync.Mutex
	// route maps a node_id to the loopback address that answers for it
	// (a lying hub maps it to another node's).
	route map[string]string
	// hold, when set, makes Dial wait until its ctx ends: a path that
	// never comes up.
	hold    bool
	dials   atomic.Int32
	aborted atomic.Int32
}

type pathConn struct {
	*net.TCPConn
}

func (c pathConn) LocalAddress() string  { return c.LocalAddr().String() }
func (c pathConn) RemoteAddress() string { return "webrtc:" + c.RemoteAddr().String() }
func (c pathConn) Path() string          { return sdk.PathWebRTC }

func (*signaled) Info() sdk.Info                                        { return sdk.Info{Name: "fake-webrtc"} }
func (*signaled) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (*signaled) Shutdown(context.Context) error                        { return nil }

// Listen is never used: inbound sessions reach the fake through the
// nodes' own loopback listeners.
func (*signaled) Listen(context.Context, sdk.ListenRequest) (sdk.Listener, error) {
	return nil, sdk.ErrUnsupported
}

func (s *signaled) Dial(ctx context.Context, r sdk.DialRequest) (sdk.Conn, error) {
	s.dials.Add(1)
	if r.URI != "" {
		return nil, fmt.Errorf("%w: dialed with a URI %q", sdk.ErrInvalidArgument, r.URI)
	}
	s.mu.Lock()
	addr, ok := s.route[r.ExpectedNodeID]
	hold := s.hold
	s.mu.Unlock()
	if hold {
		<-ctx.Done()
		s.aborted.Add(1)
		return nil, ctx.Err()
	}
	if !ok {
		return nil, fmt.Errorf("%w: no answer from %s through the hub", sdk.ErrUnavailable, r.ExpectedNodeID)
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return pathConn{c.(*net.TCPConn)}, nil
}

// withSignaled gives a node the fake next to its loopback transport.
func withSignaled(fake *signaled) func(*network.Options) {
	return func(o *network.Options) {
		direct := o.Transports
		o.Transports = both{direct, network.ByNodeID(fake)}
	}
}

type both struct {
	direct network.Transports
	extra  sdk.Transport
}

func (b both) Transports() []sdk.Transport {
	return append(b.direct.Transports(), b.extra)
}

func connectAndWait(t *testing.T, a *nettest.Node, target string) (network.PeerStatus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	return a.Net.Connect(ctx, target, network.ConnectOptions{})
}

func TestConnectByNodeIDAloneUsesTheSignaledPath(t *testing.T) {
	fake := &signaled{route: map[string]string{}}
	a := nettest.Loopback(t, "alice", withSignaled(fake))
	b := nettest.Loopback(t, "bob", nil)
	fake.route[b.ID.NodeID] = addr(b)

	st, err := connectAndWait(t, a, b.ID.NodeID)
	if err != nil || st.State != "connected" {
		t.Fatalf("connect by node_id: state %q, err %v", st.State, err)
	}
	if st.Path != sdk.PathWebRTC {
		t.Errorf("path = %q, want %q", st.Path, sdk.PathWebRTC)
	}
	p, err := a.Peers.Get(b.ID.NodeID)
	if err != nil || !p.Contact || p.Path != sdk.PathWebRTC {
		t.Errorf("peer record after connect = %+v (err %v), want a contact last reached over webrtc", p, err)
	}
	if _, err := a.Chats.Send(b.ID.NodeID, "over the signaled path"); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "bob to get the message", func() bool {
		msgs, _ := b.Chat.History(a.ID.NodeID, time.Time{}, 10)
		return len(msgs) == 1 && msgs[0].Text == "over the signaled path"
	})
}

func TestDirectAddressWinsAndTheOtherPathIsCalledOff(t *testing.T) {
	// The by-node-id path never comes up: the direct one must win, and
	// the by-node-id dial, if it started at all, must be called off.
	fake := &signaled{route: map[string]string{}, hold: true}
	a := nettest.Loopback(t, "alice", withSignaled(fake))
	b := nettest.Loopback(t, "bob", nil)

	st, err := connectAndWait(t, a, b.URI())
	if err != nil || st.State != "connected" {
		t.Fatalf("connect: state %q, err %v", st.State, err)
	}
	if st.Path != sdk.PathDirect {
		t.Errorf("path = %q, want %q", st.Path, sdk.PathDirect)
	}
	nettest.WaitFor(t, "every by-node-id dial to be called off", func() bool {
		return fake.aborted.Load() == fake.dials.Load()
	})
}

func TestDeadDirectAddressFallsBackToTheSignaledPath(t *testing.T) {
	fake := &signaled{route: map[string]string{}}
	a := nettest.Loopback(t, "alice", withSignaled(fake))
	b := nettest.Loopback(t, "bob", nil)
	fake.route[b.ID.NodeID] = addr(b)
	// A port nothing listens on: the direct dial is refused.
	dead := fmt.Sprintf("dpc://127.0.0.1:%d?node_id=%s", sdktest.ReservePort(t), b.ID.NodeID)

	st, err := connectAndWait(t, a, dead)
	if err != nil || st.State != "connected" {
		t.Fatalf("connect: state %q, err %v", st.State, err)
	}
	if st.Path != sdk.PathWebRTC {
		t.Errorf("path = %q, want %q (the direct address is dead)", st.Path, sdk.PathWebRTC)
	}
}

func TestSignaledPathToAnotherNodeIsRefused(t *testing.T) {
	// A lying hub: asked for bob, it finds carol. The handshake refuses
	// her, and nothing meant for bob reaches her.
	fake := &signaled{route: map[string]string{}}
	a := nettest.Loopback(t, "alice", withSignaled(fake))
	b := nettest.Loopback(t, "bob", nil)
	c := nettest.Loopback(t, "carol", nil)
	fake.route[b.ID.NodeID] = addr(c)

	_, err := connectAndWait(t, a, b.ID.NodeID)
	if !errors.Is(err, network.ErrWrongPeer) || !errors.Is(err, session.ErrPeerMismatch) {
		t.Fatalf("connect to bob through a lying hub: err %v, want ErrWrongPeer wrapping ErrPeerMismatch", err)
	}
	for _, want := range []string{b.ID.NodeID, c.ID.NodeID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not name %s", err, want)
		}
	}
	if _, err := a.Peers.Get(b.ID.NodeID); err == nil {
		t.Errorf("bob was kept as a contact although he was never reached")
	}
	msgs, err := c.Chat.History(a.ID.NodeID, time.Time{}, 10)
	if err != nil || len(msgs) != 0 {
		t.Errorf("carol holds %d messages from alice (err %v), want none", len(msgs), err)
	}
}

func TestPeerLastReachedOverWebRTCRacesBothPathsAtOnce(t *testing.T) {
	// Bob was last reached over WebRTC: the next dial starts both paths at
	// once (no head start for the direct one), and the first up wins.
	fake := &signaled{route: map[string]string{}, hold: true}
	a := nettest.Loopback(t, "alice", withSignaled(fake))
	b := nettest.Loopback(t, "bob", nil)
	if _, err := a.Peers.Update(b.ID.NodeID, func(p *peers.Peer) {
		p.Contact, p.Path = true, sdk.PathWebRTC
		p.RememberURI(b.URI())
	}); err != nil {
		t.Fatal(err)
	}
	st, err := connectAndWait(t, a, b.URI())
	if err != nil || st.State != "connected" || st.Path != sdk.PathDirect {
		t.Fatalf("connect: state %q, path %q, err %v; want connected over the direct path", st.State, st.Path, err)
	}
	nettest.WaitFor(t, "the by-node-id path to have been tried and called off", func() bool {
		return fake.dials.Load() >= 1 && fake.aborted.Load() == fake.dials.Load()
	})
	p, err := a.Peers.Get(b.ID.NodeID)
	if err != nil || p.Path != sdk.PathDirect {
		t.Errorf("remembered path = %q (err %v), want %q", p.Path, err, sdk.PathDirect)
	}
}

// directory is a fake hub directory: every node is offline, last seen at
// seen (zero: never).
type directory struct{ seen time.Time }

func (d directory) Lookup(_ context.Context, node string) (sdk.PeerRecord, error) {
	return sdk.PeerRecord{NodeID: node, LastSeen: d.seen}, nil
}

func TestDialByNodeIDFailsFastWhenThePeerIsNotOnTheHub(t *testing.T) {
	// An offer to a node that is not online on the hub cannot be
	// answered: the dial says so at once instead of waiting out its
	// timeout, and the transport is never asked.
	seen := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fake := &signaled{route: map[string]string{}, hold: true}
	a := nettest.Loopback(t, "alice", func(o *network.Options) {
		withSignaled(fake)(o)
		o.Directory = directory{seen: seen}
	})
	const bob = "dpc-node-0123456789abcdef0123456789abcdef"
	_, err := connectAndWait(t, a, bob)
	if !errors.Is(err, network.ErrNotOnHub) || !strings.Contains(err.Error(), "last seen 2026-12-01T10:00:00Z") {
		t.Fatalf("connect to a node offline on the hub: err %v, want ErrNotOnHub with when it was last seen", err)
	}
	if n := fake.dials.Load(); n != 0 {
		t.Errorf("the transport was asked to dial %d times, want none", n)
	}
}

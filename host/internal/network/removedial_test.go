package network_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/sdk"
)

// dialGate holds the dials of a node's transports, once armed, until
// released.
type dialGate struct {
	mu       sync.Mutex
	armed    bool
	started  chan struct{}
	released chan struct{}
}

func (g *dialGate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.started, g.released = true, make(chan struct{}), make(chan struct{})
}

func (g *dialGate) wait(ctx context.Context) {
	g.mu.Lock()
	armed, started, released := g.armed, g.started, g.released
	g.armed = false // the next dial only
	g.mu.Unlock()
	if !armed {
		return
	}
	close(started)
	select {
	case <-released:
	case <-ctx.Done():
	}
}

type gatedTransport struct {
	sdk.Transport
	g *dialGate
}

func (t gatedTransport) Dial(ctx context.Context, r sdk.DialRequest) (sdk.Conn, error) {
	t.g.wait(ctx)
	return t.Transport.Dial(ctx, r)
}

type gatedTransports struct {
	inner network.Transports
	g     *dialGate
}

func (t gatedTransports) Transports() []sdk.Transport {
	var out []sdk.Transport
	for _, tr := range t.inner.Transports() {
		out = append(out, gatedTransport{tr, t.g})
	}
	return out
}

// TestPeerRemovedWhileBeingDialedGetsNoSession: B redials A the moment A
// removes B (A is still B's contact); the user removes A on B while that
// dial is under way. The session the dial brings is dropped: neither side
// keeps one. Before, it was attached after the removal, both sides kept a
// session with a peer each had forgotten, and a channel's pushes went
// across the partition the user had made (the five-node channel e2e's
// partition phase, under load).
func TestPeerRemovedWhileBeingDialedGetsNoSession(t *testing.T) {
	t.Parallel()
	gate := &dialGate{}
	a := nettest.Loopback(t, "alice", nil)
	b := nettest.Loopback(t, "bob", func(o *network.Options) { o.Transports = gatedTransports{o.Transports, gate} })
	nettest.Connect(t, a, b)
	nettest.Connect(t, b, a)
	events, done := b.Net.Bus().Subscribe()
	defer done()

	gate.arm()
	if err := a.Net.Remove(b.ID.NodeID); err != nil {
		t.Fatal(err)
	}
	<-gate.started // b redials a, its contact
	// What bob published up to the dial (the session's end, connecting)
	// is in the channel already: only what follows the dial counts.
	for drained := false; !drained; {
		select {
		case <-events:
		default:
			drained = true
		}
	}
	if err := b.Net.Remove(a.ID.NodeID); err != nil {
		t.Fatal(err)
	}
	close(gate.released)
	for {
		e := nettest.NextEvent(t, events, "peer")
		st, ok := e.Data.(map[string]string)
		if !ok || e.Peer != a.ID.NodeID || st["state"] == "connecting" {
			continue
		}
		if st["state"] == "connected" {
			t.Fatal("bob attached the session of a dial started before the user removed alice")
		}
		break
	}
	nettest.WaitFor(t, "no session between alice and bob", func() bool {
		return a.Net.Session(b.ID.NodeID) == nil && b.Net.Session(a.ID.NodeID) == nil
	})
}

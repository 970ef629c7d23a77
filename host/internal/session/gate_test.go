package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/identity"
)

// gateConn is a pending connection of a gate test: a netConn over one end
// of a loopback pair, marked as having sent bytes or not.
func gateConn(t *testing.T, heard bool) *netConn {
	t.Helper()
	a, _ := pair(t)
	nc := newNetConn(a)
	t.Cleanup(func() { _ = nc.Close() })
	nc.heard.Store(heard)
	return nc
}

func isClosed(nc *netConn) bool {
	select {
	case <-nc.closed:
		return true
	default:
		return false
	}
}

// TestGateShedsFloodNotRealPeers is the connection flood: idle connections
// beyond a bound are closed, oldest first, and never a connection that
// already sent bytes while an idle one is left to close, nor one of a
// quiet source while a busier source holds more.
func TestGateShedsFloodNotRealPeers(t *testing.T) {
	t.Parallel()
	type entry struct {
		source string
		heard  bool
	}
	for _, tc := range []struct {
		name           string
		max, perSource int
		entries        []entry
		wantShed       []int // indexes into entries
	}{
		{
			name: "idle flood from one source keeps only perSource", max: 100, perSource: 3,
			entries:  []entry{{"10.0.0.1:1", false}, {"10.0.0.1:2", false}, {"10.0.0.1:3", false}, {"10.0.0.1:4", false}, {"10.0.0.1:5", false}},
			wantShed: []int{0, 1},
		},
		{
			name: "a peer that sent its ClientHello outlives idle connections from its address", max: 100, perSource: 2,
			entries:  []entry{{"127.0.0.1:1", true}, {"127.0.0.1:2", false}, {"127.0.0.1:3", false}, {"127.0.0.1:4", false}},
			wantShed: []int{1, 2},
		},
		{
			name: "when every connection sent bytes the oldest goes", max: 100, perSource: 2,
			entries:  []entry{{"127.0.0.1:1", true}, {"127.0.0.1:2", true}, {"127.0.0.1:3", true}},
			wantShed: []int{0},
		},
		{
			name: "the total bound sheds from the busiest source, not a quiet one", max: 3, perSource: 3,
			entries:  []entry{{"10.0.0.2:1", false}, {"10.0.0.1:1", false}, {"10.0.0.1:2", false}, {"10.0.0.3:1", false}},
			wantShed: []int{1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewGate(tc.max, tc.perSource)
			var ncs []*netConn
			for _, e := range tc.entries {
				nc := gateConn(t, e.heard)
				g.enter(e.source, nc)
				ncs = append(ncs, nc)
			}
			shed := map[int]bool{}
			for _, i := range tc.wantShed {
				shed[i] = true
			}
			for i, nc := range ncs {
				if got := isClosed(nc); got != shed[i] {
					t.Errorf("connection %d (%s): closed = %v, want %v", i, tc.entries[i].source, got, shed[i])
				}
			}
			if want := len(tc.entries) - len(tc.wantShed); g.Pending() != want {
				t.Errorf("Pending() = %d, want %d", g.Pending(), want)
			}
		})
	}
}

// TestIdleConnectionsAreNotFailedHandshakes: connections that never send a
// byte — shed by the gate, timed out, or closed — leave the failed-handshake
// limiter alone, so a flood of them from a shared address (loopback, a NAT)
// cannot get a real peer from that address refused.
func TestIdleConnectionsAreNotFailedHandshakes(t *testing.T) {
	t.Parallel()
	sid, cid := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	lim := NewLimiter(time.Hour, 1)
	gate := NewGate(1, 1)
	o := Options{Identity: sid, Name: "server", HandshakeTimeout: 5 * time.Second, Gate: gate}

	// Timed out: a short handshake timeout, and nothing sent.
	_, sc := pair(t)
	short := o
	short.HandshakeTimeout = 50 * time.Millisecond
	if r := <-runServerWith(sc, short, lim); !errors.Is(r.err, ErrNothingSent) || !errors.Is(r.err, ErrHandshakeTimeout) {
		t.Fatalf("idle connection: want ErrNothingSent after the handshake timeout, got %v", r.err)
	}
	// Shed: an idle connection waits in the gate, a real client arrives.
	_, idle := pair(t)
	idleRes := runServerWith(idle, o, lim)
	waitPending(t, gate, 1)
	cc, sc := pair(t)
	srv := runServerWith(sc, o, lim)
	if r := <-idleRes; !errors.Is(r.err, ErrShed) {
		t.Fatalf("idle connection at the bound: want ErrShed, got %v", r.err)
	}
	cs, err := Client(context.Background(), cc, Options{Identity: cid, Name: "client"}, sid.NodeID)
	if err != nil {
		t.Fatalf("real client during the flood: %v", err)
	}
	defer cs.Close()
	r := <-srv
	if r.err != nil {
		t.Fatalf("server side of the real client: %v", r.err)
	}
	defer r.s.Close()
	if !lim.Allowed("127.0.0.1:1") {
		t.Error("the limiter counted idle connections as failed handshakes")
	}
	if gate.Pending() != 0 {
		t.Errorf("Pending() = %d after every handshake ended, want 0", gate.Pending())
	}
}

// waitPending waits until n connections are in the gate.
func waitPending(t *testing.T, g *Gate, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a safety net, not a pace
	for g.Pending() != n {
		if time.Now().After(deadline) {
			t.Fatalf("gate holds %d connections, want %d", g.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

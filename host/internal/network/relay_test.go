package network_test

// The D-PC v1 relay impersonation: D-PC v1's handshake signs sha256(nonce)
// with no channel binding, so a node M that declines ALPN when A dials it
// can hand A the nonce of B's HELLO_CHALLENGE, forward A's signed HELLO to
// B, and be accepted by B as A. Three real parties: A and B are our nodes
// (RSA, with D-PC v1 compatibility on, each with its transport-direct
// subprocess), M runs the relay below.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dpcv1ref"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

// relayOutcome is how far M's relay got.
type relayOutcome struct {
	// signed is true when A sent M a HELLO signing B's nonce.
	signed bool
	// acceptedAsA is true when B answered the relayed HELLO with HELLO_ACK.
	acceptedAsA bool
	err         error
}

// v1Relay is M: it accepts one dial from A and relays the v1 handshake
// between A and B at target.
type v1Relay struct {
	id      *dpcv1ref.Identity
	ln      net.Listener
	target  string
	outcome chan relayOutcome
}

func newV1Relay(t *testing.T, target string) *v1Relay {
	t.Helper()
	id, err := dpcv1ref.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &v1Relay{id: id, ln: ln, target: target, outcome: make(chan relayOutcome, 1)}
	t.Cleanup(func() { _ = ln.Close() })
	go r.serve()
	return r
}

func (r *v1Relay) uri() string { return "dpc://" + r.ln.Addr().String() + "?node_id=" + r.id.NodeID }

func (r *v1Relay) serve() {
	c, err := r.ln.Accept()
	if err != nil {
		r.outcome <- relayOutcome{err: err}
		return
	}
	defer c.Close()
	r.outcome <- r.relay(c)
}

func (r *v1Relay) relay(c net.Conn) relayOutcome {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	block, _ := pem.Decode(r.id.CertPEM)
	// No NextProtos: M declines ALPN, as a D-PC v1 node does.
	fromA := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{block.Bytes}, PrivateKey: r.id.Key}},
		MinVersion: tls.VersionTLS12})
	if err := fromA.Handshake(); err != nil {
		return relayOutcome{err: fmt.Errorf("A refused M's TLS without dptp/1: %w", err)}
	}
	toB, err := tls.Dial("tcp", r.target, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err != nil {
		return relayOutcome{err: fmt.Errorf("dialing B: %w", err)}
	}
	defer toB.Close()
	_ = toB.SetDeadline(time.Now().Add(30 * time.Second))
	challenge, err := dpcv1ref.ReadFrame(toB, 0)
	if err != nil {
		return relayOutcome{err: fmt.Errorf("B's HELLO_CHALLENGE: %w", err)}
	}
	if err := dpcv1ref.WriteFrame(fromA, challenge); err != nil {
		return relayOutcome{err: fmt.Errorf("handing B's nonce to A: %w", err)}
	}
	hello, err := dpcv1ref.ReadFrame(fromA, 0)
	if err != nil {
		return relayOutcome{err: fmt.Errorf("A's HELLO: %w", err)}
	}
	if err := dpcv1ref.WriteFrame(toB, hello); err != nil {
		return relayOutcome{signed: true, err: fmt.Errorf("forwarding A's HELLO to B: %w", err)}
	}
	ack, err := dpcv1ref.ReadFrame(toB, 0)
	if err != nil {
		return relayOutcome{signed: true, err: fmt.Errorf("B's answer to the relayed HELLO: %w", err)}
	}
	var a struct {
		Command, Status string
	}
	if json.Unmarshal(ack, &a) != nil || a.Command != "HELLO_ACK" || a.Status != "OK" {
		return relayOutcome{signed: true, err: fmt.Errorf("B answered %s", ack)}
	}
	// B believes M is A: speak as A.
	msg, _ := json.Marshal(map[string]any{"command": "SEND_TEXT", "payload": map[string]any{"text": "this is A, honest"}})
	_ = dpcv1ref.WriteFrame(toB, msg)
	return relayOutcome{signed: true, acceptedAsA: true}
}

func TestV1RelayImpersonation(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// setup prepares A and B before A dials M.
		setup func(t *testing.T, a, b *nettest.Node)
		// markM is whether A's user marked M as a D-PC v1 peer.
		markM bool
		// wantConnectErr is in A's dpc connect error.
		wantConnectErr string
		// wantSigned is whether A signs anything for M.
		wantSigned bool
		// wantRefusal is in B's refusal of the relayed HELLO ("" if B
		// never sees one).
		wantRefusal string
	}{
		"A does not fall back to v1 for a peer not marked as v1": {
			setup:          func(t *testing.T, a, b *nettest.Node) { nettest.Connect(t, a, b) },
			wantConnectErr: "not marked as D-PC v1",
		},
		"B refuses v1 for a node_id that spoke dptp/1 with it": {
			setup:       func(t *testing.T, a, b *nettest.Node) { nettest.Connect(t, a, b) },
			markM:       true,
			wantSigned:  true,
			wantRefusal: "downgrade",
		},
		"B refuses v1 for a contact not marked as v1": {
			setup: func(t *testing.T, a, b *nettest.Node) {
				if _, err := b.Peers.Update(a.ID.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
					t.Fatal(err)
				}
			},
			markM:       true,
			wantSigned:  true,
			wantRefusal: "not marked as D-PC v1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := nettest.NewNode(t, nettest.Options{Name: "A", KeyType: identity.KeyRSA, DPCv1: true})
			b := nettest.NewNode(t, nettest.Options{Name: "B", KeyType: identity.KeyRSA, DPCv1: true})
			tc.setup(t, a, b)
			m := newV1Relay(t, addr(b))

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := a.Net.Connect(ctx, m.uri(), network.ConnectOptions{V1: tc.markM})
			if err == nil {
				t.Fatal("A's connect to M: want an error, it connected")
			}
			if tc.wantConnectErr != "" && !strings.Contains(err.Error(), tc.wantConnectErr) {
				t.Errorf("A's connect to M: want %q, got %v", tc.wantConnectErr, err)
			}
			var out relayOutcome
			select {
			case out = <-m.outcome:
			case <-ctx.Done():
				t.Fatal("the relay never finished")
			}
			if out.acceptedAsA {
				t.Fatal("B accepted M as A: impersonation through the D-PC v1 relay")
			}
			if out.signed != tc.wantSigned {
				t.Errorf("A signed B's nonce for M: %v, want %v (relay: %v)", out.signed, tc.wantSigned, out.err)
			}
			if tc.wantRefusal != "" {
				nettest.WaitFor(t, "B's refusal of the relayed HELLO", func() bool {
					return slices.ContainsFunc(b.Net.Refusals(), func(r network.Refusal) bool { return strings.Contains(r.Reason, tc.wantRefusal) })
				})
			}
			st, err := b.Net.Peers()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range st {
				if p.NodeID == a.ID.NodeID && p.Protocol == peers.ProtocolV1 {
					t.Errorf("B shows A over D-PC v1: %+v", p)
				}
			}
			if h, _ := b.Chat.History(a.ID.NodeID, time.Time{}, 0); slices.ContainsFunc(h, func(m chat.Message) bool { return m.Text == "this is A, honest" }) {
				t.Error("B stored a message M wrote as A")
			}
		})
	}
}

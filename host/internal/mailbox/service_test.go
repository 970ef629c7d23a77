package mailbox_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/mailbox"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nettest.Cleanup()
	os.Exit(code)
}

// record is the peer record a session with id leaves behind.
func record(id *identity.Identity) peers.Peer {
	return peers.Peer{NodeID: id.NodeID, Certificate: id.Certificate.Raw, EnvelopeKey: id.EnvelopeKey.PublicKey().Bytes(),
		EnvelopeBinding: id.EnvelopeBinding}
}

// befriend makes from a contact of n with no address, so that n never
// dials it: they share no session.
func befriend(t testing.TB, n *nettest.Node, from *identity.Identity) {
	t.Helper()
	if _, err := n.Peers.Update(from.NodeID, func(p *peers.Peer) { *p = record(from); p.Contact = true }); err != nil {
		t.Fatal(err)
	}
}

var channelOps = []byte(`{"channel_id":"` + strings.Repeat("ab", 32) + `","ops":["AAEC"]}`)

func seal(t testing.TB, from *identity.Identity, to *identity.Identity, command string, payload []byte) []byte {
	t.Helper()
	env, err := mailbox.Seal(from, record(to), command, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// refusals collects the mailbox.refused events of n until it has count.
func refusals(t testing.TB, events <-chan network.Event, count int) []mailbox.Refused {
	t.Helper()
	var out []mailbox.Refused
	deadline := time.After(nettest.WaitLimit)
	for len(out) < count {
		select {
		case e := <-events:
			if e.Type == mailbox.EventRefused {
				out = append(out, e.Data.(mailbox.Refused))
			}
		case <-deadline:
			t.Fatalf("got %d refusals %+v, want %d", len(out), out, count)
		}
	}
	return out
}

// TestMailboxRefusesAndAcknowledges: an envelope from a stranger, from a
// contact the firewall denies the mailbox, with a command no capability
// takes from a mailbox, sealed to another node, not an envelope at all, or
// delivered a second time, is refused with its reason; each is
// acknowledged, so the hub drops it instead of handing it over forever.
func TestMailboxRefusesAndAcknowledges(t *testing.T) {
	t.Parallel()
	sendText := []byte(`{"message_id":"m1","text":"hi"}`)
	tests := map[string]struct {
		firewall string
		contact  bool
		// envelopes builds what the hub holds for bob, from alice.
		envelopes func(alice, bob *identity.Identity) [][]byte
		want      []string
	}{
		"a stranger's envelope": {
			envelopes: func(a, b *identity.Identity) [][]byte { return [][]byte{seal(t, a, b, dptp.CmdChannelOps, channelOps)} },
			want:      []string{mailbox.ReasonFirewall},
		},
		"a contact the firewall denies the mailbox": {
			firewall: `rule "group" "contacts" { allow = ["messages"] }`, contact: true,
			envelopes: func(a, b *identity.Identity) [][]byte { return [][]byte{seal(t, a, b, dptp.CmdChannelOps, channelOps)} },
			want:      []string{mailbox.ReasonFirewall},
		},
		"a command no capability takes from a mailbox": {
			contact:   true,
			envelopes: func(a, b *identity.Identity) [][]byte { return [][]byte{seal(t, a, b, dptp.CmdSendText, sendText)} },
			want:      []string{mailbox.ReasonNotAccepted},
		},
		"sealed to another node": {
			contact: true,
			envelopes: func(a, _ *identity.Identity) [][]byte {
				return [][]byte{seal(t, a, nettest.RawIdentity(t), dptp.CmdChannelOps, channelOps)}
			},
			want: []string{mailbox.ReasonUnreadable},
		},
		"bytes that are no envelope": {
			envelopes: func(_, _ *identity.Identity) [][]byte { return [][]byte{[]byte("DPCMB1 hello")} },
			want:      []string{mailbox.ReasonUnreadable},
		},
		"the same envelope twice": {
			contact: true,
			envelopes: func(a, b *identity.Identity) [][]byte {
				env := seal(t, a, b, dptp.CmdChannelOps, channelOps)
				return [][]byte{env, env}
			},
			// The first reaches channels, which knows no such channel.
			want: []string{mailbox.ReasonHandler, mailbox.ReasonReplay},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := nettest.NewMailHub()
			bob := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true, Hub: hub, Firewall: tc.firewall})
			alice := nettest.RawIdentity(t)
			if tc.contact {
				befriend(t, bob, alice)
			}
			events, stop := bob.Net.Bus().Subscribe()
			defer stop()
			for _, env := range tc.envelopes(alice, bob.ID) {
				hub.Put(bob.ID.NodeID, env)
			}
			got := refusals(t, events, len(tc.want))
			var reasons []string
			for _, r := range got {
				reasons = append(reasons, r.Reason)
				if r.Peer != "" && r.Peer != alice.NodeID {
					t.Errorf("refusal names %s as the sender, want alice %s", r.Peer, alice.NodeID)
				}
			}
			if !slices.Equal(reasons, tc.want) {
				t.Fatalf("refused for %v (%+v), want %v", reasons, got, tc.want)
			}
			nettest.WaitFor(t, "bob's mailbox emptied", func() bool { return len(hub.Held(bob.ID.NodeID)) == 0 })
		})
	}
}

// TestSendSaysWhyNothingCanBeMailed: Send fails with a clear sentinel when
// no hub is configured, when the node is logged out, when the recipient's
// envelope key is unknown, and to the node itself.
func TestSendSaysWhyNothingCanBeMailed(t *testing.T) {
	t.Parallel()
	ops, err := dptp.Decode[dptp.ChannelOps](dptp.Frame{Command: dptp.CmdChannelOps, Payload: channelOps})
	if err != nil {
		t.Fatal(err)
	}
	stranger := nettest.RawIdentity(t)
	tests := map[string]struct {
		hub    bool
		logout bool
		to     func(n *nettest.Node) string
		want   error
	}{
		"no hub configured":     {to: func(*nettest.Node) string { return stranger.NodeID }, want: hubsvc.ErrNoHub},
		"logged out of the hub": {hub: true, logout: true, to: func(*nettest.Node) string { return stranger.NodeID }, want: hubsvc.ErrNotLoggedIn},
		"a node never met":      {hub: true, to: func(*nettest.Node) string { return stranger.NodeID }, want: mailbox.ErrNoEnvelopeKey},
		"this node itself":      {hub: true, to: func(n *nettest.Node) string { return n.ID.NodeID }, want: network.ErrSelf},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := nettest.Options{Name: "alice", Loopback: true}
			if tc.hub {
				o.Hub = nettest.NewMailHub()
			}
			n := nettest.NewNode(t, o)
			if tc.logout {
				if _, err := n.Hub.Logout(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			err := n.Mail.Send(context.Background(), tc.to(n), ops, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestMailboxIsFetchedWithoutAHint: an envelope left while the node had no
// signaling socket (no hint) is fetched when the node logs in, and by the
// periodic fetch while it stays logged in.
func TestMailboxIsFetchedWithoutAHint(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		every time.Duration
		// leave leaves the envelope at the hub for n, the way the case says.
		leave func(t *testing.T, hub *nettest.MailHub, n *nettest.Node, env []byte)
	}{
		"at login": {leave: func(t *testing.T, hub *nettest.MailHub, n *nettest.Node, env []byte) {
			if _, err := n.Hub.Logout(context.Background()); err != nil {
				t.Fatal(err)
			}
			hub.Leave(n.ID.NodeID, env)
			if _, err := n.Hub.Login(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		"periodically while logged in": {every: 20 * time.Millisecond, leave: func(_ *testing.T, hub *nettest.MailHub, n *nettest.Node, env []byte) {
			hub.Leave(n.ID.NodeID, env)
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := nettest.NewMailHub()
			n := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true, Hub: hub, MailFetchEvery: tc.every})
			events, stop := n.Net.Bus().Subscribe()
			defer stop()
			// A stranger's: refused by the firewall, which shows it was fetched and opened.
			tc.leave(t, hub, n, seal(t, nettest.RawIdentity(t), n.ID, dptp.CmdChannelOps, channelOps))
			if r := refusals(t, events, 1)[0]; r.Reason != mailbox.ReasonFirewall {
				t.Fatalf("refused %+v, want by the firewall", r)
			}
			nettest.WaitFor(t, "the mailbox emptied", func() bool { return len(hub.Held(n.ID.NodeID)) == 0 })
		})
	}
}

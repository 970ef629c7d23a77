package channels_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/mailbox"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

// cutSession ends the session of a and b for good: neither keeps an
// address of the other, so neither dials again.
func cutSession(t *testing.T, a, b *nettest.Node) {
	t.Helper()
	for _, x := range [][2]*nettest.Node{{a, b}, {b, a}} {
		if _, err := x[0].Peers.Update(x[1].ID.NodeID, func(p *peers.Peer) { p.URIs = nil }); err != nil {
			t.Fatal(err)
		}
	}
	if s := a.Net.Session(b.ID.NodeID); s != nil {
		_ = s.Close()
	}
	nettest.WaitFor(t, "the session of "+a.Name+" and "+b.Name+" to end", func() bool {
		return a.Net.Session(b.ID.NodeID) == nil && b.Net.Session(a.ID.NodeID) == nil
	})
}

// TestPostReachesAMemberWithoutSessionThroughTheMailbox: alice and bob
// share a channel but no session any more; both are logged in to a hub.
// Alice's post goes to bob in an envelope sealed to him, and shows in his
// log, with no session between them. Before, push skipped members without
// a session, and bob saw the post only after they next connected.
func TestPostReachesAMemberWithoutSessionThroughTheMailbox(t *testing.T) {
	t.Parallel()
	hub := nettest.NewMailHub()
	a := nettest.NewNode(t, nettest.Options{Name: "alice", Loopback: true, Hub: hub})
	b := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true, Hub: hub})
	nettest.Connect(t, a, b)
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, ch)
	nettest.WaitFor(t, "bob's copy of the channel", func() bool { return hash(t, b, ch) == hash(t, a, ch) })
	cutSession(t, a, b)

	if _, err := a.Channels.Post(ch, "through the hub"); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "the post in bob's log", func() bool { return slices.Contains(texts(t, b, ch), "through the hub") })
	if a.Net.Session(b.ID.NodeID) != nil {
		t.Fatal("alice and bob have a session again; the post may not have come through the mailbox")
	}
	nettest.WaitFor(t, "bob's mailbox emptied", func() bool { return len(hub.Held(b.ID.NodeID)) == 0 })
}

// TestMailedOpsOfANonMemberAreRefused: carol, bob's contact but no member
// of the channel, mails bob a post for it; bob refuses it as he would over
// a session, and his log does not show it.
func TestMailedOpsOfANonMemberAreRefused(t *testing.T) {
	t.Parallel()
	hub := nettest.NewMailHub()
	a := nettest.NewNode(t, nettest.Options{Name: "alice", Loopback: true, Hub: hub})
	b := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true, Hub: hub})
	c := nettest.NewNode(t, nettest.Options{Name: "carol", Loopback: true, Hub: hub})
	nettest.Connect(t, a, b)
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, ch)
	nettest.WaitFor(t, "bob's copy of the channel", func() bool { return hash(t, b, ch) == hash(t, a, ch) })
	// Carol and bob know each other's keys and are contacts, with no session.
	for _, x := range [][2]*nettest.Node{{b, c}, {c, b}} {
		if _, err := x[0].Peers.Update(x[1].ID.NodeID, func(p *peers.Peer) {
			p.Contact, p.Certificate, p.EnvelopeKey, p.EnvelopeBinding = true, x[1].ID.Certificate.Raw, x[1].ID.EnvelopeKey.PublicKey().Bytes(), x[1].ID.EnvelopeBinding
		}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := b.Channels.StoredKeys(ch)
	if err != nil || len(keys) == 0 {
		t.Fatalf("bob's keys of the channel: %v, %v", keys, err)
	}
	var epoch chanop.ID
	for e := range keys {
		epoch = e
	}
	// A channel's id is its create op's: the post's parent.
	post := rawPost(t, c.ID, ch, epoch, keys[epoch], "from outside", ch)
	events, stop := b.Net.Bus().Subscribe()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	if err := c.Mail.Send(ctx, b.ID.NodeID, dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{post.Encode()}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	r := waitRefusal(t, events)
	if r.Peer != c.ID.NodeID || r.Reason != mailbox.ReasonHandler {
		t.Fatalf("refusal %+v, want one of carol's post by the channel handler", r)
	}
	if slices.Contains(texts(t, b, ch), "from outside") {
		t.Fatal("a non-member's mailed post is in bob's log")
	}
}

func waitRefusal(t *testing.T, events <-chan network.Event) mailbox.Refused {
	t.Helper()
	deadline := time.After(nettest.WaitLimit)
	for {
		select {
		case e := <-events:
			if e.Type == mailbox.EventRefused {
				return e.Data.(mailbox.Refused)
			}
		case <-deadline:
			t.Fatal("no mailbox.refused event")
		}
	}
}

package network_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// TestStrangerFrameLimit: a stranger's session reads frames of at most
// session.StrangerMaxFrame, so it cannot make the node buffer 4 MiB per
// frame; accepting the stranger raises the limit on the live session.
func TestStrangerFrameLimit(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	raw := nettest.RawIdentity(t)
	// A frame over the stranger limit and under the contact limit.
	huge := map[string]any{"message_id": "big", "pad": strings.Repeat("x", session.StrangerMaxFrame)}

	s := nettest.RawSessionAs(t, b, raw)
	nettest.SendText(t, s, "hi", "hello") // recorded as a stranger
	// The node closes the session at the header: the write may fail.
	if err := s.Send(dptp.CmdSendText, huge); err == nil {
		if f, err := s.Read(); err == nil {
			t.Fatalf("a stranger's oversized frame: want the session closed, got %s", f.Command)
		}
	}

	s = nettest.RawSessionAs(t, b, raw)
	nettest.SendText(t, s, "hi2", "hello again")
	if _, err := b.Net.Accept(raw.NodeID); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(dptp.CmdSendText, huge); err != nil {
		t.Fatal(err)
	}
	// Read as a contact: answered (it is no valid SEND_TEXT), not closed.
	e, err := dptp.Decode[dptp.ErrorReply](nettest.Next(t, s, dptp.CmdError))
	if err != nil || e.Code != dptp.CodeBadRequest {
		t.Fatalf("a contact's large frame: want ERROR bad_request, got %+v (err %v)", e, err)
	}
}

// TestStrangerLinksEndWithTheirSessions: many strangers coming and going
// leave no link (nor its dialer goroutine) behind.
func TestStrangerLinksEndWithTheirSessions(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	const strangers = 30
	var gone []func() bool
	for i := range strangers {
		s, raw := nettest.RawSession(t, b)
		nettest.SendText(t, s, fmt.Sprintf("m%d", i), "knock knock")
		gone = append(gone, network.LinkGone(b.Net, raw.NodeID))
		_ = s.Close()
	}
	nettest.WaitFor(t, "every stranger's link forgotten", func() bool { return network.LinkCount(b.Net) == 0 })
	for i, g := range gone {
		if g == nil {
			t.Fatalf("stranger %d had no link while connected", i)
		}
		if !g() {
			t.Errorf("stranger %d: link not marked gone, its dialer would live on", i)
		}
	}
}

// TestOldStrangersArePruned: a stranger not seen for longer than MaxAge is
// forgotten with the requests it left; contacts and recent strangers stay.
func TestOldStrangersArePruned(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	old := time.Now().Add(-network.DefaultStrangerMaxAge - time.Hour).UTC()
	const (
		oldStranger = "dpc-node-0000000000000000000000000000000a"
		newStranger = "dpc-node-0000000000000000000000000000000b"
		oldContact  = "dpc-node-0000000000000000000000000000000c"
	)
	for _, p := range []struct {
		id      string
		contact bool
		seen    time.Time
	}{{oldStranger, false, old}, {newStranger, false, time.Now().UTC()}, {oldContact, true, old}} {
		// The message before the peer record: the node's own prune at
		// start may run at any moment, and must never find a stranger
		// whose messages are still to come.
		state := chat.StateRequest
		if p.contact {
			state = chat.StateReceived
		}
		m := chat.Message{ID: "m-" + p.id[len(p.id)-1:], Peer: p.id, From: p.id, To: b.ID.NodeID, Text: "hi", SentAt: p.seen, State: state}
		if _, err := b.Chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Peers.Update(p.id, func(x *peers.Peer) { x.Contact, x.Request, x.LastSeen = p.contact, !p.contact, p.seen }); err != nil {
			t.Fatal(err)
		}
	}
	network.PruneStrangers(b.Net)
	for _, tc := range []struct {
		id   string
		kept bool
	}{{oldStranger, false}, {newStranger, true}, {oldContact, true}} {
		_, err := b.Peers.Get(tc.id)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: record kept = %v, want %v (err %v)", tc.id, kept, tc.kept, err)
		}
		h, err := b.Chat.History(tc.id, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(h) == 1; kept != tc.kept {
			t.Errorf("%s: messages kept = %v, want %v (%d left)", tc.id, kept, tc.kept, len(h))
		}
	}
}

package network

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// sendText sends a SEND_TEXT and returns the node's ACK.
func sendText(t *testing.T, s *session.Session, id, text string) dptp.Ack {
	t.Helper()
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: id, Text: text, SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := dptp.Decode[dptp.Ack](next(t, s, dptp.CmdAck))
	if err != nil || a.MessageID != id {
		t.Fatalf("want the ACK of %s, got %+v (err %v)", id, a, err)
	}
	return a
}

// TestStrangerFloodOfRequestsIsBounded: a stranger cannot make the node
// keep more than its quota of contact requests, nor can strangers beyond the
// bound leave any; what is refused is refused with an ACK that says why.
func TestStrangerFloodOfRequestsIsBounded(t *testing.T) {
	t.Parallel()
	type send struct {
		stranger int // which stranger sends
		id, text string
		want     string // ACK status
	}
	small := "hello"
	big := strings.Repeat("x", 40<<10)
	for _, tc := range []struct {
		name   string
		limits StrangerLimits
		sends  []send
	}{
		{
			name:   "messages beyond the per-stranger count",
			limits: StrangerLimits{RequestMessages: 2},
			sends: []send{{0, "m1", small, dptp.AckHeld}, {0, "m2", small, dptp.AckHeld}, {0, "m3", small, dptp.AckDenied},
				// A copy of a held message is still acknowledged as held.
				{0, "m2", small, dptp.AckHeld}},
		},
		{
			name:   "bytes beyond the per-stranger size",
			limits: StrangerLimits{}, // the defaults: 64 KiB
			sends:  []send{{0, "b1", big, dptp.AckHeld}, {0, "b2", big, dptp.AckDenied}, {0, "b3", small, dptp.AckHeld}},
		},
		{
			name:   "strangers beyond the total",
			limits: StrangerLimits{MaxStrangers: 2},
			sends:  []send{{0, "s1", small, dptp.AckHeld}, {1, "s2", small, dptp.AckHeld}, {2, "s3", small, dptp.AckDenied}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newTestNodeWith(t, "bob", func(o *Options) { o.Strangers = tc.limits })
			sessions := map[int]*session.Session{}
			for _, snd := range tc.sends {
				s := sessions[snd.stranger]
				if s == nil {
					s, _ = rawSession(t, b)
					sessions[snd.stranger] = s
				}
				a := sendText(t, s, snd.id, snd.text)
				if a.Status != snd.want {
					t.Fatalf("%s: want ACK %s, got %+v", snd.id, snd.want, a)
				}
				if a.Status == dptp.AckDenied && !strings.HasPrefix(a.Reason, "quota_exceeded: ") {
					t.Errorf("%s: want a reason that names the quota, got %q", snd.id, a.Reason)
				}
			}
			if got, max := b.peers.Strangers(), b.strangers.MaxStrangers; got > max {
				t.Errorf("%d strangers on record, want at most %d", got, max)
			}
		})
	}
}

// TestStrangerFrameLimit: a stranger's session reads frames of at most
// session.StrangerMaxFrame, so it cannot make the node buffer 4 MiB per
// frame; accepting the stranger raises the limit on the live session.
func TestStrangerFrameLimit(t *testing.T) {
	t.Parallel()
	b := newTestNode(t, "bob")
	raw := rawIdentity(t)
	// A frame over the stranger limit and under the contact limit.
	huge := map[string]any{"message_id": "big", "pad": strings.Repeat("x", session.StrangerMaxFrame)}

	s := rawSessionAs(t, b, raw)
	sendText(t, s, "hi", "hello") // recorded as a stranger
	// The node closes the session at the header: the write may fail.
	if err := s.Send(dptp.CmdSendText, huge); err == nil {
		if f, err := s.Read(); err == nil {
			t.Fatalf("a stranger's oversized frame: want the session closed, got %s", f.Command)
		}
	}

	s = rawSessionAs(t, b, raw)
	sendText(t, s, "hi2", "hello again")
	if _, err := b.Accept(raw.NodeID); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(dptp.CmdSendText, huge); err != nil {
		t.Fatal(err)
	}
	// Read as a contact: answered (it is no valid SEND_TEXT), not closed.
	e, err := dptp.Decode[dptp.ErrorReply](next(t, s, dptp.CmdError))
	if err != nil || e.Code != dptp.CodeBadRequest {
		t.Fatalf("a contact's large frame: want ERROR bad_request, got %+v (err %v)", e, err)
	}
}

// TestStrangerLinksEndWithTheirSessions: many strangers coming and going
// leave no link (nor its dialer goroutine) behind.
func TestStrangerLinksEndWithTheirSessions(t *testing.T) {
	t.Parallel()
	b := newTestNode(t, "bob")
	const strangers = 30
	var links []*link
	for i := range strangers {
		s, raw := rawSession(t, b)
		sendText(t, s, fmt.Sprintf("m%d", i), "knock knock")
		b.mu.Lock()
		links = append(links, b.links[raw.NodeID])
		b.mu.Unlock()
		_ = s.Close()
	}
	waitFor(t, "every stranger's link forgotten", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.links) == 0
	})
	for i, l := range links {
		if l == nil {
			t.Fatalf("stranger %d had no link while connected", i)
		}
		select {
		case <-l.gone:
		default:
			t.Errorf("stranger %d: link not marked gone, its dialer would live on", i)
		}
	}
}

// TestOldStrangersArePruned: a stranger not seen for longer than MaxAge is
// forgotten with the requests it left; contacts and recent strangers stay.
func TestOldStrangersArePruned(t *testing.T) {
	t.Parallel()
	b := newTestNode(t, "bob")
	old := time.Now().Add(-DefaultStrangerMaxAge - time.Hour).UTC()
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
		if _, err := b.peers.Update(p.id, func(x *peers.Peer) { x.Contact, x.Request, x.LastSeen = p.contact, !p.contact, p.seen }); err != nil {
			t.Fatal(err)
		}
		state := chat.StateRequest
		if p.contact {
			state = chat.StateReceived
		}
		m := chat.Message{ID: "m-" + p.id[len(p.id)-1:], Peer: p.id, From: p.id, To: b.id.NodeID, Text: "hi", SentAt: p.seen, State: state}
		if _, err := b.chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	b.pruneStrangers()
	for _, tc := range []struct {
		id   string
		kept bool
	}{{oldStranger, false}, {newStranger, true}, {oldContact, true}} {
		_, err := b.peers.Get(tc.id)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: record kept = %v, want %v (err %v)", tc.id, kept, tc.kept, err)
		}
		h, err := b.chat.History(tc.id, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(h) == 1; kept != tc.kept {
			t.Errorf("%s: messages kept = %v, want %v (%d left)", tc.id, kept, tc.kept, len(h))
		}
	}
}

// TestStrangerHistoryCannotBypassTheQuota: an unasked-for
// CHAT_HISTORY_RESPONSE from a stranger stores nothing, or it would be a
// way around the request quota.
func TestStrangerHistoryCannotBypassTheQuota(t *testing.T) {
	t.Parallel()
	b := newTestNodeWith(t, "bob", func(o *Options) { o.Strangers = StrangerLimits{RequestMessages: 1} })
	s, raw := rawSession(t, b)
	var items []dptp.ChatMessage
	for i := range 30 {
		items = append(items, dptp.ChatMessage{MessageID: fmt.Sprintf("h%d", i), From: raw.NodeID, To: b.id.NodeID, Text: "via history", SentAt: dptp.Now()})
	}
	if err := s.Send(dptp.CmdChatHistoryResponse, dptp.ChatHistoryResponse{RequestID: "unasked", Messages: items}); err != nil {
		t.Fatal(err)
	}
	// Frames are handled in order: once this is acknowledged, the
	// history response has been dealt with.
	if a := sendText(t, s, "direct", "hello"); a.Status != dptp.AckHeld {
		t.Fatalf("want the one allowed request held, got %+v", a)
	}
	h, err := b.chat.History(raw.NodeID, time.Time{}, 0)
	if err != nil || len(h) != 1 || h[0].ID != "direct" {
		t.Errorf("want only the directly sent request stored, got %d messages (err %v)", len(h), err)
	}
}

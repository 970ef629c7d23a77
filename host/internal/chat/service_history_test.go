package chat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// subscribe returns tn's events from now on.
func subscribe(t *testing.T, n *network.Network) <-chan network.Event {
	t.Helper()
	ch, done := n.Bus().Subscribe()
	t.Cleanup(done)
	return ch
}

// waitEvent waits for the next event of type typ about peer.
func waitEvent(t *testing.T, events <-chan network.Event, typ, peer string) network.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == typ && e.Peer == peer {
				return e
			}
		case <-deadline:
			t.Fatalf("timed out waiting for a %s event about %s", typ, peer)
		}
	}
}

// makeContact makes id a contact of tn (so tn syncs history with it).
func makeContact(t *testing.T, tn *nettest.Node, id *identity.Identity) {
	t.Helper()
	if _, err := tn.Peers.Update(id.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
}

// settle sends a message on s and waits for its ACK: every frame s sent
// before has been handled by then.
func settle(t *testing.T, s *session.Session, id string) {
	t.Helper()
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: id, Text: "marker", SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	for {
		a, err := dptp.Decode[dptp.Ack](nettest.Next(t, s, dptp.CmdAck))
		if err != nil {
			t.Fatal(err)
		}
		if a.MessageID == id {
			return
		}
	}
}

func entry(id, from, to, text string) dptp.ChatMessage {
	return dptp.ChatMessage{MessageID: id, From: from, To: to, Text: text, SentAt: dptp.Now()}
}

// textsOf lists a conversation as "id:state:text".
func textsOf(t *testing.T, tn *nettest.Node, peer string) []string {
	t.Helper()
	h, err := tn.Chat.History(peer, time.Time{}, chat.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range h {
		out = append(out, fmt.Sprintf("%s:%s:%s", m.ID, m.State, m.Text))
	}
	return out
}

// TestUnsolicitedHistoryResponseIgnored: a CHAT_HISTORY_RESPONSE that
// answers no request of ours stores nothing, from a stranger or a contact;
// above all no message "sent by us".
func TestUnsolicitedHistoryResponseIgnored(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ contact bool }{
		"from a stranger": {false},
		"from a contact":  {true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := nettest.Loopback(t, "bob", nil)
			id := nettest.RawIdentity(t)
			if tc.contact {
				makeContact(t, b, id)
			}
			s := nettest.RawSessionAs(t, b, id)
			for _, reqID := range []string{"never-asked", "also-never-asked"} {
				forged := dptp.ChatHistoryResponse{RequestID: reqID, Messages: []dptp.ChatMessage{
					entry("f1-"+reqID, b.ID.NodeID, id.NodeID, "I owe you 1000 EUR"),
					entry("f2-"+reqID, id.NodeID, b.ID.NodeID, "injected"),
				}}
				if err := s.Send(dptp.CmdChatHistoryResponse, forged); err != nil {
					t.Fatal(err)
				}
			}
			settle(t, s, "marker")
			got := textsOf(t, b, id.NodeID)
			if len(got) != 1 || !strings.HasPrefix(got[0], "marker:") {
				t.Errorf("want only the marker stored, got %q", got)
			}
		})
	}
}

// TestHistoryResponseFromOtherPeerIgnored: an answer to our request to X
// counts only when X sends it, even if another peer learnt its request_id.
func TestHistoryResponseFromOtherPeerIgnored(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	xID, yID := nettest.RawIdentity(t), nettest.RawIdentity(t)
	makeContact(t, b, xID)
	makeContact(t, b, yID)
	events := subscribe(t, b.Net)
	x := nettest.RawSessionAs(t, b, xID)
	req, err := dptp.Decode[dptp.RequestChatHistory](nettest.Next(t, x, dptp.CmdRequestChatHistory))
	if err != nil {
		t.Fatal(err)
	}
	y := nettest.RawSessionAs(t, b, yID)
	// Y answers Bob's request to X, with words put in X's mouth.
	if err := y.Send(dptp.CmdChatHistoryResponse, dptp.ChatHistoryResponse{RequestID: req.RequestID, Messages: []dptp.ChatMessage{
		entry("put-in-x-mouth", xID.NodeID, b.ID.NodeID, "X never said this"),
		entry("from-y", yID.NodeID, b.ID.NodeID, "Y's entry"),
	}}); err != nil {
		t.Fatal(err)
	}
	settle(t, y, "y-marker")
	// X's own answer is still awaited, and taken.
	if err := x.Send(dptp.CmdChatHistoryResponse, dptp.ChatHistoryResponse{RequestID: req.RequestID, Messages: []dptp.ChatMessage{
		entry("real", xID.NodeID, b.ID.NodeID, "X said this"),
	}}); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, "history_synced", xID.NodeID)
	if res := e.Data.(chat.HistorySynced); res.Taken != 1 || res.Stored != 1 || res.Error != "" {
		t.Errorf("sync with X: want one message taken and stored, got %+v", res)
	}
	if got := textsOf(t, b, xID.NodeID); len(got) != 1 || got[0] != "real:received:X said this" {
		t.Errorf("conversation with X: want only X's own answer, got %q", got)
	}
	if got := textsOf(t, b, yID.NodeID); len(got) != 1 || got[0] != "y-marker:received:marker" {
		t.Errorf("conversation with Y: want only Y's marker, got %q", got)
	}
}

// TestHistoryFromMeNotInStoreMarkedRestored: in an answer to our request, an
// entry "from us" that we hold changes nothing, and one we do not hold is
// kept as restored (the peer's word), which the peer's ACK cannot turn into
// a message we sent.
func TestHistoryFromMeNotInStoreMarkedRestored(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	xID := nettest.RawIdentity(t)
	makeContact(t, b, xID)
	known := chat.Message{ID: "known", Peer: xID.NodeID, From: b.ID.NodeID, To: xID.NodeID, Text: "what I wrote",
		SentAt: time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)}
	if err := b.Chat.AddOutgoing(known); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Chat.Acknowledge(xID.NodeID, b.ID.NodeID, "known", chat.StateDelivered, ""); err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, b.Net)
	x := nettest.RawSessionAs(t, b, xID)
	req, err := dptp.Decode[dptp.RequestChatHistory](nettest.Next(t, x, dptp.CmdRequestChatHistory))
	if err != nil {
		t.Fatal(err)
	}
	altered := entry("known", b.ID.NodeID, xID.NodeID, "what X says I wrote")
	altered.SentAt = dptp.NewTimestamp(known.SentAt)
	if err := x.Send(dptp.CmdChatHistoryResponse, dptp.ChatHistoryResponse{RequestID: req.RequestID, Messages: []dptp.ChatMessage{
		altered,
		entry("unknown", b.ID.NodeID, xID.NodeID, "X says I wrote this"),
		entry("x1", xID.NodeID, b.ID.NodeID, "X wrote this"),
	}}); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, "history_synced", xID.NodeID)
	if res := e.Data.(chat.HistorySynced); res.Taken != 3 || res.Stored != 2 || res.Restored != 1 {
		t.Errorf("sync: want 3 taken, 2 stored, 1 restored, got %+v", res)
	}
	// X "acknowledges" the restored message, as if we had sent it.
	if err := x.Send(dptp.CmdAck, dptp.Ack{MessageID: "unknown", Status: dptp.AckStored}); err != nil {
		t.Fatal(err)
	}
	settle(t, x, "marker")
	want := map[string]string{
		"known":   "known:delivered:what I wrote",
		"unknown": "unknown:restored:X says I wrote this",
		"x1":      "x1:received:X wrote this",
		"marker":  "marker:received:marker",
	}
	got := textsOf(t, b, xID.NodeID)
	if len(got) != len(want) {
		t.Fatalf("want %d messages, got %q", len(want), got)
	}
	for _, g := range got {
		id, _, _ := strings.Cut(g, ":")
		if want[id] != g {
			t.Errorf("message %s: want %q, got %q", id, want[id], g)
		}
	}
}

// TestHistorySyncFollowsTheCursor: a conversation longer than a page comes
// over in pages, each message once, and the responder never sends more
// than a page however much is asked for.
func TestHistorySyncFollowsTheCursor(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	const total = 2*chat.MaxPageSize + 17
	when := time.Now().UTC().Truncate(time.Millisecond)
	for i := range total {
		// Many share a sent time: paging by time alone would stall.
		m := chat.Message{ID: fmt.Sprintf("m%05d", i), Peer: a.ID.NodeID, From: b.ID.NodeID, To: a.ID.NodeID,
			Text: "page me", SentAt: when.Add(time.Duration(i/700) * time.Millisecond), State: chat.StateDelivered}
		if _, err := b.Chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	makeContact(t, b, a.ID)
	events := subscribe(t, a.Net)
	if _, err := a.Net.Connect(t.Context(), b.URI(), network.ConnectOptions{}); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, "history_synced", b.ID.NodeID)
	if res := e.Data.(chat.HistorySynced); res.Taken != total || res.Stored != total || res.Error != "" {
		t.Fatalf("sync: want %d taken and stored, got %+v", total, res)
	}
	var n int
	for p := (chat.Page{More: true}); p.More; n += len(p.Messages) {
		var err error
		if p, err = a.Chat.After(b.ID.NodeID, p.Next, chat.MaxPageSize); err != nil {
			t.Fatal(err)
		}
		for i, m := range p.Messages {
			if want := fmt.Sprintf("m%05d", n+i); m.ID != want {
				t.Fatalf("message %d: want %s, got %s", n+i, want, m.ID)
			}
		}
	}
	if n != total {
		t.Errorf("want %d messages at alice, got %d", total, n)
	}
}

// TestHistoryResponderPages: a peer asking for the most gets a page, a
// cursor that goes on, and ERROR bad_request for a cursor we never gave.
func TestHistoryResponderPages(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	xID := nettest.RawIdentity(t)
	makeContact(t, b, xID)
	when := time.Now().UTC().Truncate(time.Millisecond)
	for i := range chat.MaxPageSize + 3 {
		m := chat.Message{ID: fmt.Sprintf("m%04d", i), Peer: xID.NodeID, From: xID.NodeID, To: b.ID.NodeID, Text: "t", SentAt: when, State: chat.StateReceived}
		if _, err := b.Chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	x := nettest.RawSessionAs(t, b, xID)
	tests := []struct {
		name     string
		req      dptp.RequestChatHistory
		wantN    int
		wantMore bool
		wantCode string
	}{
		{name: "most allowed", req: dptp.RequestChatHistory{RequestID: "r1", Limit: dptp.MaxHistoryLimit}, wantN: chat.MaxPageSize, wantMore: true},
		{name: "follow the cursor", wantN: 3},
		{name: "foreign cursor", req: dptp.RequestChatHistory{RequestID: "r3", Cursor: "AAAA"}, wantCode: dptp.CodeBadRequest},
	}
	var cursor string
	for _, tc := range tests {
		if tc.req.RequestID == "" {
			tc.req = dptp.RequestChatHistory{RequestID: "r2", Limit: dptp.MaxHistoryLimit, Cursor: cursor}
		}
		if err := x.Send(dptp.CmdRequestChatHistory, tc.req); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := x.Read()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if f.Command == dptp.CmdError {
				e, _ := dptp.Decode[dptp.ErrorReply](f)
				if e.RequestID != tc.req.RequestID {
					continue
				}
				if e.Code != tc.wantCode {
					t.Errorf("%s: want %q, got ERROR %+v", tc.name, tc.wantCode, e)
				}
				break
			}
			if f.Command != dptp.CmdChatHistoryResponse {
				continue
			}
			r, err := dptp.Decode[dptp.ChatHistoryResponse](f)
			if err != nil || r.RequestID != tc.req.RequestID {
				continue
			}
			if tc.wantCode != "" || len(r.Messages) != tc.wantN || r.More != tc.wantMore || (r.More && r.Cursor == "") {
				t.Errorf("%s: want %d messages, more=%v and a cursor, got %d, more=%v, cursor %q", tc.name, tc.wantN, tc.wantMore, len(r.Messages), r.More, r.Cursor)
			}
			cursor = r.Cursor
			break
		}
	}
}

func TestDuplicateMessagesAreStoredOnce(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s, raw := nettest.RawSession(t, b)
	sent := dptp.Now()
	for range 3 {
		if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: "same", Text: "once", SentAt: sent}); err != nil {
			t.Fatal(err)
		}
		if a, err := dptp.Decode[dptp.Ack](nettest.Next(t, s, dptp.CmdAck)); err != nil || a.MessageID != "same" {
			t.Fatalf("want every copy acknowledged, got %+v (err %v)", a, err)
		}
	}
	h, err := b.Chat.History(raw.NodeID, time.Time{}, 0)
	if err != nil || len(h) != 1 {
		t.Errorf("want the message stored once, got %d (err %v)", len(h), err)
	}
}

func TestHistorySyncTakesOnlyOurConversation(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	// Bob has a message to Alice she never got, and a forged entry claiming
	// to be from a third node.
	third := "dpc-node-33333333333333333333333333333333"
	when := time.Now().UTC().Truncate(time.Millisecond)
	for _, m := range []chat.Message{
		{ID: "missed", Peer: a.ID.NodeID, From: b.ID.NodeID, To: a.ID.NodeID, Text: "you missed this", SentAt: when, State: chat.StateDelivered},
		{ID: "forged", Peer: a.ID.NodeID, From: third, To: a.ID.NodeID, Text: "forged", SentAt: when, State: chat.StateReceived},
	} {
		if _, err := b.Chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Peers.Update(a.ID.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, a.Net)
	if _, err := a.Net.Connect(context.Background(), b.URI(), network.ConnectOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "history_synced", b.ID.NodeID)
	h, _ := a.Chat.History(b.ID.NodeID, time.Time{}, 0)
	if len(h) != 1 || h[0].ID != "missed" || h[0].State != chat.StateReceived {
		t.Errorf("want only the missed message, got %+v", h)
	}
}

package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
)

const (
	me   = "dpc-node-00000000000000000000000000000001"
	them = "dpc-node-00000000000000000000000000000002"
)

// TestHistoryLineShowsTheState: every state of a message is on its line,
// and a restored message never looks like one we are known to have sent.
func TestHistoryLineShowsTheState(t *testing.T) {
	t.Parallel()
	out := chat.Message{ID: "m", Peer: them, From: me, To: them, Text: "hi", SentAt: time.Unix(1_800_000_000, 0)}
	in := out
	in.From, in.To = them, me
	with := func(m chat.Message, st chat.State, reason string) chat.Message {
		m.State, m.Reason = st, reason
		return m
	}
	tests := map[string]struct {
		m    chat.Message
		want string
	}{
		"queued":    {with(out, chat.StateQueued, ""), "> hi [queued]"},
		"delivered": {with(out, chat.StateDelivered, ""), "> hi [delivered]"},
		"held":      {with(out, chat.StateHeldByPeer, ""), "> hi [held by peer: contact request]"},
		"refused":   {with(out, chat.StateDenied, "permission_denied: no"), "> hi [refused: permission_denied: no]"},
		"restored":  {with(out, chat.StateRestored, ""), "> hi [restored: the peer's copy; not in this node's records]"},
		"received":  {with(in, chat.StateReceived, ""), "< hi"},
		"request":   {with(in, chat.StateRequest, ""), "< hi [contact request: dpc peers accept " + them + "]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := formatMessage(tc.m); !strings.HasSuffix(got, tc.want) {
				t.Errorf("want a line ending %q, got %q", tc.want, got)
			}
		})
	}
}

// TestChatAckBeforeStoredIsNotUndone: when the peer's ACK event comes
// before the API has answered the send, chat does not print "queued" after
// "delivered".
func TestChatAckBeforeStoredIsNotUndone(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	v := &chatView{out: &b, peer: them, answered: map[string]bool{}}
	m := chat.Message{ID: "m1", Peer: them, From: me, To: them, Text: "fast", SentAt: time.Unix(1_800_000_000, 0), State: chat.StateDelivered}
	raw, err := json.Marshal(map[string]any{"type": "message_state", "peer": them, "data": m})
	if err != nil {
		t.Fatal(err)
	}
	v.event(raw)
	m.State = chat.StateQueued
	v.sent(m)
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "fast [delivered]") {
		t.Errorf("want one line, delivered; got\n%s", got)
	}
}

// TestHistoryJSONStreamsOneArray: --json prints one JSON array of the
// messages however many pages they came in.
func TestHistoryJSONStreamsOneArray(t *testing.T) {
	t.Parallel()
	msg := func(id string) chat.Message { return chat.Message{ID: id, Peer: them, From: them, To: me, Text: id} }
	tests := map[string][]chat.Page{
		"no messages": {{}},
		"one page":    {{Messages: []chat.Message{msg("a"), msg("b")}}},
		"three pages": {{Messages: []chat.Message{msg("a")}, More: true}, {Messages: []chat.Message{msg("b"), msg("c")}, More: true}, {}},
	}
	for name, pages := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			mw := &messageWriter{w: &b, json: true}
			var want []string
			for _, p := range pages {
				if err := mw.page(p); err != nil {
					t.Fatal(err)
				}
				want = append(want, idsOf(p.Messages)...)
			}
			if err := mw.end(); err != nil {
				t.Fatal(err)
			}
			var got []chat.Message
			if err := json.Unmarshal([]byte(b.String()), &got); err != nil || len(got) != len(want) {
				t.Fatalf("want a JSON array of %d messages, got %q (err %v)", len(want), b.String(), err)
			}
			for i, m := range got {
				if m.ID != want[i] {
					t.Errorf("message %d: want %s, got %s", i, want[i], m.ID)
				}
			}
		})
	}
}

func idsOf(ms []chat.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

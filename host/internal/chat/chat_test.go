package chat

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
)

const (
	self = "dpc-node-00000000000000000000000000000001"
	bob  = "dpc-node-00000000000000000000000000000002"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return newStoreWith(t, store.Options{Dir: t.TempDir()})
}

// newStoreWith opens a store with opts (in memory: no fsync per message,
// for tests that store many).
func newStoreWith(t *testing.T, opts store.Options) *Store {
	t.Helper()
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return New(s)
}

func at(sec int) time.Time { return time.Unix(1_800_000_000+int64(sec), 0).UTC() }

func TestOutboxLifecycle(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i, id := range []string{"m2", "m1", "m3"} {
		if err := s.AddOutgoing(Message{ID: id, Peer: bob, From: self, To: bob, Text: id, SentAt: at(10 - i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddOutgoing(Message{ID: "m1", Peer: bob, From: self, To: bob, SentAt: at(99)}); err == nil {
		t.Errorf("AddOutgoing of an existing id: want an error, got nil")
	}
	ob, err := s.Outbox(bob, self)
	if err != nil || len(ob) != 3 || ob[0].ID != "m3" || ob[2].ID != "m2" || ob[0].State != StateQueued {
		t.Fatalf("Outbox: want m3, m1, m2 queued (oldest first), got %+v (err %v)", ob, err)
	}
	m, err := s.Acknowledge(bob, self, "m1", StateDenied, "permission_denied")
	if err != nil || m.State != StateDenied || m.Reason != "permission_denied" {
		t.Fatalf("Acknowledge: want denied with reason, got %+v (err %v)", m, err)
	}
	ob, _ = s.Outbox(bob, self)
	if len(ob) != 2 {
		t.Errorf("Outbox after one ack: want 2 left, got %d", len(ob))
	}
	if _, err := s.Acknowledge(bob, self, "nope", StateDelivered, ""); err == nil {
		t.Errorf("Acknowledge of an unknown id: want ErrNotFound, got nil")
	}
}

func TestIncomingDedupAndOrder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	in := []Message{
		{ID: "b", Peer: bob, From: bob, To: self, Text: "second", SentAt: at(2), State: StateReceived},
		{ID: "a", Peer: bob, From: bob, To: self, Text: "first", SentAt: at(1), State: StateReceived},
		{ID: "b", Peer: bob, From: bob, To: self, Text: "second", SentAt: at(2), State: StateReceived},
		{ID: "c", Peer: bob, From: bob, To: self, Text: "same time, later id", SentAt: at(2), State: StateReceived},
	}
	wantDup := []bool{false, false, true, false}
	for i, m := range in {
		dup, err := s.AddIncoming(m)
		if err != nil || dup != wantDup[i] {
			t.Fatalf("AddIncoming #%d: want dup=%v, got %v (err %v)", i, wantDup[i], dup, err)
		}
	}
	h, err := s.History(bob, time.Time{}, 0)
	if err != nil || len(h) != 3 || h[0].ID != "a" || h[1].ID != "b" || h[2].ID != "c" {
		t.Fatalf("History: want a, b, c once each, got %+v (err %v)", h, err)
	}
	h, _ = s.History(bob, at(2), 1)
	if len(h) != 1 || h[0].ID != "b" {
		t.Errorf("History since t=2 limit 1: want b, got %+v", h)
	}
	last, err := s.LastFrom(bob)
	if err != nil || last.ID != "c" {
		t.Errorf("LastFrom: want c, got %+v (err %v)", last, err)
	}
	if err := s.SetState(bob, bob, "a", StateRequest); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(bob, time.Time{}, 1); h[0].State != StateRequest {
		t.Errorf("SetState: want request, got %s", h[0].State)
	}
}

func TestLargestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]store.Options{
		"on disk":   {Dir: t.TempDir()},
		"in memory": {InMemory: true},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := New(st)
			text := strings.Repeat("x", 64<<10)
			if err := s.AddOutgoing(Message{ID: "big", Peer: bob, From: self, To: bob, Text: text, SentAt: at(1)}); err != nil {
				t.Fatal(err)
			}
			m, err := s.Acknowledge(bob, self, "big", StateDelivered, "")
			if err != nil || m.Text != text || m.State != StateDelivered {
				t.Fatalf("Acknowledge: want the 64 KiB text back, delivered; got %d bytes, %s (err %v)", len(m.Text), m.State, err)
			}
			h, err := s.History(bob, time.Time{}, 0)
			if err != nil || len(h) != 1 || h[0].Text != text {
				t.Errorf("History: want the 64 KiB message, got %d messages (err %v)", len(h), err)
			}
		})
	}
}

// TestRequestQuota: a stranger's held requests stop at the quota (count and
// bytes), a copy of a held one is a duplicate whatever the quota, and
// DeleteRequests takes only the held requests.
func TestRequestQuota(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	q := Quota{Messages: 2, Bytes: 10}
	req := func(id, text string, sec int) Message {
		return Message{ID: id, Peer: bob, From: bob, To: self, Text: text, SentAt: at(sec), State: StateRequest}
	}
	for _, tc := range []struct {
		name    string
		m       Message
		wantDup bool
		wantErr error
	}{
		{"first", req("r1", "12345", 1), false, nil},
		{"over the bytes", req("r2", "123456", 2), false, ErrQuota},
		{"second", req("r3", "12345", 3), false, nil},
		{"over the count", req("r4", "1", 4), false, ErrQuota},
		{"a copy of a held one", req("r1", "12345", 1), true, nil},
	} {
		dup, err := s.AddRequest(tc.m, q)
		if dup != tc.wantDup || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: want dup %v err %v, got dup %v err %v", tc.name, tc.wantDup, tc.wantErr, dup, err)
		}
	}
	if err := s.AddOutgoing(Message{ID: "o1", Peer: bob, From: self, To: bob, Text: "mine", SentAt: at(5)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteRequests(bob); err != nil || n != 2 {
		t.Fatalf("DeleteRequests: want 2 deleted, got %d (err %v)", n, err)
	}
	h, err := s.History(bob, time.Time{}, 0)
	if err != nil || len(h) != 1 || h[0].ID != "o1" {
		t.Errorf("after DeleteRequests: want only our own message, got %+v (err %v)", h, err)
	}
}

// TestHistoryPagesAreBounded: no page, however asked for, holds more than
// MaxPageSize messages or much more than maxPageText of text, and paging
// either way visits every message exactly once, in order.
func TestHistoryPagesAreBounded(t *testing.T) {
	t.Parallel()
	s := newStoreWith(t, store.Options{InMemory: true})
	const total = 1234
	for i := range total {
		// Pairs share a sent time: the cursor must tell them apart.
		m := Message{ID: fmt.Sprintf("m%04d", i), Peer: bob, From: bob, To: self, Text: "x", SentAt: at(i / 2), State: StateReceived}
		if _, err := s.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		limit, wantFirst int
	}{
		"default page":             {0, DefaultPageSize},
		"limit above the maximum":  {MaxPageSize * 10, MaxPageSize},
		"negative limit (default)": {-1, DefaultPageSize},
		"small pages":              {7, 7},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var fwd []string
			var next Cursor
			for first := true; ; first = false {
				p, err := s.After(bob, next, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if first && len(p.Messages) != tc.wantFirst {
					t.Fatalf("After: first page of %d, want %d", len(p.Messages), tc.wantFirst)
				}
				for _, m := range p.Messages {
					fwd = append(fwd, m.ID)
				}
				if !p.More {
					break
				}
				next = p.Next
			}
			var back []string
			next = ""
			for first := true; ; first = false {
				p, err := s.Before(bob, next, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if first && (len(p.Messages) != tc.wantFirst || p.Messages[len(p.Messages)-1].ID != fmt.Sprintf("m%04d", total-1)) {
					t.Fatalf("Before: first page must be the latest %d, got %d ending %s", tc.wantFirst, len(p.Messages), p.Messages[len(p.Messages)-1].ID)
				}
				back = append(append([]string(nil), idsOf(p.Messages)...), back...)
				if !p.More {
					break
				}
				next = p.Next
			}
			for name, got := range map[string][]string{"After": fwd, "Before": back} {
				if len(got) != total {
					t.Fatalf("%s: paged through %d messages, want %d", name, len(got), total)
				}
				for i, id := range got {
					if want := fmt.Sprintf("m%04d", i); id != want {
						t.Fatalf("%s: message %d is %s, want %s", name, i, id, want)
					}
				}
			}
		})
	}
}

func idsOf(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestHistoryPageOfLongTextsIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	s := newStoreWith(t, store.Options{InMemory: true})
	text := strings.Repeat("y", 64<<10)
	for i := range 100 {
		if _, err := s.AddIncoming(Message{ID: fmt.Sprintf("l%03d", i), Peer: bob, From: bob, To: self, Text: text, SentAt: at(i), State: StateReceived}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Before(bob, "", MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Messages); n == 0 || n*len(text) > maxPageText || !p.More {
		t.Errorf("a page of 64 KiB texts: want at most %d bytes and more, got %d messages (more %v)", maxPageText, n, p.More)
	}
}

func TestForeignCursorIsRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tests := map[string]Cursor{
		"not base64":        "not a cursor!",
		"too short":         "AAAA",
		"too long":          Cursor(strings.Repeat("A", MaxCursorLen+4)),
		"slash in the id":   Cursor(base64.RawURLEncoding.EncodeToString([]byte("12345678../x"))),
		"control in the id": Cursor(base64.RawURLEncoding.EncodeToString([]byte("12345678\x00"))),
	}
	for name, c := range tests {
		if _, err := s.After(bob, c, 1); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: After: want ErrBadCursor, got %v", name, err)
		}
		if _, err := s.Before(bob, c, 1); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: Before: want ErrBadCursor, got %v", name, err)
		}
	}
}

// FuzzCursor: a cursor from a peer or an API client never panics, and a
// cursor that decodes stays inside its conversation's keys.
func FuzzCursor(f *testing.F) {
	f.Add("")
	f.Add(string(SinceCursor(at(1))))
	f.Add(string(CursorOf(Message{ID: "abc", SentAt: at(2)})))
	f.Add("////")
	f.Fuzz(func(t *testing.T, c string) {
		pos, err := Cursor(c).position()
		if err != nil {
			return
		}
		if c != "" && (len(pos) < 9 || pos[8] != '/' || bytes.IndexByte(pos[9:], '/') >= 0) {
			t.Fatalf("cursor %q decodes to %q", c, pos)
		}
	})
}

func TestAddIncomingAllMatchesAddIncoming(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	long := strings.Repeat("z", 64<<10)
	var msgs []Message
	for i := range 2500 {
		text := "short"
		if i%100 == 0 {
			text = long // batches split on text size too
		}
		msgs = append(msgs, Message{ID: fmt.Sprintf("b%04d", i%2400), Peer: bob, From: bob, To: self, Text: text, SentAt: at(i % 2400), State: StateReceived})
	}
	dup, err := s.AddIncomingAll(msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dup {
		if want := i >= 2400; d != want {
			t.Fatalf("message %d: dup=%v, want %v", i, d, want)
		}
	}
	n := 0
	for p := (Page{More: true}); p.More; n += len(p.Messages) {
		if p, err = s.After(bob, p.Next, MaxPageSize); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2400 {
		t.Errorf("want 2400 messages stored once each, got %d", n)
	}
}

// TestAddIncomingAllStaysWithinTransactionLimits: a history sync of many
// messages of any size is stored in batches that fit the store's
// transaction limits (fixed batch bounds of 1,000 messages or 1 MiB of text
// overflowed them once the memtable was made smaller).
func TestAddIncomingAllStaysWithinTransactionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		count int
		text  int
	}{
		{"many_tiny_messages", 20_000, 1},
		{"many_1KiB_messages", 3_000, 1 << 10},
		{"some_64KiB_messages", 60, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStoreWith(t, store.Options{InMemory: true})
			text := strings.Repeat("x", tc.text)
			msgs := make([]Message, tc.count)
			for i := range msgs {
				msgs[i] = Message{ID: fmt.Sprintf("m%06d", i), Peer: bob, From: bob, To: self, Text: text, SentAt: at(i), State: StateReceived}
			}
			if _, err := s.AddIncomingAll(msgs); err != nil {
				t.Fatalf("storing %d messages of %d bytes: %v", tc.count, tc.text, err)
			}
			p, err := s.Before(bob, Cursor(""), 1)
			if err != nil || len(p.Messages) != 1 || p.Messages[0].ID != msgs[len(msgs)-1].ID {
				t.Fatalf("latest message: got %+v (%v), want %s", p.Messages, err, msgs[len(msgs)-1].ID)
			}
		})
	}
}

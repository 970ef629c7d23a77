package api

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/store"
)

// storeHistory serves pages straight from a chat store.
type storeHistory struct{ *chat.Store }

func (s storeHistory) HistoryBefore(peer string, to chat.Cursor, limit int) (chat.Page, error) {
	return s.Before(peer, to, limit)
}

func (s storeHistory) HistoryAfter(peer string, from chat.Cursor, limit int) (chat.Page, error) {
	return s.After(peer, from, limit)
}

// TestHistoryQueryIsPaged: GET /v1/messages never returns more than a page,
// limit=0 included, and refuses queries it cannot answer with a page.
func TestHistoryQueryIsPaged(t *testing.T) {
	t.Parallel()
	const peer = "dpc-node-00000000000000000000000000000002"
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cs := chat.New(st)
	var msgs []chat.Message
	for i := range chat.MaxPageSize + 100 {
		msgs = append(msgs, chat.Message{ID: fmt.Sprintf("m%04d", i), Peer: peer, From: peer, Text: "t",
			SentAt: time.Unix(1_800_000_000+int64(i), 0).UTC(), State: chat.StateReceived})
	}
	if _, err := cs.AddIncomingAll(msgs); err != nil {
		t.Fatal(err)
	}
	src := storeHistory{cs}
	tests := map[string]struct {
		query     string
		wantN     int
		wantFirst string
		wantErr   error
	}{
		"latest page by default": {query: "", wantN: chat.DefaultPageSize, wantFirst: fmt.Sprintf("m%04d", chat.MaxPageSize+100-chat.DefaultPageSize)},
		"limit=0 is a page":      {query: "limit=0", wantN: chat.DefaultPageSize},
		"largest page":           {query: "limit=500", wantN: chat.MaxPageSize},
		"from the start":         {query: "since=1970-01-01T00:00:00Z&limit=3", wantN: 3, wantFirst: "m0000"},
		"limit above the most":   {query: "limit=501", wantErr: ErrBadQuery},
		"negative limit":         {query: "limit=-1", wantErr: ErrBadQuery},
		"two directions":         {query: "before=AAAAAAAAAAA&after=AAAAAAAAAAA", wantErr: ErrBadQuery},
		"bad since":              {query: "since=yesterday", wantErr: ErrBadQuery},
		"foreign cursor":         {query: "before=AAAA", wantErr: chat.ErrBadCursor},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			p, err := historyPage(src, peer, q)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want error %v, got %v", tc.wantErr, err)
			}
			if tc.wantErr != nil {
				return
			}
			if len(p.Messages) != tc.wantN || (tc.wantFirst != "" && p.Messages[0].ID != tc.wantFirst) {
				t.Errorf("want %d messages from %s, got %d from %s", tc.wantN, tc.wantFirst, len(p.Messages), p.Messages[0].ID)
			}
		})
	}
}

package api

// Routes of the chat capability: sending messages and paging through
// conversations.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/dpc-go/dpc/host/internal/chat"
)

// SendRequest is the body of POST /v1/messages.
type SendRequest struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// ChatRoutes are /v1/messages, served by the chat service.
func ChatRoutes(c *chat.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
			var req SendRequest
			if !readJSON(w, r, &req) {
				return
			}
			m, err := c.Send(req.To, req.Text)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, m)
		})
		mux.HandleFunc("GET /v1/messages", func(w http.ResponseWriter, r *http.Request) {
			peer := r.URL.Query().Get("peer")
			if !dpcuri.ValidNodeID(peer) {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: "peer must be a node_id (dpc-node- and 32 hex digits)"})
				return
			}
			page, err := historyPage(c, peer, r.URL.Query())
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, page)
		})
	}
}

// historySource pages through conversations (a *chat.Service).
type historySource interface {
	HistoryBefore(peer string, to chat.Cursor, limit int) (chat.Page, error)
	HistoryAfter(peer string, from chat.Cursor, limit int) (chat.Page, error)
}

// historyPage answers GET /v1/messages: one page of at most limit messages
// (default chat.DefaultPageSize, at most chat.MaxPageSize), oldest first.
// Without before, after or since it is the latest page; before=CURSOR
// gives the page before it, after=CURSOR the page after it, and
// since=RFC3339 the first page sent at or after that time. A whole
// conversation is never loaded at once.
func historyPage(n historySource, peer string, q url.Values) (chat.Page, error) {
	limit := 0
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 0 || l > chat.MaxPageSize {
			return chat.Page{}, fmt.Errorf("%w: limit must be 0 (default %d) to %d, got %q", ErrBadQuery, chat.DefaultPageSize, chat.MaxPageSize, v)
		}
		limit = l
	}
	set := 0
	for _, k := range []string{"before", "after", "since"} {
		if q.Has(k) {
			set++
		}
	}
	if set > 1 {
		return chat.Page{}, fmt.Errorf("%w: give at most one of before, after and since", ErrBadQuery)
	}
	switch {
	case q.Has("after"):
		return n.HistoryAfter(peer, chat.Cursor(q.Get("after")), limit)
	case q.Has("since"):
		t, err := time.Parse(time.RFC3339, q.Get("since"))
		if err != nil {
			return chat.Page{}, fmt.Errorf("%w: since must be an RFC 3339 time like 2026-03-01T09:30:00Z, got %q", ErrBadQuery, q.Get("since"))
		}
		return n.HistoryAfter(peer, chat.SinceCursor(t), limit)
	default:
		return n.HistoryBefore(peer, chat.Cursor(q.Get("before")), limit)
	}
}

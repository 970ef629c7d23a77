package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/hub/internal/cluster"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Mailbox bounds (API.md "Mailbox (auth)").
const (
	maxEnvelopeBytes   = 64 << 10
	minMailboxTTL      = time.Minute
	maxMailboxTTL      = 7 * 24 * time.Hour
	defaultMailboxTTL  = maxMailboxTTL
	defaultFetchLimit  = 100
	maxFetchLimit      = 500
	maxAckIDs          = 1000
	maxEnvelopeIDBytes = 64
	// mailboxTTLHeader carries an envelope's lifetime in whole seconds.
	mailboxTTLHeader = "X-Mailbox-TTL"
)

// DefaultMailboxQuota bounds each recipient's mailbox.
var DefaultMailboxQuota = store.MailboxQuota{Envelopes: 1000, Bytes: 16 << 20}

// mailboxHint is what a recipient's signaling socket gets when an
// envelope arrives for it: no sender, no id, only "fetch now".
var mailboxHint = []byte(`{"type":"mailbox"}`)

type mailboxPutBody struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type envelopeView struct {
	ID         string    `json:"id"`
	Envelope   []byte    `json:"envelope"`
	ReceivedAt time.Time `json:"received_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

type mailboxFetchBody struct {
	Envelopes []envelopeView `json:"envelopes"`
}

// mailboxAckBody is POST /mailbox/ack.
type mailboxAckBody struct {
	IDs *[]string `json:"ids"`
}

// decodeMailboxTTL reads X-Mailbox-TTL (its values as sent): absent is
// the default; else one decimal number of seconds within the bounds.
func decodeMailboxTTL(values []string) (time.Duration, error) {
	lo, hi := int(minMailboxTTL/time.Second), int(maxMailboxTTL/time.Second)
	switch len(values) {
	case 0:
		return defaultMailboxTTL, nil
	case 1:
	default:
		return 0, badRequest("%s given %d times; give it once", mailboxTTLHeader, len(values))
	}
	n, ok := parseSmallInt(values[0], lo, hi)
	if !ok {
		return 0, badRequest("%s must be whole seconds from %d (1 minute) to %d (7 days), got %q", mailboxTTLHeader, lo, hi, clipText(values[0], 32))
	}
	return time.Duration(n) * time.Second, nil
}

// decodeMailboxAck decodes POST /mailbox/ack's body.
func decodeMailboxAck(body []byte) ([]string, error) {
	var b mailboxAckBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.IDs == nil {
		return nil, badRequest("ids is missing: send {\"ids\": [...]} with the ids GET /mailbox gave")
	}
	if len(*b.IDs) > maxAckIDs {
		return nil, badRequest("at most %d ids in one ack", maxAckIDs)
	}
	for i, id := range *b.IDs {
		if id == "" || len(id) > maxEnvelopeIDBytes {
			return nil, badRequest("ids[%d]: an envelope id is 1 to %d bytes", i, maxEnvelopeIDBytes)
		}
	}
	return *b.IDs, nil
}

// clipText bounds a client's value quoted back in an error.
func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func newEnvelopeID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("envelope id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// handleMailboxPut stores an envelope for the node in the path. The sender
// (the caller) keys the rate limit, in memory, and nothing else: it is not
// stored, logged or counted by name.
func (s *Server) handleMailboxPut(w http.ResponseWriter, r *http.Request) {
	to := r.PathValue("node_id")
	if !dpcuri.ValidNodeID(to) {
		s.badRequest(w, badRequest("%q is not a node_id (dpc-node- followed by 32 lower-case hex)", clipText(to, 80)))
		return
	}
	if ok, d := s.mailboxLim.allow(claimsOf(r).NodeID, time.Now()); !ok {
		s.tooMany(w, "mailbox", d)
		return
	}
	ttl, err := decodeMailboxTTL(r.Header.Values(mailboxTTLHeader))
	if err != nil {
		s.badRequest(w, err)
		return
	}
	tooLarge := func() {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("an envelope is at most %d bytes (64 KiB); split what you send", maxEnvelopeBytes))
	}
	if r.ContentLength > maxEnvelopeBytes {
		tooLarge()
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnvelopeBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		tooLarge()
		return
	}
	if err != nil {
		s.badRequest(w, badRequest("reading the envelope: %v", err))
		return
	}
	if len(data) == 0 {
		s.badRequest(w, badRequest("the body is empty: send the sealed envelope's bytes"))
		return
	}
	id, err := newEnvelopeID()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	e := store.Envelope{ID: id, Recipient: to, Data: data, Received: now, Expires: now.Add(ttl)}
	err = s.cfg.Store.PutEnvelope(r.Context(), e, s.cfg.MailboxQuota)
	if errors.Is(err, store.ErrMailboxFull) {
		s.metrics.mailboxFull.Inc()
		q := s.cfg.MailboxQuota
		writeError(w, http.StatusInsufficientStorage, "mailbox_full",
			fmt.Sprintf("the mailbox of %s is full (at most %d envelopes and %d bytes wait until that node fetches them); retry later", to, q.Envelopes, q.Bytes))
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.metrics.mailboxPuts.Inc()
	s.hintMailbox(context.WithoutCancel(r.Context()), to)
	writeJSON(w, http.StatusCreated, mailboxPutBody{ID: id, ExpiresAt: e.Expires})
}

// hintMailbox tells the recipient's signaling socket, on this replica or
// another, that an envelope arrived. Best effort: a node without a socket,
// or one the hint misses, finds the envelope at its next fetch.
func (s *Server) hintMailbox(ctx context.Context, recipient string) {
	if c := s.conns.get(recipient); c != nil {
		c.enqueue(mailboxHint)
		return
	}
	if s.cfg.Cluster == nil {
		return
	}
	if err := s.cfg.Cluster.Relay(ctx, recipient, mailboxHint); err != nil && !errors.Is(err, cluster.ErrOffline) {
		s.log.Warn("telling another replica of a new envelope failed; the recipient finds it at its next fetch", "error", err)
	}
}

// handleMailboxFetch answers the caller's own envelopes, oldest first.
func (s *Server) handleMailboxFetch(w http.ResponseWriter, r *http.Request) {
	limit := defaultFetchLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, ok := parseSmallInt(v, 1, maxFetchLimit)
		if !ok {
			s.badRequest(w, badRequest("limit must be 1 to %d", maxFetchLimit))
			return
		}
		limit = n
	}
	es, err := s.cfg.Store.FetchEnvelopes(r.Context(), claimsOf(r).NodeID, time.Now(), limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.metrics.mailboxFetches.Inc()
	out := mailboxFetchBody{Envelopes: make([]envelopeView, 0, len(es))}
	for _, e := range es {
		out.Envelopes = append(out.Envelopes, envelopeView{ID: e.ID, Envelope: e.Data, ReceivedAt: e.Received.UTC(), ExpiresAt: e.Expires.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleMailboxAck deletes the caller's envelopes among the ids.
func (s *Server) handleMailboxAck(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	ids, err := decodeMailboxAck(body)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	n, err := s.cfg.Store.AckEnvelopes(r.Context(), claimsOf(r).NodeID, ids)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.metrics.mailboxAcked.Add(float64(n))
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

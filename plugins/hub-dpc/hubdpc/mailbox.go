package hubdpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Mailbox bounds of dpc-hub (hub/API.md "Mailbox (auth)").
const (
	// maxEnvelopeBytes is the largest envelope the hub stores.
	maxEnvelopeBytes = 64 << 10
	// minMailboxTTL and maxMailboxTTL bound an envelope's lifetime.
	minMailboxTTL = time.Minute
	maxMailboxTTL = 7 * 24 * time.Hour
	// maxFetch is the most envelopes one MailboxFetch asks for (the hub's
	// default page): 100 envelopes of 64 KiB stay well inside the plugin
	// connection's 16 MiB messages. Fetch again for more.
	maxFetch = 100
	// maxFetchAnswerBytes bounds GET /mailbox's answer: maxFetch
	// envelopes in base64 with their fields.
	maxFetchAnswerBytes = maxFetch * (maxEnvelopeBytes*4/3 + 1024)
	// maxEnvelopeIDLen bounds an envelope id from the hub.
	maxEnvelopeIDLen = 64
	// maxAckIDs is the most ids the hub takes in one ack.
	maxAckIDs = 1000
)

// mailboxCall is callMax for a mailbox route: a hub without the mailbox
// (older than it: 404 for the route) is sdk.ErrUnsupported.
func (p *Plugin) mailboxCall(ctx context.Context, method, path string, body any, maxBytes int) ([]byte, error) {
	raw, err := p.callMax(ctx, method, path, body, maxBytes)
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		// he is quoted, not wrapped: it would also wrap sdk.ErrNotFound.
		return nil, fmt.Errorf("%w (%v)", p.unsupported("mailbox"), he)
	}
	return raw, err
}

// MailboxPut stores a sealed envelope for req.RecipientNodeID (POST
// /mailbox/{node_id}); req.TTL, whole seconds from 1 minute to 7 days,
// goes in X-Mailbox-TTL, and 0 leaves the hub's default (7 days). A full
// mailbox (507 mailbox_full) and a rate limit (429) wrap
// sdk.ErrUnavailable: retry later.
func (p *Plugin) MailboxPut(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	if !dpcuri.ValidNodeID(req.RecipientNodeID) {
		return sdk.MailboxPutResult{}, fmt.Errorf("%w: recipient node_id %q is not dpc-node- followed by 32 lower-case hex",
			sdk.ErrInvalidArgument, clip(req.RecipientNodeID, 64))
	}
	if len(req.Envelope) == 0 || len(req.Envelope) > maxEnvelopeBytes {
		return sdk.MailboxPutResult{}, fmt.Errorf("%w: an envelope is 1 to %d bytes, this one %d",
			sdk.ErrInvalidArgument, maxEnvelopeBytes, len(req.Envelope))
	}
	var hdr http.Header
	if req.TTL != 0 {
		if req.TTL < minMailboxTTL || req.TTL > maxMailboxTTL {
			return sdk.MailboxPutResult{}, fmt.Errorf("%w: envelope TTL %s: the hub keeps envelopes from 1m to 168h (0 for its default, 168h)",
				sdk.ErrInvalidArgument, req.TTL)
		}
		hdr = http.Header{"X-Mailbox-Ttl": {strconv.FormatInt(int64(req.TTL/time.Second), 10)}}
	}
	raw, err := p.mailboxCall(ctx, http.MethodPost, "/mailbox/"+url.PathEscape(req.RecipientNodeID),
		rawBody{data: req.Envelope, header: hdr}, maxResponseBytes)
	if err != nil {
		return sdk.MailboxPutResult{}, fmt.Errorf("storing an envelope for %s: %w", req.RecipientNodeID, err)
	}
	a, err := decodeMailboxPut(raw)
	if err != nil {
		return sdk.MailboxPutResult{}, err
	}
	return sdk.MailboxPutResult{EnvelopeID: a.ID}, nil
}

// MailboxFetch returns this node's waiting envelopes, oldest first (GET
// /mailbox): at most req.Limit, and at most 100 (0 asks for 100).
func (p *Plugin) MailboxFetch(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	if req.Limit < 0 {
		return sdk.MailboxFetchResult{}, fmt.Errorf("%w: fetch limit %d: want 0 (the default) or more", sdk.ErrInvalidArgument, req.Limit)
	}
	limit := maxFetch
	if req.Limit > 0 {
		limit = min(req.Limit, maxFetch)
	}
	raw, err := p.mailboxCall(ctx, http.MethodGet, "/mailbox?limit="+strconv.Itoa(limit), nil, maxFetchAnswerBytes)
	if err != nil {
		return sdk.MailboxFetchResult{}, fmt.Errorf("fetching the mailbox: %w", err)
	}
	a, err := decodeMailboxFetch(raw, limit)
	if err != nil {
		return sdk.MailboxFetchResult{}, err
	}
	out := sdk.MailboxFetchResult{Envelopes: make([]sdk.MailboxEnvelope, 0, len(a.Envelopes))}
	for _, e := range a.Envelopes {
		out.Envelopes = append(out.Envelopes, sdk.MailboxEnvelope{ID: e.ID, Envelope: e.Envelope, Received: e.ReceivedAt})
	}
	return out, nil
}

// MailboxAck deletes fetched envelopes (POST /mailbox/ack); ids the hub
// does not hold for this node are ignored.
func (p *Plugin) MailboxAck(ctx context.Context, req sdk.MailboxAckRequest) error {
	for _, id := range req.EnvelopeIDs {
		if id == "" || len(id) > maxEnvelopeIDLen {
			return fmt.Errorf("%w: envelope id %q: the hub's ids are 1 to %d bytes", sdk.ErrInvalidArgument, clip(id, 80), maxEnvelopeIDLen)
		}
	}
	// The hub takes at most maxAckIDs ids at once.
	for start := 0; start < len(req.EnvelopeIDs); start += maxAckIDs {
		ids := req.EnvelopeIDs[start:min(start+maxAckIDs, len(req.EnvelopeIDs))]
		raw, err := p.mailboxCall(ctx, http.MethodPost, "/mailbox/ack", map[string][]string{"ids": ids}, maxResponseBytes)
		if err != nil {
			return fmt.Errorf("acknowledging envelopes: %w", err)
		}
		if _, err := decodeMailboxAck(raw); err != nil {
			return err
		}
	}
	return nil
}

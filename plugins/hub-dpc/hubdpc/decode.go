package hubdpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Bounds on what the plugin accepts from a hub.
const (
	// maxResponseBytes bounds an HTTP answer body.
	maxResponseBytes = 1 << 20
	// maxTokenBytes bounds an access or refresh token.
	maxTokenBytes = 8 << 10
	// maxSignalBytes is dpc-hub's default --max-signal-bytes.
	maxSignalBytes = 64 << 10
	// maxIceServers, maxIceURLs and maxIceField bound GET /ice-servers'
	// answer: servers, URLs per server, and the length of one string.
	maxIceServers = 8
	maxIceURLs    = 8
	maxIceField   = 512
	// maxIceTTL bounds a credential's lifetime (dpc-hub's --turn-ttl is at
	// most 24 h).
	maxIceTTL = 7 * 86400
)

// decodeStrict decodes exactly one JSON value into v.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// decodeHubError turns an error answer into a *HubError. A body that is not
// the hub's {"error", "detail"} shape still gives one, saying so: a wrong
// URL often answers an HTML page.
func decodeHubError(method, path string, status int, header http.Header, raw []byte) *HubError {
	e := &HubError{Method: method, Path: path, Status: status}
	var body struct {
		Error  string `json:"error"`
		Detail string `json:"detail"`
	}
	if err := decodeStrict(raw, &body); err != nil || body.Error == "" {
		e.Code = http.StatusText(status)
		e.Detail = "the answer is not a dpc-hub error (is url the hub's base URL?)"
	} else {
		e.Code, e.Detail = clip(body.Error, 64), clip(body.Detail, 512)
	}
	if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil && s > 0 && s < 86400 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// clip bounds a string from the hub before it reaches logs and errors.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// challenge is POST /login/challenge's answer.
type challenge struct {
	Nonce    string `json:"nonce"`
	Audience string `json:"audience"`
	Purpose  string `json:"purpose"`
}

func decodeChallenge(raw []byte) (challenge, error) {
	var c challenge
	if err := decodeStrict(raw, &c); err != nil {
		return c, fmt.Errorf("%w: login challenge: %w", ErrNotAHub, err)
	}
	if c.Nonce == "" || c.Audience == "" || c.Purpose == "" {
		return c, fmt.Errorf("%w: login challenge without nonce, audience or purpose", ErrNotAHub)
	}
	return c, nil
}

// tokenAnswer is the answer of POST /login and POST /refresh.
type tokenAnswer struct {
	NodeID           string `json:"node_id"`
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

func decodeTokens(raw []byte) (tokenAnswer, error) {
	var t tokenAnswer
	if err := decodeStrict(raw, &t); err != nil {
		return t, fmt.Errorf("%w: tokens: %w", ErrBadResponse, err)
	}
	switch {
	case !dpcuri.ValidNodeID(t.NodeID):
		return t, fmt.Errorf("%w: tokens for node_id %q", ErrBadResponse, clip(t.NodeID, 64))
	case t.AccessToken == "" || len(t.AccessToken) > maxTokenBytes:
		return t, fmt.Errorf("%w: access token of %d bytes", ErrBadResponse, len(t.AccessToken))
	case t.RefreshToken == "" || len(t.RefreshToken) > maxTokenBytes:
		return t, fmt.Errorf("%w: refresh token of %d bytes", ErrBadResponse, len(t.RefreshToken))
	case t.ExpiresIn <= 0 || t.ExpiresIn > 366*86400 || t.RefreshExpiresIn <= 0 || t.RefreshExpiresIn > 10*366*86400:
		return t, fmt.Errorf("%w: token lifetimes %d s and %d s", ErrBadResponse, t.ExpiresIn, t.RefreshExpiresIn)
	}
	return t, nil
}

// profileFields are the profile fields dpc-hub accepts in PUT /profile
// (besides uris), and what ProfileJSON carries in both directions.
type profileFields struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Expertise   map[string]int `json:"expertise,omitempty"`
	Compute     *compute       `json:"compute,omitempty"`
}

type compute struct {
	Available bool     `json:"available"`
	Models    []string `json:"models,omitempty"`
}

// profileView is GET /profile/{node_id}'s answer.
type profileView struct {
	NodeID string `json:"node_id"`
	profileFields
	URIs      []string   `json:"uris"`
	UpdatedAt time.Time  `json:"updated_at"`
	Online    bool       `json:"online"`
	LastSeen  *time.Time `json:"last_seen"`
}

func decodeProfile(raw []byte) (profileView, error) {
	var p profileView
	if err := decodeStrict(raw, &p); err != nil {
		return p, fmt.Errorf("%w: profile: %w", ErrBadResponse, err)
	}
	if !dpcuri.ValidNodeID(p.NodeID) {
		return p, fmt.Errorf("%w: profile of node_id %q", ErrBadResponse, clip(p.NodeID, 64))
	}
	return p, nil
}

// presenceView is GET /presence/{node_id}'s answer.
type presenceView struct {
	NodeID   string     `json:"node_id"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"`
}

func decodePresence(raw []byte) (presenceView, error) {
	var p presenceView
	if err := decodeStrict(raw, &p); err != nil {
		return p, fmt.Errorf("%w: presence: %w", ErrBadResponse, err)
	}
	if !dpcuri.ValidNodeID(p.NodeID) {
		return p, fmt.Errorf("%w: presence of node_id %q", ErrBadResponse, clip(p.NodeID, 64))
	}
	return p, nil
}

// searchAnswer is GET /discovery/search's answer.
type searchAnswer struct {
	Results []struct {
		NodeID string `json:"node_id"`
		profileFields
		Online bool `json:"online"`
	} `json:"results"`
	Total int `json:"total"`
}

func decodeSearch(raw []byte) (searchAnswer, error) {
	var s searchAnswer
	if err := decodeStrict(raw, &s); err != nil {
		return s, fmt.Errorf("%w: search: %w", ErrBadResponse, err)
	}
	for i, r := range s.Results {
		if !dpcuri.ValidNodeID(r.NodeID) {
			return s, fmt.Errorf("%w: search result %d has node_id %q", ErrBadResponse, i, clip(r.NodeID, 64))
		}
	}
	return s, nil
}

// wsMessage is a message on the signaling socket, in either direction.
type wsMessage struct {
	Type         string          `json:"type"`
	Message      string          `json:"message,omitempty"`
	NodeID       string          `json:"node_id,omitempty"`
	SenderNodeID string          `json:"sender_node_id,omitempty"`
	TargetNodeID string          `json:"target_node_id,omitempty"`
	Payload      json.RawMessage `json:"payload,omitempty"`
	Timestamp    json.RawMessage `json:"timestamp,omitempty"`
	Code         string          `json:"code,omitempty"`
	RetryAfterMS int64           `json:"retry_after_ms,omitempty"`
	ExpiresAt    *time.Time      `json:"expires_at,omitempty"`
}

// decodeWSMessage decodes a message from the hub. A "signal" must carry a
// valid sender and a JSON object payload, whose "type" member (a string,
// if any) is returned as the signal's type.
func decodeWSMessage(raw []byte) (wsMessage, string, error) {
	var m wsMessage
	if len(raw) > maxSignalBytes+1024 {
		return m, "", fmt.Errorf("%w: signaling message of %d bytes", ErrBadResponse, len(raw))
	}
	if err := decodeStrict(raw, &m); err != nil {
		return m, "", fmt.Errorf("%w: signaling message: %w", ErrBadResponse, err)
	}
	if m.Type != "signal" {
		return m, "", nil
	}
	if !dpcuri.ValidNodeID(m.SenderNodeID) {
		return m, "", fmt.Errorf("%w: signal from node_id %q", ErrBadResponse, clip(m.SenderNodeID, 64))
	}
	typ, err := payloadType(m.Payload)
	if err != nil {
		return m, "", fmt.Errorf("%w: signal from %s: %w", ErrBadResponse, m.SenderNodeID, err)
	}
	return m, typ, nil
}

// payloadType checks that p is a JSON object and returns its "type" member
// ("" when it has none).
func payloadType(p []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := decodeStrict(p, &obj); err != nil || obj == nil {
		return "", fmt.Errorf("the payload is not a JSON object")
	}
	raw, ok := obj["type"]
	if !ok {
		return "", nil
	}
	var typ string
	if err := json.Unmarshal(raw, &typ); err != nil {
		return "", fmt.Errorf("the payload's type is not a string")
	}
	return typ, nil
}

// iceAnswer is GET /ice-servers' answer.
type iceAnswer struct {
	IceServers []iceServer `json:"ice_servers"`
	TTL        int64       `json:"ttl"`
}

type iceServer struct {
	URLs       []string   `json:"urls"`
	Username   string     `json:"username"`
	Credential string     `json:"credential"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// decodeIceServers checks that every server has stun:/turn: URLs, that a
// TURN server comes with a credential, and that the lifetime is sane.
func decodeIceServers(raw []byte) (iceAnswer, error) {
	var a iceAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: ice servers: %w", ErrBadResponse, err)
	}
	if len(a.IceServers) == 0 || len(a.IceServers) > maxIceServers {
		return a, fmt.Errorf("%w: %d ice servers, want 1 to %d", ErrBadResponse, len(a.IceServers), maxIceServers)
	}
	if a.TTL <= 0 || a.TTL > maxIceTTL {
		return a, fmt.Errorf("%w: ice server ttl %d s, want 1 to %d", ErrBadResponse, a.TTL, maxIceTTL)
	}
	for i, is := range a.IceServers {
		if len(is.URLs) == 0 || len(is.URLs) > maxIceURLs {
			return a, fmt.Errorf("%w: ice server %d has %d URLs, want 1 to %d", ErrBadResponse, i, len(is.URLs), maxIceURLs)
		}
		if len(is.Username) > maxIceField || len(is.Credential) > maxIceField {
			return a, fmt.Errorf("%w: ice server %d has a username or credential over %d bytes", ErrBadResponse, i, maxIceField)
		}
		for _, u := range is.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch {
			case len(u) > maxIceField || len(u) <= len(scheme)+1:
				return a, fmt.Errorf("%w: ice server %d has URL %q", ErrBadResponse, i, clip(u, 64))
			case scheme == "turn" || scheme == "turns":
				if is.Username == "" || is.Credential == "" {
					return a, fmt.Errorf("%w: TURN server %q without a credential", ErrBadResponse, clip(u, 64))
				}
			case scheme != "stun" && scheme != "stuns":
				return a, fmt.Errorf("%w: ice server %d has URL %q, want a stun or turn URL", ErrBadResponse, i, clip(u, 64))
			}
		}
	}
	return a, nil
}

// mailboxPutAnswer is POST /mailbox/{node_id}'s answer.
type mailboxPutAnswer struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func decodeMailboxPut(raw []byte) (mailboxPutAnswer, error) {
	var a mailboxPutAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: mailbox put: %w", ErrBadResponse, err)
	}
	if a.ID == "" || len(a.ID) > maxEnvelopeIDLen {
		return a, fmt.Errorf("%w: mailbox put: envelope id %q", ErrBadResponse, clip(a.ID, 80))
	}
	return a, nil
}

// mailboxFetchAnswer is GET /mailbox's answer.
type mailboxFetchAnswer struct {
	Envelopes []struct {
		ID         string    `json:"id"`
		Envelope   []byte    `json:"envelope"`
		ReceivedAt time.Time `json:"received_at"`
		ExpiresAt  time.Time `json:"expires_at"`
	} `json:"envelopes"`
}

// decodeMailboxFetch checks that the hub answered at most limit envelopes,
// each with an id and 1 to 64 KiB of bytes.
func decodeMailboxFetch(raw []byte, limit int) (mailboxFetchAnswer, error) {
	var a mailboxFetchAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: mailbox fetch: %w", ErrBadResponse, err)
	}
	if len(a.Envelopes) > limit {
		return a, fmt.Errorf("%w: mailbox fetch: %d envelopes for a limit of %d", ErrBadResponse, len(a.Envelopes), limit)
	}
	for i, e := range a.Envelopes {
		if e.ID == "" || len(e.ID) > maxEnvelopeIDLen {
			return a, fmt.Errorf("%w: mailbox fetch: envelope %d has the id %q", ErrBadResponse, i, clip(e.ID, 80))
		}
		if len(e.Envelope) == 0 || len(e.Envelope) > maxEnvelopeBytes {
			return a, fmt.Errorf("%w: mailbox fetch: envelope %s has %d bytes", ErrBadResponse, e.ID, len(e.Envelope))
		}
	}
	return a, nil
}

// mailboxAckAnswer is POST /mailbox/ack's answer.
type mailboxAckAnswer struct {
	Deleted int `json:"deleted"`
}

func decodeMailboxAck(raw []byte) (mailboxAckAnswer, error) {
	var a mailboxAckAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: mailbox ack: %w", ErrBadResponse, err)
	}
	if a.Deleted < 0 || a.Deleted > maxAckIDs {
		return a, fmt.Errorf("%w: mailbox ack: %d deleted", ErrBadResponse, a.Deleted)
	}
	return a, nil
}

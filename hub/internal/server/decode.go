package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/hublogin"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// ErrBadRequest is wrapped by every decoding and validation error.
var ErrBadRequest = errors.New("bad request")

// Bounds of request bodies and profile fields.
const (
	maxBodyBytes       = 64 << 10
	maxNameRunes       = 100
	maxDescRunes       = 500
	maxExpertise       = 32
	maxSkillLen        = 50
	maxLevel           = 5
	maxModels          = 16
	maxModelLen        = 100
	maxURIs            = 8
	maxQueryLen        = 100
	maxSearchLimit     = 50
	defaultSearchLimit = 50
)

func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// decodeJSON decodes exactly one JSON object into v: unknown fields, trailing
// data and bodies over maxBodyBytes are refused.
func decodeJSON(body []byte, v any) error {
	if len(body) > maxBodyBytes {
		return badRequest("body larger than %d bytes", maxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body is not the expected JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("data after the JSON object")
	}
	return nil
}

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	return b, nil
}

// loginBody is POST /login.
type loginBody struct {
	NodeID      string `json:"node_id"`
	Certificate string `json:"certificate"`
	Nonce       string `json:"nonce"`
	Signature   string `json:"signature"`
	Algorithm   string `json:"algorithm"`
}

type loginRequest struct {
	NodeID    string
	CertPEM   []byte
	Nonce     string
	Signature []byte
	Algorithm string
}

func decodeLogin(body []byte) (loginRequest, error) {
	var b loginBody
	if err := decodeJSON(body, &b); err != nil {
		return loginRequest{}, err
	}
	if !dpcuri.ValidNodeID(b.NodeID) {
		return loginRequest{}, badRequest("node_id must be dpc-node- followed by 32 lower-case hex characters")
	}
	if b.Certificate == "" || len(b.Certificate) > hublogin.MaxCertificatePEM {
		return loginRequest{}, badRequest("certificate must be the node certificate PEM, at most %d bytes", hublogin.MaxCertificatePEM)
	}
	if b.Nonce == "" || len(b.Nonce) > hublogin.MaxNonceLen {
		return loginRequest{}, badRequest("nonce must be the nonce from POST /login/challenge")
	}
	sig, err := base64.StdEncoding.DecodeString(b.Signature)
	if err != nil || len(sig) == 0 || len(sig) > hublogin.MaxSignatureLen {
		return loginRequest{}, badRequest("signature must be standard base64 of at most %d bytes", hublogin.MaxSignatureLen)
	}
	if b.Algorithm != nodeid.AlgEd25519 && b.Algorithm != nodeid.AlgRSAPSSSHA256 {
		return loginRequest{}, badRequest("algorithm must be %q or %q", nodeid.AlgEd25519, nodeid.AlgRSAPSSSHA256)
	}
	return loginRequest{NodeID: b.NodeID, CertPEM: []byte(b.Certificate), Nonce: b.Nonce, Signature: sig, Algorithm: b.Algorithm}, nil
}

// refreshBody is POST /refresh.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

func decodeRefresh(body []byte) (string, error) {
	var b refreshBody
	if err := decodeJSON(body, &b); err != nil {
		return "", err
	}
	if b.RefreshToken == "" {
		return "", badRequest("refresh_token is missing")
	}
	return b.RefreshToken, nil
}

// profileBody is PUT /profile.
type profileBody struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Expertise   map[string]int `json:"expertise"`
	Compute     *computeBody   `json:"compute"`
	URIs        []string       `json:"uris"`
}

type computeBody struct {
	Available bool     `json:"available"`
	Models    []string `json:"models"`
}

// cleanText reports whether s is valid UTF-8 without control characters
// (newline and tab allowed when multiline).
func cleanText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return false
		}
		if r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return false
		}
	}
	return true
}

func validSkill(s string) bool {
	if s == "" || len(s) > maxSkillLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeProfile decodes and validates a profile for owner: every dpc:// URI
// must name owner, so a node cannot advertise addresses as another node.
func decodeProfile(body []byte, owner string) (profileBody, error) {
	var p profileBody
	if err := decodeJSON(body, &p); err != nil {
		return p, err
	}
	p.Name = strings.TrimSpace(p.Name)
	if n := utf8.RuneCountInString(p.Name); n == 0 || n > maxNameRunes || !cleanText(p.Name, false) {
		return p, badRequest("name must be 1 to %d characters without control characters", maxNameRunes)
	}
	if utf8.RuneCountInString(p.Description) > maxDescRunes || !cleanText(p.Description, true) {
		return p, badRequest("description must be at most %d characters without control characters", maxDescRunes)
	}
	if len(p.Expertise) > maxExpertise {
		return p, badRequest("at most %d expertise entries", maxExpertise)
	}
	for k, v := range p.Expertise {
		if !validSkill(k) {
			return p, badRequest("expertise key %q: 1 to %d characters of a-z, 0-9 and _", k, maxSkillLen)
		}
		if v < 1 || v > maxLevel {
			return p, badRequest("expertise %q: level %d, want 1 to %d", k, v, maxLevel)
		}
	}
	if p.Compute != nil {
		if len(p.Compute.Models) > maxModels {
			return p, badRequest("compute: at most %d models", maxModels)
		}
		for _, m := range p.Compute.Models {
			if m == "" || len(m) > maxModelLen || !cleanText(m, false) {
				return p, badRequest("compute: model names are 1 to %d characters without control characters", maxModelLen)
			}
		}
	}
	if len(p.URIs) > maxURIs {
		return p, badRequest("at most %d uris", maxURIs)
	}
	for i, s := range p.URIs {
		u, err := dpcuri.Parse(s)
		if err != nil {
			return p, badRequest("uris[%d]: %v", i, err)
		}
		if u.NodeID != owner {
			return p, badRequest("uris[%d] names node %s; a node publishes only its own addresses (%s)", i, u.NodeID, owner)
		}
		p.URIs[i] = u.String()
	}
	return p, nil
}

// searchQuery is GET /discovery/search.
type searchQuery struct {
	Text     string
	MinLevel int
	Limit    int
}

// parseSmallInt parses a decimal in [lo, hi].
func parseSmallInt(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > max(4, len(strconv.Itoa(hi))) {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= lo && n <= hi
}

// decodeSearch reads q (lower-cased; letters, digits, _, - and spaces are
// kept, like D-PC's [a-z0-9_] plus what names need), min_level and limit.
func decodeSearch(q, minLevel, limit string) (searchQuery, error) {
	out := searchQuery{MinLevel: 1, Limit: defaultSearchLimit}
	if len(q) > maxQueryLen*4 {
		return out, badRequest("q longer than %d characters", maxQueryLen)
	}
	var b strings.Builder
	for _, r := range strings.ToLower(q) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == ' ' {
			b.WriteRune(r)
		}
	}
	out.Text = strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out.Text) > maxQueryLen {
		return out, badRequest("q longer than %d characters", maxQueryLen)
	}
	if minLevel != "" {
		n, ok := parseSmallInt(minLevel, 1, maxLevel)
		if !ok {
			return out, badRequest("min_level must be 1 to %d", maxLevel)
		}
		out.MinLevel = n
	}
	if limit != "" {
		n, ok := parseSmallInt(limit, 1, maxSearchLimit)
		if !ok {
			return out, badRequest("limit must be 1 to %d", maxSearchLimit)
		}
		out.Limit = n
	}
	return out, nil
}

// clientMessage is a message a node sends on the signaling socket. A
// sender_node_id it may carry is not read: the hub writes its own.
type clientMessage struct {
	Type         string          `json:"type"`
	TargetNodeID string          `json:"target_node_id"`
	Payload      json.RawMessage `json:"payload"`
	Timestamp    json.RawMessage `json:"timestamp"`
}

// decodeClientMessage decodes and checks one signaling message.
func decodeClientMessage(b []byte) (clientMessage, error) {
	var m clientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, badRequest("not a JSON object: %v", err)
	}
	switch m.Type {
	case "signal":
		if !dpcuri.ValidNodeID(m.TargetNodeID) {
			return m, badRequest("target_node_id must be a node_id")
		}
		if p := bytes.TrimSpace(m.Payload); len(p) == 0 || p[0] != '{' {
			return m, badRequest("payload must be a JSON object")
		}
	case "ping":
		if len(m.Timestamp) > 64 {
			return m, badRequest("timestamp too long")
		}
	case "":
		return m, badRequest("type is missing")
	default:
		return m, fmt.Errorf("%w: %w %q", ErrBadRequest, errUnknownType, m.Type)
	}
	return m, nil
}

var errUnknownType = errors.New("unknown message type")

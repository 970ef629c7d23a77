package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/testnode"
)

// nobody is a valid node_id that never logged in.
const nobody = "dpc-node-0123456789abcdef0123456789abcdef"

// raw sends body as is, with the headers, and decodes a JSON answer into
// out (if non-nil).
func (h *testHub) raw(t testing.TB, method, path, token string, header http.Header, body []byte, out any) *http.Response {
	t.Helper()
	hdr := header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Content-Type", "application/octet-stream")
	return h.send(t, method, path, token, hdr, bytes.NewReader(body), out)
}

// put stores envelope for to as the holder of token; ttl "" sends no
// X-Mailbox-TTL.
func (h *testHub) put(t testing.TB, token, to string, envelope []byte, ttl string) (*http.Response, mailboxPutBody, errorBody) {
	t.Helper()
	var hdr http.Header
	if ttl != "" {
		hdr = http.Header{"X-Mailbox-Ttl": {ttl}}
	}
	var raw json.RawMessage
	resp := h.raw(t, "POST", "/mailbox/"+to, token, hdr, envelope, &raw)
	var ok mailboxPutBody
	var e errorBody
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(raw, &ok); err != nil {
			t.Fatal(err)
		}
	} else {
		_ = json.Unmarshal(raw, &e)
	}
	return resp, ok, e
}

func (h *testHub) fetch(t testing.TB, token, query string) mailboxFetchBody {
	t.Helper()
	var out mailboxFetchBody
	if resp := h.do(t, "GET", "/mailbox"+query, token, nil, &out); resp.StatusCode != 200 {
		t.Fatalf("GET /mailbox%s: %s", query, resp.Status)
	}
	return out
}

// TestMailboxPutChecksTheRequest: the recipient, the envelope's size and
// the TTL are checked before anything is stored, with the error codes of
// API.md; a recipient that never logged in to the hub still gets mail.
func TestMailboxPutChecksTheRequest(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	tok := h.login(t, alice).AccessToken
	h.login(t, bob)
	const day = 24 * time.Hour
	cases := map[string]struct {
		token, to string
		body      []byte
		ttl       string
		wantCode  int
		wantErr   string
		wantTTL   time.Duration
	}{
		"no token":                     {"", bob.NodeID, []byte("x"), "", 401, "unauthorized", 0},
		"a forged token":               {"eyJhbGciOiJIUzI1NiJ9.e30.AAAA", bob.NodeID, []byte("x"), "", 401, "invalid_token", 0},
		"bad node_id":                  {tok, "dpc-node-XYZ", []byte("x"), "", 400, "bad_request", 0},
		"upper-case node_id":           {tok, strings.ToUpper(bob.NodeID), []byte("x"), "", 400, "bad_request", 0},
		"empty envelope":               {tok, bob.NodeID, nil, "", 400, "bad_request", 0},
		"one byte over 64 KiB":         {tok, bob.NodeID, make([]byte, 64<<10+1), "", 413, "too_large", 0},
		"exactly 64 KiB":               {tok, bob.NodeID, make([]byte, 64<<10), "", 201, "", 7 * day},
		"no TTL: seven days":           {tok, bob.NodeID, []byte("x"), "", 201, "", 7 * day},
		"the shortest TTL":             {tok, bob.NodeID, []byte("x"), "60", 201, "", time.Minute},
		"the longest TTL":              {tok, bob.NodeID, []byte("x"), "604800", 201, "", 7 * day},
		"TTL under a minute":           {tok, bob.NodeID, []byte("x"), "59", 400, "bad_request", 0},
		"TTL over seven days":          {tok, bob.NodeID, []byte("x"), "604801", 400, "bad_request", 0},
		"TTL not a number":             {tok, bob.NodeID, []byte("x"), "1h", 400, "bad_request", 0},
		"negative TTL":                 {tok, bob.NodeID, []byte("x"), "-60", 400, "bad_request", 0},
		"a recipient never seen here":  {tok, nobody, []byte("x"), "", 201, "", 7 * day},
		"a note to the sender's inbox": {tok, alice.NodeID, []byte("x"), "", 201, "", 7 * day},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			resp, ok, e := h.put(t, tc.token, tc.to, tc.body, tc.ttl)
			if resp.StatusCode != tc.wantCode || e.Error != tc.wantErr {
				t.Fatalf("want %d %q, got %s %+v", tc.wantCode, tc.wantErr, resp.Status, e)
			}
			if tc.wantCode != 201 {
				return
			}
			after := time.Now().Add(time.Second)
			if ok.ID == "" || ok.ExpiresAt.Before(before.Add(tc.wantTTL)) || ok.ExpiresAt.After(after.Add(tc.wantTTL)) {
				t.Fatalf("answer %+v: want an id and expires_at %s after now", ok, tc.wantTTL)
			}
		})
	}
	t.Run("two TTL headers", func(t *testing.T) {
		var e errorBody
		resp := h.raw(t, "POST", "/mailbox/"+bob.NodeID, tok, http.Header{"X-Mailbox-Ttl": {"60", "120"}}, []byte("x"), &e)
		if resp.StatusCode != 400 || e.Error != "bad_request" {
			t.Fatalf("want 400 bad_request, got %s %+v", resp.Status, e)
		}
	})
}

// TestMailboxQuotaFullNamesTheRecipient: a recipient's mailbox holds at
// most its quota of envelopes and bytes; the refusal is 507 mailbox_full
// and names the recipient. Other recipients are not affected.
func TestMailboxQuotaFullNamesTheRecipient(t *testing.T) {
	cases := map[string]struct {
		quota store.MailboxQuota
		sizes []int
		full  int // index of the first refused envelope
	}{
		"envelope count": {store.MailboxQuota{Envelopes: 2, Bytes: 1 << 20}, []int{10, 10, 10}, 2},
		"bytes":          {store.MailboxQuota{Envelopes: 100, Bytes: 100}, []int{60, 40, 1}, 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newTestHub(t, func(c *Config) { c.MailboxQuota = tc.quota })
			tok := h.login(t, testnode.New(t)).AccessToken
			bob := testnode.New(t).NodeID
			for i, n := range tc.sizes {
				resp, _, e := h.put(t, tok, bob, make([]byte, n), "")
				if i < tc.full {
					if resp.StatusCode != 201 {
						t.Fatalf("envelope %d: %s %+v", i, resp.Status, e)
					}
					continue
				}
				if resp.StatusCode != http.StatusInsufficientStorage || e.Error != "mailbox_full" || !strings.Contains(e.Detail, bob) {
					t.Fatalf("envelope %d: want 507 mailbox_full naming %s, got %s %+v", i, bob, resp.Status, e)
				}
			}
			if resp, _, e := h.put(t, tok, nobody, []byte("x"), ""); resp.StatusCode != 201 {
				t.Fatalf("another recipient: %s %+v", resp.Status, e)
			}
		})
	}
}

// TestMailboxFetchOldestFirstWithLimit: a node fetches its own envelopes,
// oldest first, at most limit (default 100, 1 to 500), with their bytes.
func TestMailboxFetchOldestFirstWithLimit(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := h.login(t, alice).AccessToken, h.login(t, bob).AccessToken
	var sent []string
	for i := range 3 {
		body := []byte(fmt.Sprintf("envelope %d \x00\xff", i))
		if resp, ok, e := h.put(t, ta, bob.NodeID, body, "3600"); resp.StatusCode != 201 {
			t.Fatalf("put %d: %s %+v", i, resp.Status, e)
		} else {
			sent = append(sent, ok.ID)
		}
	}
	cases := map[string]struct {
		token, query string
		wantCode     int
		want         int
	}{
		"default limit":      {tb, "", 200, 3},
		"limit 2":            {tb, "?limit=2", 200, 2},
		"limit 500":          {tb, "?limit=500", 200, 3},
		"limit 0":            {tb, "?limit=0", 400, 0},
		"limit 501":          {tb, "?limit=501", 400, 0},
		"limit not a number": {tb, "?limit=two", 400, 0},
		"the sender's own":   {ta, "", 200, 0},
		"no token":           {"", "", 401, 0},
		"token in the query": {"", "?token=" + tb, 401, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out mailboxFetchBody
			resp := h.do(t, "GET", "/mailbox"+tc.query, tc.token, nil, &out)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("want %d, got %s", tc.wantCode, resp.Status)
			}
			if tc.wantCode != 200 {
				return
			}
			if len(out.Envelopes) != tc.want || out.Envelopes == nil {
				t.Fatalf("want %d envelopes, got %+v", tc.want, out)
			}
			for i, env := range out.Envelopes {
				if env.ID != sent[i] || string(env.Envelope) != fmt.Sprintf("envelope %d \x00\xff", i) ||
					env.ReceivedAt.IsZero() || env.ExpiresAt.Sub(env.ReceivedAt) != time.Hour {
					t.Fatalf("envelope %d: %+v, want id %s", i, env, sent[i])
				}
			}
		})
	}
	// The envelope is standard base64 on the wire.
	req, _ := http.NewRequest("GET", h.URL+"/mailbox?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+tb)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"envelope":"ZW52ZWxvcGUgMCAA/w=="`) {
		t.Fatalf("fetch answer %s: want the envelope in standard base64", b)
	}
}

// TestMailboxAckOfAnotherNodesIDIsIgnored: an ack deletes only the
// caller's envelopes; another node's ids (learnt somehow) do nothing.
func TestMailboxAckOfAnotherNodesIDIsIgnored(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob, carol := testnode.New(t), testnode.New(t), testnode.New(t)
	ta, tb, tc := h.login(t, alice).AccessToken, h.login(t, bob).AccessToken, h.login(t, carol).AccessToken
	_, forBob, _ := h.put(t, ta, bob.NodeID, []byte("for bob"), "")
	_, forCarol, _ := h.put(t, ta, carol.NodeID, []byte("for carol"), "")
	steps := []struct {
		name        string
		token       string
		body        any
		wantCode    int
		wantDeleted int
		bobHas      int
	}{
		{"carol acks bob's id", tc, map[string]any{"ids": []string{forBob.ID}}, 200, 0, 1},
		{"the sender acks what she sent", ta, map[string]any{"ids": []string{forBob.ID}}, 200, 0, 1},
		{"ids missing", tb, map[string]any{}, 400, 0, 1},
		{"an unknown field", tb, map[string]any{"ids": []string{}, "all": true}, 400, 0, 1},
		{"an empty id", tb, map[string]any{"ids": []string{""}}, 400, 0, 1},
		{"an id too long", tb, map[string]any{"ids": []string{strings.Repeat("a", 65)}}, 400, 0, 1},
		{"too many ids", tb, map[string]any{"ids": make([]string, 1001)}, 400, 0, 1},
		{"no token", "", map[string]any{"ids": []string{forBob.ID}}, 401, 0, 1},
		{"bob acks his and carol's", tb, map[string]any{"ids": []string{forBob.ID, forCarol.ID, "unknown"}}, 200, 1, 0},
		{"bob acks again", tb, map[string]any{"ids": []string{forBob.ID}}, 200, 0, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var out map[string]any
			resp := h.do(t, "POST", "/mailbox/ack", st.token, st.body, &out)
			if resp.StatusCode != st.wantCode || (st.wantCode == 200 && out["deleted"] != float64(st.wantDeleted)) ||
				(st.wantCode == 400 && out["error"] != "bad_request") {
				t.Fatalf("want %d deleted %d, got %s %v", st.wantCode, st.wantDeleted, resp.Status, out)
			}
			if n := len(h.fetch(t, tb, "").Envelopes); n != st.bobHas {
				t.Fatalf("bob holds %d envelopes, want %d", n, st.bobHas)
			}
		})
	}
	if n := len(h.fetch(t, tc, "").Envelopes); n != 1 {
		t.Fatalf("carol's envelope after bob acked its id: %d left, want 1", n)
	}
}

// TestMailboxPutsAreRateLimitedPerSender: each sender has its own bucket
// (--rate-mailbox), whoever the recipients are.
func TestMailboxPutsAreRateLimitedPerSender(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Limits.MailboxPutsPerMinute = 2 })
	ta, tb := h.login(t, testnode.New(t)).AccessToken, h.login(t, testnode.New(t)).AccessToken
	steps := []struct {
		name     string
		token    string
		to       string
		wantCode int
	}{
		{"first", ta, nobody, 201},
		{"second, another recipient", ta, "dpc-node-1123456789abcdef0123456789abcdef", 201},
		{"third", ta, nobody, 429},
		{"another sender", tb, nobody, 201},
	}
	for _, st := range steps {
		resp, _, e := h.put(t, st.token, st.to, []byte("x"), "")
		if resp.StatusCode != st.wantCode {
			t.Fatalf("%s: want %d, got %s %+v", st.name, st.wantCode, resp.Status, e)
		}
		if st.wantCode == 429 {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || e.Error != "rate_limited" {
				t.Fatalf("%s: want rate_limited with Retry-After, got %q %+v", st.name, resp.Header.Get("Retry-After"), e)
			}
		}
	}
}

// unreachableMailbox is a store whose database is down for the mailbox.
type unreachableMailbox struct{ store.Store }

var errDown = fmt.Errorf("mailbox table: %w", store.ErrUnavailable)

func (unreachableMailbox) PutEnvelope(context.Context, store.Envelope, store.MailboxQuota) error {
	return errDown
}

func (unreachableMailbox) FetchEnvelopes(context.Context, string, time.Time, int) ([]store.Envelope, error) {
	return nil, errDown
}

func (unreachableMailbox) AckEnvelopes(context.Context, string, []string) (int, error) {
	return 0, errDown
}

// TestMailboxWithoutDatabaseIs503: when the database is unreachable the
// mailbox routes answer 503 unavailable with Retry-After, as the others.
func TestMailboxWithoutDatabaseIs503(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Store = unreachableMailbox{c.Store} })
	tok := h.login(t, testnode.New(t)).AccessToken
	cases := map[string]func() (*http.Response, errorBody){
		"put": func() (*http.Response, errorBody) {
			resp, _, e := h.put(t, tok, nobody, []byte("x"), "")
			return resp, e
		},
		"fetch": func() (*http.Response, errorBody) {
			var e errorBody
			return h.do(t, "GET", "/mailbox", tok, nil, &e), e
		},
		"ack": func() (*http.Response, errorBody) {
			var e errorBody
			return h.do(t, "POST", "/mailbox/ack", tok, map[string]any{"ids": []string{"x"}}, &e), e
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			resp, e := call()
			if resp.StatusCode != 503 || e.Error != "unavailable" || resp.Header.Get("Retry-After") != "5" {
				t.Fatalf("want 503 unavailable with Retry-After 5, got %s %+v %q", resp.Status, e, resp.Header.Get("Retry-After"))
			}
		})
	}
}

// TestMailboxHintReachesTheRecipientsSocket: an envelope stored for a node
// with a signaling socket on this hub sends it {"type":"mailbox"}, which
// names no sender.
func TestMailboxHintReachesTheRecipientsSocket(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := h.login(t, alice).AccessToken, h.login(t, bob).AccessToken
	ws := h.dial(t, tb)
	if resp, _, e := h.put(t, ta, bob.NodeID, []byte("sealed"), ""); resp.StatusCode != 201 {
		t.Fatalf("put: %s %+v", resp.Status, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"mailbox"}` {
		t.Fatalf("hint %s: want exactly {\"type\":\"mailbox\"}", b)
	}
}

// syncBuffer is a log destination read while the hub may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMailboxKeepsNoSender: what the hub stores for an envelope (store
// record), logs at info level and exports as metrics never names the
// sender, whether the put succeeds or is refused; the metrics count puts,
// fetches, acks and held envelopes without node labels.
func TestMailboxKeepsNoSender(t *testing.T) {
	var logs syncBuffer
	h := newTestHub(t, func(c *Config) {
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: "dpc-hub", Output: &logs, Level: hclog.Info})
		c.MailboxQuota = store.MailboxQuota{Envelopes: 1, Bytes: 1 << 20}
		c.Limits.MailboxPutsPerMinute = 3
	})
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := h.login(t, alice).AccessToken, h.login(t, bob).AccessToken
	// The login itself is logged with the node_id; what follows is not.
	mark := len(logs.String())
	for _, tc := range []struct {
		body []byte
		want int
	}{
		{[]byte("first"), 201},
		{[]byte("second"), 507},
		{make([]byte, 64<<10+1), 413},
		{[]byte("fourth"), 429},
	} {
		if resp, _, e := h.put(t, ta, bob.NodeID, tc.body, ""); resp.StatusCode != tc.want {
			t.Fatalf("put: want %d, got %s %+v", tc.want, resp.Status, e)
		}
	}
	got, err := h.st.FetchEnvelopes(context.Background(), bob.NodeID, time.Now(), 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("stored: %+v, %v", got, err)
	}
	if rec := fmt.Sprintf("%+v", got[0]); strings.Contains(rec, alice.NodeID) {
		t.Fatalf("the stored envelope names its sender: %s", rec)
	}
	h.fetch(t, tb, "")
	var out map[string]int
	h.do(t, "POST", "/mailbox/ack", tb, map[string]any{"ids": []string{got[0].ID}}, &out)

	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"dpc_hub_mailbox_puts_total 1", "dpc_hub_mailbox_full_total 1", "dpc_hub_mailbox_fetches_total 1",
		"dpc_hub_mailbox_acks_total 1", "dpc_hub_mailbox_envelopes 0", `dpc_hub_rate_limited_total{class="mailbox"} 1`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for what, text := range map[string]string{"/metrics": string(metrics), "the info log": logs.String()[mark:]} {
		if strings.Contains(text, alice.NodeID) {
			t.Errorf("%s names the sender %s", what, alice.NodeID)
		}
	}
}

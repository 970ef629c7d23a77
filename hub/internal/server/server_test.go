package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

func TestLoginOverHTTPRefusesForgeries(t *testing.T) {
	h := newTestHub(t, nil)
	alice := testnode.New(t)
	mallory := testnode.New(t)
	cases := map[string]struct {
		body     func(nonce string) any
		reuse    bool
		wantCode int
		wantErr  string
	}{
		"wrong signature": {body: func(n string) any {
			sig := alice.Sign(t, h.URL, "", n)
			sig[0] ^= 1
			return loginBodyFor(alice, "", n, sig)
		}, wantCode: 401, wantErr: "login_refused"},
		"signature made for another hub": {body: func(n string) any {
			return loginBodyFor(alice, "", n, alice.Sign(t, "https://other-hub.example.org", "", n))
		}, wantCode: 401, wantErr: "login_refused"},
		"certificate key does not hash to the claimed node_id": {body: func(n string) any {
			return loginBodyFor(mallory, alice.NodeID, n, mallory.Sign(t, h.URL, alice.NodeID, n))
		}, wantCode: 401, wantErr: "login_refused"},
		"reused nonce": {body: func(n string) any {
			return loginBodyFor(alice, "", n, alice.Sign(t, h.URL, "", n))
		}, reuse: true, wantCode: 401, wantErr: "bad_nonce"},
		"unknown field": {body: func(n string) any {
			return map[string]string{"node_id": alice.NodeID, "email": "a@b"}
		}, wantCode: 400, wantErr: "bad_request"},
		"signature not base64": {body: func(n string) any {
			b := loginBodyFor(alice, "", n, []byte{1})
			b.Signature = "%%%"
			return b
		}, wantCode: 400, wantErr: "bad_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			nonce := h.challenge(t)
			body := tc.body(nonce)
			if tc.reuse {
				if resp := h.do(t, "POST", "/login", "", body, nil); resp.StatusCode != 200 {
					t.Fatalf("first login: %s", resp.Status)
				}
			}
			var e errorBody
			resp := h.do(t, "POST", "/login", "", body, &e)
			if resp.StatusCode != tc.wantCode || e.Error != tc.wantErr {
				t.Fatalf("want %d %s, got %s %+v", tc.wantCode, tc.wantErr, resp.Status, e)
			}
		})
	}
}

func TestReusedRotatedRefreshTokenRevokesFamilyOverHTTP(t *testing.T) {
	h := newTestHub(t, nil)
	first := h.login(t, testnode.New(t))
	var second tokensBody
	if resp := h.do(t, "POST", "/refresh", "", refreshBody{first.RefreshToken}, &second); resp.StatusCode != 200 {
		t.Fatalf("refresh: %s", resp.Status)
	}
	var e errorBody
	if resp := h.do(t, "POST", "/refresh", "", refreshBody{first.RefreshToken}, &e); resp.StatusCode != 401 || e.Error != "refresh_reused" {
		t.Fatalf("reuse: want 401 refresh_reused, got %s %+v", resp.Status, e)
	}
	if resp := h.do(t, "GET", "/profile", second.AccessToken, nil, &e); resp.StatusCode != 401 || e.Error != "token_revoked" {
		t.Fatalf("newest access token after reuse: want 401 token_revoked, got %s %+v", resp.Status, e)
	}
	if resp := h.do(t, "POST", "/refresh", "", refreshBody{second.RefreshToken}, &e); resp.StatusCode != 401 || e.Error != "token_revoked" {
		t.Fatalf("newest refresh token after reuse: want 401 token_revoked, got %s %+v", resp.Status, e)
	}
}

func TestLogoutRevokesAndClosesTheSocket(t *testing.T) {
	h := newTestHub(t, nil)
	tok := h.login(t, testnode.New(t))
	c := h.dial(t, tok.AccessToken)
	if resp := h.do(t, "POST", "/logout", tok.AccessToken, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("logout: %s", resp.Status)
	}
	if _, err := readErr(c); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("socket after logout: want a normal close, got %v", err)
	}
	var e errorBody
	if resp := h.do(t, "GET", "/profile", tok.AccessToken, nil, &e); resp.StatusCode != 401 || e.Error != "token_revoked" {
		t.Fatalf("access token after logout: want 401 token_revoked, got %s %+v", resp.Status, e)
	}
}

func TestClientCannotSignalAsAnotherNode(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob, carol := testnode.New(t), testnode.New(t), testnode.New(t)
	ca := h.dial(t, h.login(t, alice).AccessToken)
	cb := h.dial(t, h.login(t, bob).AccessToken)
	h.dial(t, h.login(t, carol).AccessToken)

	// Alice claims to be Carol.
	send(t, ca, map[string]any{"type": "signal", "target_node_id": bob.NodeID, "sender_node_id": carol.NodeID,
		"payload": map[string]any{"type": "offer", "offer": map[string]string{"type": "offer", "sdp": "v=0"}}})
	m := read(t, cb)
	if m.Type != "signal" || m.SenderNodeID != alice.NodeID {
		t.Fatalf("Bob got %+v: want a signal stamped with Alice's node_id %s", m, alice.NodeID)
	}
	if !bytes.Contains(m.Payload, []byte(`"sdp":"v=0"`)) {
		t.Fatalf("payload not relayed as sent: %s", m.Payload)
	}
}

func TestSignalErrors(t *testing.T) {
	h := newTestHub(t, nil)
	alice, offline := testnode.New(t), testnode.New(t)
	c := h.dial(t, h.login(t, alice).AccessToken)
	cases := map[string]struct {
		msg      string
		wantType string
		wantCode string
	}{
		"target offline":     {`{"type":"signal","target_node_id":"` + offline.NodeID + `","payload":{}}`, "error", codeTargetOffline},
		"missing target":     {`{"type":"signal","payload":{}}`, "error", codeMissingTarget},
		"payload not object": {`{"type":"signal","target_node_id":"` + offline.NodeID + `","payload":"x"}`, "error", codeInvalidMessage},
		"unknown type":       {`{"type":"teleport"}`, "error", codeUnknownType},
		"not JSON":           {`{{`, "error", codeInvalidMessage},
		"ping":               {`{"type":"ping","timestamp":42}`, "pong", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Write(ctx, websocket.MessageText, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			m := read(t, c)
			if m.Type != tc.wantType || m.Code != tc.wantCode {
				t.Fatalf("want %s/%s, got %+v", tc.wantType, tc.wantCode, m)
			}
		})
	}
}

func TestNewerConnectionReplacesTheOlder(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	tokA := h.login(t, alice).AccessToken
	old := h.dial(t, tokA)
	newer := h.dial(t, tokA)
	if _, err := readErr(old); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("older socket: want closed normally, got %v", err)
	}
	cb := h.dial(t, h.login(t, bob).AccessToken)
	send(t, cb, map[string]any{"type": "signal", "target_node_id": alice.NodeID, "payload": map[string]any{"n": 1}})
	if m := read(t, newer); m.SenderNodeID != bob.NodeID {
		t.Fatalf("newer socket got %+v", m)
	}
}

func TestOversizedSignalClosesTheSocket(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.MaxSignalBytes = 1024 })
	c := h.dial(t, h.login(t, testnode.New(t)).AccessToken)
	send(t, c, map[string]any{"type": "ping", "timestamp": strings.Repeat("x", 2048)})
	if _, err := readErr(c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("want close 1009, got %v", err)
	}
}

func TestSlowReaderIsDroppedNotBuffered(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.SendQueue = 2; c.MaxSignalBytes = 1 << 20 })
	alice, bob := testnode.New(t), testnode.New(t)
	ca := h.dial(t, h.login(t, alice).AccessToken)
	h.dial(t, h.login(t, bob).AccessToken) // Bob never reads again
	big := strings.Repeat("x", 256<<10)
	// Keep sending until the hub gives up on Bob: his socket buffers fill,
	// the queue fills, and the hub drops him instead of buffering more.
	// Alice's own answers are read in between.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		send(t, ca, map[string]any{"type": "signal", "target_node_id": bob.NodeID, "payload": map[string]string{"blob": big}})
		send(t, ca, map[string]any{"type": "ping", "timestamp": 1})
		for {
			m := read(t, ca)
			if m.Type == "pong" {
				break
			}
			if m.Code == codeRelayFailed || m.Code == codeTargetOffline {
				if h.srv.conns.get(bob.NodeID) != nil && m.Code == codeTargetOffline {
					t.Fatal("Bob reported offline while still registered")
				}
				return
			}
		}
	}
	t.Fatal("the hub kept buffering for a reader that never reads")
}

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Limits = Limits{LoginPerMinute: 2, APIPerMinute: 3, SignalsPerSecond: 1} })
	n := testnode.New(t)
	t.Run("login per IP", func(t *testing.T) {
		h.challenge(t)
		var e errorBody
		var resp *http.Response
		for range 3 {
			if resp = h.do(t, "POST", "/login/challenge", "", nil, &e); resp.StatusCode == 429 {
				break
			}
		}
		if resp.StatusCode != http.StatusTooManyRequests || e.Error != "rate_limited" {
			t.Fatalf("want 429 rate_limited, got %s %+v", resp.Status, e)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After %q: want 1..60 seconds", resp.Header.Get("Retry-After"))
		}
	})
	t.Run("api per node", func(t *testing.T) {
		h2 := newTestHub(t, func(c *Config) { c.Limits = Limits{APIPerMinute: 2} })
		tok := h2.login(t, n).AccessToken
		var resp *http.Response
		for range 3 {
			resp = h2.do(t, "GET", "/discovery/search?q=go", tok, nil, nil)
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("want 429 with Retry-After, got %s %q", resp.Status, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("signals per connection", func(t *testing.T) {
		h3 := newTestHub(t, func(c *Config) { c.Limits = Limits{SignalsPerSecond: 1} })
		c := h3.dial(t, h3.login(t, n).AccessToken)
		for range 10 {
			send(t, c, map[string]any{"type": "ping", "timestamp": 1})
		}
		for range 10 {
			if m := read(t, c); m.Code == codeRateLimited {
				if m.RetryAfterMS <= 0 {
					t.Fatalf("rate_limited without retry_after_ms: %+v", m)
				}
				return
			}
		}
		t.Fatal("ten pings in a row at 1/s: none was rate limited")
	})
}

func TestDiscoveryNeedsLoginAndShowsPresence(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := h.login(t, alice), h.login(t, bob)
	uri := "dpc://192.0.2.1:8888?node_id=" + alice.NodeID
	var e errorBody
	if resp := h.do(t, "PUT", "/profile", ta.AccessToken, map[string]any{"name": "Alice", "uris": []string{"dpc://192.0.2.1?node_id=" + bob.NodeID}}, &e); resp.StatusCode != 400 {
		t.Fatalf("profile with another node's URI: want 400, got %s %+v", resp.Status, e)
	}
	if resp := h.do(t, "PUT", "/profile", ta.AccessToken, map[string]any{"name": "Alice", "description": "gopher",
		"expertise": map[string]int{"go": 4}, "compute": map[string]any{"available": true, "models": []string{"llama3"}}, "uris": []string{uri}}, nil); resp.StatusCode != 200 {
		t.Fatalf("put profile: %s", resp.Status)
	}
	for name, path := range map[string]string{"profile": "/profile/" + alice.NodeID, "presence": "/presence/" + alice.NodeID, "search": "/discovery/search?q=go"} {
		if resp := h.do(t, "GET", path, "", nil, nil); resp.StatusCode != 401 {
			t.Errorf("%s without a token: want 401, got %s", name, resp.Status)
		}
	}
	var pv profileView
	if resp := h.do(t, "GET", "/profile/"+alice.NodeID, tb.AccessToken, nil, &pv); resp.StatusCode != 200 || pv.Name != "Alice" || pv.Online || len(pv.URIs) != 1 || pv.URIs[0] != uri {
		t.Fatalf("Bob reads Alice's profile: %s %+v", resp.Status, pv)
	}
	h.dial(t, ta.AccessToken)
	var pr presenceBody
	if resp := h.do(t, "GET", "/presence/"+alice.NodeID, tb.AccessToken, nil, &pr); resp.StatusCode != 200 || !pr.Online || pr.LastSeen == nil {
		t.Fatalf("presence of a connected node: %s %+v", resp.Status, pr)
	}
	var sb searchBody
	if resp := h.do(t, "GET", "/discovery/search?q=GO&min_level=3", tb.AccessToken, nil, &sb); resp.StatusCode != 200 || sb.Total != 1 || sb.Results[0].NodeID != alice.NodeID || !sb.Results[0].Online {
		t.Fatalf("search: %s %+v", resp.Status, sb)
	}
	if resp := h.do(t, "GET", "/presence/"+testnode.New(t).NodeID, tb.AccessToken, nil, &e); resp.StatusCode != 404 {
		t.Fatalf("presence of a stranger: want 404, got %s", resp.Status)
	}
	if resp := h.do(t, "DELETE", "/profile", ta.AccessToken, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete profile: %s", resp.Status)
	}
	// Deleting the profile leaves the login working (D-PC deleted the user).
	if resp := h.do(t, "GET", "/profile", ta.AccessToken, nil, &e); resp.StatusCode != 404 || e.Error != "not_found" {
		t.Fatalf("own profile after delete: want 404, got %s %+v", resp.Status, e)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newTestHub(t, nil)
	var hb healthBody
	if resp := h.do(t, "GET", "/health", "", nil, &hb); resp.StatusCode != 200 || hb.Status != "healthy" {
		t.Fatalf("health: %s %+v", resp.Status, hb)
	}
	h.login(t, testnode.New(t))
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if !strings.Contains(buf.String(), `dpc_hub_logins_total{result="ok"} 1`) {
		t.Fatalf("metrics lack the login counter:\n%s", buf.String())
	}
}

func TestSocketClosesWhenTheTokenExpires(t *testing.T) {
	h := newTestHub(t, nil)
	// A second authority over the same store and secret, issuing tokens
	// that live 5 s: the socket must close when its token does.
	short, err := auth.New(auth.Config{Audience: h.URL, Secret: bytes.Repeat([]byte{7}, 32), AccessTTL: 5 * time.Second}, h.st)
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.New(t)
	nonce, err := short.Challenge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := short.Login(context.Background(), auth.LoginRequest{NodeID: n.NodeID, CertificatePEM: n.CertPEM, Nonce: nonce.Value,
		Signature: n.Sign(t, h.URL, "", nonce.Value), Algorithm: nodeid.AlgEd25519})
	if err != nil {
		t.Fatal(err)
	}
	c := h.dial(t, tok.AccessToken)
	_, err = readErr(c)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "expired") {
		t.Fatalf("want a policy close saying the token expired, got %v", err)
	}
}

// TestHubShutdownHintsReconnect: a hub shutting down tells each socket to
// reconnect within its spread, closes it with 1012 (service restart), and
// answers /health with 503 draining meanwhile.
func TestHubShutdownHintsReconnect(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.ReconnectSpread = 1500 * time.Millisecond })
	c := h.dial(t, h.login(t, testnode.New(t)).AccessToken)
	late := h.login(t, testnode.New(t)).AccessToken
	type read struct {
		m   serverMessage
		err error
	}
	got := make(chan read, 2)
	go func() {
		for {
			m, err := readErr(c)
			got <- read{m, err}
			if err != nil {
				return
			}
		}
	}()
	h.srv.Close()
	if r := <-got; r.err != nil || r.m.Type != "reconnect" || r.m.RetryAfterMS != 1500 {
		t.Fatalf("want the reconnect hint with retry_after_ms 1500, got %+v %v", r.m, r.err)
	}
	if r := <-got; websocket.CloseStatus(r.err) != websocket.StatusServiceRestart {
		t.Fatalf("want close 1012 after the hint, got %v", r.err)
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"status":"draining"`) {
		t.Fatalf("/health while draining: %d %s", rec.Code, rec.Body.String())
	}
	// A socket opened while it drains is refused: the node would be sent
	// away again at once (before, it was taken and kept on a dying replica).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+h.URL[len("http"):]+"/ws/signal", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + late}},
	})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a socket opened while draining: want 503 with Retry-After, got %v %v", resp, err)
	}
}

func TestConnectionsBeyondTheMaximumAre503(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.MaxConnections = 1 })
	alice, bob := testnode.New(t), testnode.New(t)
	ta := h.login(t, alice).AccessToken
	h.dial(t, ta)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+h.URL[len("http"):]+"/ws/signal", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + h.login(t, bob).AccessToken}},
	})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second node on a full hub: want 503 with Retry-After, got %v %v", resp, err)
	}
	// The node already here may still replace its own socket.
	h.dial(t, ta)
}

func TestIdleSocketIsClosedWithAReason(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	c := h.dial(t, h.login(t, testnode.New(t)).AccessToken)
	_, err := readErr(c)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "idle") {
		t.Fatalf("want a policy close saying idle, got %v", err)
	}
}

func TestLastSeenIsStoredWhenANodeLeaves(t *testing.T) {
	h := newTestHub(t, nil)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := h.login(t, alice), h.login(t, bob)
	c := h.dial(t, ta.AccessToken)
	left := time.Now()
	c.Close(websocket.StatusNormalClosure, "bye")
	// Wait until the hub has unregistered Alice, then flush as the ticker would.
	deadline := time.Now().Add(30 * time.Second)
	for h.srv.conns.get(alice.NodeID) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Alice still registered after closing her socket")
		}
		<-time.After(10 * time.Millisecond) // between polls of the condition above
	}
	h.srv.flushSeen(context.Background())
	n, err := h.st.GetNode(context.Background(), alice.NodeID)
	if err != nil || n.LastSeen.Before(left) {
		t.Fatalf("stored last seen %v is not the time Alice left (after %v): %v", n.LastSeen, left, err)
	}
	var pr presenceBody
	if resp := h.do(t, "GET", "/presence/"+alice.NodeID, tb.AccessToken, nil, &pr); resp.StatusCode != 200 || pr.Online || pr.LastSeen == nil {
		t.Fatalf("presence after leaving: %s %+v", resp.Status, pr)
	}
}

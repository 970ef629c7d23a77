package server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/hub/internal/turnserver"
	"github.com/dpc-go/dpc/hub/internal/turnserver/turntest"
)

// startTURN runs a TURN server on 127.0.0.1 for a test hub.
func startTURN(t *testing.T) *turnserver.Server {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := turnserver.Start(turnserver.Config{Conn: conn, PublicIP: net.IPv4(127, 0, 0, 1), Realm: "127.0.0.1",
		Secret: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	return ts
}

func withTURN(ts *turnserver.Server) func(*Config) { return func(c *Config) { c.TURN = ts } }

// turnAddr is the host:port of a turn: URL.
func turnAddr(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "turn:")
	addr, _, ok2 := strings.Cut(rest, "?")
	if !ok || !ok2 {
		t.Fatalf("URL %q is not turn:HOST:PORT?transport=udp", url)
	}
	return addr
}

func TestIceServersRefusedWithoutLogin(t *testing.T) {
	h := newTestHub(t, withTURN(startTURN(t)))
	cases := map[string]struct{ token, want string }{
		"no token":        {"", "unauthorized"},
		"malformed token": {"not-a-jwt", "invalid_token"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var e errorBody
			if resp := h.do(t, "GET", "/ice-servers", tc.token, nil, &e); resp.StatusCode != 401 || e.Error != tc.want {
				t.Fatalf("want 401 %s, got %s %+v", tc.want, resp.Status, e)
			}
		})
	}
}

func TestIceServersWithoutTURNAnswerNotFound(t *testing.T) {
	h := newTestHub(t, nil)
	tok := h.login(t, testnode.New(t))
	var e errorBody
	if resp := h.do(t, "GET", "/ice-servers", tok.AccessToken, nil, &e); resp.StatusCode != 404 || e.Error != "not_found" || !strings.Contains(e.Detail, "no TURN server") {
		t.Fatalf("want 404 not_found saying there is no TURN server, got %s %+v", resp.Status, e)
	}
	var hb healthBody
	if h.do(t, "GET", "/health", "", nil, &hb); hb.Turn != "off" {
		t.Errorf("/health turn = %q, want off", hb.Turn)
	}
}

// TestIceServersCredentialRelays: a logged-in node's credential from GET
// /ice-servers gets a TURN allocation that relays to a peer.
func TestIceServersCredentialRelays(t *testing.T) {
	h := newTestHub(t, withTURN(startTURN(t)))
	n := testnode.New(t)
	tok := h.login(t, n)
	var ice iceServersBody
	if resp := h.do(t, "GET", "/ice-servers", tok.AccessToken, nil, &ice); resp.StatusCode != 200 {
		t.Fatalf("GET /ice-servers: %s", resp.Status)
	}
	if len(ice.IceServers) != 1 || len(ice.IceServers[0].URLs) != 1 || ice.TTL <= 0 {
		t.Fatalf("want one server with one URL and a ttl, got %+v", ice)
	}
	is := ice.IceServers[0]
	if !strings.HasSuffix(is.Username, ":"+n.NodeID) || is.Credential == "" || time.Until(is.ExpiresAt) <= 0 {
		t.Fatalf("want a credential of %s that has not expired, got %+v", n.NodeID, is)
	}
	relay, err := turntest.Allocate(t, turnAddr(t, is.URLs[0]), is.Username, is.Credential)
	if err != nil {
		t.Fatalf("allocation with the hub's credential: %v", err)
	}
	if err := turntest.RoundTrip(relay, turntest.EchoPeer(t), []byte("relayed")); err != nil {
		t.Fatal(err)
	}
	var hb healthBody
	if h.do(t, "GET", "/health", "", nil, &hb); hb.Turn != "on" {
		t.Errorf("/health turn = %q, want on", hb.Turn)
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, series := range []string{"dpc_hub_turn_relayed_bytes_total 14", "dpc_hub_turn_allocations 1",
		"dpc_hub_turn_quota_exceeded_total 0", "dpc_hub_turn_auth_failures_total 0"} {
		if !strings.Contains(string(body), series+"\n") {
			t.Errorf("/metrics lacks %q", series)
		}
	}
}

// TestLogoutRevokesTurnCredential: a credential from before a logout gets
// no relay.
func TestLogoutRevokesTurnCredential(t *testing.T) {
	ts := startTURN(t)
	h := newTestHub(t, withTURN(ts))
	tok := h.login(t, testnode.New(t))
	var ice iceServersBody
	if resp := h.do(t, "GET", "/ice-servers", tok.AccessToken, nil, &ice); resp.StatusCode != 200 {
		t.Fatalf("GET /ice-servers: %s", resp.Status)
	}
	if resp := h.do(t, "POST", "/logout", tok.AccessToken, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("logout: %s", resp.Status)
	}
	is := ice.IceServers[0]
	if _, err := turntest.Allocate(t, turnAddr(t, is.URLs[0]), is.Username, is.Credential); err == nil {
		t.Fatal("a credential from before the logout got an allocation")
	}
}

func TestIceServersRateLimitedPerNode(t *testing.T) {
	h := newTestHub(t, func(c *Config) {
		c.TURN = startTURN(t)
		c.Limits.APIPerMinute = 1
	})
	tok := h.login(t, testnode.New(t))
	if resp := h.do(t, "GET", "/ice-servers", tok.AccessToken, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("first GET /ice-servers: %s", resp.Status)
	}
	var e errorBody
	resp := h.do(t, "GET", "/ice-servers", tok.AccessToken, nil, &e)
	if resp.StatusCode != 429 || e.Error != "rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second GET /ice-servers within the minute: want 429 rate_limited with Retry-After, got %s %+v", resp.Status, e)
	}
}

package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/oauth"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/testnode"
)

// withOAuth gives the test hub a GitHub-kind provider "github" (never
// contacted by these tests) and, if required, --require-oauth.
func withOAuth(t testing.TB, required bool) func(*Config) {
	return func(cfg *Config) {
		svc, err := oauth.New(&oauth.Config{Providers: []oauth.ProviderConfig{{Name: "github", Kind: oauth.KindGitHub, DisplayName: "GitHub",
			ClientID: "id", ClientSecret: "secret", Scopes: []string{"read:user"},
			AuthURL: "https://github.invalid/authorize", TokenURL: "https://github.invalid/token", UserURL: "https://github.invalid/user"}}},
			oauth.Options{Store: cfg.Store, PublicURL: cfg.Authority.Audience(), Required: required})
		if err != nil {
			t.Fatal(err)
		}
		cfg.OAuth = svc
	}
}

func TestOAuthDisabledHubSaysSo(t *testing.T) {
	h := newTestHub(t, nil)
	tok := h.login(t, testnode.New(t))
	var p oauthProvidersBody
	if resp := h.do(t, "GET", "/oauth/providers", "", nil, &p); resp.StatusCode != 200 || p.Required || p.Providers == nil || len(p.Providers) != 0 {
		t.Fatalf("GET /oauth/providers: %d %+v", resp.StatusCode, p)
	}
	var e errorBody
	if resp := h.do(t, "POST", "/oauth/link", tok.AccessToken, map[string]string{"provider": "github"}, &e); resp.StatusCode != 404 || e.Error != "oauth_disabled" {
		t.Fatalf("POST /oauth/link: %d %+v", resp.StatusCode, e)
	}
	if resp := h.do(t, "GET", "/oauth/github/start?ticket=x", "", nil, &e); resp.StatusCode != 404 || e.Error != "oauth_disabled" {
		t.Fatalf("GET start: %d %+v", resp.StatusCode, e)
	}
	// Without OAuth nothing is gated.
	if resp := h.do(t, "GET", "/profile", tok.AccessToken, nil, &e); resp.StatusCode != 404 || e.Error != "not_found" {
		t.Fatalf("GET /profile: %d %+v", resp.StatusCode, e)
	}
}

func TestOAuthLinkNamesTheProviders(t *testing.T) {
	h := newTestHub(t, withOAuth(t, false))
	tok := h.login(t, testnode.New(t))
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown provider", map[string]string{"provider": "gitlab"}, 404, "unknown_provider"},
		{"empty provider", map[string]string{"provider": ""}, 400, "bad_request"},
		{"unknown field", map[string]string{"provider": "github", "node_id": "x"}, 400, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e errorBody
			if resp := h.do(t, "POST", "/oauth/link", tok.AccessToken, tc.body, &e); resp.StatusCode != tc.status || e.Error != tc.code {
				t.Fatalf("want %d %s, got %d %+v", tc.status, tc.code, resp.StatusCode, e)
			}
			if tc.code == "unknown_provider" && !strings.Contains(e.Detail, "this hub offers: github") {
				t.Fatalf("detail %q does not list the providers", e.Detail)
			}
		})
	}
	var l oauthLinkBody
	if resp := h.do(t, "POST", "/oauth/link", tok.AccessToken, map[string]string{"provider": "github"}, &l); resp.StatusCode != 200 ||
		!strings.HasPrefix(l.URL, h.URL+"/oauth/github/start?ticket=") || l.ExpiresIn < 590 || time.Until(l.ExpiresAt) > 10*time.Minute {
		t.Fatalf("POST /oauth/link: %d %+v", resp.StatusCode, l)
	}
}

func TestOAuthStartSetsTheBrowserCookieAndRefusesAUsedTicket(t *testing.T) {
	h := newTestHub(t, withOAuth(t, false))
	tok := h.login(t, testnode.New(t))
	var l oauthLinkBody
	h.do(t, "POST", "/oauth/link", tok.AccessToken, map[string]string{"provider": "github"}, &l)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", l.URL, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get()
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "https://github.invalid/authorize?") {
		t.Fatalf("start: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == oauth.CookieName {
			c = ck
		}
	}
	if c == nil || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/oauth/" || c.Secure || c.MaxAge != 600 {
		t.Fatalf("browser cookie %+v", c)
	}
	resp = get()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "run dpc hub link again") {
		t.Fatalf("used ticket: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestRequireOAuthGatesEveryRouteButLinking: with --require-oauth a node
// without a linked account reaches only the routes that link one.
func TestRequireOAuthGatesEveryRouteButLinking(t *testing.T) {
	h := newTestHub(t, withOAuth(t, true))
	n := testnode.New(t)
	tok := h.login(t, n)
	cases := []struct {
		method, path string
		body         any
		gated        bool
	}{
		{"GET", "/profile", nil, true},
		{"PUT", "/profile", map[string]any{"name": "A"}, true},
		{"DELETE", "/profile", nil, true},
		{"GET", "/profile/" + n.NodeID, nil, true},
		{"GET", "/presence/" + n.NodeID, nil, true},
		{"GET", "/discovery/search?q=go", nil, true},
		{"GET", "/ws/signal", nil, true},
		{"GET", "/ice-servers", nil, true},
		{"POST", "/mailbox/" + n.NodeID, nil, true},
		{"GET", "/mailbox", nil, true},
		{"POST", "/mailbox/ack", map[string]any{"ids": []string{"x"}}, true},
		{"POST", "/oauth/link", map[string]string{"provider": "github"}, false},
		{"GET", "/accounts", nil, false},
		{"DELETE", "/accounts/github", nil, false},
	}
	check := func(t *testing.T, linked bool) {
		for _, tc := range cases {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				if tc.path == "/ws/signal" && linked {
					h.dial(t, tok.AccessToken) // the handshake and auth_ok
					return
				}
				var e errorBody
				resp := h.do(t, tc.method, tc.path, tok.AccessToken, tc.body, &e)
				refused := resp.StatusCode == 403 && e.Error == "account_required"
				if refused != (tc.gated && !linked) {
					t.Fatalf("gated %v, linked %v: got %d %+v", tc.gated, linked, resp.StatusCode, e)
				}
				if refused && !strings.Contains(e.Detail, "run dpc hub link PROVIDER (providers: github)") {
					t.Fatalf("detail %q", e.Detail)
				}
			})
		}
	}
	t.Run("without an account", func(t *testing.T) { check(t, false) })
	if err := h.st.LinkAccount(context.Background(), store.Account{Provider: "github", Subject: "1", NodeID: n.NodeID, LinkedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The DELETE /accounts/github case unlinks: relink after each run.
	cases = cases[:len(cases)-1]
	t.Run("with an account", func(t *testing.T) { check(t, true) })
	// Logout is never gated.
	var e errorBody
	if err := h.st.UnlinkAccounts(context.Background(), n.NodeID, "github"); err != nil {
		t.Fatal(err)
	}
	if resp := h.do(t, "POST", "/logout", tok.AccessToken, nil, &e); resp.StatusCode != 200 {
		t.Fatalf("logout without an account: %d %+v", resp.StatusCode, e)
	}
}

func TestOAuthDonePageEscapes(t *testing.T) {
	h := newTestHub(t, withOAuth(t, false))
	q := url.Values{"status": {"error"}, "error": {"bad_state"}, "error_description": {"<script>alert(1)</script>"}}
	resp, err := http.Get(h.URL + "/oauth/done?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "Run dpc hub link again") {
		t.Fatalf("/oauth/done: %d\n%s", resp.StatusCode, body)
	}
}

// TestUnlinkingTheLastAccountClosesTheSocket: on a hub that requires an
// account, unlinking the node's last one closes its signaling socket at
// once (it could otherwise go on signaling until it reconnects); on a hub
// that does not, the socket stays.
func TestUnlinkingTheLastAccountClosesTheSocket(t *testing.T) {
	for _, required := range []bool{true, false} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			h := newTestHub(t, withOAuth(t, required))
			n := testnode.New(t)
			tok := h.login(t, n)
			if err := h.st.LinkAccount(context.Background(), store.Account{Provider: "github", Subject: "1", NodeID: n.NodeID, LinkedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			c := h.dial(t, tok.AccessToken)
			if resp := h.do(t, "DELETE", "/accounts/github", tok.AccessToken, nil, nil); resp.StatusCode != 204 {
				t.Fatalf("unlink: %d", resp.StatusCode)
			}
			if !required {
				// The socket still answers a ping.
				if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping","timestamp":1}`)); err != nil {
					t.Fatal(err)
				}
				if m, err := readErr(c); err != nil || m.Type != "pong" {
					t.Fatalf("socket after unlink on a hub that requires no account: %+v %v", m, err)
				}
				return
			}
			_, err := readErr(c)
			var ce websocket.CloseError
			if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "account unlinked") {
				t.Fatalf("want the socket closed for the unlinked account, got %v", err)
			}
		})
	}
}

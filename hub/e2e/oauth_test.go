package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/oauth/oidctest"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

const (
	oidcClientID     = "dpc-hub"
	oidcClientSecret = "test-client-secret-of-dpc-hub"
	oidcCallbackPath = "/oauth/corp/callback"
)

// writeOAuthConfig writes an OAuth config with one OIDC provider "corp" at
// issuer (and its client secret, mode 0600) and returns its path.
func writeOAuthConfig(t *testing.T, issuer string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "corp.secret"), []byte(oidcClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`provider "corp" {
  kind               = "oidc"
  display_name       = "Corp SSO"
  issuer             = %q
  client_id          = %q
  client_secret_file = "corp.secret"
}
`, issuer, oidcClientID)
	path := filepath.Join(dir, "oauth.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type linkAnswer struct {
	Provider  string    `json:"provider"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
	Error     string    `json:"error"`
	Detail    string    `json:"detail"`
}

type accountsAnswer struct {
	NodeID   string `json:"node_id"`
	Required bool   `json:"required"`
	Accounts []struct {
		Provider string    `json:"provider"`
		Subject  string    `json:"subject"`
		Email    string    `json:"email"`
		Name     string    `json:"name"`
		LinkedAt time.Time `json:"linked_at"`
	} `json:"accounts"`
}

// oidcHub is a real dpc-hub with --require-oauth linking accounts of a real
// oidc-provider.
type oidcHub struct {
	hub      *hubProc
	provider *oidctest.Provider
}

func startOIDCHub(t *testing.T) oidcHub {
	t.Helper()
	p := oidctest.Start(t, oidctest.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, RedirectPath: oidcCallbackPath})
	h := startHub(t, "127.0.0.1:0", t.TempDir(), "--oauth-config", writeOAuthConfig(t, p.Issuer), "--require-oauth",
		"--rate-login", "0") // a node per case logs in
	return oidcHub{hub: h, provider: p}
}

// link asks the hub for a link ticket URL for the node.
func (o oidcHub) link(t *testing.T, token string) string {
	t.Helper()
	var l linkAnswer
	if code := call(t, "POST", o.hub.URL+"/oauth/link", token, map[string]string{"provider": "corp"}, &l); code != 200 {
		t.Fatalf("POST /oauth/link: %d %+v", code, l)
	}
	if l.Provider != "corp" || !strings.HasPrefix(l.URL, o.hub.URL+"/oauth/corp/start?ticket=") || l.ExpiresIn < 590 || l.ExpiresIn > 600 {
		t.Fatalf("POST /oauth/link answered %+v", l)
	}
	return l.URL
}

// start opens the ticket URL in the browser and returns the provider's
// authorization URL the hub redirected to.
func (o oidcHub) start(t *testing.T, b *oidctest.Browser, ticketURL string) string {
	t.Helper()
	r := b.Get(t, ticketURL)
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, o.provider.Issuer+"/auth?") {
		t.Fatalf("start: want 302 to %s/auth, got %d %q\n%s", o.provider.Issuer, r.Status, r.Location, r.Body)
	}
	q := mustQuery(t, r.Location)
	for k, want := range map[string]string{"client_id": oidcClientID, "redirect_uri": o.hub.URL + oidcCallbackPath,
		"response_type": "code", "code_challenge_method": "S256", "scope": "openid email profile"} {
		if q.Get(k) != want {
			t.Fatalf("authorization request: %s = %q, want %q (%s)", k, q.Get(k), want, r.Location)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Fatalf("authorization request: %s = %q, want a random value", k, q.Get(k))
		}
	}
	u, _ := url.Parse(o.hub.URL + "/oauth/")
	var bound bool
	for _, c := range b.Client.Jar.Cookies(u) {
		bound = bound || (c.Name == "dpc_hub_oauth" && c.Value != "")
	}
	if !bound {
		t.Fatal("start set no dpc_hub_oauth cookie for the hub's /oauth/")
	}
	return r.Location
}

// callback opens a callback URL and returns the final redirect's query.
func (o oidcHub) callback(t *testing.T, b *oidctest.Browser, u string) url.Values {
	t.Helper()
	r := b.Get(t, u)
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, o.hub.URL+"/oauth/done?") {
		t.Fatalf("callback: want 302 to the hub's /oauth/done, got %d %q\n%s", r.Status, r.Location, r.Body)
	}
	return mustQuery(t, r.Location)
}

// linkFlow runs a whole link in browser b and returns the callback URL the
// provider sent the browser to (not yet opened).
func (o oidcHub) linkFlow(t *testing.T, b *oidctest.Browser, token, login string) string {
	t.Helper()
	return b.Authorize(t, o.provider.Issuer, o.start(t, b, o.link(t, token)), login, o.hub.URL+oidcCallbackPath+"?")
}

func (o oidcHub) accounts(t *testing.T, token string) accountsAnswer {
	t.Helper()
	var a accountsAnswer
	if code := call(t, "GET", o.hub.URL+"/accounts", token, nil, &a); code != 200 {
		t.Fatalf("GET /accounts: %d", code)
	}
	return a
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func wantRefused(t *testing.T, q url.Values, code string) {
	t.Helper()
	if q.Get("status") != "error" || q.Get("error") != code || q.Get("error_description") == "" {
		t.Fatalf("want status=error error=%s, got %v", code, q)
	}
}

// signalStatus dials /ws/signal: the HTTP status of a refused handshake,
// or 101 after reading auth_ok.
func signalStatus(t *testing.T, hubAddr, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+hubAddr+"/ws/signal?token="+url.QueryEscape(token), nil)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial /ws/signal: %v", err)
		}
		var e tokens
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(msg), `"auth_ok"`) {
		t.Fatalf("signaling socket: want auth_ok, got %q %v", msg, err)
	}
	return http.StatusSwitchingProtocols, ""
}

// TestE2EOAuthLinkAgainstRealOIDCProvider: a node links its account of a
// real OIDC provider through the real hub binary, and --require-oauth lets
// it (and only it) through.
func TestE2EOAuthLinkAgainstRealOIDCProvider(t *testing.T) {
	began := time.Now()
	o := startOIDCHub(t)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := keyLogin(t, o.hub.URL, alice), keyLogin(t, o.hub.URL, bob)

	var provs struct {
		Providers []map[string]string `json:"providers"`
		Required  bool                `json:"required"`
	}
	if code := call(t, "GET", o.hub.URL+"/oauth/providers", "", nil, &provs); code != 200 || !provs.Required ||
		len(provs.Providers) != 1 || provs.Providers[0]["name"] != "corp" || provs.Providers[0]["display_name"] != "Corp SSO" || provs.Providers[0]["kind"] != "oidc" {
		t.Fatalf("GET /oauth/providers: %d %+v", code, provs)
	}

	// Before linking: an account is required.
	var e tokens
	if code := call(t, "GET", o.hub.URL+"/profile", ta.AccessToken, nil, &e); code != 403 || e.Error != "account_required" || !strings.Contains(e.Detail, "dpc hub link") {
		t.Fatalf("GET /profile without an account: want 403 account_required, got %d %+v", code, e)
	}
	if code, errCode := signalStatus(t, o.hub.Addr, ta.AccessToken); code != 403 || errCode != "account_required" {
		t.Fatalf("/ws/signal without an account: want 403 account_required, got %d %q", code, errCode)
	}
	if a := o.accounts(t, ta.AccessToken); !a.Required || len(a.Accounts) != 0 || a.NodeID != alice.NodeID {
		t.Fatalf("GET /accounts before linking: %+v", a)
	}

	b := oidctest.NewBrowser(t)
	cb := o.linkFlow(t, b, ta.AccessToken, "alice")
	q := o.callback(t, b, cb)
	if q.Get("status") != "linked" || q.Get("provider") != "corp" || q.Get("node_id") != alice.NodeID {
		t.Fatalf("final redirect: want status=linked provider=corp node_id=%s, got %v", alice.NodeID, q)
	}
	done := b.Get(t, o.hub.URL+"/oauth/done?"+q.Encode())
	if done.Status != 200 || !strings.Contains(done.Body, "Account linked") || !strings.Contains(done.Body, alice.NodeID) {
		t.Fatalf("/oauth/done: %d\n%s", done.Status, done.Body)
	}

	a := o.accounts(t, ta.AccessToken)
	if len(a.Accounts) != 1 || a.Accounts[0].Provider != "corp" || a.Accounts[0].Subject != "alice" ||
		a.Accounts[0].Email != "alice@example.test" || a.Accounts[0].Name != "Test User alice" || time.Since(a.Accounts[0].LinkedAt) > time.Hour {
		t.Fatalf("GET /accounts after linking: %+v", a)
	}
	// With an account Alice passes the gate; Bob, without one, still does not.
	if code := call(t, "GET", o.hub.URL+"/profile", ta.AccessToken, nil, &e); code != 404 || e.Error != "not_found" {
		t.Fatalf("GET /profile with an account: want 404 not_found (no profile yet), got %d %+v", code, e)
	}
	if code, errCode := signalStatus(t, o.hub.Addr, ta.AccessToken); code != http.StatusSwitchingProtocols {
		t.Fatalf("/ws/signal with an account: got %d %q", code, errCode)
	}
	if code := call(t, "GET", o.hub.URL+"/profile", tb.AccessToken, nil, &e); code != 403 || e.Error != "account_required" {
		t.Fatalf("Bob's GET /profile: want 403 account_required, got %d %+v", code, e)
	}
	// The metric counts the link.
	resp, err := http.Get(o.hub.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	_, _ = io.Copy(buf, resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(buf.String(), `dpc_hub_oauth_links_total{result="linked"} 1`) {
		t.Fatalf("metrics lack dpc_hub_oauth_links_total{result=\"linked\"} 1")
	}
	// Unlinking takes Alice back behind the gate.
	if code := call(t, "DELETE", o.hub.URL+"/accounts/corp", ta.AccessToken, nil, nil); code != 204 {
		t.Fatalf("DELETE /accounts/corp: %d", code)
	}
	if code := call(t, "DELETE", o.hub.URL+"/accounts/corp", ta.AccessToken, nil, &e); code != 404 || e.Error != "not_found" {
		t.Fatalf("second DELETE /accounts/corp: %d %+v", code, e)
	}
	if code := call(t, "GET", o.hub.URL+"/profile", ta.AccessToken, nil, &e); code != 403 || e.Error != "account_required" {
		t.Fatalf("GET /profile after unlinking: want 403, got %d %+v", code, e)
	}
	t.Logf("OIDC link end to end took %s (provider and hub start included)", time.Since(began).Round(time.Millisecond))
}

// TestE2EOAuthRefusals: every forged or replayed step of a flow is refused
// against the real provider and links nothing.
func TestE2EOAuthRefusals(t *testing.T) {
	o := startOIDCHub(t)
	cases := []struct {
		name string
		// run drives a flow for the node's token and returns the final
		// redirect's query of the refused step.
		run  func(t *testing.T, token string) url.Values
		want string
	}{
		{"tampered state", func(t *testing.T, token string) url.Values {
			b := oidctest.NewBrowser(t)
			cb := o.linkFlow(t, b, token, "mallory")
			u, _ := url.Parse(cb)
			q := u.Query()
			st := []byte(q.Get("state"))
			st[0] ^= 1
			q.Set("state", string(st))
			u.RawQuery = q.Encode()
			return o.callback(t, b, u.String())
		}, "bad_state"},
		{"replayed callback after success", func(t *testing.T, token string) url.Values {
			b := oidctest.NewBrowser(t)
			cb := o.linkFlow(t, b, token, "replayer")
			if q := o.callback(t, b, cb); q.Get("status") != "linked" {
				t.Fatalf("first callback: %v", q)
			}
			if code := call(t, "DELETE", o.hub.URL+"/accounts/corp", token, nil, nil); code != 204 {
				t.Fatalf("unlink before the replay: %d", code)
			}
			return o.callback(t, b, cb)
		}, "bad_state"},
		{"used code with a fresh state of another flow", func(t *testing.T, token string) url.Values {
			b := oidctest.NewBrowser(t)
			cb := o.linkFlow(t, b, token, "replayer2")
			if q := o.callback(t, b, cb); q.Get("status") != "linked" {
				t.Fatalf("first callback: %v", q)
			}
			if code := call(t, "DELETE", o.hub.URL+"/accounts/corp", token, nil, nil); code != 204 {
				t.Fatalf("unlink before the replay: %d", code)
			}
			// A second flow in the same browser: its state and cookie
			// are valid, the code is the first flow's.
			fresh := mustQuery(t, o.start(t, b, o.link(t, token))).Get("state")
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", fresh)
			u.RawQuery = q.Encode()
			return o.callback(t, b, u.String())
		}, "exchange_failed"},
		{"wrong nonce", func(t *testing.T, token string) url.Values {
			b := oidctest.NewBrowser(t)
			authURL := o.start(t, b, o.link(t, token))
			u, _ := url.Parse(authURL)
			q := u.Query()
			q.Set("nonce", "a-nonce-the-hub-never-issued-0123456789abcdef")
			u.RawQuery = q.Encode()
			cb := b.Authorize(t, o.provider.Issuer, u.String(), "noncer", o.hub.URL+oidcCallbackPath+"?")
			return o.callback(t, b, cb)
		}, "wrong_nonce"},
		{"missing browser cookie", func(t *testing.T, token string) url.Values {
			cb := o.linkFlow(t, oidctest.NewBrowser(t), token, "thief")
			return o.callback(t, oidctest.NewBrowser(t), cb)
		}, "bad_state"},
		{"foreign browser cookie", func(t *testing.T, token string) url.Values {
			cb := o.linkFlow(t, oidctest.NewBrowser(t), token, "victim")
			// The attacker's browser holds a cookie of a flow of its own.
			attacker := oidctest.NewBrowser(t)
			o.start(t, attacker, o.link(t, token))
			return o.callback(t, attacker, cb)
		}, "bad_state"},
		{"provider error is passed on", func(t *testing.T, token string) url.Values {
			b := oidctest.NewBrowser(t)
			authURL := o.start(t, b, o.link(t, token))
			state := mustQuery(t, authURL).Get("state")
			return o.callback(t, b, o.hub.URL+oidcCallbackPath+"?"+url.Values{"state": {state}, "error": {"access_denied"},
				"error_description": {"the user said no"}}.Encode())
		}, "access_denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := testnode.New(t)
			tok := keyLogin(t, o.hub.URL, n)
			wantRefused(t, tc.run(t, tok.AccessToken), tc.want)
			if a := o.accounts(t, tok.AccessToken); len(a.Accounts) != 0 {
				t.Fatalf("a refused flow linked %+v", a.Accounts)
			}
		})
	}

	t.Run("used ticket", func(t *testing.T) {
		tok := keyLogin(t, o.hub.URL, testnode.New(t))
		ticketURL := o.link(t, tok.AccessToken)
		o.start(t, oidctest.NewBrowser(t), ticketURL)
		r := oidctest.NewBrowser(t).Get(t, ticketURL)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "dpc hub link") {
			t.Fatalf("second use of a ticket: want 400 saying run dpc hub link, got %d\n%s", r.Status, r.Body)
		}
		var e tokens
		if code := call(t, "GET", ticketURL, "", nil, &e); code != 400 || e.Error != "bad_ticket" {
			t.Fatalf("second use as JSON: want 400 bad_ticket, got %d %+v", code, e)
		}
	})
}

// TestE2EOAuthProviderDownAtHubStart: an OIDC provider that is down when
// the hub starts neither stops the hub nor the link once it is up.
func TestE2EOAuthProviderDownAtHubStart(t *testing.T) {
	port := sdktest.ReservePort(t)
	issuer := fmt.Sprintf("http://127.0.0.1:%d", port)
	h := startHub(t, "127.0.0.1:0", t.TempDir(), "--oauth-config", writeOAuthConfig(t, issuer))
	o := oidcHub{hub: h}
	n := testnode.New(t)
	tok := keyLogin(t, h.URL, n)
	ticketURL := o.link(t, tok.AccessToken)
	b := oidctest.NewBrowser(t)
	r := b.Get(t, ticketURL)
	if r.Status != http.StatusBadGateway || !strings.Contains(r.Body, "discovery of "+issuer) || !strings.Contains(r.Body, "try again later") {
		t.Fatalf("start with the provider down: want 502 naming the discovery and what to do, got %d\n%s", r.Status, r.Body)
	}
	o.provider = oidctest.Start(t, oidctest.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, RedirectPath: oidcCallbackPath, Port: port})
	// The same ticket works now: discovery is retried.
	authURL := o.start(t, b, ticketURL)
	cb := b.Authorize(t, o.provider.Issuer, authURL, "late", h.URL+oidcCallbackPath+"?")
	if q := o.callback(t, b, cb); q.Get("status") != "linked" {
		t.Fatalf("after the provider came up: %v", q)
	}
}

package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/badgerstore"
)

const testHubURL = "https://hub.example.org"

// githubStandIn answers GitHub's token and user endpoints over real HTTP:
// the code "good-code" with the verifier of the challenge the test
// registered, then the user for the token it issued.
type githubStandIn struct {
	*httptest.Server
	mu        sync.Mutex
	challenge string
}

func newGitHubStandIn(t *testing.T) *githubStandIn {
	g := &githubStandIn{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		g.mu.Lock()
		challenge := g.challenge
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if id != "gh-client" || secret != "gh-secret" || r.FormValue("code") != "good-code" ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.FormValue("redirect_uri") != testHubURL+"/oauth/github/callback" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"gho_test","token_type":"bearer","scope":"read:user"}`))
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"login":"octocat","id":583231,"name":null,"email":"octo@example.org"}`))
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newTestService(t *testing.T, gh *githubStandIn) (*Service, store.Store, *clock) {
	t.Helper()
	st, err := badgerstore.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	base := "https://github.invalid"
	if gh != nil {
		base = gh.URL
	}
	cfg := &Config{Providers: []ProviderConfig{
		{Name: "github", Kind: KindGitHub, DisplayName: "GitHub", ClientID: "gh-client", ClientSecret: "gh-secret", Scopes: []string{"read:user"},
			AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token", UserURL: base + "/user"},
		{Name: "other", Kind: KindGitHub, DisplayName: "Other", ClientID: "o", ClientSecret: "o", Scopes: []string{"read:user"},
			AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token", UserURL: base + "/user"},
	}}
	c := &clock{now: time.Now()}
	s, err := New(cfg, Options{Store: st, PublicURL: testHubURL, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, st, c
}

func ticketOf(t *testing.T, tk Ticket) string {
	t.Helper()
	u, err := url.Parse(tk.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("ticket")
}

func TestGitHubLinkReadsTheNumericID(t *testing.T) {
	ctx := context.Background()
	gh := newGitHubStandIn(t)
	s, st, _ := newTestService(t, gh)
	tk, err := s.NewTicket(ctx, "dpc-node-a", "github")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tk.URL, testHubURL+"/oauth/github/start?ticket=") {
		t.Fatalf("ticket URL %s", tk.URL)
	}
	started, err := s.Start(ctx, "github", ticketOf(t, tk))
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(started.AuthURL)
	q := au.Query()
	if !strings.HasPrefix(started.AuthURL, gh.URL+"/login/oauth/authorize?") || q.Get("code_challenge_method") != "S256" ||
		q.Get("redirect_uri") != testHubURL+"/oauth/github/callback" || q.Get("nonce") != "" || q.Get("client_id") != "gh-client" {
		t.Fatalf("authorization URL %s", started.AuthURL)
	}
	gh.mu.Lock()
	gh.challenge = q.Get("code_challenge")
	gh.mu.Unlock()
	acc, err := s.Callback(ctx, "github", url.Values{"code": {"good-code"}, "state": {q.Get("state")}}, started.Browser)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Subject != "583231" || acc.Name != "octocat" || acc.Email != "octo@example.org" || acc.NodeID != "dpc-node-a" {
		t.Fatalf("account %+v", acc)
	}
	accs, err := st.ListAccounts(ctx, "dpc-node-a")
	if err != nil || len(accs) != 1 || accs[0].Subject != "583231" {
		t.Fatalf("stored accounts %+v, %v", accs, err)
	}
	final := s.FinalURL("github", acc, nil)
	if final != testHubURL+"/oauth/done?node_id=dpc-node-a&provider=github&status=linked" {
		t.Fatalf("final URL %s", final)
	}
}

// startFlow issues a ticket and starts a flow, returning the state and the
// browser cookie.
func startFlow(t *testing.T, s *Service, provider string) (state, browser string) {
	t.Helper()
	ctx := context.Background()
	tk, err := s.NewTicket(ctx, "dpc-node-a", provider)
	if err != nil {
		t.Fatal(err)
	}
	started, err := s.Start(ctx, provider, ticketOf(t, tk))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(started.AuthURL)
	return u.Query().Get("state"), started.Browser
}

func TestTicketIsSingleUseBoundAndExpiring(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// use returns Start's error for a fresh ticket of provider github.
		use func(t *testing.T, s *Service, c *clock, ticket string) error
	}{
		{"used twice", func(t *testing.T, s *Service, c *clock, ticket string) error {
			if _, err := s.Start(ctx, "github", ticket); err != nil {
				t.Fatalf("first use: %v", err)
			}
			_, err := s.Start(ctx, "github", ticket)
			return err
		}},
		{"expired", func(t *testing.T, s *Service, c *clock, ticket string) error {
			c.add(TicketTTL)
			_, err := s.Start(ctx, "github", ticket)
			return err
		}},
		{"taken to another provider", func(t *testing.T, s *Service, c *clock, ticket string) error {
			_, err := s.Start(ctx, "other", ticket)
			return err
		}},
		{"forged", func(t *testing.T, s *Service, c *clock, ticket string) error {
			_, err := s.Start(ctx, "github", ticket[:len(ticket)-1]+"x")
			return err
		}},
		{"empty", func(t *testing.T, s *Service, c *clock, ticket string) error {
			_, err := s.Start(ctx, "github", "")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, st, c := newTestService(t, nil)
			tk, err := s.NewTicket(ctx, "dpc-node-a", "github")
			if err != nil {
				t.Fatal(err)
			}
			ticket := ticketOf(t, tk)
			// Stored hashed: the raw value is no key.
			if _, err := st.TakeOAuthState(ctx, kindTicket, []byte(ticket), c.Now()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("raw ticket as key: want ErrNotFound, got %v", err)
			}
			if err := tc.use(t, s, c, ticket); !errors.Is(err, ErrBadTicket) {
				t.Fatalf("want ErrBadTicket, got %v", err)
			}
		})
	}
	t.Run("unknown provider", func(t *testing.T) {
		s, _, _ := newTestService(t, nil)
		if _, err := s.NewTicket(ctx, "dpc-node-a", "gitlab"); !errors.Is(err, ErrUnknownProvider) || !strings.Contains(err.Error(), "github, other") {
			t.Fatalf("want ErrUnknownProvider listing the providers, got %v", err)
		}
	})
}

func TestCallbackStateIsSingleUseBoundAndExpiring(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// call makes the refused callback; good is the state's valid
		// callback, tried afterwards: the state must be spent by then.
		call func(t *testing.T, s *Service, c *clock, state, browser string) error
		want error
	}{
		{"unknown state", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state + "x"}}, browser)
			return err
		}, ErrBadState},
		{"no browser cookie", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state}}, "")
			return err
		}, ErrBadState},
		{"another browser's cookie", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, other := startFlow(t, s, "github")
			_, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state}}, other)
			return err
		}, ErrBadState},
		{"another provider's callback", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "other", url.Values{"code": {"c"}, "state": {state}}, browser)
			return err
		}, ErrBadState},
		{"expired", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			c.add(FlowTTL)
			_, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state}}, browser)
			return err
		}, ErrBadState},
		{"access denied at the provider", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "github", url.Values{"error": {"access_denied"}, "state": {state}}, browser)
			return err
		}, ErrAccessDenied},
		{"provider error", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "github", url.Values{"error": {"server_error"}, "error_description": {"down"}, "state": {state}}, browser)
			return err
		}, ErrProviderError},
		{"duplicated state parameter", func(t *testing.T, s *Service, c *clock, state, browser string) error {
			_, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state, state}}, browser)
			return err
		}, ErrBadState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, st, c := newTestService(t, nil)
			state, browser := startFlow(t, s, "github")
			err := tc.call(t, s, c, state, browser)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if accs, _ := st.ListAccounts(ctx, "dpc-node-a"); len(accs) != 0 {
				t.Fatalf("a refused callback linked %+v", accs)
			}
			q := s.FinalURL("github", store.Account{}, err)
			if !strings.Contains(q, "status=error") || !strings.Contains(q, "error="+Code(err)) {
				t.Fatalf("final URL %s", q)
			}
		})
	}
	t.Run("a refused cookie spends the state", func(t *testing.T) {
		s, _, _ := newTestService(t, nil)
		state, browser := startFlow(t, s, "github")
		if _, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state}}, "wrong"); !errors.Is(err, ErrBadState) {
			t.Fatalf("wrong cookie: %v", err)
		}
		if _, err := s.Callback(ctx, "github", url.Values{"code": {"c"}, "state": {state}}, browser); !errors.Is(err, ErrBadState) {
			t.Fatalf("the state after a refusal: want ErrBadState, got %v", err)
		}
	})
}

func TestNewRefusesRequiredWithoutProviders(t *testing.T) {
	st, err := badgerstore.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := New(&Config{}, Options{Store: st, PublicURL: testHubURL, Required: true}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("want ErrInvalidConfig, got %v", err)
	}
}

func TestCookiePathAndFinalRedirect(t *testing.T) {
	st, err := badgerstore.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &Config{FinalRedirect: "https://example.org/linked?from=hub", Providers: []ProviderConfig{{Name: "github", Kind: KindGitHub}}}
	s, err := New(cfg, Options{Store: st, PublicURL: "https://example.org/hub"})
	if err != nil {
		t.Fatal(err)
	}
	if s.CookiePath() != "/hub/oauth/" || !s.CookieSecure() || s.CallbackURL("github") != "https://example.org/hub/oauth/github/callback" {
		t.Fatalf("cookie path %q secure %v callback %q", s.CookiePath(), s.CookieSecure(), s.CallbackURL("github"))
	}
	if got := s.FinalURL("github", store.Account{NodeID: "n"}, nil); got != "https://example.org/linked?from=hub&node_id=n&provider=github&status=linked" {
		t.Fatalf("final URL %s", got)
	}
}

// TestFlowStoresNoUsableSecret: a leaked store gives neither the state, the
// nonce, the cookie nor the PKCE verifier of a flow.
func TestFlowStoresNoUsableSecret(t *testing.T) {
	ctx := context.Background()
	s, st, c := newTestService(t, nil)
	tk, err := s.NewTicket(ctx, "dpc-node-a", "github")
	if err != nil {
		t.Fatal(err)
	}
	started, err := s.Start(ctx, "github", ticketOf(t, tk))
	if err != nil {
		t.Fatal(err)
	}
	q := mustParse(t, started.AuthURL).Query()
	rec, err := st.TakeOAuthState(ctx, kindState, hashOf(q.Get("state")), c.Now())
	if err != nil {
		t.Fatal(err)
	}
	s256 := func(v string) string {
		h := sha256.Sum256([]byte(v))
		return base64.RawURLEncoding.EncodeToString(h[:])
	}
	if s256(rec.Verifier) == q.Get("code_challenge") || strings.Contains(rec.Verifier, q.Get("state")) {
		t.Fatal("the store holds the PKCE verifier in the clear")
	}
	v, err := openVerifier(rec.Verifier, started.Browser)
	if err != nil || s256(v) != q.Get("code_challenge") {
		t.Fatalf("the browser's cookie does not open the verifier: %v", err)
	}
	if _, err := openVerifier(rec.Verifier, started.Browser+"x"); err == nil {
		t.Fatal("another cookie opened the verifier")
	}
	if string(rec.BrowserHash) == started.Browser || len(rec.NonceHash) != sha256.Size {
		t.Fatalf("cookie or nonce stored in the clear: %+v", rec)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

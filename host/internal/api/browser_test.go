package api

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loginLink asks for a login link over the socket, as `dpc ui` does.
func loginLink(t *testing.T, dir string) LoginLink {
	t.Helper()
	c, err := Dial(filepath.Join(dir, "api.sock"), filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	var link LoginLink
	if err := c.Post(context.Background(), "/v1/ui/login", struct{}{}, &link); err != nil {
		t.Fatal(err)
	}
	return link
}

// loggedIn is an HTTP client whose jar holds a browser session of the
// server at addr, and that does not follow redirects.
func loggedIn(t *testing.T, dir string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(loginLink(t, dir).URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("opening the login link: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	set := res.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	return c
}

func TestBrowserSessionGuardsTheAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, tok := serve(t, dir)
	browser := loggedIn(t, dir)
	_, port, _ := strings.Cut(addr, ":")
	self := "http://" + addr

	tests := map[string]struct {
		method, path string
		header       map[string]string
		client       *http.Client
		want         int
	}{
		"no cookie, no token":            {"GET", "/v1/node", nil, http.DefaultClient, http.StatusUnauthorized},
		"session":                        {"GET", "/v1/node", nil, browser, http.StatusOK},
		"session from our own page":      {"GET", "/v1/node", map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"}, browser, http.StatusOK},
		"session as localhost":           {"GET", "/v1/node", map[string]string{"Host": "localhost:" + port, "Origin": "http://localhost:" + port}, browser, http.StatusOK},
		"typed into the address bar":     {"GET", "/v1/node", map[string]string{"Sec-Fetch-Site": "none"}, browser, http.StatusOK},
		"another port of 127.0.0.1":      {"POST", "/v1/channels", map[string]string{"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, browser, http.StatusForbidden},
		"another site":                   {"GET", "/v1/node", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, browser, http.StatusForbidden},
		"same-site fetch without Origin": {"GET", "/v1/node", map[string]string{"Sec-Fetch-Site": "same-site"}, browser, http.StatusForbidden},
		"opaque origin":                  {"GET", "/v1/node", map[string]string{"Origin": "null"}, browser, http.StatusForbidden},
		"DNS rebinding (Host elsewhere)": {"GET", "/v1/node", map[string]string{"Host": "evil.example:" + port}, browser, http.StatusMisdirectedRequest},
		"DNS rebinding, page too":        {"GET", "/", map[string]string{"Host": "evil.example:" + port}, http.DefaultClient, http.StatusMisdirectedRequest},
		"token from a script":            {"GET", "/v1/node", map[string]string{"Authorization": "Bearer " + tok}, http.DefaultClient, http.StatusOK},
		"a browser cannot mint links":    {"POST", "/v1/ui/login", nil, browser, http.StatusForbidden},
		"a spent or made-up login code":  {"GET", "/ui/login?code=AAAA", nil, http.DefaultClient, http.StatusForbidden},
		"stream needs a session":         {"GET", "/v1/stream", nil, http.DefaultClient, http.StatusUnauthorized},
		"QR code needs a session":        {"GET", "/v1/node/qr.svg", nil, http.DefaultClient, http.StatusUnauthorized},
		"QR code with a session":         {"GET", "/v1/node/qr.svg", nil, browser, http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, self+tc.path, strings.NewReader(`{"name":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			client := tc.client
			if client == browser {
				// The jar picks cookies by Host: hand them over as a
				// browser would for this address.
				for _, c := range browser.Jar.Cookies(req.URL) {
					req.AddCookie(c)
				}
				client = http.DefaultClient
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("answer without the strict Content-Security-Policy: %q", csp)
			}
		})
	}
}

func TestLoginLinkOpensOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serve(t, dir)
	link := loginLink(t, dir)
	if !strings.HasPrefix(link.URL, "http://127.0.0.1:") || time.Until(link.ExpiresAt) > loginCodeTTL {
		t.Fatalf("login link %+v: want a http://127.0.0.1: URL expiring within %s", link, loginCodeTTL)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, want := range []int{http.StatusSeeOther, http.StatusForbidden} {
		res, err := noFollow.Get(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("opening the link, time %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
}

func TestBrowserSessionsExpire(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBrowserSessions()
	b.now = func() time.Time { return clock }

	late, _ := b.newCode()
	clock = clock.Add(loginCodeTTL + time.Second)
	if _, err := b.redeem(late); err == nil {
		t.Error("a login code redeemed after it expired")
	}

	code, _ := b.newCode()
	secret, err := b.redeem(code)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(sessionIdle - time.Minute)
	if !b.valid(secret) {
		t.Fatal("a session used within its idle time was refused")
	}
	clock = clock.Add(sessionIdle + time.Second)
	if b.valid(secret) {
		t.Error("a session idle for longer than sessionIdle is still valid")
	}

	for range maxLoginCodes + 5 {
		b.newCode()
	}
	if len(b.codes) > maxLoginCodes {
		t.Errorf("%d login codes kept, want at most %d", len(b.codes), maxLoginCodes)
	}
	for range maxSessions + 5 {
		c, _ := b.newCode()
		if _, err := b.redeem(c); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.sessions) > maxSessions {
		t.Errorf("%d sessions kept, want at most %d", len(b.sessions), maxSessions)
	}
}

package oidctest

import (
	"bufio"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dir is the directory of the provider's package.json and provider.js.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "oidcprovider")
}

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is its issuer URL, http://127.0.0.1:PORT.
	Issuer string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan error
}

// Config is the provider's one client.
type Config struct {
	ClientID, ClientSecret string
	// RedirectPath is the hub's callback path; the provider accepts it on
	// any loopback port (a native client, RFC 8252 §7.3).
	RedirectPath string
	// Port is the port to listen on; 0 picks a free one.
	Port int
}

var listeningRE = regexp.MustCompile(`oidc-provider listening: (\S+)`)

// Start runs the provider until the test ends. Without node_modules it
// skips the test, but fails it under CI (env CI set), where .ci/run
// installs them.
func Start(t testing.TB, cfg Config) *Provider {
	t.Helper()
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		msg := "the test OIDC provider is not installed: run npm ci --prefix " + dir + " --no-audit --no-fund"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (the test OIDC provider runs on it): %v", err)
	}
	cmd := exec.Command(node, "provider.js", cfg.ClientID, cfg.ClientSecret, cfg.RedirectPath, strconv.Itoa(cfg.Port))
	cmd.Dir = dir
	cmd.Stderr = testWriter{t, "oidc-provider (stderr):"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Provider{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				issuer <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(p.stop)
	select {
	case p.Issuer = <-issuer:
	case err := <-p.done:
		t.Fatalf("oidc-provider exited before listening: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("oidc-provider did not report listening within a minute")
	}
	return p
}

func (p *Provider) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type testWriter struct {
	t      testing.TB
	prefix string
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix, strings.TrimSpace(string(b)))
	return len(b), nil
}

// Browser is a browser-like client: a cookie jar, and redirects followed
// by hand so that each hop can be asserted.
type Browser struct {
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{Client: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is one hop's answer.
type Response struct {
	Status   int
	Location string // resolved against the request URL; "" if none
	Body     string
}

// Get fetches u without following a redirect.
func (b *Browser) Get(t testing.TB, u string) Response {
	t.Helper()
	return b.do(t, http.MethodGet, u, nil)
}

func (b *Browser) do(t testing.TB, method, u string, form url.Values) Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Body: string(raw)}
	if loc := resp.Header.Get("Location"); loc != "" {
		l, err := resp.Request.URL.Parse(loc)
		if err != nil {
			t.Fatalf("%s %s: bad Location %q: %v", method, u, loc, err)
		}
		out.Location = l.String()
	}
	return out
}

var (
	formRE  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*method="post"[^>]*>(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input[^>]*>`)
	attrRE  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// submitForm posts the page's form: hidden inputs as they are, the login
// and password fields filled in.
func (b *Browser) submitForm(t testing.TB, pageURL, page, login string) Response {
	t.Helper()
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page %s has no POST form:\n%s", pageURL, page)
	}
	action, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	action, err = action.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllString(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(in, -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		switch attrs["name"] {
		case "":
		case "login":
			form.Set("login", login)
		case "password":
			form.Set("password", "any password works here")
		default:
			form.Set(attrs["name"], attrs["value"])
		}
	}
	t.Logf("browser: POST %s %v", action, form)
	return b.do(t, http.MethodPost, action.String(), form)
}

// Authorize walks the provider from its authorization URL: redirects within
// the provider, its login page (signing in as login) and its consent page,
// until the provider redirects to a URL starting with stop (the hub's
// callback), which it returns unfetched. Each hop must be a redirect
// (302/303) or a 200 page with a form; anything else fails the test.
func (b *Browser) Authorize(t testing.TB, issuer, authURL, login, stop string) string {
	t.Helper()
	u := authURL
	r := b.Get(t, u)
	for hop := 0; hop < 20; hop++ {
		switch {
		case r.Status == http.StatusFound || r.Status == http.StatusSeeOther:
			t.Logf("browser: %d %s -> %s", r.Status, u, r.Location)
			if strings.HasPrefix(r.Location, stop) {
				return r.Location
			}
			if !strings.HasPrefix(r.Location, issuer+"/") {
				t.Fatalf("hop %d: the provider redirected to %s, neither itself nor %s", hop, r.Location, stop)
			}
			u = r.Location
			r = b.Get(t, u)
		case r.Status == http.StatusOK && strings.Contains(r.Body, "<form"):
			if !strings.HasPrefix(u, issuer+"/interaction/") {
				t.Fatalf("hop %d: a form at %s, not an interaction page of %s", hop, u, issuer)
			}
			r = b.submitForm(t, u, r.Body, login)
		default:
			t.Fatalf("hop %d: %s answered %d:\n%s", hop, u, r.Status, r.Body)
		}
	}
	t.Fatalf("no redirect to %s within 20 hops", stop)
	return ""
}

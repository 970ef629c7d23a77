package api

// Browser sessions: the web UI's way in. `dpc ui` asks for a one-time login
// link over the Unix socket (with the token); opening the link on the TCP
// address trades its code for a session cookie (HttpOnly, SameSite=Strict).
// A browser never sees the token, and a session ends when the node stops.
//
// Cookies are not kept apart by port: every server on 127.0.0.1 gets the
// cookies of the others. So a cookie alone is not enough: a request that
// carries one must also name this address in Host (no DNS rebinding) and,
// when the browser says where it comes from (Origin, Sec-Fetch-Site), come
// from this origin; a page of any other origin, another port of 127.0.0.1
// included, is refused.

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// loginCodeTTL is how long a login link can be opened.
	loginCodeTTL = 2 * time.Minute
	// sessionIdle ends a browser session not used for that long.
	sessionIdle = 12 * time.Hour
	// maxLoginCodes bounds the links not yet opened: asking for one more
	// drops the oldest.
	maxLoginCodes = 16
	// maxSessions bounds the browser sessions; a new one ends the least
	// recently used.
	maxSessions = 64
)

// Errors of browser logins.
var (
	// ErrLoginLink is a login link that was used, expired or never made.
	ErrLoginLink = errors.New("this login link was already used or has expired")
)

// browserSessions holds login codes and sessions, both kept only as
// SHA-256 digests: a memory dump shows nothing to replay.
type browserSessions struct {
	mu       sync.Mutex
	codes    map[[32]byte]time.Time // digest → expiry
	sessions map[[32]byte]time.Time // digest → last use
	now      func() time.Time
}

func newBrowserSessions() *browserSessions {
	return &browserSessions{codes: map[[32]byte]time.Time{}, sessions: map[[32]byte]time.Time{}, now: time.Now}
}

// randomSecret is 256 random bits as text.
func randomSecret() string { return rand.Text() + rand.Text() }

// newCode makes a one-time login code valid for loginCodeTTL.
func (b *browserSessions) newCode() (string, time.Time) {
	code := randomSecret()
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for d, exp := range b.codes {
		if !exp.After(now) {
			delete(b.codes, d)
		}
	}
	if len(b.codes) >= maxLoginCodes {
		dropOldest(b.codes)
	}
	exp := now.Add(loginCodeTTL)
	b.codes[sha256.Sum256([]byte(code))] = exp
	return code, exp
}

// redeem spends code and starts a session; the answer is its secret.
func (b *browserSessions) redeem(code string) (string, error) {
	d := sha256.Sum256([]byte(code))
	b.mu.Lock()
	defer b.mu.Unlock()
	exp, ok := b.codes[d]
	delete(b.codes, d)
	now := b.now()
	if !ok || !exp.After(now) {
		return "", ErrLoginLink
	}
	if len(b.sessions) >= maxSessions {
		dropOldest(b.sessions)
	}
	secret := randomSecret()
	b.sessions[sha256.Sum256([]byte(secret))] = now
	return secret, nil
}

// valid tells whether secret is a live session, and marks it used.
func (b *browserSessions) valid(secret string) bool {
	if secret == "" {
		return false
	}
	d := sha256.Sum256([]byte(secret))
	b.mu.Lock()
	defer b.mu.Unlock()
	last, ok := b.sessions[d]
	now := b.now()
	if !ok || now.Sub(last) > sessionIdle {
		delete(b.sessions, d)
		return false
	}
	b.sessions[d] = now
	return true
}

// end forgets a session (logout).
func (b *browserSessions) end(secret string) {
	d := sha256.Sum256([]byte(secret))
	b.mu.Lock()
	delete(b.sessions, d)
	b.mu.Unlock()
}

func dropOldest(m map[[32]byte]time.Time) {
	var oldest [32]byte
	var at time.Time
	first := true
	for d, t := range m {
		if first || t.Before(at) {
			oldest, at, first = d, t, false
		}
	}
	delete(m, oldest)
}

// browserOrigin is what a browser request must name: the hosts the TCP
// address answers to and its origin.
type browserOrigin struct {
	hosts  map[string]bool
	origin string
	cookie string
	// base is the URL login links start with.
	base string
}

// newBrowserOrigin derives them from the bound TCP address: a wildcard or
// loopback address is reached as 127.0.0.1 (and localhost) on its port.
func newBrowserOrigin(tcpAddr string) (browserOrigin, error) {
	host, port, err := net.SplitHostPort(tcpAddr)
	if err != nil {
		return browserOrigin{}, fmt.Errorf("local API address %q: %w", tcpAddr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
		ip = net.IPv4(127, 0, 0, 1)
	}
	hostPort := net.JoinHostPort(host, port)
	o := browserOrigin{hosts: map[string]bool{hostPort: true}, origin: "http://" + hostPort,
		cookie: "dpc_session_" + port, base: "http://" + hostPort}
	if ip.IsLoopback() {
		o.hosts[net.JoinHostPort("localhost", port)] = true
	}
	return o, nil
}

// hostOK: the request names this address (a name that resolves here by
// DNS rebinding names another host).
func (o browserOrigin) hostOK(r *http.Request) bool { return o.hosts[strings.ToLower(r.Host)] }

// sameOrigin: the browser says the request comes from one of our own
// pages, or from the user (typed address, bookmark). A request without
// either header does not come from a browser page.
func (o browserOrigin) sameOrigin(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Scheme != "http" || !o.hosts[strings.ToLower(u.Host)] {
			return false
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

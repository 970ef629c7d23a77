package api

import (
	"context"
	"crypto/subtle"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"
)

// connKind is the context key telling requests of the Unix socket apart.
type connKind struct{}

// tagSocket marks the requests of a Unix socket connection: they come from
// a process of this user (the CLI) and never from a browser.
func tagSocket(ctx context.Context, c net.Conn) context.Context {
	if c.LocalAddr().Network() == "unix" {
		return context.WithValue(ctx, connKind{}, true)
	}
	return ctx
}

func viaSocket(r *http.Request) bool { v, _ := r.Context().Value(connKind{}).(bool); return v }

// authKind is the context key of how a request proved itself.
type authKind struct{}

const (
	byToken   = "token"
	byBrowser = "browser"
)

func authedBy(r *http.Request) string { v, _ := r.Context().Value(authKind{}).(string); return v }

// contentSecurityPolicy lets the UI's pages load only their own scripts,
// styles and images and talk only to this origin; nothing inline, no frames.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders go on every answer of the TCP address.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// auth lets a request through when it proves itself: the bearer token (the
// CLI, over the socket or TCP), or on the TCP address a browser session of
// this origin for /v1/ routes. The UI's pages and the login link need no
// proof on the TCP address (they hold no data); the Host must still name
// this address.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket := viaSocket(r)
		if !socket {
			securityHeaders(w.Header())
			if !s.origin.hostOK(r) {
				writeJSON(w, http.StatusMisdirectedRequest, errorBody{Error: "this address answers to " + s.origin.origin + " only"})
				return
			}
		}
		if got := r.Header.Get("Authorization"); got != "" || socket {
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong API token (see api.token in the data directory; a new one is made at every start)"})
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKind{}, byToken)))
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		c, err := r.Cookie(s.origin.cookie)
		if err != nil || !s.browser.valid(c.Value) {
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "not logged in: run `dpc ui` for a login link, or send the API token"})
			return
		}
		if !s.origin.sameOrigin(r) {
			s.o.Logger.Warn("refused a browser request from another origin", "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "fetch_site", r.Header.Get("Sec-Fetch-Site"))
			writeJSON(w, http.StatusForbidden, errorBody{Error: "refused: this request comes from a page of another origin than " + s.origin.origin})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKind{}, byBrowser)))
	})
}

// LoginLink is what POST /v1/ui/login answers: a one-time link that logs a
// browser in.
type LoginLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// loginFailed is the page of a login link that does not open.
var loginFailed = template.Must(template.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>D-PC: login link refused</title></head>
<body><main><h1>This login link does not open</h1><p>{{.}}.</p>
<p>Run <code>dpc ui</code> again for a new one: a link opens once, within two minutes.</p></main></body></html>
`))

// browserRoutes are the login link's routes.
func (s *Server) browserRoutes(mux *http.ServeMux) {
	// Only the token makes links: a browser session cannot mint more.
	mux.HandleFunc("POST /v1/ui/login", func(w http.ResponseWriter, r *http.Request) {
		if authedBy(r) != byToken {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "login links are made with the API token (`dpc ui`), not from a browser"})
			return
		}
		code, exp := s.browser.newCode()
		writeJSON(w, http.StatusOK, LoginLink{URL: s.origin.base + "/ui/login?code=" + code, ExpiresAt: exp.UTC()})
	})
	mux.HandleFunc("GET /ui/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		secret, err := s.browser.redeem(r.URL.Query().Get("code"))
		if err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_ = loginFailed.Execute(w, err.Error())
			return
		}
		http.SetCookie(w, &http.Cookie{Name: s.origin.cookie, Value: secret, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
		// Off the address with the code: it is spent, and not kept in history.
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /v1/ui/logout", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(s.origin.cookie); err == nil {
			s.browser.end(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: s.origin.cookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
	})
}

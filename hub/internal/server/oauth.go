package server

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dpc-go/dpc/hub/internal/oauth"
	"github.com/dpc-go/dpc/hub/internal/store"
)

// oauthRoutes adds the account-linking routes (API.md, "Accounts").
func (s *Server) oauthRoutes(mux *http.ServeMux) {
	s.oauthLog = s.cfg.Logger.Named("oauth")
	s.oauthLinks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dpc_hub_oauth_links_total", Help: "Account-linking callbacks by result (linked, or the error code).",
	}, []string{"result"})
	// Handler may be called more than once: the series is registered once.
	if err := s.metrics.reg.Register(s.oauthLinks); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			s.oauthLinks = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	mux.HandleFunc("GET /oauth/providers", s.handleOAuthProviders)
	mux.HandleFunc("POST /oauth/link", s.authed(s.handleOAuthLink))
	mux.HandleFunc("GET /oauth/{provider}/start", s.handleOAuthStart)
	mux.HandleFunc("GET /oauth/{provider}/callback", s.handleOAuthCallback)
	mux.HandleFunc("GET /oauth/done", s.handleOAuthDone)
	mux.HandleFunc("GET /accounts", s.authed(s.handleAccounts))
	mux.HandleFunc("DELETE /accounts/{provider}", s.authed(s.handleUnlink))
}

// accountExempt are the Bearer routes a node without a linked account may
// use when the hub requires one: enough to link one (or leave).
var accountExempt = map[string]bool{
	"POST /logout": true, "POST /oauth/link": true, "GET /accounts": true, "DELETE /accounts/{provider}": true,
}

// accountGate answers 403 account_required (and returns false) when the
// hub requires a linked account, the route needs one and the node has none.
func (s *Server) accountGate(w http.ResponseWriter, r *http.Request, nodeID string) bool {
	if s.cfg.OAuth == nil || !s.cfg.OAuth.Required() || accountExempt[r.Pattern] {
		return true
	}
	accs, err := s.cfg.Store.ListAccounts(r.Context(), nodeID)
	if err != nil {
		s.internalError(w, r, err)
		return false
	}
	if len(accs) == 0 {
		writeError(w, http.StatusForbidden, "account_required",
			"this hub requires a linked account: run dpc hub link PROVIDER (providers: "+s.cfg.OAuth.Names()+")")
		return false
	}
	return true
}

type oauthProvidersBody struct {
	Providers []oauth.ProviderInfo `json:"providers"`
	Required  bool                 `json:"required"`
}

func (s *Server) handleOAuthProviders(w http.ResponseWriter, r *http.Request) {
	b := oauthProvidersBody{Providers: []oauth.ProviderInfo{}}
	if s.cfg.OAuth != nil {
		b.Providers, b.Required = s.cfg.OAuth.Providers(), s.cfg.OAuth.Required()
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) oauthDisabled(w http.ResponseWriter) bool {
	if s.cfg.OAuth != nil {
		return false
	}
	writeError(w, http.StatusNotFound, "oauth_disabled", "this hub links no accounts (its operator can configure providers with dpc-hub --oauth-config)")
	return true
}

type oauthLinkBody struct {
	Provider  string    `json:"provider"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

func (s *Server) handleOAuthLink(w http.ResponseWriter, r *http.Request) {
	if s.oauthDisabled(w) {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	name, err := decodeOAuthLink(body)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	t, err := s.cfg.OAuth.NewTicket(r.Context(), claimsOf(r).NodeID, name)
	if errors.Is(err, oauth.ErrUnknownProvider) {
		writeError(w, http.StatusNotFound, "unknown_provider", err.Error())
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, oauthLinkBody{Provider: name, URL: t.URL, ExpiresAt: t.Expires.UTC(), ExpiresIn: int64(time.Until(t.Expires).Seconds())})
}

// wantsHTML: a browser asks for HTML; a client (curl, dpc) gets JSON.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

var oauthPage = template.Must(template.New("oauth").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>dpc-hub: {{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>{{with .Detail}}<p><small>{{.}}</small></p>{{end}}</body></html>
`))

type oauthPageData struct{ Title, Text, Detail string }

// oauthFail answers a start that cannot begin a flow, as HTML to a browser.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, code int, errCode, text string) {
	if !wantsHTML(r) {
		writeError(w, code, errCode, text)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = oauthPage.Execute(w, oauthPageData{Title: "Account not linked", Text: text})
}

func (s *Server) handleOAuthStart(w http.ResponseWriter, r *http.Request) {
	if s.oauthDisabled(w) {
		return
	}
	name := r.PathValue("provider")
	st, err := s.cfg.OAuth.Start(r.Context(), name, r.URL.Query().Get("ticket"))
	switch {
	case errors.Is(err, oauth.ErrUnknownProvider):
		s.oauthFail(w, r, http.StatusNotFound, "unknown_provider", err.Error())
		return
	case errors.Is(err, oauth.ErrBadTicket):
		s.oauthFail(w, r, http.StatusBadRequest, "bad_ticket", err.Error()+": run dpc hub link again for a new link")
		return
	case errors.Is(err, oauth.ErrProviderUnavailable):
		s.oauthLog.Warn("provider unavailable", "provider", name, "error", err)
		s.oauthFail(w, r, http.StatusBadGateway, "provider_unavailable", err.Error()+": try again later (the link ticket is still valid)")
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oauth.CookieName, Value: st.Browser, Path: s.cfg.OAuth.CookiePath(),
		Expires: st.Expires, MaxAge: int(oauth.FlowTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.OAuth.CookieSecure()})
	http.Redirect(w, r, st.AuthURL, http.StatusFound)
}

func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	if s.oauthDisabled(w) {
		return
	}
	name := r.PathValue("provider")
	browser := ""
	if c, err := r.Cookie(oauth.CookieName); err == nil {
		browser = c.Value
	}
	acc, err := s.cfg.OAuth.Callback(r.Context(), name, r.URL.Query(), browser)
	result := "linked"
	if err != nil {
		result = oauth.Code(err)
		s.oauthLog.Info("link refused", "provider", name, "ip", clientIP(r), "code", result, "error", err)
	}
	if result == "internal" {
		s.oauthLog.Error("link failed", "provider", name, "error", err)
	}
	s.oauthLinks.WithLabelValues(result).Inc()
	// The flow is over either way: the cookie goes.
	http.SetCookie(w, &http.Cookie{Name: oauth.CookieName, Value: "", Path: s.cfg.OAuth.CookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.OAuth.CookieSecure()})
	http.Redirect(w, r, s.cfg.OAuth.FinalURL(name, acc, err), http.StatusFound)
}

// handleOAuthDone is the default final page: the outcome in plain words.
func (s *Server) handleOAuthDone(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := oauthPageData{Title: "Account linking", Text: "Nothing to show: this page reports the end of a dpc hub link."}
	switch q.Get("status") {
	case "linked":
		d = oauthPageData{Title: "Account linked",
			Text: "Your " + q.Get("provider") + " account is now linked to node " + q.Get("node_id") + ". You can close this window."}
	case "error":
		d = oauthPageData{Title: "Account not linked",
			Text:   "Linking failed (" + q.Get("error") + "). Run dpc hub link again to retry.",
			Detail: q.Get("error_description")}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_ = oauthPage.Execute(w, d)
}

type accountView struct {
	Provider string    `json:"provider"`
	Subject  string    `json:"subject"`
	Email    string    `json:"email,omitempty"`
	Name     string    `json:"name,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
}

type accountsBody struct {
	NodeID   string        `json:"node_id"`
	Required bool          `json:"required"`
	Accounts []accountView `json:"accounts"`
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request) {
	c := claimsOf(r)
	accs, err := s.cfg.Store.ListAccounts(r.Context(), c.NodeID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	b := accountsBody{NodeID: c.NodeID, Accounts: []accountView{}, Required: s.cfg.OAuth != nil && s.cfg.OAuth.Required()}
	for _, a := range accs {
		b.Accounts = append(b.Accounts, accountView{Provider: a.Provider, Subject: a.Subject, Email: a.Email, Name: a.Name, LinkedAt: a.LinkedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) handleUnlink(w http.ResponseWriter, r *http.Request) {
	err := s.cfg.Store.UnlinkAccounts(r.Context(), claimsOf(r).NodeID, r.PathValue("provider"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no "+r.PathValue("provider")+" account is linked to this node")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	c := claimsOf(r)
	s.oauthLog.Info("account unlinked", "provider", r.PathValue("provider"), "node_id", c.NodeID)
	if s.cfg.OAuth.Required() {
		// Without an account the node may not use the hub: its socket, on
		// whichever replica, closes now rather than at its next reconnect.
		if accs, err := s.cfg.Store.ListAccounts(r.Context(), c.NodeID); err == nil && len(accs) == 0 {
			s.endLogins(r.Context(), c.NodeID, AllLogins, "account unlinked: this hub requires a linked account")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// oauthLinkRequest is POST /oauth/link.
type oauthLinkRequest struct {
	Provider string `json:"provider"`
}

// maxProviderLen bounds a provider name (config names are at most 32).
const maxProviderLen = 64

// decodeOAuthLink returns the provider named by a POST /oauth/link body.
func decodeOAuthLink(body []byte) (string, error) {
	var req oauthLinkRequest
	if err := decodeJSON(body, &req); err != nil {
		return "", err
	}
	if req.Provider == "" || len(req.Provider) > maxProviderLen || !cleanText(req.Provider, false) {
		return "", badRequest("provider %q: name one of the hub's providers (GET /oauth/providers lists them)", req.Provider)
	}
	return req.Provider, nil
}

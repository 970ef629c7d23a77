package oauth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/oauth2"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Lifetimes of a ticket and of a flow (the browser's time at the provider).
const (
	TicketTTL = 10 * time.Minute
	FlowTTL   = 10 * time.Minute
)

// Store record kinds.
const (
	kindTicket = "ticket"
	kindState  = "state"
)

// CookieName is the browser-binding cookie of a flow.
const CookieName = "dpc_hub_oauth"

// Options configures a Service.
type Options struct {
	Store store.Store
	// PublicURL is the hub's canonical public URL (its audience).
	PublicURL string
	// Required: every node needs a linked account (--require-oauth).
	Required bool
	Logger   hclog.Logger
	// HTTPClient talks to the providers (default: 15 s timeout).
	HTTPClient *http.Client
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Service runs the account-linking flows of the configured providers.
type Service struct {
	opts          Options
	log           hclog.Logger
	providers     map[string]*provider
	order         []ProviderConfig
	finalRedirect string
}

// ProviderInfo is a provider as GET /oauth/providers lists it.
type ProviderInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Kind        string `json:"kind"`
}

// New returns the Service of cfg. It does not contact any provider.
func New(cfg *Config, opts Options) (*Service, error) {
	if opts.Store == nil || opts.PublicURL == "" {
		return nil, errors.New("oauth: a store and the hub's public URL are required")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Required && len(cfg.Providers) == 0 {
		return nil, fmt.Errorf("%w: an account is required but no provider is configured", ErrInvalidConfig)
	}
	s := &Service{opts: opts, log: opts.Logger, providers: map[string]*provider{}, order: cfg.Providers,
		finalRedirect: cfg.FinalRedirect}
	if s.finalRedirect == "" {
		s.finalRedirect = opts.PublicURL + "/oauth/done"
	}
	for _, pc := range cfg.Providers {
		s.providers[pc.Name] = &provider{cfg: pc, client: opts.HTTPClient}
	}
	return s, nil
}

// Required reports whether every node needs a linked account.
func (s *Service) Required() bool { return s.opts.Required }

// Providers lists the providers in config order.
func (s *Service) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, ProviderInfo{Name: p.Name, DisplayName: p.DisplayName, Kind: p.Kind})
	}
	return out
}

// Names is the providers' names, comma-separated, for error messages.
func (s *Service) Names() string {
	names := make([]string, 0, len(s.order))
	for _, p := range s.order {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// HasProvider reports whether name is configured.
func (s *Service) HasProvider(name string) bool { _, ok := s.providers[name]; return ok }

// CallbackURL is the redirect_uri of a provider.
func (s *Service) CallbackURL(name string) string {
	return s.opts.PublicURL + "/oauth/" + url.PathEscape(name) + "/callback"
}

// CookiePath is the path of the browser-binding cookie: the hub's
// /oauth/ under its public URL's path.
func (s *Service) CookiePath() string {
	u, err := url.Parse(s.opts.PublicURL)
	if err != nil {
		return "/oauth/"
	}
	return u.Path + "/oauth/"
}

// CookieSecure reports whether the cookie is Secure (an https hub).
func (s *Service) CookieSecure() bool { return strings.HasPrefix(s.opts.PublicURL, "https://") }

// Ticket is a link ticket as POST /oauth/link answers it.
type Ticket struct {
	URL     string
	Expires time.Time
}

func hashOf(v string) []byte { h := sha256.Sum256([]byte(v)); return h[:] }

// random returns 32 random bytes, base64url.
func random() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oauth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewTicket issues a single-use link ticket for nodeID and provider.
func (s *Service) NewTicket(ctx context.Context, nodeID, name string) (Ticket, error) {
	if !s.HasProvider(name) {
		return Ticket{}, fmt.Errorf("%w %q (this hub offers: %s)", ErrUnknownProvider, name, s.Names())
	}
	t, err := random()
	if err != nil {
		return Ticket{}, err
	}
	exp := s.opts.Now().Add(TicketTTL)
	if err := s.opts.Store.PutOAuthState(ctx, store.OAuthState{Kind: kindTicket, Hash: hashOf(t), NodeID: nodeID, Provider: name, Expires: exp}); err != nil {
		return Ticket{}, fmt.Errorf("oauth: store ticket: %w", err)
	}
	u := s.opts.PublicURL + "/oauth/" + url.PathEscape(name) + "/start?" + url.Values{"ticket": {t}}.Encode()
	return Ticket{URL: u, Expires: exp}, nil
}

// Started is a flow begun by Start.
type Started struct {
	// AuthURL is the provider's authorization request.
	AuthURL string
	// Browser is the browser-binding cookie's value.
	Browser string
	Expires time.Time
}

// Start takes the ticket once and begins a flow. A provider that cannot be
// discovered fails before the ticket is taken, so the user may retry.
func (s *Service) Start(ctx context.Context, name, ticket string) (Started, error) {
	p, ok := s.providers[name]
	if !ok {
		return Started{}, fmt.Errorf("%w %q (this hub offers: %s)", ErrUnknownProvider, name, s.Names())
	}
	if _, err := p.endpoint(ctx); err != nil {
		return Started{}, err
	}
	if ticket == "" {
		return Started{}, fmt.Errorf("%w: the URL has no ticket", ErrBadTicket)
	}
	now := s.opts.Now()
	t, err := s.opts.Store.TakeOAuthState(ctx, kindTicket, hashOf(ticket), now)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
		return Started{}, fmt.Errorf("%w: %w", ErrBadTicket, err)
	}
	if err != nil {
		return Started{}, fmt.Errorf("oauth: take ticket: %w", err)
	}
	if t.Provider != name {
		return Started{}, fmt.Errorf("%w: it was issued for provider %q", ErrBadTicket, t.Provider)
	}
	state, err1 := random()
	nonce, err2 := random()
	browser, err3 := random()
	if err := errors.Join(err1, err2, err3); err != nil {
		return Started{}, err
	}
	verifier := oauth2.GenerateVerifier()
	exp := now.Add(FlowTTL)
	authURL, err := p.authURL(ctx, s.CallbackURL(name), state, nonce, verifier)
	if err != nil {
		return Started{}, err
	}
	sealed, err := sealVerifier(verifier, browser)
	if err != nil {
		return Started{}, err
	}
	if err := s.opts.Store.PutOAuthState(ctx, store.OAuthState{Kind: kindState, Hash: hashOf(state), NodeID: t.NodeID, Provider: name,
		Verifier: sealed, NonceHash: hashOf(nonce), BrowserHash: hashOf(browser), Expires: exp}); err != nil {
		return Started{}, fmt.Errorf("oauth: store flow: %w", err)
	}
	s.log.Info("link flow started", "provider", name, "node_id", t.NodeID)
	return Started{AuthURL: authURL, Browser: browser, Expires: exp}, nil
}

// verifierKey is the key that seals a flow's PKCE verifier: derived from
// the browser-binding cookie, which only the browser holds, so the store
// keeps no usable secret of a flow.
func verifierKey(browser string) []byte {
	k := sha256.Sum256([]byte("dpc-hub oauth pkce verifier\x00" + browser))
	return k[:]
}

func sealVerifier(verifier, browser string) (string, error) {
	block, err := aes.NewCipher(verifierKey(browser))
	if err != nil {
		return "", fmt.Errorf("oauth: seal verifier: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("oauth: seal verifier: %w", err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("oauth: seal verifier: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(verifier), nil)), nil
}

func openVerifier(sealed, browser string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("oauth: stored verifier: %w", err)
	}
	block, err := aes.NewCipher(verifierKey(browser))
	if err != nil {
		return "", fmt.Errorf("oauth: open verifier: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("oauth: open verifier: %w", err)
	}
	if len(raw) < gcm.NonceSize() {
		return "", errors.New("oauth: stored verifier is truncated")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("oauth: open verifier: %w", err)
	}
	return string(plain), nil
}

// Callback finishes a flow from the provider's redirect: query is the
// callback's query, browser the cookie's value ("" if absent). It returns
// the linked account, or an error that Code maps to the redirect's code.
func (s *Service) Callback(ctx context.Context, name string, query url.Values, browser string) (store.Account, error) {
	p, ok := s.providers[name]
	if !ok {
		return store.Account{}, fmt.Errorf("%w %q", ErrUnknownProvider, name)
	}
	cb, err := decodeCallback(query)
	if err != nil {
		return store.Account{}, err
	}
	// The state is taken first, whatever else the callback says: it is
	// single-use even when the provider reports an error.
	flow, err := s.opts.Store.TakeOAuthState(ctx, kindState, hashOf(cb.State), s.opts.Now())
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired):
		return store.Account{}, fmt.Errorf("%w: %w (start again with dpc hub link)", ErrBadState, err)
	case err != nil:
		return store.Account{}, fmt.Errorf("oauth: take state: %w", err)
	case flow.Provider != name:
		return store.Account{}, fmt.Errorf("%w: the flow was started for provider %q", ErrBadState, flow.Provider)
	case browser == "" || subtle.ConstantTimeCompare(hashOf(browser), flow.BrowserHash) != 1:
		return store.Account{}, fmt.Errorf("%w: this browser did not start the flow (its %s cookie is missing or another's)", ErrBadState, CookieName)
	}
	verifier, err := openVerifier(flow.Verifier, browser)
	if err != nil {
		return store.Account{}, err
	}
	if cb.Error != "" {
		if cb.Error == "access_denied" {
			return store.Account{}, fmt.Errorf("%w: %s", ErrAccessDenied, cb.Description)
		}
		return store.Account{}, fmt.Errorf("%w: %s: %s", ErrProviderError, cb.Error, cb.Description)
	}
	id, err := p.identify(ctx, s.CallbackURL(name), cb.Code, verifier, func(nonce string) bool {
		return subtle.ConstantTimeCompare(hashOf(nonce), flow.NonceHash) == 1
	})
	if err != nil {
		return store.Account{}, err
	}
	acc := store.Account{Provider: name, Subject: id.Subject, NodeID: flow.NodeID, Email: id.Email, Name: id.Name, LinkedAt: s.opts.Now().UTC()}
	if err := s.opts.Store.LinkAccount(ctx, acc); err != nil {
		return store.Account{}, fmt.Errorf("oauth: link: %w", err)
	}
	s.log.Info("account linked", "provider", name, "subject", id.Subject, "node_id", flow.NodeID)
	return acc, nil
}

// Code is the error code of the final redirect (and the metric's result) for err.
func Code(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrBadState, "bad_state"}, {ErrBadTicket, "bad_ticket"}, {ErrUnknownProvider, "unknown_provider"},
		{ErrProviderUnavailable, "provider_unavailable"}, {ErrAccessDenied, "access_denied"}, {ErrProviderError, "provider_error"},
		{ErrExchange, "exchange_failed"}, {ErrWrongNonce, "wrong_nonce"}, {ErrBadIDToken, "bad_id_token"}, {ErrUserInfo, "user_info_failed"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// FinalURL is where the browser goes after the callback: status=linked or
// status=error with the code and a description.
func (s *Service) FinalURL(name string, acc store.Account, err error) string {
	q := url.Values{}
	if err == nil {
		q.Set("status", "linked")
		q.Set("provider", name)
		q.Set("node_id", acc.NodeID)
	} else {
		q.Set("status", "error")
		q.Set("error", Code(err))
		desc := err.Error()
		if Code(err) == "internal" {
			desc = "the hub could not complete the link; its log says why" // no store errors in a URL
		}
		q.Set("error_description", desc)
	}
	sep := "?"
	if strings.Contains(s.finalRedirect, "?") {
		sep = "&"
	}
	return s.finalRedirect + sep + q.Encode()
}

// callback is a provider's redirect to the hub.
type callback struct {
	Code, State, Error, Description string
}

// maxParamLen bounds each callback parameter.
const maxParamLen = 4096

// decodeCallback reads the callback's query: state always, then either a
// provider error or a code.
func decodeCallback(q url.Values) (callback, error) {
	one := func(k string) (string, error) {
		vs := q[k]
		switch {
		case len(vs) > 1:
			return "", fmt.Errorf("%w: parameter %s given %d times", ErrBadState, k, len(vs))
		case len(vs) == 0:
			return "", nil
		case len(vs[0]) > maxParamLen:
			return "", fmt.Errorf("%w: parameter %s longer than %d bytes", ErrBadState, k, maxParamLen)
		}
		return vs[0], nil
	}
	var cb callback
	var errs [4]error
	cb.State, errs[0] = one("state")
	cb.Code, errs[1] = one("code")
	cb.Error, errs[2] = one("error")
	cb.Description, errs[3] = one("error_description")
	if err := errors.Join(errs[:]...); err != nil {
		return callback{}, err
	}
	if cb.State == "" {
		return callback{}, fmt.Errorf("%w: the callback has no state", ErrBadState)
	}
	if cb.Error == "" && cb.Code == "" {
		return callback{}, fmt.Errorf("%w: the callback has neither code nor error", ErrProviderError)
	}
	return cb, nil
}

package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Errors of a flow; Code maps each to the error code of the final redirect.
var (
	ErrUnknownProvider     = errors.New("unknown provider")
	ErrBadTicket           = errors.New("link ticket is unknown, used or expired")
	ErrBadState            = errors.New("state is unknown, used, expired or not this browser's")
	ErrProviderUnavailable = errors.New("identity provider unavailable")
	ErrProviderError       = errors.New("identity provider refused")
	ErrAccessDenied        = errors.New("access denied at the identity provider")
	ErrExchange            = errors.New("code exchange failed")
	ErrBadIDToken          = errors.New("ID token invalid")
	ErrWrongNonce          = errors.New("ID token nonce does not match this flow's")
	ErrUserInfo            = errors.New("reading the user from the provider failed")
)

// Identity is who the provider says the user is.
type Identity struct {
	Subject, Email, Name string
}

// maxUserBytes bounds a provider's user document.
const maxUserBytes = 1 << 20

// provider is one configured provider at run time.
type provider struct {
	cfg    ProviderConfig
	client *http.Client

	mu sync.Mutex
	// oidc is the discovered OIDC provider, nil until discovery succeeds.
	oidc *oidc.Provider
}

func (p *provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.client)
}

// endpoint returns the provider's authorization and token endpoints,
// discovering an OIDC provider on first use (and after a failure).
func (p *provider) endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	if p.cfg.Kind == KindGitHub {
		return oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL}, nil
	}
	op, err := p.discover(ctx)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	return op.Endpoint(), nil
}

func (p *provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc != nil {
		return p.oidc, nil
	}
	op, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: provider %q: discovery of %s failed: %w", ErrProviderUnavailable, p.cfg.Name, p.cfg.Issuer, err)
	}
	p.oidc = op
	return op, nil
}

func (p *provider) oauth2Config(ep oauth2.Endpoint, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: redirectURI, Scopes: p.cfg.Scopes}
}

// authURL is the authorization request the browser is sent to.
func (p *provider) authURL(ctx context.Context, redirectURI, state, nonce, verifier string) (string, error) {
	ep, err := p.endpoint(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.cfg.Kind != KindGitHub {
		opts = append(opts, oidc.Nonce(nonce))
	}
	return p.oauth2Config(ep, redirectURI).AuthCodeURL(state, opts...), nil
}

// identify exchanges the code (with the PKCE verifier) and returns the
// user: from the verified ID token, whose nonce must hash to nonceHash, or
// from GitHub's user API.
func (p *provider) identify(ctx context.Context, redirectURI, code, verifier string, nonceOK func(string) bool) (Identity, error) {
	ep, err := p.endpoint(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth2Config(ep, redirectURI).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrExchange, err)
	}
	if p.cfg.Kind == KindGitHub {
		return p.githubUser(ctx, tok)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: the token response has no id_token (is the scope openid requested?)", ErrBadIDToken)
	}
	op, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(p.ctx(ctx), raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrBadIDToken, err)
	}
	// go-oidc leaves the nonce to the caller.
	if !nonceOK(idt.Nonce) {
		return Identity{}, ErrWrongNonce
	}
	var claims profileClaims
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrBadIDToken, err)
	}
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no sub claim", ErrBadIDToken)
	}
	id := Identity{Subject: idt.Subject, Email: claims.Email, Name: claims.Name}
	if id.Email == "" || id.Name == "" {
		p.fillFromUserInfo(ctx, op, tok, &id)
	}
	return id, nil
}

type profileClaims struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// fillFromUserInfo completes email and name from the UserInfo endpoint:
// in the code flow a provider may keep them out of the ID token (OIDC
// Core §5.4). They are descriptive only, so a failure leaves them empty; a
// UserInfo answer about another subject is ignored (OIDC Core §5.3.2).
func (p *provider) fillFromUserInfo(ctx context.Context, op *oidc.Provider, tok *oauth2.Token, id *Identity) {
	if op.UserInfoEndpoint() == "" {
		return
	}
	ui, err := op.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != id.Subject {
		return
	}
	var c profileClaims
	if err := ui.Claims(&c); err != nil {
		return
	}
	id.Email, id.Name = or(id.Email, c.Email), or(id.Name, c.Name)
	if id.Email == "" {
		id.Email = ui.Email
	}
}

func (p *provider) githubUser(ctx context.Context, tok *oauth2.Token) (Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.UserURL, nil)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	tok.SetAuthHeader(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserBytes+1))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("%w: GET %s: %s", ErrUserInfo, p.cfg.UserURL, resp.Status)
	}
	return decodeGitHubUser(body)
}

// decodeGitHubUser reads GitHub's GET /user answer; the subject is the
// numeric id (a login can be renamed and reused by someone else).
func decodeGitHubUser(body []byte) (Identity, error) {
	if len(body) > maxUserBytes {
		return Identity{}, fmt.Errorf("%w: user document larger than %d bytes", ErrUserInfo, maxUserBytes)
	}
	var u struct {
		ID    json.Number `json:"id"`
		Login string      `json:"login"`
		Name  *string     `json:"name"`
		Email *string     `json:"email"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return Identity{}, fmt.Errorf("%w: user document: %w", ErrUserInfo, err)
	}
	id, err := strconv.ParseUint(u.ID.String(), 10, 63)
	if err != nil || id == 0 {
		return Identity{}, fmt.Errorf("%w: user document: id %q is not a positive integer", ErrUserInfo, u.ID.String())
	}
	name := u.Login
	if u.Name != nil && *u.Name != "" {
		name = *u.Name
	}
	return Identity{Subject: strconv.FormatUint(id, 10), Email: deref(u.Email), Name: name}, nil
}

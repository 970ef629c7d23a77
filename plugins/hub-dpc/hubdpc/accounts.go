package hubdpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Bounds on the hub's account answers (hub contract: /work/notes/oauth-api.md,
// "Hub OAuth/OIDC account-linking API").
const (
	maxProviders    = 32
	maxAccounts     = 64
	maxAccountField = 320 // an e-mail address is at most 320 bytes
	// maxLinkTTL bounds a link ticket's lifetime (the hub's is 10 min).
	maxLinkTTL = 86400
)

// Accounts answers the providers the hub offers (GET /oauth/providers) and
// the accounts linked to this node (GET /accounts). A hub without OAuth
// answers an error wrapping sdk.ErrUnsupported.
func (p *Plugin) Accounts(ctx context.Context) (sdk.AccountsResult, error) {
	s, base, err := p.current()
	if err != nil {
		return sdk.AccountsResult{}, err
	}
	raw, err := p.do(ctx, base, http.MethodGet, "/oauth/providers", "", nil)
	if err != nil {
		return sdk.AccountsResult{}, p.accountsError(ctx, "listing the hub's identity providers", base, err)
	}
	provs, err := decodeProviders(raw)
	if err != nil {
		return sdk.AccountsResult{}, err
	}
	raw, err = p.call(ctx, http.MethodGet, "/accounts", nil)
	if err != nil {
		return sdk.AccountsResult{}, p.accountsError(ctx, "listing this node's accounts", base, err)
	}
	accs, err := decodeAccounts(raw)
	if err != nil {
		return sdk.AccountsResult{}, err
	}
	if accs.NodeID != s.nodeID {
		return sdk.AccountsResult{}, fmt.Errorf("%w: asked for the accounts of %s, got those of %s", ErrBadResponse, s.nodeID, accs.NodeID)
	}
	out := sdk.AccountsResult{Required: provs.Required || accs.Required,
		Providers: make([]sdk.AccountProvider, 0, len(provs.Providers)), Accounts: make([]sdk.Account, 0, len(accs.Accounts))}
	for _, pr := range provs.Providers {
		out.Providers = append(out.Providers, sdk.AccountProvider{Name: pr.Name, DisplayName: pr.DisplayName, Kind: pr.Kind})
	}
	for _, a := range accs.Accounts {
		out.Accounts = append(out.Accounts, sdk.Account{Provider: a.Provider, Subject: a.Subject, Email: a.Email, Name: a.Name, LinkedAt: a.LinkedAt})
	}
	return out, nil
}

// LinkAccount asks the hub for a single-use address where the user links an
// account of req.Provider to this node (POST /oauth/link). The address must
// be on the hub's own origin: the user's browser is sent there.
func (p *Plugin) LinkAccount(ctx context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	if !validProviderName(req.Provider) {
		return sdk.LinkAccountResult{}, fmt.Errorf("%w: provider %q: want the name of one of the hub's providers (letters, digits, '.', '_' or '-'; dpc hub accounts lists them)",
			sdk.ErrInvalidArgument, clip(req.Provider, 64))
	}
	_, base, err := p.current()
	if err != nil {
		return sdk.LinkAccountResult{}, err
	}
	now := time.Now()
	raw, err := p.call(ctx, http.MethodPost, "/oauth/link", map[string]string{"provider": req.Provider})
	if err != nil {
		return sdk.LinkAccountResult{}, p.accountsError(ctx, "linking an account of "+req.Provider, base, err)
	}
	l, err := decodeLink(raw, base, req.Provider)
	if err != nil {
		return sdk.LinkAccountResult{}, err
	}
	// expires_at is on the hub's clock; expires_in is not.
	return sdk.LinkAccountResult{URL: l.URL, Expires: now.Add(time.Duration(l.ExpiresIn) * time.Second)}, nil
}

// UnlinkAccount removes the link to req.Provider's account (DELETE
// /accounts/{provider}).
func (p *Plugin) UnlinkAccount(ctx context.Context, req sdk.UnlinkAccountRequest) error {
	if !validProviderName(req.Provider) {
		return fmt.Errorf("%w: provider %q: want the name of a provider (dpc hub accounts lists the linked accounts)",
			sdk.ErrInvalidArgument, clip(req.Provider, 64))
	}
	_, base, err := p.current()
	if err != nil {
		return err
	}
	_, err = p.call(ctx, http.MethodDelete, "/accounts/"+url.PathEscape(req.Provider), nil)
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusNotFound && he.Code == "not_found" {
		return fmt.Errorf("unlinking: no account of %s is linked to this node: %w", req.Provider, err)
	}
	if err != nil {
		return p.accountsError(ctx, "unlinking the account of "+req.Provider, base, err)
	}
	return nil
}

// accountsError says what a refusal of an account call means: a hub
// without OAuth (oauth_disabled, or a 404 of a hub that predates
// accounts) does not support them; a provider it does not offer is named
// with the ones it does.
func (p *Plugin) accountsError(ctx context.Context, what, base string, err error) error {
	var he *HubError
	if !errors.As(err, &he) || he.Status != http.StatusNotFound {
		return fmt.Errorf("%s: %w", what, err)
	}
	if he.Code == "unknown_provider" {
		offered := p.offered(ctx, base)
		if offered == "" {
			offered = he.Detail
		}
		return fmt.Errorf("%s: %w: the hub at %s does not offer this provider; it offers: %s", what, sdk.ErrNotFound, base, offered)
	}
	return fmt.Errorf("%w: %s: the hub at %s does not link accounts (it runs without OAuth): %v", sdk.ErrUnsupported, what, base, err)
}

// offered lists the names of the hub's providers, "" when the hub does not
// say.
func (p *Plugin) offered(ctx context.Context, base string) string {
	raw, err := p.do(ctx, base, http.MethodGet, "/oauth/providers", "", nil)
	if err != nil {
		return ""
	}
	provs, err := decodeProviders(raw)
	if err != nil {
		return ""
	}
	if len(provs.Providers) == 0 {
		return "none"
	}
	names := make([]string, len(provs.Providers))
	for i, pr := range provs.Providers {
		names[i] = pr.Name
	}
	return strings.Join(names, ", ")
}

// validProviderName: a provider's name goes into a URL path and into
// commands the user types; the hub's are short words.
func validProviderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// providersAnswer is GET /oauth/providers' answer.
type providersAnswer struct {
	Providers []struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Kind        string `json:"kind"`
	} `json:"providers"`
	Required bool `json:"required"`
}

func decodeProviders(raw []byte) (providersAnswer, error) {
	var a providersAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: identity providers: %w", ErrBadResponse, err)
	}
	if len(a.Providers) > maxProviders {
		return a, fmt.Errorf("%w: %d identity providers, at most %d", ErrBadResponse, len(a.Providers), maxProviders)
	}
	for i, pr := range a.Providers {
		if !validProviderName(pr.Name) || len(pr.DisplayName) > maxAccountField || len(pr.Kind) > 64 {
			return a, fmt.Errorf("%w: identity provider %d named %q", ErrBadResponse, i, clip(pr.Name, 64))
		}
		if pr.DisplayName == "" {
			a.Providers[i].DisplayName = pr.Name
		}
	}
	return a, nil
}

// accountsAnswer is GET /accounts' answer.
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

func decodeAccounts(raw []byte) (accountsAnswer, error) {
	var a accountsAnswer
	if err := decodeStrict(raw, &a); err != nil {
		return a, fmt.Errorf("%w: accounts: %w", ErrBadResponse, err)
	}
	if !dpcuri.ValidNodeID(a.NodeID) {
		return a, fmt.Errorf("%w: accounts of node_id %q", ErrBadResponse, clip(a.NodeID, 64))
	}
	if len(a.Accounts) > maxAccounts {
		return a, fmt.Errorf("%w: %d accounts, at most %d", ErrBadResponse, len(a.Accounts), maxAccounts)
	}
	for i, ac := range a.Accounts {
		if !validProviderName(ac.Provider) || ac.Subject == "" ||
			len(ac.Subject) > maxAccountField || len(ac.Email) > maxAccountField || len(ac.Name) > maxAccountField {
			return a, fmt.Errorf("%w: account %d of provider %q", ErrBadResponse, i, clip(ac.Provider, 64))
		}
	}
	return a, nil
}

// linkAnswer is POST /oauth/link's answer.
type linkAnswer struct {
	Provider  string    `json:"provider"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

// decodeLink checks the answer for provider from the hub at base: the
// address must be http(s) on the hub's own origin, since the user's
// browser goes there with a ticket that links an account to this node.
func decodeLink(raw []byte, base, provider string) (linkAnswer, error) {
	var l linkAnswer
	if err := decodeStrict(raw, &l); err != nil {
		return l, fmt.Errorf("%w: link: %w", ErrBadResponse, err)
	}
	if l.Provider != provider {
		return l, fmt.Errorf("%w: asked to link %s, the hub answered for %q", ErrBadResponse, provider, clip(l.Provider, 64))
	}
	if l.ExpiresIn <= 0 || l.ExpiresIn > maxLinkTTL {
		return l, fmt.Errorf("%w: link address valid for %d s, want 1 to %d", ErrBadResponse, l.ExpiresIn, maxLinkTTL)
	}
	if len(l.URL) > 2048 {
		return l, fmt.Errorf("%w: link address of %d bytes", ErrBadResponse, len(l.URL))
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return l, fmt.Errorf("%w: the hub answered the link address %q, not an http(s) address", ErrBadResponse, clip(l.URL, 200))
	}
	hub, err := url.Parse(base)
	if err != nil {
		return l, fmt.Errorf("%w: the hub's url %q: %w", sdk.ErrInvalidArgument, base, err)
	}
	if !sameOrigin(u, hub) {
		return l, fmt.Errorf("%w (%w): the hub at %s answered the link address %q on %s://%s; refusing to send the browser there. If the hub moved, set the plugin's url to its public URL",
			ErrForeignLinkURL, ErrBadResponse, base, clip(l.URL, 200), u.Scheme, clip(u.Host, 100))
	}
	return l, nil
}

// sameOrigin compares scheme, host and port (the default port made explicit).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

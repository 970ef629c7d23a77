package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/dpc-go/dpc/hub/internal/auth"
)

// ErrInvalidConfig is wrapped by every error about the OAuth config file.
var ErrInvalidConfig = errors.New("invalid OAuth config")

// Provider kinds.
const (
	KindGitHub = "github"
	KindGoogle = "google"
	KindOIDC   = "oidc"
)

// GoogleIssuer is the issuer of kind "google".
const GoogleIssuer = "https://accounts.google.com"

// GitHub's endpoints, overridable for GitHub Enterprise.
const (
	GitHubAuthURL  = "https://github.com/login/oauth/authorize"
	GitHubTokenURL = "https://github.com/login/oauth/access_token"
	GitHubUserURL  = "https://api.github.com/user"
)

// Config is a parsed OAuth config file.
type Config struct {
	// FinalRedirect is where the browser lands after the callback; "" is
	// the hub's own GET /oauth/done.
	FinalRedirect string
	Providers     []ProviderConfig
}

// ProviderConfig is one provider block.
type ProviderConfig struct {
	Name, Kind, DisplayName string
	// Issuer is the OIDC issuer (kinds oidc and google).
	Issuer   string
	ClientID string
	// ClientSecret was read from client_secret_file.
	ClientSecret string
	Scopes       []string
	// AuthURL, TokenURL, UserURL are GitHub's endpoints (kind github).
	AuthURL, TokenURL, UserURL string
}

type fileConfig struct {
	FinalRedirect *string         `hcl:"final_redirect,optional"`
	Providers     []providerBlock `hcl:"provider,block"`
	Body          hcl.Body        `hcl:",body"`
}

type providerBlock struct {
	Name             string    `hcl:"name,label"`
	Kind             string    `hcl:"kind"`
	DisplayName      *string   `hcl:"display_name,optional"`
	Issuer           *string   `hcl:"issuer,optional"`
	ClientID         string    `hcl:"client_id"`
	ClientSecretFile string    `hcl:"client_secret_file"`
	Scopes           *[]string `hcl:"scopes,optional"`
	AuthURL          *string   `hcl:"auth_url,optional"`
	TokenURL         *string   `hcl:"token_url,optional"`
	UserURL          *string   `hcl:"user_url,optional"`
	Body             hcl.Body  `hcl:",body"`
	DefRange         hcl.Range `hcl:",def_range"`
}

// validName: a provider name is a URL path segment and a metrics-safe word.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// LoadConfig reads and checks an OAuth config file and the client secrets
// it names (relative paths are relative to the file's directory).
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ParseConfig(path, src)
}

// ParseConfig parses an OAuth config file's contents; path names it in
// errors and anchors relative secret paths.
func ParseConfig(path string, src []byte) (*Config, error) {
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	var fc fileConfig
	if diags := gohcl.DecodeBody(file.Body, nil, &fc); diags.HasErrors() {
		return nil, diagError(diags)
	}
	cfg := &Config{}
	if fc.FinalRedirect != nil {
		if err := checkURL(*fc.FinalRedirect); err != nil {
			diags = append(diags, diagAt(attrRange(fc.Body, "final_redirect", file.Body.MissingItemRange()),
				"final_redirect is not a usable URL", err.Error()+`; want an absolute http(s) URL, e.g. "https://example.org/linked", or leave it out for the hub's /oauth/done page`))
		}
		cfg.FinalRedirect = *fc.FinalRedirect
	}
	if len(fc.Providers) == 0 {
		diags = append(diags, diagAt(file.Body.MissingItemRange(), "no provider",
			`the file configures no provider: add a block such as provider "github" { kind = "github" client_id = "..." client_secret_file = "..." }`))
	}
	dir := filepath.Dir(path)
	seen := map[string]hcl.Range{}
	for _, b := range fc.Providers {
		p, ds := checkProvider(b, dir)
		diags = append(diags, ds...)
		if first, dup := seen[b.Name]; dup {
			diags = append(diags, diagAt(b.DefRange, "duplicate provider",
				fmt.Sprintf("provider %q is already defined at %s: give each provider block its own name", b.Name, first)))
		}
		seen[b.Name] = b.DefRange
		cfg.Providers = append(cfg.Providers, p)
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	return cfg, nil
}

func checkProvider(b providerBlock, dir string) (ProviderConfig, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	at := func(attr string) hcl.Range { return attrRange(b.Body, attr, b.DefRange) }
	p := ProviderConfig{Name: b.Name, Kind: b.Kind, DisplayName: deref(b.DisplayName), Issuer: deref(b.Issuer), ClientID: b.ClientID,
		AuthURL: deref(b.AuthURL), TokenURL: deref(b.TokenURL), UserURL: deref(b.UserURL)}
	if !validName.MatchString(b.Name) {
		diags = append(diags, diagAt(b.DefRange, "bad provider name",
			fmt.Sprintf("provider %q: a name is 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit (it appears in URLs)", b.Name)))
	}
	if p.DisplayName == "" {
		p.DisplayName = b.Name
	}
	if strings.TrimSpace(p.ClientID) == "" {
		diags = append(diags, diagAt(at("client_id"), "empty client_id", "set client_id to the client id the provider issued to this hub"))
	}
	github := map[string]*string{"auth_url": b.AuthURL, "token_url": b.TokenURL, "user_url": b.UserURL}
	switch b.Kind {
	case KindGitHub:
		if b.Issuer != nil {
			diags = append(diags, diagAt(at("issuer"), "issuer with kind github",
				"GitHub is not an OIDC provider: remove issuer (GitHub Enterprise sets auth_url, token_url and user_url)"))
		}
		for _, name := range []string{"auth_url", "token_url", "user_url"} {
			if v := github[name]; v != nil {
				if err := checkURL(*v); err != nil {
					diags = append(diags, diagAt(at(name), name+" is not a usable URL", err.Error()))
				}
			}
		}
		p.AuthURL, p.TokenURL, p.UserURL = or(p.AuthURL, GitHubAuthURL), or(p.TokenURL, GitHubTokenURL), or(p.UserURL, GitHubUserURL)
		if b.Scopes == nil {
			p.Scopes = []string{"read:user"}
		}
	case KindGoogle, KindOIDC:
		for _, name := range []string{"auth_url", "token_url", "user_url"} {
			if github[name] != nil {
				diags = append(diags, diagAt(at(name), name+" with kind "+b.Kind,
					"an OIDC provider's endpoints come from its discovery document: remove "+name))
			}
		}
		if b.Kind == KindGoogle {
			if b.Issuer != nil && *b.Issuer != GoogleIssuer {
				diags = append(diags, diagAt(at("issuer"), "issuer with kind google", "Google's issuer is "+GoogleIssuer+": remove issuer"))
			}
			p.Issuer = GoogleIssuer
		} else if p.Issuer == "" {
			diags = append(diags, diagAt(at("issuer"), "no issuer", `kind "oidc" needs the provider's issuer URL, e.g. issuer = "https://idp.example.org" (its /.well-known/openid-configuration is read)`))
		} else if err := checkURL(p.Issuer); err != nil {
			diags = append(diags, diagAt(at("issuer"), "issuer is not a usable URL", err.Error()))
		}
		if b.Scopes == nil {
			p.Scopes = []string{"openid", "email", "profile"}
		} else if !slices.Contains(*b.Scopes, "openid") {
			diags = append(diags, diagAt(at("scopes"), "scopes without openid", `an OIDC provider returns an ID token only for the scope "openid": add it to scopes`))
		}
	default:
		diags = append(diags, diagAt(at("kind"), "unknown provider kind",
			fmt.Sprintf("kind %q: want %q, %q or %q", b.Kind, KindGitHub, KindGoogle, KindOIDC)))
	}
	if b.Scopes != nil {
		p.Scopes = *b.Scopes
	}
	secretPath := b.ClientSecretFile
	if secretPath != "" && !filepath.IsAbs(secretPath) {
		secretPath = filepath.Join(dir, secretPath)
	}
	if b.ClientSecretFile == "" {
		diags = append(diags, diagAt(at("client_secret_file"), "empty client_secret_file", "name the file (mode 0600) that holds the client secret"))
	} else if raw, err := auth.ReadSecretFile(secretPath); err != nil {
		diags = append(diags, diagAt(at("client_secret_file"), "client secret unreadable", err.Error()))
	} else if p.ClientSecret = strings.TrimSpace(string(raw)); p.ClientSecret == "" {
		diags = append(diags, diagAt(at("client_secret_file"), "empty client secret", secretPath+" is empty: write the client secret the provider issued into it"))
	}
	return p, diags
}

// checkURL accepts an absolute http(s) URL without a fragment; plain http
// only to a loopback host (a test or a local provider).
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
		return fmt.Errorf("%q: want an absolute https URL without a fragment", raw)
	}
	if u.Scheme == "http" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q: plain http is allowed only to a loopback host; use https", raw)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// attrRange is the range of an attribute of body, or fallback.
func attrRange(body hcl.Body, name string, fallback hcl.Range) hcl.Range {
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.SrcRange
		}
	}
	return fallback
}

func diagAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// diagError lists every error diagnostic, one a line, as FILE:LINE,COL: what; what to do.
func diagError(diags hcl.Diagnostics) error {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := ""
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d,%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		lines = append(lines, where+d.Summary+": "+d.Detail)
	}
	return fmt.Errorf("%w:\n  %s", ErrInvalidConfig, strings.Join(lines, "\n  "))
}

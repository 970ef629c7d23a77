package oauth

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture copies testdata/config/NAME into a temp dir beside a client
// secret of the given mode (git does not keep 0600) and returns its path.
func fixture(t *testing.T, name string, secretMode os.FileMode) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "client.secret"), []byte("s3cret\n"), secretMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "client.secret"), secretMode); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigValid(t *testing.T) {
	cfg, err := LoadConfig(fixture(t, "valid.hcl", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FinalRedirect != "https://example.org/linked?from=hub" {
		t.Fatalf("final_redirect %q", cfg.FinalRedirect)
	}
	want := []ProviderConfig{
		{Name: "corp", Kind: KindOIDC, DisplayName: "Corp SSO", Issuer: "https://idp.example.org", ClientID: "dpc-hub", ClientSecret: "s3cret",
			Scopes: []string{"openid", "email", "profile"}},
		{Name: "google", Kind: KindGoogle, DisplayName: "google", Issuer: GoogleIssuer, ClientID: "123.apps.googleusercontent.com", ClientSecret: "s3cret",
			Scopes: []string{"openid", "email"}},
		{Name: "github", Kind: KindGitHub, DisplayName: "github", ClientID: "Iv1.abc", ClientSecret: "s3cret", Scopes: []string{"read:user"},
			AuthURL: GitHubAuthURL, TokenURL: GitHubTokenURL, UserURL: GitHubUserURL},
		{Name: "ghe", Kind: KindGitHub, DisplayName: "ghe", ClientID: "Iv1.def", ClientSecret: "s3cret", Scopes: []string{"read:user"},
			AuthURL: "https://github.example.org/login/oauth/authorize", TokenURL: "https://github.example.org/login/oauth/access_token",
			UserURL: "https://github.example.org/api/v3/user"},
	}
	if !reflect.DeepEqual(cfg.Providers, want) {
		t.Fatalf("providers:\n got %+v\nwant %+v", cfg.Providers, want)
	}
}

func TestLoadConfigErrorsNameTheLineAndTheFix(t *testing.T) {
	cases := []struct {
		name, file string
		secretMode os.FileMode
		// want are substrings of the error: FILE:LINE and what to do.
		want []string
	}{
		{"unknown kind", "unknown_kind.hcl", 0o600, []string{"unknown_kind.hcl:2,", `kind "saml": want "github", "google" or "oidc"`}},
		{"oidc without issuer", "oidc_no_issuer.hcl", 0o600, []string{"oidc_no_issuer.hcl:1,", `kind "oidc" needs the provider's issuer URL`}},
		{"scopes without openid", "scopes_without_openid.hcl", 0o600, []string{"scopes_without_openid.hcl:6,", `add it to scopes`}},
		{"duplicate provider", "duplicate.hcl", 0o600, []string{"duplicate.hcl:7,", `provider "corp" is already defined at`, "duplicate.hcl:1"}},
		{"bad provider name", "bad_name.hcl", 0o600, []string{"bad_name.hcl:1,", "a name is 1 to 32 of a-z"}},
		{"plain http issuer off loopback", "http_issuer.hcl", 0o600, []string{"http_issuer.hcl:3,", "plain http is allowed only to a loopback host; use https"}},
		{"github with issuer", "github_with_issuer.hcl", 0o600, []string{"github_with_issuer.hcl:3,", "remove issuer"}},
		{"missing client_id", "missing_client_id.hcl", 0o600, []string{"missing_client_id.hcl:1,", `"client_id" is required`}},
		{"syntax error", "syntax_error.hcl", 0o600, []string{"syntax_error.hcl:"}},
		{"no provider", "no_provider.hcl", 0o600, []string{"no_provider.hcl:", "add a block such as provider"}},
		{"bad final redirect", "bad_final_redirect.hcl", 0o600, []string{"bad_final_redirect.hcl:1,", "want an absolute http(s) URL"}},
		{"missing secret file", "missing_secret.hcl", 0o600, []string{"missing_secret.hcl:4,", "no-such.secret", "no such file"}},
		{"insecure secret file", "valid.hcl", 0o644, []string{"valid.hcl:8,", "client.secret is mode 644; run chmod 600"}},
		{"inline secret refused", "unknown_attribute.hcl", 0o600, []string{"unknown_attribute.hcl:4,", `"client_secret" is not expected`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(fixture(t, tc.file, tc.secretMode))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("want ErrInvalidConfig, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// The shipped example is valid but for its secret files, which name the
// operator's /etc.
func TestExampleConfigParses(t *testing.T) {
	_, err := LoadConfig(filepath.Join("..", "..", "examples", "oauth.hcl"))
	if err == nil {
		t.Fatal("want the example's /etc secret files to be missing here")
	}
	for _, line := range strings.Split(err.Error(), "\n")[1:] {
		if !strings.Contains(line, "client secret unreadable") || !strings.Contains(line, "/etc/dpc-hub/") {
			t.Fatalf("example config: unexpected error %q", line)
		}
	}
}

package oauth

import (
	"net/url"
	"strconv"
	"testing"
)

func FuzzDecodeCallback(f *testing.F) {
	f.Add("code=abc&state=xyz&iss=http%3A%2F%2F127.0.0.1")
	f.Add("error=access_denied&error_description=no&state=s")
	f.Add("state=a&state=b&code=c")
	f.Add("code=c")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cb, err := decodeCallback(q)
		if err != nil {
			return
		}
		if cb.State == "" || (cb.Code == "" && cb.Error == "") || len(cb.State) > maxParamLen {
			t.Fatalf("accepted an incomplete callback %+v from %q", cb, raw)
		}
	})
}

func FuzzDecodeGitHubUser(f *testing.F) {
	f.Add([]byte(`{"login":"octocat","id":583231,"name":null,"email":"octo@example.org"}`))
	f.Add([]byte(`{"login":"x","id":"12"}`))
	f.Add([]byte(`{"id":-1}`))
	f.Add([]byte(`{"id":1e3}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := decodeGitHubUser(b)
		if err != nil {
			return
		}
		n, perr := strconv.ParseUint(id.Subject, 10, 64)
		if perr != nil || n == 0 || strconv.FormatUint(n, 10) != id.Subject {
			t.Fatalf("subject %q is not a canonical positive integer", id.Subject)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`provider "corp" { kind = "oidc" issuer = "https://idp.example.org" client_id = "x" client_secret_file = "/nonexistent" }`))
	f.Add([]byte(`final_redirect = "https://example.org"`))
	f.Add([]byte(`provider "a" { kind = "github" }`))
	f.Add([]byte("provider {"))
	f.Fuzz(func(t *testing.T, src []byte) {
		// Relative secret files resolve under a directory that does not
		// exist.
		cfg, err := ParseConfig("/nonexistent/oauth.hcl", src)
		if err == nil && len(cfg.Providers) == 0 {
			t.Fatal("accepted a config without providers")
		}
	})
}

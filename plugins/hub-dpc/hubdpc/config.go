package hubdpc

import (
	"net/url"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "hub" "hub-dpc" {
//	  config {
//	    url = "https://hub.example.org"
//	  }
//	}
type Config struct {
	// URL is the hub's base URL, the one the hub calls its audience
	// (dpc-hub --public-url).
	URL string `hcl:"url" help:"The hub's base URL, e.g. https://hub.example.org (http or https, no path, query or user info)."`
}

// Validate checks the URL without contacting the hub.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error { return sdk.AttributeError([]string{"url"}, format, a...) }
	if c.URL == "" {
		return bad(`is required: the hub's base URL, e.g. url = "https://hub.example.org"`)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return bad("%q is not a URL: %v", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("%q: the scheme must be http or https, got %q", c.URL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("%q names no host", c.URL)
	}
	if u.User != nil {
		return bad("%q carries user info: the hub logs nodes in with their key, remove %q", c.URL, u.User.String()+"@")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return bad("%q has a query or fragment: give the hub's base URL only", c.URL)
	}
	if u.Path != "" && u.Path != "/" {
		return bad("%q has the path %q: give the hub's base URL, the hub serves its API at the root", c.URL, u.Path)
	}
	if _, err := hublogin.CanonicalURL(c.URL); err != nil {
		return bad("%v", err)
	}
	return nil
}

// base returns the canonical hub URL: the audience logins are signed for,
// and the prefix of every API path.
func (c *Config) base() string {
	canon, _ := hublogin.CanonicalURL(c.URL) // Validate checked it
	return canon
}

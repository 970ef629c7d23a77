package hubcmd

import (
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"

	"github.com/dpc-go/dpc/hub/internal/oauth"
	"github.com/dpc-go/dpc/hub/internal/store"
)

// oauthOptions are the account-linking flags.
type oauthOptions struct {
	oauthConfig  string
	requireOAuth bool
}

func (o *oauthOptions) addOAuthFlags(f *pflag.FlagSet) {
	f.StringVar(&o.oauthConfig, "oauth-config", "", "HCL file of identity providers (GitHub, Google, OIDC) whose accounts nodes may link (hub/examples/oauth.hcl; see API.md)")
	f.BoolVar(&o.requireOAuth, "require-oauth", false, "require a linked account of every node (needs --oauth-config): without one a node may only link, list accounts and log out")
}

// checkOAuth validates the flags alone.
func (o *oauthOptions) checkOAuth() error {
	if o.requireOAuth && o.oauthConfig == "" {
		return bad("--require-oauth needs --oauth-config FILE naming at least one provider that nodes can link an account of")
	}
	return nil
}

// loadOAuth reads the --oauth-config file (and its client secrets); nil
// without one.
func (o *oauthOptions) loadOAuth() (*oauth.Config, error) {
	if o.oauthConfig == "" {
		return nil, nil
	}
	return oauth.LoadConfig(o.oauthConfig)
}

// oauthService builds the account-linking service of cfg; nil without one.
func (o *oauthOptions) oauthService(cfg *oauth.Config, aud string, st store.Store, logger hclog.Logger) (*oauth.Service, error) {
	if cfg == nil {
		return nil, nil
	}
	svc, err := oauth.New(cfg, oauth.Options{Store: st, PublicURL: aud, Required: o.requireOAuth, Logger: logger.Named("oauth")})
	if err != nil {
		return nil, err
	}
	logger.Info("account linking on", "providers", svc.Names(), "required", o.requireOAuth)
	return svc, nil
}

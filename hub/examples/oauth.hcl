# dpc-hub --oauth-config examples/oauth.hcl [--require-oauth]
#
# Identity providers whose accounts nodes may link (API.md, "Accounts").
# Register the hub at each provider with the redirect URI
#   <hub public URL>/oauth/<provider name>/callback
# and put the client secret the provider issued into the named file
# (mode 0600: chmod 600 FILE; relative paths are relative to this file).

# Where the browser lands after linking; default: the hub's /oauth/done page.
# final_redirect = "https://example.org/linked"

provider "corp" {
  kind               = "oidc"                      # any OpenID Connect provider
  display_name       = "Corp SSO"
  issuer             = "https://idp.example.org"    # its /.well-known/openid-configuration is read
  client_id          = "dpc-hub"
  client_secret_file = "/etc/dpc-hub/corp.secret"
  scopes             = ["openid", "email", "profile"] # optional; must hold openid
}

provider "google" {
  kind               = "google"                     # OIDC at https://accounts.google.com
  client_id          = "1234567890-abc.apps.googleusercontent.com"
  client_secret_file = "/etc/dpc-hub/google.secret"
}

provider "github" {
  kind               = "github"                     # the subject is the numeric user id
  client_id          = "Iv1.0123456789abcdef"
  client_secret_file = "/etc/dpc-hub/github.secret"
  # GitHub Enterprise Server:
  # auth_url  = "https://github.example.org/login/oauth/authorize"
  # token_url = "https://github.example.org/login/oauth/access_token"
  # user_url  = "https://github.example.org/api/v3/user"
}

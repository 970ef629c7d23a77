final_redirect = "https://example.org/linked?from=hub"

provider "corp" {
  kind               = "oidc"
  display_name       = "Corp SSO"
  issuer             = "https://idp.example.org"
  client_id          = "dpc-hub"
  client_secret_file = "client.secret"
}

provider "google" {
  kind               = "google"
  client_id          = "123.apps.googleusercontent.com"
  client_secret_file = "client.secret"
  scopes             = ["openid", "email"]
}

provider "github" {
  kind               = "github"
  client_id          = "Iv1.abc"
  client_secret_file = "client.secret"
}

provider "ghe" {
  kind               = "github"
  client_id          = "Iv1.def"
  client_secret_file = "client.secret"
  auth_url           = "https://github.example.org/login/oauth/authorize"
  token_url          = "https://github.example.org/login/oauth/access_token"
  user_url           = "https://github.example.org/api/v3/user"
}

provider "Corp SSO" {
  kind               = "github"
  client_id          = "a"
  client_secret_file = "client.secret"
}

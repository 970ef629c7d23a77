provider "github" {
  kind               = "github"
  client_id          = "a"
  client_secret      = "inline secrets are not accepted"
  client_secret_file = "client.secret"
}

provider "github" {
  kind               = "github"
  issuer             = "https://github.com"
  client_id          = "a"
  client_secret_file = "client.secret"
}

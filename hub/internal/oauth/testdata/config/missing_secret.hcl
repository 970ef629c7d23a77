provider "github" {
  kind               = "github"
  client_id          = "a"
  client_secret_file = "no-such.secret"
}

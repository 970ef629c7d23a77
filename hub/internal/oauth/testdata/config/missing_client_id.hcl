provider "corp" {
  kind               = "github"
  client_secret_file = "client.secret"
}

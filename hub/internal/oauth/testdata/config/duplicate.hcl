provider "corp" {
  kind               = "github"
  client_id          = "a"
  client_secret_file = "client.secret"
}

provider "corp" {
  kind               = "github"
  client_id          = "b"
  client_secret_file = "client.secret"
}

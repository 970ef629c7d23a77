final_redirect = "/linked"

provider "github" {
  kind               = "github"
  client_id          = "a"
  client_secret_file = "client.secret"
}

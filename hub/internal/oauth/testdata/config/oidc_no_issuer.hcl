provider "corp" {
  kind               = "oidc"
  client_id          = "dpc-hub"
  client_secret_file = "client.secret"
}

provider "corp" {
  kind               = "saml"
  client_id          = "dpc-hub"
  client_secret_file = "client.secret"
}

provider "corp" {
  kind               = "oidc"
  issuer             = "http://idp.example.org"
  client_id          = "dpc-hub"
  client_secret_file = "client.secret"
}

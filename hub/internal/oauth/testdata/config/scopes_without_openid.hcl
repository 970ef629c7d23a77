provider "corp" {
  kind               = "oidc"
  issuer             = "https://idp.example.org"
  client_id          = "dpc-hub"
  client_secret_file = "client.secret"
  scopes             = ["email"]
}

rule "group" "contacts" {
  allow = ["messages", "context:profile.name"]
}
rule "scope" "default" {
  allow = ["context:*"]
}

rule "group" "contacts" {
  allow = ["messages", "contxt:profile.name"]
}

rule "contacts" {
  allow = ["messages"]
}

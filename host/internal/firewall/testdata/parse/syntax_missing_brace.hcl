rule "group" "contacts" {
  allow = ["messages"]

rule "group" "contacts" {
  allow = ["messages", null]
}

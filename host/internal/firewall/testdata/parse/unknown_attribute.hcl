rule "group" "contacts" {
  allows = ["messages"]
}

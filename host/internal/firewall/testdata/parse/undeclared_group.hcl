group "friends" {
  members = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}
rule "group" "friend" {
  allow = ["messages"]
}
rule "group" "contacts" {
  allow = ["messages"]
}

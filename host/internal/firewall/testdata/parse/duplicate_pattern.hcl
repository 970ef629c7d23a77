rule "group" "contacts" {
  deny  = ["context:profile.email"]
  allow = ["messages", "messages", "context:profile.email"]
}
group "friends" {
  members = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}

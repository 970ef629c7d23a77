group "friends" {
  member = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}

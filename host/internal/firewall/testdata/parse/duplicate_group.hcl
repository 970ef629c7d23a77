group "friends" {
  members = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}
group "friends" {
  members = []
}

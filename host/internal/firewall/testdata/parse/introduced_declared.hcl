group "introduced" {
  members = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}

group "contacts" {
  members = ["dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}

rule "peer" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["messages"]
}

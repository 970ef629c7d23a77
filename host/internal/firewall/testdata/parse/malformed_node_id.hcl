group "friends" {
  members = [
    "dpc-node-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", # upper case
    "dpc-node-aaaaaaaaaaaaaaaa",                 # too short
    "alice",
    "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  ]
}
rule "node" "dpc-node-xyz" {
  allow = ["messages"]
}

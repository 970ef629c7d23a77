rule "group" "contacts" {
  allow = ["messages"]
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["compute"]
}
rule "group" "contacts" {
  allow = ["files"]
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["files"]
}

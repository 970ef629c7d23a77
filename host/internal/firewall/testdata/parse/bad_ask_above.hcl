rule "group" "contacts" {
  allow = ["files"]
  files {
    ask_above_mb = -1
  }
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  files {
    ask_above_mb = 0.5
  }
}

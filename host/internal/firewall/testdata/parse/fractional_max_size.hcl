rule "group" "contacts" {
  allow = ["files"]
  files {
    max_size_mb = 1.5
  }
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["files"]
  files {
    max_size_mb = 100000000000000000000
  }
}

group "contacts" {
}
rule "group" "strangers" {
  allow = ["everything"]
}
rule "node" "dpc-node-0" {
  allow = ["messages"]
}
rule "group" "contacts" {
  allow = ["messages"]
  files {
    max_size_mb = -1
  }
}

rule "group" "contacts" {
  allow = ["files"]
  files {
    max_size_mb = -5
  }
}

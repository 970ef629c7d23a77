rule "group" "contacts" {
  allow = ["files"]
  files {
    max_size_mb = 1
  }
  files {
    max_size_mb = 2
  }
}

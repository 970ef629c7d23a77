rule "group" "contacts" {
  allow = ["files"]
  files {
    max_size = 10
  }
}

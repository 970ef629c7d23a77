plugin "backup" "file" {
  config {
    dir = "/a"
  }
  config {
    dir = "/b"
  }
}

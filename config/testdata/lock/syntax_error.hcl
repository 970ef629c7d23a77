plugin "backup" "file" {
  version = "0.1.0
}

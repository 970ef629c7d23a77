plugin "backup" "file" {
  enabled = "yes"
}

plugin "backup" "file" {}

plugin "backup" "file" {
  enabled = false
}

node {
  name   = null
  listen = null
}

plugin "backup" "file" {
  enabled = null
}

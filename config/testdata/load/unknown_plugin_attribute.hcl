plugin "backup" "file" {
  path = "./dpc-plugin-file"
  dir  = "/tmp"
}

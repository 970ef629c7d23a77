# An enabled plugin that is neither installed nor pinned in dpc.lock.hcl.
node {
  name = "Gopher"
}

api {
  listen = "127.0.0.1:0"
}

plugin "transport" "transport-direct" {
  enabled = true
}

node {
  nmae   = "Alice"
  listen = 5
}

api {
  listen = "10.0.0.1:9999"
}

plugin "storage" "badger" {}

plugin "backup" "file" {
  config {}
  config {}
}

plugin "llm" "file" {}

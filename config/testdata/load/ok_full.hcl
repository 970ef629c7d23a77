node {
  name   = "Alice"
  listen = ["0.0.0.0:8888", "[::]:8888", ":7000", "node.example.org:9000"]
}

api {
  listen = "[::1]:9999"
}

plugin "transport" "direct" {}

plugin "llm" "ollama" {
  config {
    host    = "http://127.0.0.1:11434"
    api_key = env("OLLAMA_KEY")
  }
}

plugin "backup" "file" {
  enabled = false
  config {
    dir = "${home}/backups"
  }
}

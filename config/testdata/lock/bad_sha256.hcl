plugin "backup" "file" {
  version = "0.1.0"
  sha256  = "9F86D081"
}

plugin "llm" "echo" {
  version = "0.1.0"
  sha256  = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
}

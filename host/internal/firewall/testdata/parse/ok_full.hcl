# Every feature once.
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["compute", "model:llama3*"]
  files {
    max_size_mb   = 0
    allowed_types = ["*"]
  }
}
rule "group" "friends" {
  allow = ["context:profile.name", "context:knowledge.cooking.*", "files", "channel_invites"]
  deny  = ["context:profile.email"]
  files {
    max_size_mb   = 100
    ask_above_mb  = 10
    allowed_types = ["image/*", "Application/PDF"]
  }
}
group "friends" {
  members = [
    "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "dpc-node-0123456789abcdef0123456789abcdef",
  ]
}
group "empty" {}
rule "group" "contacts" {
  allow = ["messages", "files", "history"]
}
rule "group" "empty" {
  deny = ["context:*"]
}
rule "scope" "default" {
  allow = ["context:*"]
  deny  = ["context:profile.email"]
}

# Bob's contacts may see his name and his baking notes, nothing else of his context.
rule "group" "contacts" {
  allow = ["messages", "files", "history", "channel_invites", "context:profile.name", "context:knowledge.baking"]
}
rule "scope" "default" {
  allow = ["context:*"]
}

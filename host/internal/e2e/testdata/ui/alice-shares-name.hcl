# Alice's contacts may see her name, not yet her cooking notes.
rule "group" "contacts" {
  allow = ["messages", "files", "history", "channel_invites", "context:profile.name"]
}
rule "scope" "default" {
  allow = ["context:*"]
}

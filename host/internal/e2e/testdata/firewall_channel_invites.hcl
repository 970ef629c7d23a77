# Contacts may invite this node to channels.
rule "group" "contacts" {
  allow = ["messages", "files", "history", "channel_invites"]
}

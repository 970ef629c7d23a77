rule "group" "contacts" {
  allow = [
    "message",
    "Messages",
    "*",
    "context:",
    "model:",
    "context:profile..name",
    "context:.profile",
    "context:profile.",
    " files",
    "messages*",
  ]
}

rule "group" "contacts" {
  allow = [var.resource, upper("files")]
}

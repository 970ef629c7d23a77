group "friends" {
  members = null
}
rule "group" "friends" {
  allow = null
  files {
    max_size_mb   = null
    allowed_types = null
  }
}

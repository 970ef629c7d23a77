group "friends" {
  members = "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}
rule "group" "contacts" {
  allow = "messages"
  deny  = [["files"]]
  files {
    max_size_mb   = "lots"
    allowed_types = "image/*"
  }
}

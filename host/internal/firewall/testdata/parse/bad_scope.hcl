# A scope selects only the user's own context.
rule "scope" "work" {
  allow = ["context:profile.name", "compute"]
  files {
    max_size_mb = 1
  }
}
rule "scope" "Bad Name" {
  allow = ["context:*"]
}

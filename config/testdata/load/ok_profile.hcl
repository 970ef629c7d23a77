node { name = "alice" }
profile {
  name         = "Alice L."
  description  = "Go and Rust"
  expertise    = { go = 4, machine_learning = 2 }
  publish_uris = true
}

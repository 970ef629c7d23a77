profile {
  name        = "bell\u0007"
  expertise   = { Go = 3, rust = 9, c = 2.5 }
  website     = "https://example.org"
}

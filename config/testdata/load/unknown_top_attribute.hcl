name = "Alice"

node {
  nmae = "Alice"
}

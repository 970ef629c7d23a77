node {
  name = "Alice
}

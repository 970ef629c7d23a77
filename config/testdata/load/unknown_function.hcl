node {
  name = upper("alice")
}

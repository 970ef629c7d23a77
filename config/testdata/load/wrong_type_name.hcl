node {
  name = ["Alice"]
}

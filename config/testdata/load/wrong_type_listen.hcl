node {
  listen = 5
}

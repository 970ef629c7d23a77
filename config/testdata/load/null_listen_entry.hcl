node {
  listen = ["0.0.0.0:8888", null]
}

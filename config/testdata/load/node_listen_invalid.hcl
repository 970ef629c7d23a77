node {
  listen = ["0.0.0.0:8888", "8888", "[::]:http", "bad host!:1"]
}

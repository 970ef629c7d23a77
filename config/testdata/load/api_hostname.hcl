api {
  listen = "localhost:9999"
}

api {
  listen = "0.0.0.0:9999"
}

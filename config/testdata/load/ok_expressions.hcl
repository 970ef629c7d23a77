node {
  name   = env("USER_NAME")
  listen = [for p in [8888, 8889] : "127.0.0.1:${p}"]
}

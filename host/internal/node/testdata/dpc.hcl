# A node with no plugins: no transport, so nothing listens for peers, and
# the local API on a free loopback port.
node {
  name   = "Gopher"
  listen = ["127.0.0.1:0"]
}

api {
  listen = "127.0.0.1:0"
}

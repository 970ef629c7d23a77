# A node with no plugins, its local API on a free loopback port: enough for
# the commands that talk to a running node.
node {
  name   = "Gopher"
  listen = ["127.0.0.1:0"]
}

api {
  listen = "127.0.0.1:0"
}

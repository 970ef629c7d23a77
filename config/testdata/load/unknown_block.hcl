nodes {
  name = "Alice"
}

firewall {}

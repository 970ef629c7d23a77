node {
  name = "${user}"
}

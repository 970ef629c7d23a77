rule "group" "contacts" {
  allow = ["files"]
  files {
    allowed_types = ["image", "image/", "*/png", "image/pn*", "text/plain; charset=utf-8", "image/png"]
  }
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["files"]
  files {
    allowed_types = []
  }
}

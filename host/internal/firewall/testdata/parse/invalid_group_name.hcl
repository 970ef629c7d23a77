group "Best Friends" {
  members = []
}
group "" {
}
rule "group" "Best Friends" {
  allow = ["messages"]
}

rule "group" {

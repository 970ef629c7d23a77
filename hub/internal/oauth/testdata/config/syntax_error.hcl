provider "corp" {
  kind = "github"

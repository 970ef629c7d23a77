policy "default" {
  action = "deny"
}

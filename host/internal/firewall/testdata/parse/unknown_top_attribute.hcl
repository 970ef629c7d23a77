default = "deny"

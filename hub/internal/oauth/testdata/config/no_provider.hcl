final_redirect = "https://example.org/linked"

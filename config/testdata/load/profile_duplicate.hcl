profile { name = "a" }
profile { name = "b" }

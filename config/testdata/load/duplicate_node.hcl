node { name = "a" }
node { name = "b" }

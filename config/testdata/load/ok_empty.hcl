# Only comments: every value is a default.

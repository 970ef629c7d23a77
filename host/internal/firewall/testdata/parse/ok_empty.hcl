# Nothing allowed.

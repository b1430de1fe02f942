"""models dnabert2 layer."""

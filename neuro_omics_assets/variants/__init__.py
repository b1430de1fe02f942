"""variants layer."""

"""genome layer."""

"""defs assets layer."""

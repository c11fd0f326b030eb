"""designer.data (being built)."""

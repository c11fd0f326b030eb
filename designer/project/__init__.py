"""designer.project (being built)."""

"""designer.ui (being built)."""

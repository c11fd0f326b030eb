"""designer.training (being built)."""

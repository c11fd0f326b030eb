"""designer.compiler (being built)."""

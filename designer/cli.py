"""The nn-designer command (being built)."""

"""Tests of the design model (designer.graph)."""

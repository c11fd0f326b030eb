"""Tests of the Qt user interface (off-screen, real widgets)."""

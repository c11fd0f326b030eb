"""Fuzzing of the ``.nnd`` reader and the ``check`` command (see fuzz.py)."""

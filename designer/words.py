"""Counting in words: ``count(1, "parameter")`` is "1 parameter", ``count(1345, "parameter")`` "1,345 parameters"."""
from __future__ import annotations


def count(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one, with thousands separated by commas."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"

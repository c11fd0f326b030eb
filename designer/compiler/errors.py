"""The compiler's own error type."""
from __future__ import annotations

from designer.graph import Problem


class CompileError(ValueError):
    """A design that cannot become a module, or weights that do not fit it.

    ``problems`` lists each :class:`~designer.graph.Problem` (with the layer or connection id it
    concerns); the message lists them all, one per line.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])

    @classmethod
    def from_problems(cls, problems: list[Problem]) -> "CompileError":
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        return cls(f"the design cannot be compiled; fix {len(problems)} {noun}:\n{lines}", problems)

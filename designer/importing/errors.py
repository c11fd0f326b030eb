"""Why a model cannot be imported: one line per node that has no counterpart in a design."""
from __future__ import annotations

from pathlib import Path


class ModelImportError(ValueError):
    """A model that cannot become a design; the message names the file and, one line each, what stops it.

    ``lines`` holds those lines (an unsupported node's op type, name and what it would need; or the one
    problem of the file as a whole); ``path`` is the file.
    """

    def __init__(self, path: str | Path | None, lines: list[str] | str, headline: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        name = self.path.name if self.path is not None else "the model"
        if headline is None:
            if len(self.lines) == 1:
                message = f"{name}: {self.lines[0]}" if self.path is not None else self.lines[0]
            else:
                message = f"{name} cannot be imported:\n" + "\n".join(f"  {line}" for line in self.lines)
        else:
            message = f"{name}: {headline}" + "".join(f"\n  {line}" for line in self.lines)
        super().__init__(message)


class Unsupported(Exception):
    """Raised by an op handler: the node cannot be mapped; the message says why and what it would need."""


class NeedsTime(Exception):
    """Raised while reading a model as feed-forward when it turns out to work on sequences (time steps)."""

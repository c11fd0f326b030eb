"""Where the bundled files (examples, icons) are, for the window and the command alike.

Standard library only, so that ``nn-designer`` can tell a shipped example from the user's own file
without loading Qt. Works from a source checkout, an editable install and a PyInstaller bundle.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path", "is_shipped_example"]


def resource_path(*parts: str) -> Path:
    """The path of a bundled file under ``resources/``, e.g. ``resource_path("examples", "spiral.nnd")``.

    A PyInstaller bundle unpacks its data under ``sys._MEIPASS``; otherwise the ``resources`` folder sits
    next to the ``designer`` package (the repository root).
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parent.parent
    return root.joinpath("resources", *parts)


def is_shipped_example(path: str | Path) -> bool:
    """Whether ``path`` is one of the examples that come with NN Designer (in ``resources/examples``).

    Those stay as shipped: the window saves them elsewhere, and the command's hints train a copy.
    """
    try:
        return Path(path).resolve().parent == resource_path("examples").resolve()
    except OSError:  # a path that cannot be resolved (a loop of links ...) is no example
        return False

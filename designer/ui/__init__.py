"""The Qt user interface: main window, canvas, palette, inspector, panels and undo commands.

Also where the window finds its bundled files (examples, icons): :func:`resource_path` works from a
source checkout, an editable install and a PyInstaller bundle alike.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(*parts: str) -> Path:
    """The path of a bundled file under ``resources/``, e.g. ``resource_path("examples", "spiral.nnd")``.

    A PyInstaller bundle unpacks its data under ``sys._MEIPASS``; otherwise the ``resources`` folder sits
    next to the ``designer`` package (the repository root).
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parent.parent.parent
    return root.joinpath("resources", *parts)

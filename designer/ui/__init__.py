"""The Qt user interface: main window, canvas, palette, inspector, panels and undo commands.

Also where the window finds its bundled files (examples, icons): :func:`resource_path`, defined in the
Qt-free :mod:`designer.resources` so that the command finds them too, is re-exported here.
"""
from __future__ import annotations

from designer.resources import resource_path

__all__ = ["resource_path"]

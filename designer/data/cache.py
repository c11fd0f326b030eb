"""A loader that keeps the last datasets it loaded, for checking a design live while it is edited.

The window checks the whole project after every edit (as ``nn-designer check`` would), and the data
rarely changes between two edits: a dataset is loaded again only when its block changes, or when the
file or folder it reads changed on disk (its size or modification time, and for an image folder
those of its class folders). A block that failed to load fails again from the cache, with the same
message, until one of those changes.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

from .errors import SILENT, DataError, Progress
from .loading import load_dataset


def _stamp(path: Path) -> tuple:
    try:
        info = path.stat()
    except OSError:
        return ("missing",)
    stamp = [info.st_size, info.st_mtime_ns]
    if path.is_dir():  # an image folder: its class folders change when images are added or removed
        try:
            with os.scandir(path) as entries:
                stamp += sorted((e.name, e.stat().st_mtime_ns) for e in entries if e.is_dir())
        except OSError:
            pass
    return tuple(stamp)


class DatasetCache:
    """``cache.load(block, base_dir)`` is ``load_dataset(block, base_dir)``, remembered (``size`` blocks)."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._entries: OrderedDict[str, object] = OrderedDict()

    def _key(self, block: dict, base_dir: Path | None) -> str:
        path = block.get("path") if isinstance(block, dict) else None
        stamp: tuple = ()
        if isinstance(path, str) and path:
            full = Path(path) if Path(path).is_absolute() or base_dir is None else Path(base_dir) / path
            stamp = (str(full), _stamp(full))
        return json.dumps([block, str(base_dir), stamp], sort_keys=True, default=str)

    def load(self, block: dict, base_dir: Path | None = None, progress: Progress = SILENT):
        key = self._key(block, base_dir)
        if key in self._entries:
            self._entries.move_to_end(key)
            result = self._entries[key]
        else:
            try:
                result = load_dataset(block, base_dir, progress)
            except DataError as exc:
                result = exc
            self._entries[key] = result
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        if isinstance(result, DataError):
            raise result
        return result

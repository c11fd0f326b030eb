"""A loader that keeps the last datasets it loaded, for checking a design live while it is edited.

The window checks the whole project after every edit (as ``nn-designer check`` would), and the data
rarely changes between two edits: a dataset is loaded again only when its block changes, or when the
file or folder it reads changed on disk (its size or modification time, and for an image folder
those of its class folders). A block that failed to load fails again from the cache, with the same
message, until one of those changes.

The window never loads on its GUI thread: it asks :meth:`DatasetCache.peek` (no loading, only a few
``stat`` calls) and, on a miss, loads on a thread of its own with :meth:`DatasetCache.load`. Both may be
called from any thread: the entries are guarded by a lock, the loading itself is not (two threads that
load the same block both load it, and the last one keeps it). A cancelled load (``LoadCancelled``)
leaves no entry.
"""
from __future__ import annotations

import json
import os
import threading
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
        self._lock = threading.Lock()

    def key(self, block: dict, base_dir: Path | None = None) -> str:
        """What an entry is remembered by: the block, the folder it resolves against, and its file's stamp."""
        path = block.get("path") if isinstance(block, dict) else None
        stamp: tuple = ()
        if isinstance(path, str) and path:
            full = Path(path) if Path(path).is_absolute() or base_dir is None else Path(base_dir) / path
            stamp = (str(full), _stamp(full))
        return json.dumps([block, str(base_dir), stamp], sort_keys=True, default=str)

    _key = key  # the earlier name

    def peek(self, block: dict, base_dir: Path | None = None, key: str | None = None):
        """The dataset (or the ``DataError``) kept for this block, or None when it is not loaded: never loads."""
        key = self.key(block, base_dir) if key is None else key
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: str, result) -> None:
        """Keep ``result`` (a dataset or a ``DataError``) under ``key``, dropping the oldest beyond ``size``."""
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def load(self, block: dict, base_dir: Path | None = None, progress: Progress = SILENT):
        """The dataset, from the cache or loaded now (``progress`` hears a long load and may cancel it)."""
        key = self.key(block, base_dir)  # the stamp before reading: a file changed meanwhile loads again
        result = self.peek(block, base_dir, key)
        if result is None:
            try:
                result = load_dataset(block, base_dir, progress)
            except DataError as exc:
                result = exc
            self.put(key, result)
        if isinstance(result, DataError):
            raise result
        return result

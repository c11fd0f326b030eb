"""The exceptions of designer.data, and how a long load reports where it stands and is stopped."""
from __future__ import annotations

import threading
import time
from typing import Callable


class DataError(ValueError):
    """A dataset block, file or folder is wrong; the message names the field, file, column or line and the fix."""


class LoadCancelled(Exception):
    """The person stopped a dataset load; nothing was changed (no cache entry is left half-written)."""


Report = Callable[[int, int, str], None]


class Progress:
    """Where a long load stands, for a progress bar, and whether the person asked it to stop.

    Loaders call :meth:`update` between chunks (rows parsed, images decoded, rows written): it raises
    :class:`LoadCancelled` once ``cancel`` is set, and passes ``(done, total, text)`` to ``report`` at most
    every ``interval`` seconds (always for the last step, ``done == total``). ``report`` runs on the loading
    thread: a window forwards it with a queued signal, a command writes it to stderr.
    """

    def __init__(self, report: Report | None = None, cancel: threading.Event | None = None,
                 interval: float = 0.05) -> None:
        self.report = report
        self.cancel = cancel
        self.interval = interval
        self._last = 0.0

    def check(self) -> None:
        """Raise :class:`LoadCancelled` if the person asked the load to stop."""
        if self.cancel is not None and self.cancel.is_set():
            raise LoadCancelled("loading the dataset was cancelled")

    def update(self, done: int, total: int, text: str) -> None:
        self.check()
        if self.report is None:
            return
        now = time.monotonic()
        if done >= total or now - self._last >= self.interval:
            self._last = now
            self.report(int(done), int(total), text)


SILENT = Progress()  # no report, never cancelled: the default of every loader

"""How late a GUI-thread timer fires while the window works: the responsiveness probe of the window benchmarks
(run them as scripts: this folder is on sys.path)."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class LatenessProbe(QObject):
    """A timer of ``interval_ms`` on the GUI thread that records how late each tick arrives (``late_ms``), and
    when (``at``, ``time.perf_counter()``)."""

    def __init__(self, interval_ms: int) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.late_ms: list[float] = []
        self.at: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.late_ms, self.at = [], []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000 - self.interval_ms))
        self.at.append(now)
        self._last = now

"""Python's garbage collection kept on the GUI thread while worker threads run (training, data loading, writing
a training job).

The cyclic collector runs in whichever thread happens to allocate when its thresholds are crossed. If
that is a training worker and the garbage holds Qt objects (a closed window's widgets, a dialog), their
C++ destructors run on the worker: ``~QObject`` takes the object's connection lock and calls into Python
for the GIL, while the GUI thread holds the GIL and waits for that lock in a disconnect. Both wait for
ever (seen in the test suite: the worker in ``Sbk_GetPyOverride`` from ``~QObject``, the GUI thread in
``QMetaObject::disconnect``). pyqtgraph's ``GarbageCollector`` answers the same problem the same way:
while a worker runs, automatic collection is off, and a GUI-thread timer collects by the usual thresholds.
"""
from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Slot

#: milliseconds between two collections on the GUI thread while a worker runs
INTERVAL_MS = 250


class GuiThreadCollector(QObject):
    """``hold(thread)`` before starting a worker thread; it is let go when the thread finishes.

    One per application (:func:`shared`): collection is off while any worker of any window runs, and on
    again once none does.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[QThread] = []
        self._was_enabled = True
        self._timer = QTimer(self)
        self._timer.setObjectName("gui_thread_gc_timer")
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def hold(self, thread: QThread) -> None:
        if not self._threads:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        self._threads.append(thread)
        thread.finished.connect(self.prune)

    @Slot()
    def prune(self) -> None:
        """Forget the threads that have finished; with none left, collection is automatic again."""
        self._threads = [t for t in self._threads if shiboken6.isValid(t) and t.isRunning()]
        if not self._threads and self._timer.isActive():
            self._timer.stop()
            self.collect()
            if self._was_enabled:
                gc.enable()

    def forget(self, thread: QThread) -> None:
        """Let go of a thread still running (one left to finish after its window closed): collection must
        not stay off for it."""
        self._threads = [t for t in self._threads if t is not thread]
        self.prune()

    @property
    def holding(self) -> int:
        return len(self._threads)

    @Slot()
    def _tick(self) -> None:
        self.collect()
        self.prune()

    @staticmethod
    def collect() -> None:
        """One collection of the oldest generation over its threshold, as the automatic collector would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


_shared: GuiThreadCollector | None = None


def shared() -> GuiThreadCollector:
    """The application's collector, living on the GUI thread with the application object."""
    global _shared
    if _shared is None or not shiboken6.isValid(_shared):
        _shared = GuiThreadCollector(QCoreApplication.instance())
    return _shared

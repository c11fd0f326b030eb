"""Loading a project's data off the GUI thread, with a progress bar in the status bar and a Cancel button.

The window checks the whole project after every edit, and that check needs the data. A built-in dataset is
made in milliseconds and is loaded where it is asked for; a CSV file or an image folder may take seconds
(a million rows), so :class:`DataLoader` never loads one on the GUI thread. Asked for data that is not in
its :class:`~designer.data.cache.DatasetCache` yet (:meth:`DataLoader.request`), it starts loading it on a
``QThread`` of its own and raises :class:`~designer.training.checks.DataPending`: the check then lists the
design's own problems and a note that the data is loading. The load reports through queued signals
(``Progress.update`` runs on the loading thread); when it ends, ``finished`` tells the window to check
again, and the data is in the cache by then.

Cancel sets the load's ``threading.Event``; the loader stops at its next chunk (``LoadCancelled``) and
nothing is kept. The window does not wait for it: the bar says "Loading cancelled" at once, and the thread
is joined when it ends (closing the window waits for it, as for a training run). A cancelled block is not
loaded again by the next edit, only by Load Again, by Train (whose worker loads it), or once the block or
its file changes.

A training run whose data is not loaded yet loads it on its worker thread; its reports come to the same bar
(:meth:`DataLoader.begin_external`), and the bar's Cancel stops that load.
"""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from . import collector
from .threads import lower_thread_priority

#: the kinds of dataset block read from disk (loaded on a thread); the others are made at once
SLOW_KINDS = ("csv", "images")
#: a load that ends sooner shows no progress bar (a bar that flashes for 50 ms is noise)
SHOW_AFTER_MS = 250
#: how long closing the window waits for a load to notice Cancel
JOIN_TIMEOUT_MS = 3000
#: loads still running when their window closed, kept (and waited for at quit) until they end
_FINISHING: list[tuple[QThread, Any]] = []


def data_name(block: Any) -> str:
    """The file or folder a block reads, as the bar names it ("big.csv"); "the data" when it reads none."""
    path = block.get("path") if isinstance(block, dict) else None
    return Path(path).name if isinstance(path, str) and path.strip() else "the data"


def is_slow(block: Any) -> bool:
    return isinstance(block, dict) and block.get("kind") in SLOW_KINDS


def progress_words(name: str, done: int, total: int, text: str) -> str:
    """The bar's words for a loader's ``(done, total, text)``: its own sentence when it names the file ("Reading
    big.csv: 412,000 rows"), else "Loading big.csv — 412,000 of 1,000,000 rows" ("rows" or "reading images")."""
    if name in text:
        return text
    amount = f"{done:,} of {total:,}" if total > 0 else f"{done:,}"
    if not text:
        return f"Loading {name} — {amount}"
    if " " not in text.strip():  # a unit
        return f"Loading {name} — {amount} {text.strip()}"
    return f"Loading {name} — {text}" + ("" if any(ch.isdigit() for ch in text) else f": {amount}")


class LoadBar(QWidget):
    """In the status bar while data loads: "Reading big.csv: 412,000 rows [====    ] 45% Cancel".

    After a cancelled load it says so and offers Load Again. Hidden otherwise.
    """

    cancel_clicked = Signal()
    reload_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("load_bar")
        self.setAccessibleName("Data loading")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(6)
        self.label = QLabel(self)
        self.label.setObjectName("load_label")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("load_progress")
        self.progress.setAccessibleName("Data loading progress")
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setMaximumHeight(16)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("load_cancel")
        self.cancel_button.setToolTip("Stop loading the data; the design stays as it is")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.reload_button = QPushButton("Load Again", self)
        self.reload_button.setObjectName("load_again")
        self.reload_button.setToolTip("Load the project's data, to check the design against it")
        self.reload_button.clicked.connect(self.reload_clicked)
        for button in (self.cancel_button, self.reload_button):
            button.setFlat(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.label)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.reload_button)
        self.hide()

    def show_progress(self, name: str, done: int, total: int, text: str) -> None:
        if total > 0:
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(max(done / total, 0.0), 1.0)))
            self.progress.setFormat("%p%")
            self.label.setText(progress_words(name, done, total, text))
        else:  # nothing counted yet: a busy bar
            self.progress.setRange(0, 0)
            self.label.setText(f"Loading {name}…")
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.reload_button.hide()
        self.show()

    def show_cancelled(self, name: str) -> None:
        self.label.setText(f"Loading {name} cancelled")
        self.progress.hide()
        self.cancel_button.hide()
        self.reload_button.show()
        self.show()

    def clear(self) -> None:
        self.hide()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)


class _LoadWorker(QObject):
    """Lives on a load's QThread: loads one block into the cache, then quits that thread."""

    progressed = Signal(int, int, str)
    #: ``loaded``, ``failed`` (a DataError, kept in the cache) or ``cancelled``
    ended = Signal(str)

    def __init__(self, cache: Any, block: dict, base_dir: Path | None, cancel: threading.Event) -> None:
        super().__init__()
        self.cache, self.block, self.base_dir, self.cancel = cache, block, base_dir, cancel

    @Slot()
    def run(self) -> None:
        from designer.data import DataError
        from designer.data.errors import LoadCancelled, Progress

        try:
            lower_thread_priority()  # the GUI thread wins the CPU when both want it
            self.cache.load(self.block, self.base_dir, Progress(self.progressed.emit, self.cancel))
            self.ended.emit("loaded")
        except LoadCancelled:
            self.ended.emit("cancelled")
        except DataError:
            self.ended.emit("failed")
        except Exception as exc:  # noqa: BLE001 (a bug in a loader: said in the check, never a crash)
            traceback.print_exception(exc)
            self.cache.put(self.cache.key(self.block, self.base_dir),
                           DataError(f"{data_name(self.block)} could not be loaded because of an internal error "
                                     f"({type(exc).__name__}: {exc}); please report this"))
            self.ended.emit("failed")
        finally:
            QThread.currentThread().quit()


class _Load:
    """One load on its thread: what it loads, and how to stop it."""

    def __init__(self, key: str, name: str, thread: QThread, worker: _LoadWorker, cancel: threading.Event) -> None:
        self.key, self.name, self.thread, self.worker, self.cancel = key, name, thread, worker, cancel
        self.started = time.monotonic()
        self.last: tuple[int, int, str] | None = None


class DataLoader(QObject):
    """The window's data, loaded off the GUI thread (see the module's notes). Lives on the GUI thread."""

    #: a load ended (loaded, failed or cancelled): check the project again
    finished = Signal(str)

    def __init__(self, bar: LoadBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("data_loader")
        self.bar = bar
        #: the DatasetCache, once the engine is loaded (see MainWindow._load_checks)
        self.cache: Any = None
        self._load: _Load | None = None
        self._ending: list[_Load] = []
        self._cancelled_key: str | None = None
        self._cancelled_name = ""
        self._external: dict[str, Any] | None = None
        #: the last request found the data not loaded (loading, or cancelled)
        self.pending = False
        self._closed = False  # the window closed: no more loads
        self._show_timer = QTimer(self)
        self._show_timer.setObjectName("load_bar_timer")
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(SHOW_AFTER_MS)
        self._show_timer.timeout.connect(self._show_now)
        bar.cancel_clicked.connect(self.cancel)
        bar.reload_clicked.connect(self.load_again)

    # ------------------------------------------------------------------ asking for data
    @property
    def loading(self) -> bool:
        """Data is loading for the window: its own load or a training run's."""
        return self._load is not None or self._external is not None

    def request(self, block: dict, base_dir: Path | None = None):
        """The block's data for a check: from the cache, or made now when it is a built-in; else a load starts
        on a thread (unless one runs already or the person cancelled it) and ``DataPending`` is raised."""
        from designer.data import load_dataset
        from designer.data.errors import DataError
        from designer.training.checks import DataPending

        self.pending = False
        if self.cache is None:
            return load_dataset(block, base_dir)
        if not is_slow(block):
            return self.cache.load(block, base_dir)
        key = self.cache.key(block, base_dir)
        found = self.cache.peek(block, base_dir, key)
        if isinstance(found, DataError):
            raise found
        if found is not None:
            return found
        self.pending = True
        name = data_name(block)
        if key == self._cancelled_key:
            raise DataPending(f"loading {name} was cancelled, so the design is not checked against its data; "
                              f"Load Again (in the status bar) or Train loads it")
        external = self._external is not None and self._external["key"] == key
        if not external and not self._closed and (self._load is None or self._load.key != key):
            self._start(key, name, block, base_dir)
        raise DataPending(f"{name} is loading; the design is checked against its data once it is loaded")

    def _start(self, key: str, name: str, block: dict, base_dir: Path | None) -> None:
        import copy

        self._abandon()
        cancel = threading.Event()
        thread = QThread(self)
        thread.setObjectName("data_loading_thread")
        worker = _LoadWorker(self.cache, copy.deepcopy(block), base_dir, cancel)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        load = _Load(key, name, thread, worker, cancel)
        worker.progressed.connect(self._on_progress)
        worker.ended.connect(self._on_ended)
        thread.finished.connect(self._reap)
        self._load = load
        self._show_timer.start()
        collector.shared().hold(thread)  # no garbage collection on the loading thread (see designer.ui.collector)
        thread.start(QThread.Priority.LowPriority)

    def _abandon(self) -> None:
        """Stop the load in progress without a word (another block is wanted now)."""
        load, self._load = self._load, None
        if load is not None:
            load.cancel.set()
            self._ending.append(load)
        self._show_timer.stop()
        if self._external is None:
            self.bar.clear()

    # ------------------------------------------------------------------ the load's reports (queued, GUI thread)
    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, text: str) -> None:
        load = self._load
        if load is None or self.sender() is not load.worker:
            return  # an abandoned load's last words
        load.last = (done, total, text)
        if time.monotonic() - load.started >= SHOW_AFTER_MS / 1000:
            self.bar.show_progress(load.name, done, total, text)

    @Slot()
    def _show_now(self) -> None:
        load = self._load
        if load is not None:
            self.bar.show_progress(load.name, *(load.last or (0, 0, "")))

    @Slot(str)
    def _on_ended(self, outcome: str) -> None:
        load = self._load
        if load is None or self.sender() is not load.worker:
            return  # abandoned: its data (if any) is in the cache, under its own key
        self._load = None
        self._ending.append(load)
        self._show_timer.stop()
        if outcome == "cancelled":
            self._note_cancelled(load.key, load.name)
        else:
            self.bar.clear()
        self.finished.emit(outcome)

    @Slot()
    def _reap(self) -> None:
        """Join the threads that have ended, and free their workers."""
        for load in list(self._ending):
            if not shiboken6.isValid(load.thread) or load.thread.isFinished():
                self._ending.remove(load)
                self._free(load)

    @staticmethod
    def _free(load: _Load) -> None:
        if shiboken6.isValid(load.thread):
            load.thread.wait()
            load.thread.deleteLater()
        if shiboken6.isValid(load.worker):
            shiboken6.delete(load.worker)  # its thread has ended: deleteLater would never run

    def _note_cancelled(self, key: str, name: str) -> None:
        self._cancelled_key, self._cancelled_name = key, name
        self.bar.show_cancelled(name)

    # ------------------------------------------------------------------ the person's commands
    @Slot()
    def cancel(self) -> None:
        """Stop the load in progress (the window's, or a training run's): the window says so at once."""
        if self._external is not None:
            self._external["cancel"]()
            self.bar.cancel_button.setEnabled(False)
            return
        load = self._load
        if load is None:
            return
        self._abandon()
        self._note_cancelled(load.key, load.name)
        self.finished.emit("cancelled")

    @Slot()
    def load_again(self) -> None:
        """Forget a cancel: the next check loads the data again."""
        self._cancelled_key = None
        self.bar.clear()
        self.finished.emit("again")

    # ------------------------------------------------------------------ a training run's load
    def begin_external(self, block: dict, base_dir: Path | None, cancel: Callable[[], None]) -> None:
        """A training run loads this block on its worker: show its progress here, and let Cancel stop it."""
        key = self.cache.key(block, base_dir) if self.cache is not None else ""
        if self._load is not None:
            self._abandon()  # the run's load makes this one needless
        if key == self._cancelled_key:
            self._cancelled_key = None
        self._external = {"key": key, "name": data_name(block), "cancel": cancel}
        self.bar.show_progress(self._external["name"], 0, 0, "")

    def external_progress(self, done: int, total: int, text: str) -> None:
        if self._external is not None:
            self.bar.show_progress(self._external["name"], done, total, text)

    def end_external(self, outcome: str) -> None:
        """The run's load ended: ``loaded``, ``failed`` or ``cancelled``."""
        external, self._external = self._external, None
        if external is None:
            return
        if outcome == "cancelled":
            self._note_cancelled(external["key"], external["name"])
        else:
            self.bar.clear()
        self.finished.emit(outcome)

    # ------------------------------------------------------------------ closing
    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Cancel every load and join its thread; True if none is left running (closing the window)."""
        self._closed = True
        self._external = None
        self._abandon()
        self._show_timer.stop()
        done = True
        for load in list(self._ending):
            self._ending.remove(load)
            load.cancel.set()
            if not shiboken6.isValid(load.thread):
                continue
            if load.thread.wait(timeout_ms):
                self._free(load)
                continue
            # a loader inside one long step: it must outlive the window (never terminated)
            done = False
            load.thread.setParent(None)
            _FINISHING.append((load.thread, load.worker))
            app = QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(load.thread.wait)
        return done

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the window's own load has ended (for scripts and benchmarks, never the window)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self._load is not None and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            QCoreApplication.sendPostedEvents()
            if self._load is not None:
                self._load.thread.wait(10)
        QCoreApplication.processEvents()
        return self._load is None

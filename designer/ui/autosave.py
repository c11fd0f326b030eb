"""Autosave: while a design has unsaved changes, it is written to a recovery file, never over the user's file.

Each window owns one *recovery slot* in :func:`settings.recovery_folder`: ``<session>-<n>.nnd`` (the whole
project, written atomically by :func:`write_project`), ``<session>-<n>.json`` (where it came from, its name,
when, what changed, who wrote it) and ``<session>-<n>.lock``, a :class:`QLockFile` held while the window
lives. The session id is new in every process and ``n`` counts the windows of the process, so two windows or
two instances never write the same files; the lock tells a live owner from a crashed one
(:mod:`designer.ui.recovery` offers only files whose lock is free or stale).

The design is written after :func:`settings.autosave_delay_ms` of idle time (a single-shot timer restarted on
each change) and when Train is pressed; the slot is emptied at every normal end (saved, closed unmodified,
changes discarded, another design opened), so files stay only after a crash or a kill.

``NND_TEST_EDITS=stdin`` (tests and ``benchmarks/bench_recovery.py`` only) makes the app read edit commands
from its standard input once it has painted, applied through the window's own code paths.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal, Slot

from designer.project import ProjectError, write_project
from designer.project.archive import atomic_file, remove_stale_temporaries

from . import settings

#: this process's id in recovery file names (a new one every start)
SESSION_ID = uuid.uuid4().hex[:12]
_window_numbers = itertools.count(1)
INFO_FORMAT = "nnd-recovery"
#: how many of the last undo steps the recovery file names as "what changed"
CHANGES_KEPT = 5
TEST_EDITS_VARIABLE = "NND_TEST_EDITS"


class RecoverySlot:
    """One recovery file, its JSON sidecar and its lock, named by ``stem`` in ``folder``."""

    def __init__(self, folder: Path, stem: str) -> None:
        self.folder = Path(folder)
        self.stem = stem
        self.design = self.folder / f"{stem}.nnd"
        self.info_path = self.folder / f"{stem}.json"
        self.lock_path = self.folder / f"{stem}.lock"
        self._lock: QLockFile | None = None

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def acquire(self) -> bool:
        """Own this slot: True when the lock is ours (taken now, or a crashed owner's stale lock taken over)."""
        if self._lock is not None:
            return True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        lock = QLockFile(str(self.lock_path))
        # 0: stale only when its owner is gone (the default, 30 s, would take a live window's lock away)
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            return False
        self._lock = lock
        return True

    def release(self) -> None:
        """Let go of the lock (its file goes with it); the recovery file, if any, stays for a later start."""
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def write(self, project, info: dict[str, Any]) -> None:
        """The project, then its sidecar, each atomically. Raises ``ProjectError`` or ``OSError``.

        The first time the sidecar goes first as well, so that a recovery file never lacks one (a kill between
        the two writes would otherwise leave a design without its original path).
        """
        if not self.info_path.exists():
            self._write_info(info)
        # a shallow copy without a path: write_project sets the path, and with none it keeps a relative data
        # path as the user's file has it (relative to the original folder, not this one)
        write_project(dataclasses.replace(project, path=None), self.design)
        self._write_info(info)

    def _write_info(self, info: dict[str, Any]) -> None:
        with atomic_file(self.info_path) as handle:
            handle.write(json.dumps(info, indent=1).encode("utf-8"))

    def read_info(self) -> dict[str, Any]:
        """The sidecar's content, or ``{}`` when it is missing or unreadable (a crash before its first write)."""
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) and info.get("format") == INFO_FORMAT else {}

    def remove(self) -> None:
        """Delete the recovery file, then its sidecar (the lock is kept: see :meth:`release`)."""
        for path in (self.design, self.info_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:  # a locked or read-only folder: nothing the user can act on now
                print(f"nn-designer: could not remove the recovery file {path}: {exc}", file=sys.stderr)
            remove_stale_temporaries(path)  # a process killed while writing leaves its temporary file


class Autosave(QObject):
    """Keeps a window's unsaved design in its recovery slot (see the module's documentation)."""

    #: the recovery file was written (its path)
    written = Signal(str)
    #: the recovery file was removed: the design was saved, closed or dropped
    discarded = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("autosave")
        self.window = window
        self.number = next(_window_numbers)
        self.own_slot = RecoverySlot(settings.recovery_folder(), f"{SESSION_ID}-{self.number}")
        self.slot = self.own_slot
        # held from the start for the window's life (one open file): its owner is alive whenever a file is there
        self.own_slot.acquire()
        #: "what changed" carried over from a recovered file, before this session's own steps
        self.previous_changes: list[str] = []
        #: the window was closed (a normal end): while it stays hidden, later signals (a run finishing, the stack
        #: cleared) write nothing
        self.closed = False
        self._window_gone = False
        self.timer = QTimer(self)
        self.timer.setObjectName("autosave_timer")
        self.timer.setSingleShot(True)
        self.timer.setInterval(settings.autosave_delay_ms())
        self.timer.timeout.connect(self.write_now)
        window.undo_stack.indexChanged.connect(self.schedule)
        window.undo_stack.cleanChanged.connect(self.schedule)
        # the lock marks a live owner: let go of it when the window goes, however it goes
        owner = self

        def window_gone(*_args) -> None:
            owner._window_gone = True  # its undo stack may still signal while it is taken apart
            owner.slot.release()
            owner.own_slot.release()

        window.destroyed.connect(window_gone)

    @property
    def delay_ms(self) -> int:
        return self.timer.interval()

    @delay_ms.setter
    def delay_ms(self, value: int) -> None:
        self.timer.setInterval(int(value))

    @property
    def path(self) -> Path:
        """The recovery file this window writes (it exists only while there are unsaved changes)."""
        return self.slot.design

    def _ended(self) -> bool:
        """Closed and not shown since (a window shown again autosaves again), or gone."""
        if self._window_gone:
            return True
        if self.closed and self.window.isVisible():
            self.closed = False
        return self.closed

    @Slot()
    def schedule(self, *_args) -> None:
        """A change: write after the idle delay (each change restarts the wait)."""
        if not self._ended():
            self.timer.start()

    def close(self) -> None:
        """The window closed normally: remove the recovery file, let go of the lock, write no more until it shows
        again."""
        self.discard()
        self.own_slot.release()
        self.closed = True

    def changes(self) -> list[str]:
        """The last few undo steps, newest first, then what a recovered file had listed."""
        stack = self.window.undo_stack
        index = stack.index()
        texts = [stack.text(i) for i in range(index - 1, max(-1, index - 1 - CHANGES_KEPT), -1)]
        # a recovered design is marked modified outside the stack too: its file already says what changed
        if getattr(self.window, "_modified_outside_undo", False) and self.slot is self.own_slot:
            texts.insert(0, "Changes outside the edit history (training, weights)")
        texts = [t for t in texts if t] + self.previous_changes
        return texts[:CHANGES_KEPT]

    def info(self) -> dict[str, Any]:
        window = self.window
        path = window.project.path
        now = time.time()
        return {
            "format": INFO_FORMAT, "version": 1,
            "original_path": str(path) if path is not None else None,
            "is_example": bool(getattr(window, "_is_example", False)),
            "name": window.display_name(),
            "saved_at": now, "saved_at_text": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
            "changes": self.changes(),
            "pid": os.getpid(), "session": SESSION_ID, "window": self.number,
        }

    @Slot()
    def write_now(self, *_args) -> bool:
        """Write the design to the recovery file now if it has unsaved changes (else empty the slot)."""
        self.timer.stop()
        if self._ended() or not self.window.is_modified:
            self.discard()
            return False
        if not self.slot.acquire():
            return False
        try:
            self.slot.write(self.window.project, self.info())
        except (ProjectError, OSError) as exc:
            # never in the user's way: the design itself is fine, only its safety copy failed
            print(f"nn-designer: autosave failed: {exc}", file=sys.stderr)
            return False
        self.written.emit(str(self.slot.design))
        return True

    def discard(self) -> None:
        """A normal end of the design (saved, closed, dropped): remove its recovery file (the window keeps its
        own lock; a recovered file's slot is let go of, and later changes go to the window's own)."""
        self.timer.stop()
        had_file = self.slot.design.exists()
        self.slot.remove()
        if self.slot is not self.own_slot:
            self.slot.release()
            self.slot = self.own_slot
        self.previous_changes = []
        if had_file:
            self.discarded.emit()

    def adopt(self, slot: RecoverySlot, changes: list[str]) -> None:
        """Take over a recovered file's slot (locked by the caller): it is removed only when this design is
        saved or dropped, and a second crash leaves it in place."""
        self.discard()
        self.slot = slot
        self.previous_changes = list(changes)


# ---------------------------------------------------------------- test hook
class _TestEdits(QObject):
    """Edits read from standard input, applied on the GUI thread through the window's own methods."""

    line_read = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.line_read.connect(self.apply)  # queued: emitted from the reading thread
        window.autosave.written.connect(lambda _path: self._report("autosaved"))

    def start(self) -> None:
        threading.Thread(target=self._read, name="test-edits", daemon=True).start()
        self._report("ready")

    def _read(self) -> None:
        for line in sys.stdin:
            try:
                self.line_read.emit(line.strip())
            except RuntimeError:  # the window is gone
                return

    @Slot(str)
    def apply(self, line: str) -> None:
        command, _, argument = line.partition(" ")
        if command == "add":
            self.window._add_from_palette(argument or "neurons")
        elif command == "undo":
            self.window.undo_stack.undo()
        elif command == "write":
            self.window.autosave.write_now()
        else:
            return
        self._report(line)

    def _report(self, done: str) -> None:
        window = self.window
        print(json.dumps({"done": done, "time": time.time(), "layers": sorted(window.graph.layers),
                          "modified": window.is_modified, "recovery": str(window.autosave.path)}), flush=True)


def install_test_edits(window) -> _TestEdits | None:
    """With ``NND_TEST_EDITS=stdin``: apply ``add KIND``, ``undo`` and ``write`` lines from standard input,
    printing one JSON line after each (and ``ready`` first). Tests and benchmarks only."""
    if os.environ.get(TEST_EDITS_VARIABLE, "").strip().lower() != "stdin":
        return None
    hook = _TestEdits(window)
    hook.start()
    return hook

"""Recovery after a crash or a kill: the designs an earlier process autosaved and never saved, offered at start.

A recovery file (see :mod:`designer.ui.autosave`) is *recoverable* when its lock can be taken: its owner is
gone (a stale lock, Qt checks the process id) or never held one. A file whose owner is alive (another window,
another instance) is left alone. The user sees each recoverable design (name, when, what changed) in
:class:`RecoveryDialog`, asked through :func:`designer.ui.dialogs.ask_recovery` so tests can answer it, and
chooses: Recover opens it as unsaved, its path the original file (or none if it was untitled), and the
recovery file stays until the design is saved or dropped; Discard deletes it; Later keeps it for the next start.

Nothing here imports torch: the offer comes right after the first paint.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from designer.project import ProjectError, read_project

from . import dialogs, settings
from .autosave import RecoverySlot

RECOVER, DISCARD, KEEP = "recover", "discard", "keep"


@dataclass
class Recoverable:
    """A recovery file left by a process that is gone; this process holds its lock until it is settled."""

    slot: RecoverySlot
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.slot.stem

    @property
    def name(self) -> str:
        return str(self.info.get("name") or "Untitled")

    @property
    def original_path(self) -> Path | None:
        path = self.info.get("original_path")
        return Path(path) if isinstance(path, str) and path else None

    @property
    def saved_at(self) -> float:
        value = self.info.get("saved_at")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return self.slot.design.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def changes(self) -> list[str]:
        changes = self.info.get("changes")
        return [str(c) for c in changes] if isinstance(changes, list) else []

    def entry(self) -> dict[str, Any]:
        """What the dialog shows, as plain values."""
        path = self.original_path
        return {"id": self.id, "name": self.name, "saved_at": self.saved_at,
                "time": time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)),
                "changes": self.changes, "original_path": str(path) if path is not None else None}

    def discard(self) -> None:
        self.slot.remove()
        self.slot.release()

    def keep(self) -> None:
        """Leave it for the next start (the lock goes, so it is recoverable again)."""
        self.slot.release()


def find_recoverable(folder: str | Path | None = None) -> list[Recoverable]:
    """The recovery files in ``folder`` (default :func:`settings.recovery_folder`) whose owner is gone,
    newest first, each locked by this process until it is recovered, discarded or kept."""
    folder = Path(folder) if folder is not None else settings.recovery_folder()
    if not folder.is_dir():
        return []
    found = []
    for design in sorted(folder.glob("*.nnd")):
        slot = RecoverySlot(folder, design.stem)
        if not slot.acquire():
            continue  # a live window of this or another process owns it
        if not slot.design.is_file():  # removed by its owner between the listing and the lock
            slot.release()
            continue
        found.append(Recoverable(slot, slot.read_info()))
    for lock in folder.glob("*.lock"):  # locks that crashed windows held with nothing to recover: tidy them
        slot = RecoverySlot(folder, lock.stem)
        if not slot.design.exists() and slot.acquire():
            slot.release()
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found


def recover_into(window, recoverable: Recoverable) -> bool:
    """Open the recovered design in ``window`` as unsaved; False (and a message) if the file cannot be read."""
    try:
        project = read_project(recoverable.slot.design)
    except ProjectError as exc:
        recoverable.keep()  # not deleted: the user may still want it looked at; Discard removes it
        dialogs.show_error(window, "Cannot recover the design", str(exc))
        return False
    project.path = recoverable.original_path  # Save writes to the user's file (or asks, if it had none)
    window.open_project(project, is_example=bool(recoverable.info.get("is_example")))
    window.autosave.adopt(recoverable.slot, recoverable.changes)
    window.mark_modified()
    window.statusBar().showMessage(f"Recovered “{recoverable.name}”: save it to keep it", 8000)
    return True


def offer_recovery(window, new_window: Callable[[], Any] | None = None,
                   folder: str | Path | None = None) -> list:
    """Offer the recoverable designs (if any) and do what the user chose; return the windows now showing one.

    The first recovered design goes into ``window`` when it has no unsaved changes of its own; each other one
    into ``new_window()`` (if given; otherwise it stays for the next start).
    """
    found = find_recoverable(folder)
    if not found:
        return []
    answers = dialogs.ask_recovery(window, [r.entry() for r in found])
    opened = []
    for recoverable in found:
        answer = answers.get(recoverable.id, KEEP)
        if answer == DISCARD:
            recoverable.discard()
        elif answer == RECOVER:
            target = window if window not in opened and not window.is_modified else (
                new_window() if new_window is not None else None)
            if target is not None and recover_into(target, recoverable):
                opened.append(target)
            elif target is None:
                recoverable.keep()
        else:
            recoverable.keep()
    return opened


class RecoveryDialog(QDialog):
    """The list of recoverable designs, each ticked, and Recover / Discard / Later for the ticked ones."""

    def __init__(self, entries: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recovery_dialog")
        self.setWindowTitle("Recover unsaved designs")
        self.entries = list(entries)
        self.choice = KEEP
        layout = QVBoxLayout(self)
        some = "a design" if len(entries) == 1 else f"{len(entries)} designs"
        text = QLabel(f"NN Designer closed before you saved {some}. The last autosaved state can be recovered.", self)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.list = QListWidget(self)
        self.list.setObjectName("recovery_list")
        for entry in self.entries:
            where = entry.get("original_path") or "never saved"
            changes = entry.get("changes") or []
            lines = [f"{entry.get('name')} — autosaved {entry.get('time')}", f"    {where}"]
            if changes:
                lines.append("    Last changes: " + "; ".join(changes[:3]))
            item = QListWidgetItem("\n".join(lines), self.list)
            item.setData(Qt.ItemDataRole.UserRole, entry.get("id"))
            item.setToolTip("\n".join(changes) or "No edit history was recorded")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(self)
        self.recover_button = QPushButton("Recover", self)
        self.recover_button.setObjectName("recover_button")
        self.discard_button = QPushButton("Discard", self)
        self.discard_button.setObjectName("discard_button")
        self.later_button = QPushButton("Later", self)
        self.later_button.setObjectName("later_button")
        self.later_button.setToolTip("Ask again at the next start")
        buttons.addButton(self.recover_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(lambda: self._choose(RECOVER))
        self.discard_button.clicked.connect(lambda: self._choose(DISCARD))
        self.later_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 300)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()

    def answers(self) -> dict[str, str]:
        """``{id: "recover" | "discard" | "keep"}``: the button pressed for the ticked designs, keep for the rest."""
        result = {}
        for row in range(self.list.count()):
            item = self.list.item(row)
            ticked = item.checkState() == Qt.CheckState.Checked
            result[item.data(Qt.ItemDataRole.UserRole)] = self.choice if ticked else KEEP
        return result

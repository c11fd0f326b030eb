"""Autosave and recovery ("Never lose work"): unsaved designs are kept in recovery files until a normal end,
and a crash or a kill -9 leaves them to be offered at the next start.

The killed app is a real ``python -m designer.cli`` process, off-screen, on a temporary home; its edits come
through its window's own code paths (``NND_TEST_EDITS=stdin``, see :mod:`designer.ui.autosave`).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QStandardPaths, Qt

from designer.graph import Graph, Layer
from designer.project import Project, read_project, write_project
from designer.ui import dialogs, recovery, settings
from designer.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
SHORT_DELAY_MS = 100


@pytest.fixture(autouse=True)
def answers(monkeypatch):
    """Closing a modified window discards its changes (a normal end) unless a test says otherwise."""
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *_args: "discard")
    monkeypatch.setattr(dialogs, "show_error", lambda *args: pytest.fail(f"unexpected error message: {args}"))


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    """The user's data folder as the XDG variables give it, shared by this process and the apps it starts."""
    QStandardPaths.setTestModeEnabled(False)  # test mode would put this process's data elsewhere
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ini = tmp_path / "config" / settings.ORGANIZATION / f"{settings.APPLICATION}.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[autosave]\ndelay_ms={SHORT_DELAY_MS}\n")  # the started apps autosave quickly
    assert settings.recovery_folder() == tmp_path / "data" / "NN Designer" / "NN Designer" / "recovery"
    return tmp_path / "data"


def tiny_file(path: Path) -> Path:
    g = Graph()
    g.add_layer(Layer("x", "input", (2,)))
    g.add_layer(Layer("y", "neurons", (1,), activation="sigmoid", position=(200, 0)))
    g.connect("x", "y")
    write_project(Project(name="Tiny", graph=g), path)
    return path


def new_window(qtbot, project_path: Path | None = None) -> MainWindow:
    window = MainWindow(training=False)
    qtbot.addWidget(window)
    window.autosave.delay_ms = SHORT_DELAY_MS
    if project_path is not None:
        assert window.open_path(project_path)
    return window


def recovery_files() -> list[str]:
    """Every file in the recovery folder, the locks of live windows included."""
    folder = settings.recovery_folder()
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def recovery_designs() -> list[str]:
    """The recovery files and their sidecars (live windows hold a lock file each, from the start)."""
    return [name for name in recovery_files() if not name.endswith(".lock")]


def wait_for_autosave(qtbot, window: MainWindow) -> Path:
    """The window's recovery file, once the idle delay has passed and it is written (a signal could have come
    already, while the test waited for another window's)."""
    autosave = window.autosave
    qtbot.waitUntil(lambda: not autosave.timer.isActive() and autosave.path.is_file(), timeout=10_000)
    return autosave.path


def crashed_window(qtbot, *kinds: str) -> tuple[Path, list[str]]:
    """A window that adds layers of ``kinds``, autosaves, then disappears without a normal end (as in a crash:
    no close, no save, no discard). Its recovery file and the layers it held."""
    window = MainWindow(training=False)  # not given to qtbot: it must not be closed later
    window.autosave.delay_ms = SHORT_DELAY_MS
    for kind in kinds:
        window._add_from_palette(kind)
    path, layers = wait_for_autosave(qtbot, window), sorted(window.graph.layers)
    shiboken6.delete(window)
    assert path.is_file()
    return path, layers


class AppProcess:
    """``python -m designer.cli [FILE]`` off-screen, taking edits on stdin and reporting each as a JSON line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        # a crash names where it happened: Python's fault handler writes every thread's stack to stderr, kept
        # in a file that the messages below quote
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NND_TEST_EDITS="stdin", PYTHONFAULTHANDLER="1")
        env.pop("NND_STARTUP_PROBE", None)
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "designer.cli", *args], cwd=cwd, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                        text=True)
        self.lines: queue.Queue = queue.Queue()
        self.autosaves: queue.Queue = queue.Queue()  # the app's own word that it wrote its recovery file
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.next_report()
        assert self.ready["done"] == "ready"

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("{"):
                report = json.loads(line)
                (self.autosaves if report["done"] == "autosaved" else self.lines).put(report)
        self.lines.put(None)
        self.autosaves.put(None)

    def next_report(self, timeout: float = 60) -> dict:
        report = self.lines.get(timeout=timeout)
        assert report is not None, self.ended()
        return report

    def ended(self) -> str:
        """How the app ended, and the end of what it wrote to stderr."""
        status = self.process.wait()
        self.stderr.seek(0)
        return f"the app ended with status {status}:\n{self.stderr.read()[-4000:].decode(errors='replace')}"

    def edit(self, line: str) -> dict:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.next_report()

    def wait_for_autosave(self, timeout: float = 30) -> dict:
        report = self.autosaves.get(timeout=timeout)
        assert report is not None, self.ended()
        return report

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: nothing runs in the app after this
        self.process.wait(timeout=30)


# ---------------------------------------------------------------- in one window
def test_an_edit_is_autosaved_after_the_idle_delay_and_saving_removes_it(qtbot, tmp_path, monkeypatch):
    original = tiny_file(tmp_path / "tiny.nnd")
    window = new_window(qtbot, original)
    assert recovery_designs() == []
    window._add_from_palette("neurons")
    path = wait_for_autosave(qtbot, window)
    assert path.parent == settings.recovery_folder() and path != original
    saved = read_project(path)
    assert saved.graph.to_dict() == window.graph.to_dict()
    assert saved.dataset == window.project.dataset and saved.training == window.project.training
    assert saved.name == "Tiny"
    assert len(read_project(original).graph.layers) == 2  # the user's file is untouched
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["original_path"] == str(original) and info["name"] == "Tiny"
    assert info["changes"] == [window.undo_stack.text(0)] and info["changes"][0].startswith("Add")
    assert info["pid"] == os.getpid() and info["saved_at"] <= time.time()
    assert recovery.find_recoverable() == []  # this window is alive and holds the lock

    assert window.save()
    assert not path.exists() and not path.with_suffix(".json").exists()
    assert len(read_project(original).graph.layers) == 3


def test_closing_without_changes_leaves_nothing_and_so_does_discarding_changes(qtbot, tmp_path):
    window = new_window(qtbot, tiny_file(tmp_path / "tiny.nnd"))
    window.close()
    assert recovery_files() == []

    other = new_window(qtbot)
    other._add_from_palette("input")
    wait_for_autosave(qtbot, other)
    assert len(recovery_files()) == 3  # the design, its sidecar, its lock
    other.close()  # the fixture answers "discard"
    assert recovery_files() == []


def test_undoing_back_to_the_saved_state_removes_the_recovery_file(qtbot, tmp_path):
    window = new_window(qtbot, tiny_file(tmp_path / "tiny.nnd"))
    window._add_from_palette("neurons")
    path = wait_for_autosave(qtbot, window)
    with qtbot.waitSignal(window.autosave.discarded, timeout=10_000):
        window.undo_stack.undo()
    assert not path.exists()


def test_pressing_train_writes_at_once(qtbot, tmp_path):
    window = MainWindow(training=True)
    qtbot.addWidget(window)
    window.autosave.delay_ms = 600_000  # only Train can have written it
    window._add_from_palette("neurons")  # a design that cannot train: the run does not start
    window.training.action_train.trigger()
    assert window.autosave.path.is_file()
    assert set(read_project(window.autosave.path).graph.layers) == set(window.graph.layers)


# ---------------------------------------------------------------- after a kill
def test_a_killed_app_is_offered_at_the_next_start_and_recovered_as_unsaved(qtbot, tmp_path, data_home,
                                                                              monkeypatch):
    original = tiny_file(tmp_path / "tiny.nnd")
    app = AppProcess(tmp_path, str(original))
    edited = app.edit("add neurons")
    assert edited["modified"] and len(edited["layers"]) == 3
    recovery_file = Path(edited["recovery"])
    assert app.wait_for_autosave()["layers"] == edited["layers"]
    app.kill()

    offered = []

    def ask_recovery(_parent, entries):
        offered.extend(entries)
        return {entry["id"]: "recover" for entry in entries}

    monkeypatch.setattr(dialogs, "ask_recovery", ask_recovery)
    window = new_window(qtbot)
    assert recovery.offer_recovery(window) == [window]
    (entry,) = offered
    assert entry["name"] == "Tiny" and entry["original_path"] == str(original)
    assert entry["changes"] and entry["changes"][0].startswith("Add") and entry["time"]
    assert sorted(window.graph.layers) == edited["layers"]
    assert window.is_modified and window.isWindowModified() and "[*]" in window.windowTitle()
    assert window.project.path == original
    assert recovery_file.is_file()  # kept until the recovered design is saved or dropped
    assert recovery.find_recoverable() == []  # this window owns it now

    assert window.save()  # to the original file, no question asked
    assert not recovery_file.exists() and recovery_designs() == []
    assert sorted(read_project(original).graph.layers) == edited["layers"]


# ---------------------------------------------------------------- several owners
def test_two_windows_keep_separate_recovery_files(qtbot, tmp_path):
    first, second = new_window(qtbot), new_window(qtbot, tiny_file(tmp_path / "tiny.nnd"))
    first._add_from_palette("input")
    second._add_from_palette("neurons")
    second._add_from_palette("neurons")
    first_path, second_path = wait_for_autosave(qtbot, first), wait_for_autosave(qtbot, second)
    assert first_path != second_path
    second_bytes = second_path.read_bytes()
    assert set(read_project(first_path).graph.layers) == set(first.graph.layers)
    assert set(read_project(second_path).graph.layers) == set(second.graph.layers)

    first.close()  # untitled and modified: the fixture answers "discard"
    assert not first_path.exists() and second_path.read_bytes() == second_bytes
    assert recovery.find_recoverable() == []  # the second window is alive: its file is not offered


def test_two_processes_keep_separate_recovery_files_and_a_live_ones_is_not_offered(tmp_path, data_home):
    original = tiny_file(tmp_path / "tiny.nnd")
    one, two = AppProcess(tmp_path, str(original)), AppProcess(tmp_path, str(original))
    try:
        first = one.edit("add neurons")
        two.edit("add input")
        second = two.edit("add neurons")
        first_file, second_file = Path(first["recovery"]), Path(second["recovery"])
        assert first_file != second_file
        one.wait_for_autosave()
        two.wait_for_autosave()
        one.edit("write")
        two.edit("write")  # both written again: neither replaced the other's
        for app in (one, two):
            app.wait_for_autosave()
        assert sorted(read_project(first_file).graph.layers) == first["layers"]
        assert sorted(read_project(second_file).graph.layers) == second["layers"]
        assert recovery.find_recoverable() == []  # both owners alive

        one.kill()
        (found,) = recovery.find_recoverable()  # only the dead one's; the live one's lock is held
        assert found.slot.design == first_file and found.name == "Tiny"
        found.keep()
        assert second_file.is_file() and sorted(read_project(second_file).graph.layers) == second["layers"]
    finally:
        one.kill()
        two.kill()


# ---------------------------------------------------------------- the user's answer
def test_discard_removes_the_recovery_file(qtbot, monkeypatch):
    path, _layers = crashed_window(qtbot, "input")

    monkeypatch.setattr(dialogs, "ask_recovery", lambda _parent, entries: {e["id"]: "discard" for e in entries})
    window = new_window(qtbot)
    assert recovery.offer_recovery(window) == []
    assert recovery_designs() == [] and not any(name.startswith(path.stem) for name in recovery_files())
    assert not window.is_modified and window.graph.layers == {}


def test_later_keeps_it_for_the_next_start(qtbot, monkeypatch):
    path, _layers = crashed_window(qtbot, "input")
    monkeypatch.setattr(dialogs, "ask_recovery", lambda _parent, entries: {})
    assert recovery.offer_recovery(new_window(qtbot)) == []
    assert path.is_file() and [r.slot.design for r in recovery.find_recoverable()] == [path]


def test_an_untitled_design_recovered_then_saved_removes_the_recovery_file(qtbot, tmp_path, monkeypatch):
    path, layers = crashed_window(qtbot, "input", "neurons")

    monkeypatch.setattr(dialogs, "ask_recovery", lambda _parent, entries: {e["id"]: "recover" for e in entries})
    window = new_window(qtbot)
    assert recovery.offer_recovery(window) == [window]
    assert window.project.path is None and window.is_modified and sorted(window.graph.layers) == layers
    # a further edit and a second crash: the same recovery file holds the newer state
    window._add_from_palette("output")
    assert wait_for_autosave(qtbot, window) == path
    info = json.loads(path.with_suffix(".json").read_text())
    assert len(info["changes"]) == 3 and info["changes"][0].startswith("Add")  # this session's, then the old

    target = tmp_path / "rescued.nnd"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda _parent, _suggested: str(target))
    assert window.save()
    assert recovery_designs() == [] and not window.is_modified
    assert sorted(read_project(target).graph.layers) == sorted(window.graph.layers)


def test_the_recovery_dialog_lists_each_design_and_answers_for_the_ticked_ones(qtbot):
    entries = [{"id": "a-1", "name": "Spiral", "time": "2026-01-02 10:00", "changes": ["Add layer h"],
                "original_path": "/home/me/spiral.nnd"},
               {"id": "b-1", "name": "Untitled", "time": "2026-01-02 11:00", "changes": [], "original_path": None}]
    dialog = recovery.RecoveryDialog(entries)
    qtbot.addWidget(dialog)
    texts = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert "Spiral" in texts[0] and "2026-01-02 10:00" in texts[0] and "Add layer h" in texts[0]
    assert "never saved" in texts[1]
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    dialog.show()
    qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert dialog.answers() == {"a-1": "recover", "b-1": "keep"}

    later = recovery.RecoveryDialog(entries)
    qtbot.addWidget(later)
    later.show()
    qtbot.mouseClick(later.later_button, Qt.MouseButton.LeftButton)
    assert later.answers() == {"a-1": "keep", "b-1": "keep"}

"""Fixtures shared by the UI tests: settings kept away from the user's, a small design, an undo stack."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtGui import QUndoStack

from designer.graph import Graph, Layer


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings, recent files and Documents live in a temporary home, never the user's real ones."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    QStandardPaths.setTestModeEnabled(False)


@pytest.fixture
def graph() -> Graph:
    """x (2 inputs) -> h (4 tanh) -> out (1 sigmoid), connected densely as x-h and h-out."""
    g = Graph()
    g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (4,), activation="tanh", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    return g


@pytest.fixture
def stack(qapp):
    s = QUndoStack()
    yield s
    s.clear()


@pytest.fixture
def example_window(qtbot, monkeypatch):
    """``open(name)``: a real window on a shipped example (as an untitled copy, on the CPU), shown at
    1300x850, its questions answered without a modal box; closed, with its threads joined, after the test."""
    from designer.project import read_project
    from designer.ui import dialogs, resource_path
    from designer.ui.main_window import MainWindow

    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *_args: "discard")
    monkeypatch.setattr(dialogs, "show_error", lambda *_args: None)
    windows = []

    def open_example(name: str):
        project = read_project(resource_path("examples") / f"{name}.nnd")
        project.path = None
        project.training["device"] = "cpu"
        window = MainWindow(project)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield open_example
    for window in windows:
        if window.training:
            window.training.shutdown()


def wait_for_data(qtbot, window, timeout: int = 30_000) -> None:
    """Until the window's data (a CSV file, an image folder: loaded on a thread) is loaded and checked."""
    qtbot.waitUntil(lambda: not window.data_loader.loading, timeout=timeout)


class Recorder:
    """Stands in for one modal question or message: remembers what it was asked, answers as told (an answer
    that is a function is called with the question's arguments)."""

    def __init__(self, answer=None):
        self.answer = answer
        self.calls: list[tuple] = []

    def __call__(self, *args):
        self.calls.append(args[1:])  # without the parent widget
        return self.answer(*args[1:]) if callable(self.answer) else self.answer


def make_window(qtbot, project=None, *, training: bool = True):
    """A real window on ``project`` (without its training panels for ``training=False``), shown at 1100x750;
    closed after the test without a save question, its training threads joined."""
    from designer.ui.main_window import MainWindow

    window = MainWindow(project, training=training)

    def before_close(w):
        w.undo_stack.setClean()
        w._modified_outside_undo = False
        if w.training:
            w.training.shutdown()

    qtbot.addWidget(window, before_close_func=before_close)
    window.resize(1100, 750)
    window.show()
    qtbot.waitExposed(window)
    return window


def assert_collected_on_the_gui_thread(qtbot) -> None:
    """While a worker thread runs, automatic collection is off, and cyclic garbage is still collected (by
    the GUI thread's timer)."""
    import gc

    assert not gc.isenabled()
    garbage = [[] for _ in range(gc.get_threshold()[0] * 2)]
    for item in garbage:
        item.append(item)  # cycles: only a collection frees them
    del garbage
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=5_000)  # collected by the GUI


@pytest.fixture
def errors_shown(monkeypatch):
    """The error messages the window would have shown in a box, instead of showing them."""
    from designer.ui import dialogs

    recorder = Recorder()
    monkeypatch.setattr(dialogs, "show_error", recorder)
    return recorder

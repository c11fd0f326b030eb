"""Files in the main window: save and reopen, bad files, unsaved changes, recent files, examples, drops.

Real widgets and real files; only the modal questions (message boxes, file dialogs) are replaced by
recorders that answer as the user would.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from designer.graph import Graph, Layer
from designer.project import Project, read_project, write_project
from designer.ui import dialogs, settings
from designer.ui.main_window import MainWindow, examples

from .conftest import Recorder


def make_window(qtbot, project: Project | None = None) -> MainWindow:
    window = MainWindow(project)
    qtbot.addWidget(window, before_close_func=lambda w: w.undo_stack.setClean())
    window.show()
    qtbot.waitExposed(window)
    return window


def design(name: str = "XOR") -> Project:
    g = Graph()
    g.add_layer(Layer("x", "input", (2,), label="inputs", position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (4,), activation="tanh", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    return Project(name=name, description="Two inputs, one hidden layer.", graph=g)


def edit_something(window: MainWindow) -> None:
    from designer.ui.commands import UpdateLayerCommand
    window.undo_stack.push(UpdateLayerCommand(window.graph, "h", activation="relu"))


def test_save_and_reopen_give_the_same_design(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, design())
    window.canvas.select("h")
    window.inspector.shape.setFocus()
    window.inspector.shape.selectAll()
    qtbot.keyClicks(window.inspector.shape, "2, 3")
    qtbot.keyClick(window.inspector.shape, Qt.Key.Key_Return)
    window.project.training["epochs"] = 77
    target = tmp_path / "mine.nnd"
    asked = Recorder(str(target))
    monkeypatch.setattr(dialogs, "ask_save_path", asked)

    assert window.save()  # never saved: asks where
    assert len(asked.calls) == 1 and target.is_file()
    saved = window.graph.to_dict()

    other = make_window(qtbot)
    assert other.open_path(target)
    assert other.graph.to_dict() == saved
    assert other.project.training["epochs"] == 77
    assert other.project.description == "Two inputs, one hidden layer."
    assert other.windowTitle() == "XOR[*] — NN Designer" and not other.isWindowModified()
    assert not other.undo_stack.canUndo()
    # the canvas follows the graph it was given at start: the same object, new content
    assert set(other.canvas.canvas_scene.layer_items) == {"x", "h", "out"}

    edit_something(window)
    assert window.save()  # has a file now: saves there without asking
    assert len(asked.calls) == 1
    assert read_project(target).graph.layer("h").activation == "relu"


def test_a_corrupt_file_leaves_the_open_design_untouched_and_says_why(qtbot, tmp_path, errors_shown):
    window = make_window(qtbot, design())
    edit_something(window)
    before = window.graph.to_dict()
    bad = tmp_path / "broken.nnd"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("mimetype", "application/vnd.nn-designer+zip")
        archive.writestr("project.json", "{ this is not json")

    assert not window.open_path(bad)
    assert len(errors_shown.calls) == 1
    title, message = errors_shown.calls[0]
    assert title == "Cannot open project" and "broken.nnd" in message
    assert window.graph.to_dict() == before
    assert window.undo_stack.canUndo() and window.isWindowModified()  # the user's edit is still there
    assert set(window.canvas.canvas_scene.layer_items) == {"x", "h", "out"}

    assert not window.open_path(tmp_path / "missing.nnd")
    assert "no such file" in errors_shown.calls[1][1]


def test_the_error_message_box_names_the_problem(qtbot, tmp_path):
    """The real message box, closed the way a user would close it."""
    window = make_window(qtbot, design())
    bad = tmp_path / "not-a-project.nnd"
    bad.write_text("hello")
    seen = []

    def close_box():
        box = QApplication.activeModalWidget()
        seen.append(box.text() if isinstance(box, QMessageBox) else None)
        box.done(QMessageBox.StandardButton.Ok)

    from PySide6.QtCore import QTimer
    QTimer.singleShot(0, close_box)
    assert not window.open_path(bad)
    assert seen and "not-a-project.nnd" in seen[0]
    assert set(window.graph.layers) == {"x", "h", "out"}


def test_the_title_shows_unsaved_changes_until_saved(qtbot, tmp_path):
    project = design()
    write_project(project, tmp_path / "xor.nnd")
    window = make_window(qtbot)
    assert window.open_path(tmp_path / "xor.nnd")
    assert not window.isWindowModified()
    edit_something(window)
    assert window.isWindowModified()
    assert window.save()
    assert not window.isWindowModified()
    window.mark_modified()  # a training run stored new weights
    assert window.isWindowModified()
    assert window.save() and not window.isWindowModified()


def test_new_asks_before_discarding_changes(qtbot, monkeypatch):
    window = make_window(qtbot, design())
    edit_something(window)
    question = Recorder("cancel")
    monkeypatch.setattr(dialogs, "ask_save_changes", question)
    window.action_new.trigger()
    assert question.calls == [("XOR",)]
    assert set(window.graph.layers) == {"x", "h", "out"}  # cancelled: nothing lost

    question.answer = "discard"
    window.action_new.trigger()
    assert window.graph.layers == {} and not window.isWindowModified()
    assert window.windowTitle().startswith("Untitled")

    window.action_new.trigger()  # nothing to lose now: no question
    assert len(question.calls) == 2


def test_closing_with_changes_can_save_them(qtbot, tmp_path, monkeypatch):
    path = tmp_path / "keep.nnd"
    write_project(design(), path)
    window = make_window(qtbot)
    window.open_path(path)
    edit_something(window)
    monkeypatch.setattr(dialogs, "ask_save_changes", Recorder("cancel"))
    assert not window.close()
    assert window.isVisible()
    monkeypatch.setattr(dialogs, "ask_save_changes", Recorder("save"))
    assert window.close()
    assert read_project(path).graph.layer("h").activation == "relu"


def test_recent_files_persist_and_missing_ones_are_dropped(qtbot, tmp_path):
    paths = []
    for i in range(12):
        path = tmp_path / f"design{i}.nnd"
        write_project(design(f"Design {i}"), path)
        paths.append(path)
    window = make_window(qtbot)
    for path in paths:
        assert window.open_path(path)
    assert settings.recent_files() == [str(p.resolve()) for p in reversed(paths)][:10]

    paths[11].unlink()
    window.close()
    later = make_window(qtbot)  # a new session reads the same settings
    later.menu_recent.aboutToShow.emit()
    names = [a.text() for a in later.menu_recent.actions() if a.text() and not a.isSeparator()]
    assert names[0].endswith("design10.nnd") and len([n for n in names if n.endswith(".nnd")]) == 9
    recent = [a for a in later.menu_recent.actions() if a.text().endswith("design10.nnd")][0]
    recent.trigger()
    assert later.project.name == "Design 10"


def test_the_window_layout_persists(qtbot):
    window = make_window(qtbot)
    window.resize(760, 560)  # inside the off-screen screen (800x600): geometry is kept on screen
    window.problems_dock.hide()
    window.close()
    again = make_window(qtbot)
    assert again.size().width() == 760
    assert not again.problems_dock.isVisible()


def test_examples_open_from_the_menu_and_save_as_a_copy_in_documents(qtbot, tmp_path, monkeypatch, errors_shown):
    found = examples()
    if not found:
        pytest.skip("no examples installed in resources/examples")
    window = make_window(qtbot)
    window.menu_examples.aboutToShow.emit()
    entries = [a for a in window.menu_examples.actions() if a.text()]
    assert len(entries) == len(found)
    original = found[0].read_bytes()
    entries[0].trigger()
    assert window.project.path == found[0] and window.graph.layers

    edit_target = next(iter(window.graph.layers))
    from designer.ui.commands import UpdateLayerCommand
    window.undo_stack.push(UpdateLayerCommand(window.graph, edit_target, label="changed"))
    asked = Recorder(lambda suggested: suggested)
    monkeypatch.setattr(dialogs, "ask_save_path", asked)
    assert window.save(), errors_shown.calls
    (suggested,) = asked.calls[0]
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert Path(suggested).parent == Path(documents) and Path(suggested).name == found[0].name
    assert found[0].read_bytes() == original  # the bundled example is untouched
    assert read_project(suggested).graph.layer(edit_target).label == "changed"
    assert window.project.path == Path(suggested)


def test_a_project_file_dropped_on_the_window_opens(qtbot, tmp_path):
    path = tmp_path / "dropped.nnd"
    write_project(design("Dropped"), path)
    window = make_window(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    viewport = window.canvas.viewport()  # where a user lets go of it, in the middle of the window
    pos = QPoint(200, 200)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, *args))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), *args))
    qtbot.waitUntil(lambda: window.project.name == "Dropped")
    assert set(window.graph.layers) == {"x", "h", "out"}


def test_saving_an_untitled_design_names_it_after_the_file(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot)
    assert window.windowTitle().startswith("Untitled")
    from designer.ui.commands import AddLayerCommand
    window.undo_stack.push(AddLayerCommand(window.graph, Layer("x", "input", (2,))))
    monkeypatch.setattr(dialogs, "ask_save_path", Recorder(str(tmp_path / "my net.nnd")))
    assert window.save()
    assert window.windowTitle() == "my net[*] — NN Designer" and not window.isWindowModified()
    assert read_project(tmp_path / "my net.nnd").name == "my net"

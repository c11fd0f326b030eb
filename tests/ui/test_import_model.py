"""File › Import Model… and dropping a .onnx file: an ONNX model becomes the design on the canvas, one undo step.

Real widgets, a real model written by ``torch.onnx.export``; only the modal questions are replaced by recorders.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from designer.graph import Graph, Layer
from designer.project import Project
from designer.ui import dialogs, settings
from designer.ui.commands import UpdateLayerCommand
from designer.ui.main_window import MainWindow

from .conftest import Recorder, make_window

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")


@pytest.fixture
def save_asked(monkeypatch):
    recorder = Recorder("discard")
    monkeypatch.setattr(dialogs, "ask_save_changes", recorder)
    return recorder


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """``(path, model)``: a torch MLP (2 -> 4 tanh -> 1 sigmoid) exported to ONNX by torch itself."""
    from torch import nn

    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    path = tmp_path_factory.mktemp("models") / "my mlp.onnx"
    export(model, path)
    return path, model


def export(model, path) -> None:
    with warnings.catch_warnings():  # the TorchScript-based exporter is deprecated, and the fastest
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, torch.zeros(1, 2), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"])


def edited_design() -> Project:
    g = Graph()
    g.add_layer(Layer("a", "input", (3,), position=(0, 0)))
    g.add_layer(Layer("b", "neurons", (2,), activation="relu", position=(220, 0)))
    g.connect("a", "b", connection_id="a-b")
    return Project(name="Mine", graph=g)


def scene_ids(window: MainWindow) -> tuple[set[str], set[str]]:
    scene = window.canvas.canvas_scene
    return set(scene.layer_items), set(scene.connection_items)


def test_the_file_menu_offers_import_after_open(qtbot):
    window = make_window(qtbot, training=False)
    actions = [a for a in window.menu_file.actions() if not a.isSeparator()]
    names = [a.objectName() for a in actions]
    assert names.index("action_import") == names.index("action_open") + 1
    assert window.action_import.text() == "&Import Model…"


def test_the_menu_asks_for_an_onnx_file_in_the_last_folder(qtbot, monkeypatch, mlp, save_asked):
    path, _model = mlp
    asked = []
    monkeypatch.setattr(dialogs, "ask_import_path", lambda parent, folder: asked.append(folder) or str(path))
    window = make_window(qtbot, training=False)
    folder = settings.last_folder()
    window.action_import.trigger()
    assert asked == [folder]
    assert set(window.graph.layers) == {"x", "dense0", "dense2"}
    assert settings.last_folder() == str(path.parent.resolve())  # the next dialog starts where this one ended


def test_import_puts_the_design_on_the_canvas_in_one_undo_step_with_its_weights(qtbot, mlp, save_asked,
                                                                                errors_shown):
    path, model = mlp
    window = make_window(qtbot, edited_design())
    window.undo_stack.push(UpdateLayerCommand(window.graph, "b", activation="tanh"))
    assert window.is_modified

    assert window.import_path(path)
    assert len(save_asked.calls) == 1  # the unsaved design was offered for saving first
    assert not errors_shown.calls

    # a new, unsaved project named after the file, with the model's data and training settings
    assert window.project.path is None
    assert window.project.name == "my mlp"
    assert window.windowTitle().startswith("my mlp")
    assert window.is_modified and window.isWindowModified()
    assert window.project.dataset["name"] == "spiral"
    assert window.project.training["optimizer"] == "adam"

    layers = {"x", "dense0", "dense2"}
    connections = {"x-dense0", "dense0-dense2"}
    assert set(window.graph.layers) == layers and set(window.graph.connections) == connections
    assert scene_ids(window) == (layers, connections)
    assert window.undo_stack.count() == 1
    assert window.undo_stack.undoText() == "Import my mlp.onnx"

    # the links show the model's own weights, and training continues from them
    scene = window.canvas.canvas_scene
    expected = model[0].weight.detach().numpy()
    np.testing.assert_allclose(scene.connection_items["x-dense0"].weights, expected, atol=0)
    np.testing.assert_allclose(scene.connection_items["dense0-dense2"].weights,
                               model[2].weight.detach().numpy(), atol=0)
    assert window.project.fitting_weights()[1] == set()
    from designer.training import prepare_project

    assert prepare_project(window.project, check_only=True).initial_weights == "stored"
    assert window.training.weights is window.project.weights

    # what the import left to the user is shown without a modal box, and the status bar says what came in
    assert window.import_bar.isVisible()
    assert "dropout is not in an inference graph" in window.import_label.text()
    assert "3 layers, 2 connections, 17 parameters" in window.statusBar().currentMessage()
    assert window.status_text().startswith("Valid")

    # one undo takes the whole design away, redo brings it back with its weights
    window.action_undo.trigger()
    assert not window.graph.layers and not window.graph.connections
    assert not window.import_bar.isVisible()  # its notes were about the design taken away
    assert scene_ids(window) == (set(), set())
    window.action_redo.trigger()
    assert scene_ids(window) == (layers, connections)
    np.testing.assert_allclose(scene.connection_items["x-dense0"].weights, expected, atol=0)
    assert window.project.fitting_weights()[1] == set()


def test_a_file_that_cannot_be_imported_leaves_the_design_as_it_was(qtbot, tmp_path, save_asked, errors_shown):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"\x00\x13garbage, not a model\xff" * 10)
    window = make_window(qtbot, edited_design(), training=False)
    window.undo_stack.push(UpdateLayerCommand(window.graph, "b", activation="tanh"))
    before, undo_text = window.graph.to_dict(), window.undo_stack.undoText()
    project = window.project

    assert not window.import_path(bad)
    assert len(errors_shown.calls) == 1
    title, message = errors_shown.calls[0]
    assert title == "Cannot import model"
    assert "x.onnx" in message and "Traceback" not in message
    assert not save_asked.calls  # nothing to decide: the design stays
    assert window.project is project and window.graph.to_dict() == before
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == undo_text
    assert window.is_modified


def test_unsupported_nodes_are_named_one_line_each(qtbot, tmp_path, save_asked, errors_shown):
    from torch import nn

    class Odd(nn.Module):
        def forward(self, x):
            return torch.cos(x) * torch.sin(x)

    path = tmp_path / "odd.onnx"
    export(Odd(), path)
    window = make_window(qtbot, edited_design(), training=False)
    assert not window.import_path(path)
    (title, message), = errors_shown.calls
    assert title == "Cannot import model"
    assert "Cos" in message and "Sin" in message
    assert set(window.graph.layers) == {"a", "b"}


def test_cancelling_the_save_question_keeps_the_design(qtbot, mlp, monkeypatch, errors_shown):
    monkeypatch.setattr(dialogs, "ask_save_changes", Recorder("cancel"))
    window = make_window(qtbot, edited_design(), training=False)
    window.undo_stack.push(UpdateLayerCommand(window.graph, "b", activation="tanh"))
    assert not window.import_path(mlp[0])
    assert set(window.graph.layers) == {"a", "b"} and window.project.name == "Mine"


def test_a_model_dropped_on_the_window_is_imported(qtbot, mlp, save_asked, errors_shown):
    path, _model = mlp
    window = make_window(qtbot, training=False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    viewport = window.canvas.viewport()
    pos = QPoint(200, 200)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, *args))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), *args))
    qtbot.waitUntil(lambda: window.project.name == "my mlp")
    assert scene_ids(window) == ({"x", "dense0", "dense2"}, {"x-dense0", "dense0-dense2"})
    assert window.undo_stack.undoText() == "Import my mlp.onnx"
    assert not errors_shown.calls

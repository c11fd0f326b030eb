"""The main window as a person uses it: drag from the palette, edit in the inspector, undo, read problems.

Real widgets off-screen, driven by real mouse, key and drag-and-drop events.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from designer.graph import Connection, Connectivity, Graph, Layer
from designer.project import Project
from designer.ui.canvas.view import GRID
from designer.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def quick_typing():
    """Combo boxes search what is typed within this interval; shorter keeps the tests quick."""
    interval = QApplication.keyboardInputInterval()
    QApplication.setKeyboardInputInterval(150)
    yield
    QApplication.setKeyboardInputInterval(interval)


def make_window(qtbot, graph: Graph | None = None, dataset: dict | None = None, folder=None) -> MainWindow:
    project = Project.new("Test design")
    if graph is not None:
        project.graph = graph
    if dataset is not None:
        project.dataset = dataset
    if folder is not None:  # relative data paths start from the project's folder
        project.path = folder / "design.nnd"
    window = MainWindow(project)
    # the test's edits are not worth a "Save changes?" question when pytest-qt closes the window
    qtbot.addWidget(window, before_close_func=lambda w: w.undo_stack.setClean())
    window.resize(1200, 800)
    window.show()
    window.activateWindow()  # keys go to the active window, as on a desktop
    qtbot.waitUntil(window.isActiveWindow)
    return window


def xor_graph() -> Graph:
    g = Graph()
    g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (4,), activation="relu", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    return g


#: 64 pixel columns of a CSV file, laid out on the 8x8 input (the window cannot know the width without reading)
PIXELS = {"kind": "csv", "path": "pixels.csv", "target": "digit", "validation_split": 0.2, "seed": 0}


def write_pixels(folder, rows: int = 40, digits: int = 2) -> None:
    """``pixels.csv`` in ``folder``: 64 pixel columns and a ``digit`` column with ``digits`` classes."""
    header = ",".join(f"p{i}" for i in range(64)) + ",digit"
    lines = [",".join(str((r * 7 + i) % 5) for i in range(64)) + f",d{r % digits}" for r in range(rows)]
    (folder / "pixels.csv").write_text("\n".join([header, *lines]) + "\n")


def image_graph() -> Graph:
    g = Graph()
    g.add_layer(Layer("x", "input", (8, 8), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (16,), activation="relu", position=(260, 0)))
    g.add_layer(Layer("out", "neurons", (2,), activation="softmax", position=(520, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    return g


def drop_on_canvas(window: MainWindow, mime: QMimeData, pos: QPoint) -> bool:
    """Drag ``mime`` over the canvas and drop it at ``pos`` (viewport coordinates), as a real drag does."""
    viewport = window.canvas.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(QPointF(pos), actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    return drop.isAccepted()


def choose(qtbot, combo, text: str) -> None:
    """Pick an entry of a combo box by typing its first letters, as a keyboard user does."""
    qtbot.wait(QApplication.keyboardInputInterval() + 10)  # typing after a pause starts a new search
    combo.setFocus()
    qtbot.keyClicks(combo, text)
    assert combo.currentText().startswith(text), (combo.currentText(), text)


def test_dragging_from_the_palette_creates_a_layer_where_it_was_dropped(qtbot):
    window = make_window(qtbot)
    hint = window.findChild(QWidget, "canvas_empty_hint")
    assert hint.isVisible() and "Drag an" in hint.text()  # an empty canvas says what to do
    # right on the hint: it lets clicks and drops through to the canvas underneath
    assert window.canvas.childAt(hint.geometry().center()) is window.canvas.viewport()
    pos = window.canvas.viewport().mapFrom(window.canvas, hint.geometry().center())
    assert drop_on_canvas(window, window.palette.mimeData("neurons"), pos)
    assert not hint.isVisible()

    assert len(window.graph.layers) == 1
    layer = next(iter(window.graph.layers.values()))
    assert layer.kind == "neurons"
    where = window.canvas.mapToScene(pos)
    assert abs(layer.position[0] - where.x()) <= GRID / 2 and abs(layer.position[1] - where.y()) <= GRID / 2
    # the new layer is selected, so the inspector shows it straight away
    assert window.canvas.selected_ids() == [layer.id]
    assert window.inspector.layer_id.text() == layer.id
    assert window.isWindowModified()

    window.action_undo.trigger()
    assert window.graph.layers == {}
    assert hint.isVisible()


def test_the_empty_canvas_hint_stays_centred_when_the_window_resizes_and_the_canvas_pans(qtbot):
    window = make_window(qtbot)
    hint = window.findChild(QWidget, "canvas_empty_hint")

    def centred() -> bool:
        area = window.canvas.viewport().geometry()
        return abs(hint.geometry().center().x() - area.center().x()) <= 1 and \
            abs(hint.geometry().center().y() - area.center().y()) <= 1

    assert hint.isVisible() and centred()
    window.resize(window.width() - 180, window.height() - 60)
    qtbot.waitUntil(lambda: centred())
    # a graphics view scrolls the widgets on its viewport along with the scene: the hint must not go with it
    window.canvas.horizontalScrollBar().setValue(window.canvas.horizontalScrollBar().value() + 150)
    window.canvas.verticalScrollBar().setValue(window.canvas.verticalScrollBar().value() + 90)
    QApplication.processEvents()
    assert centred()


def test_every_palette_item_drops_as_its_kind(qtbot):
    window = make_window(qtbot)
    for i, kind in enumerate(("input", "neurons", "neuron", "lstm", "gru")):
        assert drop_on_canvas(window, window.palette.mimeData(kind), QPoint(100 + 150 * i, 120 + 40 * i))
    kinds = [layer.kind for layer in window.graph.layers.values()]
    assert kinds == ["input", "neurons", "neurons", "lstm", "gru"]
    assert [layer.units for layer in window.graph.layers.values()][2] == 1  # the single neuron


def test_editing_the_activation_in_the_inspector_changes_the_graph_and_undo_restores_it(qtbot):
    window = make_window(qtbot, xor_graph())
    window.canvas.select("h")
    inspector = window.inspector
    assert inspector.layer_id.text() == "h"
    assert inspector.activation.currentData() == "relu"

    choose(qtbot, inspector.activation, "Tanh")
    assert window.graph.layer("h").activation == "tanh"
    assert window.canvas.canvas_scene.item_for("h").layer.activation == "tanh"
    assert window.undo_stack.count() == 1

    window.action_undo.trigger()
    assert window.graph.layer("h").activation == "relu"
    assert inspector.activation.currentData() == "relu"  # the inspector follows undo
    window.action_redo.trigger()
    assert inspector.activation.currentData() == "tanh"


def test_typing_a_shape_reshapes_the_layer_and_a_bad_shape_explains_itself(qtbot):
    window = make_window(qtbot, xor_graph())
    window.canvas.select("h")
    shape = window.inspector.shape
    shape.setFocus()
    shape.selectAll()
    qtbot.keyClicks(shape, "3, 5")
    qtbot.keyClick(shape, Qt.Key.Key_Return)
    assert window.graph.layer("h").shape == (3, 5)
    qtbot.waitUntil(lambda: window.status_text() == f"Valid · {2 * 15 + 15 + 15 * 1 + 1:,} parameters")

    shape.selectAll()
    qtbot.keyClicks(shape, "0, 4")
    qtbot.keyClick(shape, Qt.Key.Key_Return)
    assert window.graph.layer("h").shape == (3, 5)  # unchanged
    assert window.inspector.shape_error.isVisible()
    assert "whole numbers above 0" in window.inspector.shape_error.text()
    assert window.undo_stack.count() == 1


def test_switching_a_connection_to_local_reshapes_the_target_and_redraws_the_links(qtbot, tmp_path):
    write_pixels(tmp_path)
    window = make_window(qtbot, image_graph(), PIXELS, tmp_path)
    scene = window.canvas.canvas_scene
    assert scene.item_for("x-h").mode == "band"  # 1,024 dense links are drawn as one band
    window.canvas.select("x-h")
    inspector = window.inspector
    assert inspector.connectivity.currentData() == "dense"

    choose(qtbot, inspector.connectivity, "Local")
    conn = window.graph.connection("x-h")
    assert conn.connectivity.kind == "local" and conn.connectivity.window_for(2) == (3, 3)
    assert window.graph.layer("h").shape == (6, 6)  # 8x8 through a 3x3 window, valid padding
    qtbot.waitUntil(lambda: window.status_text().startswith("Valid"))
    item = scene.item_for("x-h")
    drawn = {(link.target, link.source) for link in item.links}
    assert item.mode == "links"  # now drawn neuron to neuron: each of the 36 targets sees its 9 sources
    assert len(drawn) == 36 * 9 and (0, 0) in drawn and (0, 8 * 2 + 2) in drawn and (0, 3) not in drawn
    assert inspector.window.isVisible() and inspector.window.text() == "3"

    # the connection and the target's shape are one undo step
    assert window.undo_stack.count() == 1
    window.action_undo.trigger()
    assert window.graph.connection("x-h").connectivity.kind == "dense"
    assert window.graph.layer("h").shape == (16,)
    assert inspector.connectivity.currentData() == "dense"
    assert scene.item_for("x-h").mode == "band"
    window.action_redo.trigger()
    assert window.graph.layer("h").shape == (6, 6)
    assert inspector.connectivity.currentData() == "local"

    # a wider window with a stride of 2: the target follows again
    inspector.window.setFocus()
    inspector.window.selectAll()
    qtbot.keyClicks(inspector.window, "4, 4")
    qtbot.keyClick(inspector.window, Qt.Key.Key_Return)
    assert window.graph.layer("h").shape == (5, 5)
    inspector.stride.setFocus()
    qtbot.keyClick(inspector.stride, Qt.Key.Key_Up)
    assert window.graph.connection("x-h").connectivity.stride == 2
    assert window.graph.layer("h").shape == (3, 3)
    for _ in range(3):
        window.action_undo.trigger()
    assert window.graph.layer("h").shape == (16,)


def test_an_invalid_design_lists_its_problem_and_a_click_selects_and_outlines_the_culprit(qtbot):
    g = xor_graph()
    g.add_connection(Connection("h-x", "h", "x"))  # into the input layer: invalid
    window = make_window(qtbot, g)
    assert window.status_text() == "1 problem"
    rows = window.problems.list
    assert rows.count() == 1
    assert "h-x" in window.problems.row_text(0) and "cannot receive" in window.problems.row_text(0)
    assert window.canvas.canvas_scene.item_for("h-x").problem
    assert not window.canvas.canvas_scene.item_for("x-h").problem

    rect = rows.visualItemRect(rows.item(0))
    qtbot.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.canvas.selected_ids() == ["h-x"]
    assert window.inspector.title.text() == "Connection “h-x”"

    # deleting the culprit clears the problem
    window.canvas.setFocus()
    window.action_delete.trigger()
    qtbot.waitUntil(lambda: window.status_text().startswith("Valid"))
    assert rows.count() == 0 and window.problems_dock.windowTitle() == "Problems"
    assert window.status_text() == f"Valid · {4 * 2 + 4 + 4 + 1:,} parameters"


def test_a_burst_of_changes_validates_once(qtbot):
    window = make_window(qtbot, xor_graph())
    runs = []
    window.validated.connect(lambda: runs.append(1))
    from designer.ui.commands import AddLayerCommand
    window.undo_stack.beginMacro("Paste 50 layers")
    for i in range(50):
        window.undo_stack.push(AddLayerCommand(window.graph, Layer(f"p{i}", "neurons", (3,), position=(0, 200 + i))))
    window.undo_stack.endMacro()
    qtbot.waitUntil(lambda: len(runs) >= 1)
    qtbot.wait(20)
    assert len(runs) == 1
    assert "warning" in window.status_text()  # 50 unreachable layers warn


def test_the_title_marks_unsaved_changes(qtbot):
    window = make_window(qtbot, xor_graph())
    assert window.windowTitle() == "Test design[*] — NN Designer"
    assert not window.isWindowModified()
    window.canvas.select("out")
    choose(qtbot, window.inspector.activation, "Linear")
    assert window.isWindowModified()
    window.action_undo.trigger()
    assert not window.isWindowModified()


def test_the_inspector_follows_a_neuron_click_and_removal(qtbot):
    window = make_window(qtbot, xor_graph())
    window.canvas.neuron_selected.emit("h", 2)
    assert window.inspector.title.text() == "Neuron 2 of “h”"
    assert "Not trained yet" in window.inspector.neuron_weights.title.text()
    window.canvas.select("h")
    window.action_delete.trigger()
    assert "h" not in window.graph.layers
    assert window.inspector.subtitle.text() == "Nothing selected"
    window.action_undo.trigger()
    assert "h" in window.graph.layers and "x-h" in window.graph.connections


def test_settings_edits_are_undoable_and_mark_the_project_modified(qtbot):
    window = make_window(qtbot, xor_graph())
    panel = window.dataset_panel
    epochs = panel.epochs
    epochs.setFocus()
    epochs.selectAll()
    qtbot.keyClicks(epochs, "500")
    qtbot.keyClick(epochs, Qt.Key.Key_Return)
    assert window.project.training["epochs"] == 500
    assert window.isWindowModified()
    choose(qtbot, panel.dataset_name, "Spiral")
    assert window.project.dataset["name"] == "spiral"
    window.action_undo.trigger()
    assert window.project.dataset["name"] == "xor"
    assert panel.dataset_name.currentData() == "xor"
    window.action_undo.trigger()
    assert window.project.training["epochs"] == 200
    assert panel.epochs.value() == 200
    assert not window.isWindowModified()


def test_the_data_decides_the_input_shape(qtbot):
    window = make_window(qtbot, xor_graph())
    choose(qtbot, window.dataset_panel.dataset_name, "Shapes")
    qtbot.waitUntil(lambda: window.status_text() == "1 problem")
    assert "does not match the data" in window.problems.row_text(0)


def test_names_shortcuts_and_accessible_names(qtbot):
    window = make_window(qtbot)
    for name in ("canvas", "palette", "inspector", "problems"):
        widget = window.findChild(QWidget, name)
        assert widget is not None and widget.accessibleName(), name
    for name in ("action_new", "action_open", "action_save", "action_save_as", "action_undo", "action_redo",
                 "action_delete", "action_fit"):
        action = getattr(window, name)
        assert action.objectName() == name and not action.shortcut().isEmpty(), name
    assert window.action_fit.shortcut().toString() == "Ctrl+0"
    for menu in ("menu_file", "menu_edit", "menu_view", "menu_training", "menu_help"):
        assert getattr(window, menu).title()


def test_enter_in_the_palette_adds_the_layer_in_view_and_select_all_selects_everything(qtbot):
    window = make_window(qtbot, xor_graph())
    palette = window.palette.list
    palette.setCurrentRow(0)
    palette.setFocus()
    qtbot.keyClick(palette, Qt.Key.Key_Return)
    added = [lid for lid in window.graph.layers if lid not in ("x", "h", "out")]
    assert len(added) == 1 and window.graph.layer(added[0]).kind == "input"
    assert window.canvas.selected_ids() == added
    window.canvas.setFocus()
    window.action_select_all.trigger()
    assert set(window.canvas.selected_ids()) == {"x", "h", "out", added[0], "x-h", "h-out"}
    qtbot.waitUntil(lambda: window.status_text() == "1 problem")  # two input layers


def test_the_delete_key_deletes_on_the_canvas_but_not_while_typing_elsewhere(qtbot):
    window = make_window(qtbot, xor_graph())
    window.canvas.select("out")
    combo = window.dataset_panel.loss
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Delete)
    assert "out" in window.graph.layers
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas.viewport(), Qt.Key.Key_Delete)
    assert "out" not in window.graph.layers
    qtbot.keyClick(window.canvas.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "out" in window.graph.layers


def test_the_preview_plots_the_points_of_two_dimensional_datasets(qtbot):
    window = make_window(qtbot, xor_graph())
    window.set_views_ready()  # start-up does this once pyqtgraph has loaded in the background
    panel = window.dataset_panel
    qtbot.waitUntil(lambda: panel._scatter is not None and len(panel._scatter.data) == 400)
    choose(qtbot, panel.dataset_name, "Spiral")
    qtbot.waitUntil(lambda: not panel._preview_timer.isActive())
    x, y, task = panel.preview_points()
    assert task == "classification" and x.shape == (400, 2) and set(y.tolist()) == {0, 1}
    assert panel.preview_holder.isVisible()
    choose(qtbot, panel.dataset_name, "Shapes")
    qtbot.waitUntil(lambda: not panel._preview_timer.isActive())
    kind, images, labels, names = panel.preview_data()
    assert kind == "images" and images.shape == (8, 16, 16) and names[0] == "circle"
    picture = panel.findChild(QWidget, "dataset_preview_images")
    assert picture.isVisible() and not picture.pixmap().isNull()  # a strip of sample images
    assert not panel.findChild(QWidget, "dataset_preview_plot").isVisible()
    choose(qtbot, panel.dataset_name, "Sine")
    qtbot.waitUntil(lambda: not panel._preview_timer.isActive())
    assert panel.preview_data()[0] == "sequences"
    assert panel.findChild(QWidget, "dataset_preview_plot").isVisible() and len(panel._lines) == 8


def test_the_history_lists_each_step_and_a_click_goes_back_to_it(qtbot):
    window = make_window(qtbot, xor_graph())
    window.canvas.select("h")
    choose(qtbot, window.inspector.activation, "Tanh")
    qtbot.wait(1100)  # a later, separate edit
    choose(qtbot, window.inspector.activation, "Sigmoid")
    history = window.history
    assert history.model().rowCount() == 3  # the design as opened, then two steps
    window.history_dock.raise_()
    qtbot.waitUntil(history.isVisible)
    rect = history.visualRect(history.model().index(1, 0))
    qtbot.mouseClick(history.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.graph.layer("h").activation == "tanh"
    assert window.inspector.activation.currentData() == "tanh"


def test_zoom_actions(qtbot):
    window = make_window(qtbot, xor_graph())
    window.action_zoom_reset.trigger()
    assert window.canvas.zoom() == pytest.approx(1.0)
    window.action_zoom_in.trigger()
    assert window.canvas.zoom() == pytest.approx(1.25)
    window.action_zoom_out.trigger()
    window.action_zoom_out.trigger()
    assert window.canvas.zoom() == pytest.approx(0.8)

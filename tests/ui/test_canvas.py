"""The canvas, driven as a person drives it: real mouse, key, wheel and drop events on the viewport."""
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from designer.graph import Connectivity, Graph, Layer
from designer.ui import style
from designer.ui.canvas import PALETTE_MIME, CanvasView
from designer.ui.commands import UpdateConnectionCommand


@pytest.fixture
def view(qtbot, graph, stack):
    v = CanvasView(graph, stack)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    v.resetTransform()
    v.centerOn(220, 0)
    return v


def at(view, x, y) -> QPoint:
    """The viewport point showing scene point (x, y)."""
    return view.mapFromScene(QPointF(x, y))


def layer_item(view, layer_id):
    return view.canvas_scene.layer_items[layer_id]


def connection_item(view, connection_id):
    return view.canvas_scene.connection_items[connection_id]


def port_of(view, layer_id) -> QPoint:
    item = layer_item(view, layer_id)
    return view.mapFromScene(item.mapToScene(item.port_center()))


def drag(view, start: QPoint, end: QPoint, steps: int = 5, button=Qt.MouseButton.LeftButton) -> None:
    vp = view.viewport()
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(vp, start + (end - start) * (i / steps))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, end)


def drop(view, data: QMimeData, pos: QPoint) -> bool:
    """Send a palette drag's enter, move and drop events to the viewport; True if the drop was taken."""
    vp = view.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, actions, data, buttons, mods)
    QApplication.sendEvent(vp, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(pos, actions, data, buttons, mods)
    QApplication.sendEvent(vp, move)
    event = QDropEvent(QPointF(pos), actions, data, buttons, mods)
    QApplication.sendEvent(vp, event)
    return event.isAccepted()


def palette_item(kind: str) -> QMimeData:
    data = QMimeData()
    data.setData(PALETTE_MIME, kind.encode())
    return data


# ---------------------------------------------------------------- showing the graph
def test_every_layer_and_connection_has_an_item_with_its_id(view, graph):
    assert set(view.canvas_scene.layer_items) == {"x", "h", "out"}
    assert set(view.canvas_scene.connection_items) == {"x-h", "h-out"}
    assert layer_item(view, "h").subtitle == "tanh · 4"
    assert len(connection_item(view, "x-h").links) == 8  # every pair of a 2 -> 4 dense connection


def test_big_layers_show_a_subset_and_big_connections_a_band(view, graph, stack):
    graph.add_layer(Layer("pixels", "input", (784,), position=(0, 400)))
    graph.add_layer(Layer("hidden", "neurons", (128,), position=(300, 400)))
    graph.connect("pixels", "hidden", connection_id="p-h")
    item = layer_item(view, "pixels")
    assert 0 < len(item.layout.neurons) < 20
    assert item.layout.gaps[0].text == "784"
    assert connection_item(view, "p-h").mode == "band"


def test_opening_another_design_redraws_everything(view, graph):
    other = Graph()
    other.add_layer(Layer("a", "input", (3,)))
    graph.replace(other)
    assert set(view.canvas_scene.layer_items) == {"a"}
    assert not view.canvas_scene.connection_items


# ---------------------------------------------------------------- palette drops
def test_a_palette_drop_creates_a_layer_where_it_was_dropped(view, graph, stack):
    assert drop(view, palette_item("neurons"), at(view, 222, 203))
    new = [layer for layer in graph.layers.values() if layer.id not in ("x", "h", "out")]
    assert len(new) == 1
    layer = new[0]
    assert (layer.kind, layer.shape, layer.activation) == ("neurons", (8,), "tanh")  # a hidden layer that learns
    assert layer.position == (220.0, 200.0)  # snapped to the 20 px grid
    assert layer.id in view.canvas_scene.layer_items
    assert view.selected_ids() == [layer.id]
    assert stack.undoText() == f"Add layer {layer.id}"
    stack.undo()
    assert layer.id not in view.canvas_scene.layer_items


@pytest.mark.parametrize("kind, shape", [("input", (2,)), ("lstm", (8,)), ("gru", (8,))])
def test_each_palette_kind_has_sensible_defaults(view, graph, kind, shape):
    assert drop(view, palette_item(kind), at(view, 600, 300))
    layer = list(graph.layers.values())[-1]
    assert (layer.kind, layer.shape) == (kind, shape)


def test_a_neuron_dropped_on_a_column_adds_a_unit_and_on_empty_canvas_makes_a_perceptron(view, graph, stack):
    h = layer_item(view, "h")
    assert drop(view, palette_item("neuron"), view.mapFromScene(h.sceneBoundingRect().center()))
    assert graph.layer("h").shape == (5,)
    assert len(layer_item(view, "h").layout.neurons) == 5
    assert stack.undoText() == "Change h: shape"
    assert drop(view, palette_item("neuron"), at(view, 200, 300))
    perceptron = list(graph.layers.values())[-1]
    assert (perceptron.kind, perceptron.shape, perceptron.activation) == ("neurons", (1,), "sigmoid")


def test_drops_of_other_things_are_left_to_the_window(view, graph):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile("/tmp/design.nnd")])
    assert not drop(view, data, at(view, 200, 300))
    assert not drop(view, palette_item("teapot"), at(view, 200, 300))
    assert set(graph.layers) == {"x", "h", "out"}


# ---------------------------------------------------------------- connecting
def test_dragging_from_a_port_to_a_layer_connects_them(view, graph, stack):
    graph.remove_connection("h-out")
    out = layer_item(view, "out")
    drag(view, port_of(view, "h"), view.mapFromScene(out.sceneBoundingRect().center()))
    assert [(c.source, c.target, c.connectivity.kind) for c in graph.connections.values()] == [
        ("x", "h", "dense"), ("h", "out", "dense")]
    assert stack.undoText() == "Connect h to out"
    assert not view.connection_preview().isVisible()
    stack.undo()
    assert len(graph.connections) == 1


def test_dropping_a_connection_on_empty_canvas_cancels_it(view, graph, stack):
    drag(view, port_of(view, "h"), at(view, 300, 250))
    assert set(graph.connections) == {"x-h", "h-out"}
    assert stack.count() == 0


def test_dragging_from_a_port_onto_its_own_layer_makes_a_recurrent_loop(view, graph):
    h = layer_item(view, "h")
    drag(view, port_of(view, "h"), view.mapFromScene(h.sceneBoundingRect().center()))
    loop = [c for c in graph.connections.values() if c.source == c.target == "h"]
    assert len(loop) == 1
    assert loop[0].id in graph.flow().recurrent
    assert connection_item(view, loop[0].id).mode == "loop"


def test_a_back_edge_is_drawn_as_a_loop(view, graph):
    graph.connect("out", "h", connection_id="back")
    assert connection_item(view, "back").mode == "loop"
    assert connection_item(view, "h-out").mode == "links"


def test_switching_to_a_local_3x3_window_draws_only_the_window(view, graph, stack):
    graph.update_layer("x", shape=(5, 5))
    graph.update_layer("h", shape=(3, 3))
    dense = connection_item(view, "x-h")
    assert len(dense.links) == 25 * 9
    stack.push(UpdateConnectionCommand(graph, "x-h", connectivity=Connectivity("local", (3, 3))))
    local = connection_item(view, "x-h")
    assert len(local.links) == 9 * 9
    for target in range(9):
        assert sum(1 for link in local.links if link.target == target) == 9
    # the first target neuron sees the top-left 3x3 corner of the 5x5 grid
    assert sorted(link.source for link in local.links if link.target == 0) == [0, 1, 2, 5, 6, 7, 10, 11, 12]


# ---------------------------------------------------------------- selecting and moving
def test_moving_a_layer_with_the_mouse_is_one_undo_step(view, graph, stack):
    h = layer_item(view, "h")
    start = view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10)))  # on the header
    drag(view, start, start + QPoint(67, 41), steps=8)
    assert graph.layer("h").position == (280.0, 40.0)  # 220 + 67 and 0 + 41, snapped to 20 px
    assert h.pos() == QPointF(280, 40)
    assert stack.count() == 1
    assert stack.undoText() == "Move layer h"
    stack.undo()
    assert graph.layer("h").position == (220.0, 0.0) and h.pos() == QPointF(220, 0)
    stack.redo()
    assert graph.layer("h").position == (280.0, 40.0)


def test_moving_a_layer_moves_its_links(view, graph, stack):
    h = layer_item(view, "h")
    start = view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10)))
    drag(view, start, start + QPoint(0, 100))
    assert h.pos() == QPointF(220, 100)
    item = connection_item(view, "x-h")
    for link in item.links:
        end = item.link_line(link).p2()
        centre = h.mapToScene(h.neuron_center(link.target))
        # every link still ends at the rim of its target neuron
        assert abs(np.hypot(end.x() - centre.x(), end.y() - centre.y()) - (h.layout.radius + 1)) < 0.01


def test_a_rubber_band_selects_layers_and_moving_them_moves_all(view, graph, stack):
    spy = []
    view.selection_changed.connect(lambda: spy.append(view.selected_ids()))
    drag(view, at(view, -100, -150), at(view, 300, 150))
    assert view.selected_ids() == ["x", "h", "x-h"]
    assert spy
    h = layer_item(view, "h")
    start = view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10)))
    drag(view, start, start + QPoint(40, 0))
    assert graph.layer("x").position == (40.0, 0.0) and graph.layer("h").position == (260.0, 0.0)
    assert stack.count() == 1 and stack.undoText() == "Move 2 layers"


def test_clicking_a_layer_selects_it_and_select_centres_on_it(view, graph):
    h = layer_item(view, "h")
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10))))
    assert view.selected_ids() == ["h"]
    view.select("h-out")
    assert view.selected_ids() == ["h-out"]
    view.select("out")
    center = view.mapToScene(view.viewport().rect().center())
    assert abs(center.x() - layer_item(view, "out").sceneBoundingRect().center().x()) < 2


def test_clicking_a_neuron_tells_the_window_which(view, qtbot):
    h = layer_item(view, "h")
    with qtbot.waitSignal(view.neuron_selected) as signal:
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         view.mapFromScene(h.mapToScene(h.neuron_center(2))))
    assert signal.args == ["h", 2]
    assert view.selected_neuron() == ("h", 2)
    assert view.selected_ids() == ["h"]
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 300, 250))
    assert view.selected_neuron() is None


# ---------------------------------------------------------------- deleting
def test_delete_and_undo_restore_a_layer_and_its_connections(view, graph, stack):
    view.select("h")
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert set(graph.layers) == {"x", "out"} and not graph.connections
    assert set(view.canvas_scene.layer_items) == {"x", "out"}
    assert not view.canvas_scene.connection_items
    stack.undo()
    assert set(graph.connections) == {"x-h", "h-out"}
    assert set(view.canvas_scene.connection_items) == {"x-h", "h-out"}
    assert connection_item(view, "x-h").target_item is layer_item(view, "h")


# ---------------------------------------------------------------- links
def test_clicking_a_link_switches_it_off_and_undo_switches_it_on(view, graph, stack):
    item = connection_item(view, "h-out")
    link = next(link for link in item.links if link.source == 0)
    middle = view.mapFromScene(item.link_line(link).center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    assert graph.connection("h-out").disabled == [(0, 0)]
    drawn = connection_item(view, "h-out")
    off = next(link for link in drawn.links if (link.target, link.source) == (0, 0))
    assert not off.enabled and drawn.link_pen(off).style() == Qt.PenStyle.DashLine
    assert stack.undoText() == "Disable link h[0] → out[0]"
    stack.undo()
    on = next(link for link in connection_item(view, "h-out").links if (link.target, link.source) == (0, 0))
    assert on.enabled and connection_item(view, "h-out").link_pen(on).style() == Qt.PenStyle.SolidLine


def test_weights_colour_links_by_sign_and_show_in_tooltips(view):
    w = np.array([[0.532, -0.25]] * 4)  # x-h: 4 targets x 2 sources
    view.set_weights({"x-h.weight": w, "h-out.weight": np.array([[1.0, -2.0, 0.5, 0.1]])})
    item = connection_item(view, "x-h")
    positive = next(link for link in item.links if (link.target, link.source) == (3, 0))
    negative = next(link for link in item.links if link.source == 1)
    assert item.link_text(positive) == "x[0] → h[3]: w = 0.532"
    pos_colour, neg_colour = item.link_pen(positive).color(), item.link_pen(negative).color()
    assert pos_colour.red() > pos_colour.blue() and neg_colour.blue() > neg_colour.red()
    assert item.link_pen(positive).widthF() > item.link_pen(negative).widthF()
    view.set_weights(None)
    assert item.link_pen(positive).color() == item.link_pen(negative).color()


def test_new_weights_repaint_only_links_whose_look_changes_and_tooltips_stay_exact(view, qtbot):
    w = np.array([[0.532, -0.25]] * 4)
    view.set_weights({"x-h.weight": w})
    item = connection_item(view, "x-h")
    link = next(link for link in item.links if (link.target, link.source) == (3, 0))
    drawn = view.viewport().grab().toImage()
    # a change too small to alter any colour or width: nothing is repainted, the tooltip is current
    assert not item.set_weights(w + 1e-4)
    assert item.link_text(link) == "x[0] → h[3]: w = 0.532"
    assert not item.set_weights(w * 1.001)
    # a sign flip recolours the link on screen
    flipped = w.copy()
    flipped[3, 0] = -0.532
    assert item.set_weights(flipped)
    assert item.link_pen(link).color().blue() > item.link_pen(link).color().red()
    qtbot.waitUntil(lambda: view.viewport().grab().toImage() != drawn)


# ---------------------------------------------------------------- problems, read-only, zoom
def test_problem_ids_outline_layers_and_connections_in_red(view):
    view.set_problem_ids({"h", "h-out"})
    assert layer_item(view, "h").problem and connection_item(view, "h-out").problem
    assert not layer_item(view, "x").problem
    image = view.grab().toImage()
    h = layer_item(view, "h")
    edge = view.mapFromScene(h.mapToScene(QPointF(0, h.frame.top())))
    reds = [image.pixelColor(edge.x(), edge.y() + dy) for dy in (-1, 0, 1)]
    assert any(c.red() > 180 and c.green() < 100 for c in reds)
    view.set_problem_ids(set())
    assert not layer_item(view, "h").problem


def test_read_only_locks_edits_and_says_so(view, graph, stack):
    view.set_read_only(True)
    banner = view.findChild(QLabel, "canvas_banner")
    assert banner.isVisible() and "locked" in banner.text()
    h = layer_item(view, "h")
    start = view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10)))
    drag(view, start, start + QPoint(80, 0))
    assert not drop(view, palette_item("neurons"), at(view, 200, 300))
    item = connection_item(view, "h-out")
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(item.link_line(item.links[0]).center()))
    drag(view, port_of(view, "out"), view.mapFromScene(layer_item(view, "x").sceneBoundingRect().center()))
    view.select("h")
    view.delete_selected()
    assert graph.layer("h").position == (220.0, 0.0) and "h" in graph.layers
    assert not graph.connection("h-out").disabled and len(graph.connections) == 2
    assert stack.count() == 0
    view.set_read_only(False)
    assert not banner.isVisible()


def test_wheel_zooms_out_to_low_detail(view):
    vp = view.viewport()
    pos = at(view, 220, 0)
    for _ in range(6):
        wheel = QWheelEvent(QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(vp, wheel)
    assert view.zoom() < 0.45
    under = view.mapToScene(pos)
    assert abs(under.x() - 220) < 3 and abs(under.y()) < 3  # zoomed around the cursor
    view.grab()
    assert layer_item(view, "h").painted_detail == "low"
    assert connection_item(view, "x-h").painted_detail == "band"
    view.set_zoom(1.0)
    view.grab()
    assert layer_item(view, "h").painted_detail == "high"
    assert connection_item(view, "x-h").painted_detail == "links"


def test_middle_button_drag_pans(view):
    before = view.mapToScene(view.viewport().rect().center())
    drag(view, QPoint(400, 300), QPoint(300, 250), button=Qt.MouseButton.MiddleButton)
    after = view.mapToScene(view.viewport().rect().center())
    assert abs((after.x() - before.x()) - 100) < 2 and abs((after.y() - before.y()) - 50) < 2


def test_fit_shows_the_whole_design(view, graph):
    graph.add_layer(Layer("far", "neurons", (3,), position=(3000, 2000)))
    view.fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.canvas_scene.layer_items.values():
        assert visible.contains(item.sceneBoundingRect())


def test_space_and_drag_pans(view):
    before = view.mapToScene(view.viewport().rect().center())
    QTest.keyPress(view.viewport(), Qt.Key.Key_Space)
    drag(view, QPoint(400, 300), QPoint(460, 300))
    QTest.keyRelease(view.viewport(), Qt.Key.Key_Space)
    after = view.mapToScene(view.viewport().rect().center())
    assert abs((after.x() - before.x()) + 60) < 2
    assert view.graph.layer("h").position == (220.0, 0.0)  # nothing moved but the view


def test_backspace_deletes_and_arrows_nudge_by_a_grid_step(view, graph, stack):
    view.select("out")
    QTest.keyClick(view.viewport(), Qt.Key.Key_Right)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Right)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Down)
    assert graph.layer("out").position == (480.0, 20.0)
    assert stack.count() == 1
    QTest.keyClick(view.viewport(), Qt.Key.Key_Backspace)
    assert "out" not in graph.layers and "h-out" not in graph.connections
    stack.undo()
    stack.undo()
    assert graph.layer("out").position == (440.0, 0.0) and "h-out" in graph.connections


def test_hovering_a_link_highlights_it_and_shows_its_weight(view):
    view.set_weights({"h-out.weight": np.array([[0.1, -0.75, 0.2, 0.3]])})
    item = connection_item(view, "h-out")
    index = next(i for i, link in enumerate(item.links) if link.source == 1)
    QTest.mouseMove(view.viewport(), view.mapFromScene(item.link_line(item.links[index]).center()))
    assert item.hovered_link is item.links[index]
    assert item.toolTip() == "h[1] → out[0]: w = -0.750"
    other = next(link for link in item.links if link.source == 3)  # w = 0.3, not hovered
    assert item.link_pen(item.links[index]).color() == style.HOVER
    assert item.link_pen(other).color() != style.HOVER


def test_select_all_selects_layers_and_connections(view):
    told = []
    view.selection_changed.connect(lambda: told.append(view.selected_ids()))
    view.select_all()
    assert view.selected_ids() == ["x", "h", "out", "x-h", "h-out"]
    assert told == [["x", "h", "out", "x-h", "h-out"]]  # the inspector rebuilds once


def test_a_closed_canvas_stops_following_the_graph(qtbot, graph, stack):
    view = CanvasView(graph, stack)
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # a scene still listening would now fail on its deleted C++ side ("already deleted")
    graph.add_layer(Layer("later", "neurons", (2,)))
    graph.connect("h", "later")
    graph.move_layer("later", (100, 100))
    graph.remove_layer("h")
    graph.replace(Graph())


def test_local_links_take_their_weights_from_the_kernel(view, graph):
    graph.update_layer("x", shape=(4, 4))
    graph.update_layer("h", shape=(2, 2))
    graph.update_connection("x-h", connectivity=Connectivity("local", (3, 3), shared=True))
    kernel = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3) - 4.0  # documented: [out, in, *window]
    view.set_weights({"x-h.weight": kernel})
    item = connection_item(view, "x-h")
    # target neuron 3 sits at (1, 1); source 15 at (3, 3) is its window's bottom-right tap (2, 2)
    corner = next(link for link in item.links if (link.target, link.source) == (3, 15))
    assert corner.weight == 4.0
    assert item.link_text(corner) == "x[15] → h[3]: w = 4.000"
    unshared = np.zeros((2, 2, 1, 3, 3), dtype=np.float32)  # documented: [*target_shape, in, *window]
    unshared[0, 1, 0, 0, 2] = -1.5  # target (0, 1) = neuron 1, tap (0, 2) = source (0, 3) = 3
    graph.update_connection("x-h", connectivity=Connectivity("local", (3, 3)))
    view.set_weights({"x-h.weight": unshared})
    item = connection_item(view, "x-h")
    assert next(link for link in item.links if (link.target, link.source) == (1, 3)).weight == -1.5
    assert {link.weight for link in item.links if (link.target, link.source) != (1, 3)} == {0.0}


def test_a_window_that_does_not_fit_the_target_is_still_drawn(view, graph):
    graph.update_layer("x", shape=(5, 5))
    graph.update_layer("h", shape=(2, 2))  # a 3x3 window on 5x5 makes 3x3, not 2x2
    graph.update_connection("x-h", connectivity=Connectivity("local", (3, 3)))
    assert connection_item(view, "x-h").mode == "band"


def test_a_file_connection_to_a_missing_layer_appears_once_the_layer_does(view, graph):
    other = Graph.from_dict({"layers": [{"id": "a", "kind": "input", "shape": [2]}],
                             "connections": [{"id": "a-b", "source": "a", "target": "b"}]})
    graph.replace(other)
    assert "a-b" not in view.canvas_scene.connection_items
    graph.add_layer(Layer("b", "neurons", (2,), position=(200, 0)))
    assert connection_item(view, "a-b").target_item is layer_item(view, "b")


def test_a_palette_drag_shows_where_the_layer_will_land(view, graph):
    vp = view.viewport()
    data = palette_item("lstm")
    pos = at(view, 305, 207)
    args = (Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, QDragEnterEvent(pos, *args))
    QApplication.sendEvent(vp, QDragMoveEvent(pos, *args))
    ghost = view.drop_preview()
    assert ghost is not None and ghost.scene() is view.scene()
    assert ghost.pos() == QPointF(300, 200) and ghost.layer.kind == "lstm"
    QApplication.sendEvent(vp, QDropEvent(QPointF(pos), *args))
    assert view.drop_preview() is None and ghost.scene() is None
    assert list(graph.layers.values())[-1].position == (300.0, 200.0)


def test_nothing_connects_into_an_input_layer(view, graph, stack):
    x = layer_item(view, "x")
    drag(view, port_of(view, "out"), view.mapFromScene(x.sceneBoundingRect().center()))
    assert set(graph.connections) == {"x-h", "h-out"} and stack.count() == 0
    assert not x.problem  # the red "refused" mark goes with the mouse


def test_trained_biases_tint_neurons_and_show_on_hover(view):
    view.set_weights({"h.bias": np.array([0.5, -0.25, 0.0, 1.0])})
    h = layer_item(view, "h")
    QTest.mouseMove(view.viewport(), view.mapFromScene(h.mapToScene(h.neuron_center(1))))
    assert h.toolTip() == "h[1]: b = -0.250"
    image = view.grab().toImage()
    positive = image.pixelColor(view.mapFromScene(h.mapToScene(h.neuron_center(3) + QPointF(3, 3))))
    negative = image.pixelColor(view.mapFromScene(h.mapToScene(h.neuron_center(1) + QPointF(3, 3))))
    assert positive.red() > positive.blue() and negative.blue() > negative.red()
    view.set_weights(None)
    QTest.mouseMove(view.viewport(), view.mapFromScene(h.mapToScene(h.neuron_center(1) + QPointF(0, 1))))
    assert h.toolTip() == "h[1]"


def test_a_connection_says_what_it_is_on_hover(view, graph):
    graph.add_layer(Layer("pixels", "input", (28, 28), position=(0, 400)))
    graph.add_layer(Layer("features", "neurons", (26, 26), position=(300, 400)))
    graph.connect("pixels", "features", Connectivity("local", 3), connection_id="conv")
    item = connection_item(view, "conv")
    assert item.mode == "band"
    assert item.summary_text() == "conv: local, pixels → features (3×3 local), 6,084 weights"
    graph.update_connection("conv", disabled=[(0, 0), (0, 1)])
    view.set_weights({"conv.weight": np.full((26, 26, 1, 3, 3), 0.25)})
    assert connection_item(view, "conv").summary_text().endswith("2 links switched off, mean w = 0.250")


def test_a_canvas_made_for_an_existing_design_shows_all_of_it(qtbot, graph, stack):
    graph.add_layer(Layer("far", "neurons", (3,), position=(2400, 1600)))
    view = CanvasView(graph, stack)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in view.canvas_scene.layer_items.values())


def test_escape_during_a_drag_puts_the_layers_back(view, graph, stack):
    h = layer_item(view, "h")
    vp = view.viewport()
    start = view.mapFromScene(h.mapToScene(h.frame.topLeft() + QPointF(30, 10)))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(60, 60))
    assert graph.layer("h").position == (280.0, 60.0)
    QTest.keyClick(vp, Qt.Key.Key_Escape)
    QTest.mouseMove(vp, start + QPoint(100, 60))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(100, 60))
    assert graph.layer("h").position == (220.0, 0.0)
    assert not stack.canUndo() and not stack.canRedo()


def test_a_long_label_is_shortened_on_the_card_but_whole_in_the_tooltip(view, graph):
    graph.update_layer("h", label="a hidden layer with a very long descriptive name indeed")
    h = layer_item(view, "h")
    assert h.title.endswith("…") and len(h.title) < 40
    assert h.frame.width() < 240
    assert "a hidden layer with a very long descriptive name indeed" in h.toolTip()


def test_zoomed_out_a_click_on_a_connection_selects_it_without_switching_links(view, graph, stack):
    view.set_zoom(0.3)
    view.centerOn(220, 0)
    view.grab()
    item = connection_item(view, "h-out")
    assert item.painted_detail == "band"
    point = item.link_line(item.links[0]).center()
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(point))
    assert view.selected_ids() == ["h-out"]
    assert not graph.connection("h-out").disabled and stack.count() == 0

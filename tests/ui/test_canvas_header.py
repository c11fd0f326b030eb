"""A card's name and subtitle stay readable where many links end on a small card (the spiral's "arm")."""
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtTest import QTest

from designer.project import read_project
from designer.ui.canvas import CanvasView
from designer.ui.canvas.layer_item import LayerHeader

SPIRAL = Path(__file__).resolve().parents[2] / "resources" / "examples" / "spiral.nnd"


@pytest.fixture
def spiral(qtbot):
    """The spiral example on a shown canvas at 100 %, with trained-looking weights (links coloured and thick)."""
    graph = read_project(SPIRAL).graph
    view = CanvasView(graph, QUndoStack())
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    view.resetTransform()
    view.centerOn(440, 0)
    rng = np.random.default_rng(3)
    weights = {f"{c.id}.weight": rng.normal(0, 1, (graph.layer(c.target).units, graph.layer(c.source).units))
               for c in graph.connections.values()}
    view.set_weights(weights)
    return view


def header_on_screen(view, layer_id: str) -> QRect:
    item = view.canvas_scene.layer_items[layer_id]
    return view.mapFromScene(item.mapToScene(item.header_rect())).boundingRect().adjusted(2, 2, -2, -2)


def a_link_under_the_name(view) -> QPointF:
    """A scene point in the output card's header that a link into the card passes through."""
    card = view.canvas_scene.layer_items["out"]
    links = view.canvas_scene.connection_items["h2-out"]
    rect = card.header_rect()
    return next(p for p in (card.mapToScene(QPointF(x, y))
                            for x in np.arange(rect.left() + 4, rect.right(), 2.0)
                            for y in np.arange(rect.top() + 4, rect.bottom() - 2, 2.0))
                if links.link_at(p, 2.0) is not None)


def test_links_into_the_output_card_leave_its_name_and_subtitle_untouched(spiral, qtbot):
    view = spiral
    region = header_on_screen(view, "out")
    a_link_under_the_name(view)  # links do cross it (else this test would show nothing)
    connections = list(view.canvas_scene.connection_items.values())
    with_links = view.viewport().grab(region).toImage()
    for item in connections:
        item.setVisible(False)
    qtbot.wait(10)
    without_links = view.viewport().grab(region).toImage()
    assert with_links == without_links  # not one pixel of a link over "arm" / "sigmoid · 1"
    dark = sum(QColor(without_links.pixel(x, y)).lightness() < 110
               for x in range(without_links.width()) for y in range(without_links.height()))
    assert dark > 40  # the name is drawn there


def test_a_press_on_the_name_selects_and_drags_the_card_rather_than_switching_off_the_link_under_it(spiral):
    view = spiral
    card = view.canvas_scene.layer_items["out"]
    start = view.mapFromScene(a_link_under_the_name(view))
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(vp, start + QPointF(0, 12 * step).toPoint())
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPointF(0, 60).toPoint())
    assert view.selected_ids() == ["out"]
    assert view.graph.connection("h2-out").disabled == []
    assert view.graph.layer("out").position[1] > 40
    assert card.header.pos() == card.pos()  # the name moved with its card


def test_the_header_is_above_every_link_and_goes_with_its_card(spiral):
    view = spiral
    scene = view.canvas_scene
    headers = [item for item in scene.items() if isinstance(item, LayerHeader)]
    assert {h.card.item_id for h in headers} == set(view.graph.layers)
    assert min(h.zValue() for h in headers) > max(c.zValue() for c in scene.connection_items.values())
    view.select("out")
    view.delete_selected()
    assert "out" not in {h.card.item_id for h in scene.items() if isinstance(h, LayerHeader)}
    view.undo_stack.undo()
    assert scene.layer_items["out"].header.scene() is scene

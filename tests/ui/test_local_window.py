"""A neuron fed by a local connection, clicked on the canvas: its window is outlined on the source layer.

The shapes example: image 16x16 -> edges 6x14x14 -> parts 8x6x6, through 3x3 windows (stride 1, then
stride 2). Clicks are real mouse clicks on the canvas of the real main window, off-screen; what is
checked is what a person sees: which neurons of the source lie inside the outline, and what the
inspector says the neuron weighs.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from designer.graph import Connectivity, local_links


@pytest.fixture
def window(example_window):
    return example_window("shapes-local")


def item(window, layer_id):
    return window.canvas.canvas_scene.layer_items[layer_id]


def click_neuron(window, layer_id: str, index: int) -> None:
    card = item(window, layer_id)
    canvas = window.canvas
    canvas.centerOn(card)  # the neuron in view, wherever the window's size put the design
    point = canvas.mapFromScene(card.mapToScene(card.neuron_center(index)))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def window_of(window, connection_id: str, index: int) -> set[int]:
    """The source neurons that target neuron ``index`` reads, as the graph lists the links."""
    graph = window.project.graph
    conn = graph.connections[connection_id]
    links = local_links(graph.layers[conn.source].shape, graph.layers[conn.target].shape, conn.connectivity)
    return {s for t, s in links if t == index}


def outlined(card) -> set[int]:
    """The drawn neurons of a card that lie inside one of its window outlines."""
    rects = card.window_rects()
    return {i for i in card.layout.neurons if any(r.contains(card.neuron_center(i)) for r in rects)}


def drawn_window(card, expected: set[int]) -> set[int]:
    return {i for i in card.layout.neurons if i in expected}


def colour_between(window, card, a: int, b: int):
    """The colour on screen half-way between two neurons of a card (the card's face, or a window's tint)."""
    canvas = window.canvas
    middle = (card.neuron_center(a) + card.neuron_center(b)) / 2
    return canvas.viewport().grab().toImage().pixelColor(canvas.mapFromScene(card.mapToScene(middle)))


# parts' channel 0 is drawn (the other 7 are the stack behind it): neurons at (0, 0), (1, 2), (5, 5);
# on edges (14x14, drawn as rows and columns 0-3, dots, 12-13) their windows lie in the drawn corner,
# across the dots, and across the dots into the last rows and columns
@pytest.mark.parametrize("index", [0, 1 * 6 + 2, 5 * 6 + 5])
def test_clicking_a_parts_neuron_outlines_its_window_on_edges_and_says_what_it_weighs(qtbot, window, index):
    click_neuron(window, "parts", index)
    assert window.canvas.selected_neuron() == ("parts", index)
    edges = item(window, "edges")
    expected = window_of(window, "edges-parts", index)
    assert len(expected) == 6 * 9  # 3x3 positions on every one of the 6 channels
    assert edges.window_positions() == expected
    # on the card: the outline holds exactly the window's neurons that are drawn (channel 0 is, the
    # others are the stack behind it), and it is drawn
    assert edges.window_rects()
    assert outlined(edges) == drawn_window(edges, expected)
    assert not item(window, "image").window_rects() and not item(window, "parts").window_rects()
    # under the card, in words, which rows and columns (a window among the dots is only an outline on them)
    row, col = divmod(index, 6)
    assert f"rows {2 * row}–{2 * row + 2} · cols {2 * col}–{2 * col + 2}" in edges.window_caption()
    text = window.inspector.neuron_page.text()
    assert "6 channels × 3×3 = 54 weights" in text

    # another neuron: the outline moves with it; an edges neuron's window is on the image, 9 weights
    click_neuron(window, "edges", 3 * 14 + 1)
    assert not edges.window_rects() and edges.window_positions() == frozenset()
    image = item(window, "image")
    expected = window_of(window, "image-edges", 3 * 14 + 1)
    assert image.window_positions() == expected and len(expected) == 9
    assert outlined(image) == drawn_window(image, expected)
    assert "3×3 = 9 weights" in window.inspector.neuron_page.text()
    # on screen: the face between two of the window's neurons (row 3, columns 1 and 2) is tinted blue
    tinted = colour_between(window, image, 3 * 16 + 1, 3 * 16 + 2)
    assert tinted.blue() > tinted.red() + 12

    # a click on empty canvas clears the selection: no outline anywhere
    canvas = window.canvas
    empty = canvas.mapFromScene(image.sceneBoundingRect().bottomLeft() + QPointF(-80, 120))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, empty)
    assert canvas.selected_neuron() is None
    assert all(not card.window_rects() for card in canvas.canvas_scene.layer_items.values())
    plain = colour_between(window, image, 3 * 16 + 1, 3 * 16 + 2)
    assert plain.blue() - plain.red() < 5  # the card's plain face again


def test_the_outline_follows_an_edit_of_the_window_and_the_trained_weights_are_listed(qtbot, window):
    click_neuron(window, "parts", 0)
    graph = window.project.graph
    # a 5x5 window at stride 2 on edges' 14x14 grid makes (14 - 5) // 2 + 1 = 5 positions a side
    graph.update_layer("parts", shape=(8, 5, 5))
    graph.update_connection("edges-parts", connectivity=Connectivity("local", (5, 5), stride=2, shared=True))
    edges = item(window, "edges")
    expected = window_of(window, "edges-parts", 0)
    assert len(expected) == 6 * 25 and edges.window_positions() == expected
    assert outlined(edges) == drawn_window(edges, expected)

    # trained (here: chosen) weights: the neuron's own 6 x 5 x 5 kernel, one row per source neuron
    kernel = np.arange(8 * 6 * 5 * 5, dtype=np.float32).reshape(8, 6, 5, 5)
    window.inspector.set_weights({"edges-parts.weight": kernel})
    click_neuron(window, "parts", 1)  # channel 0, position (0, 1): kernel[0], its window from column 2
    rows = window.inspector.neuron_weights.values()
    assert len(rows) == 150
    # edges neuron 196 * 2 + 14 * 3 + 4 is channel 2, row 3, column 4: tap (3, 2) of channel 2
    assert dict(rows)[f"{graph.layers['edges'].name}[{196 * 2 + 14 * 3 + 4}]"] == f"{kernel[0, 2, 3, 2]:+.4g}"
    assert "6 channels × 5×5 = 150 weights" in window.inspector.neuron_weights.title.text()

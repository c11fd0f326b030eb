"""The inspector on its own: fields show the selected item, edits are undoable, undo shows up in the fields."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from designer.graph import Graph, Layer
from designer.ui.commands import RemoveItemsCommand, UpdateLayerCommand
from designer.ui.inspector import InputError, Inspector, parse_ints


@pytest.fixture
def setup(qtbot):
    g = Graph()
    g.add_layer(Layer("x", "input", (6, 6), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (3, 4), activation="relu", label="hidden", position=(200, 0)))
    g.connect("x", "h", connection_id="x-h")
    stack = QUndoStack()
    inspector = Inspector(g, stack)
    qtbot.addWidget(inspector)
    inspector.show()
    return g, stack, inspector


def type_into(qtbot, field, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_the_fields_show_the_selected_layer(setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    assert inspector.layer_id.text() == "h" and inspector.layer_id.isReadOnly()
    assert inspector.label.text() == "hidden"
    assert inspector.kind.currentData() == "neurons"
    assert inspector.shape.text() == "3, 4"
    assert inspector.activation.currentData() == "relu" and inspector.activation.isVisible()
    assert inspector.bias.isChecked()
    assert inspector.subtitle.text().startswith("12 neurons · ")
    inspector.show_selection(["x"])
    assert not inspector.activation.isVisible() and not inspector.bias.isVisible()
    inspector.show_selection(["x", "h"])
    assert inspector.title.text() == "2 items selected"


def test_a_label_edit_is_undoable_and_undo_shows_in_the_field(qtbot, setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    type_into(qtbot, inspector.label, "features")
    assert g.layer("h").label == "features"
    stack.undo()
    assert g.layer("h").label == "hidden" and inspector.label.text() == "hidden"
    stack.redo()
    assert inspector.label.text() == "features"


def test_bias_and_kind(qtbot, setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    qtbot.mouseClick(inspector.bias, Qt.MouseButton.LeftButton, pos=inspector.bias.rect().center())
    assert g.layer("h").bias is False
    inspector.kind.setFocus()
    qtbot.keyClicks(inspector.kind, "G")
    assert g.layer("h").kind == "gru"
    assert not inspector.activation.isVisible()
    assert stack.count() == 2
    stack.undo()
    assert g.layer("h").kind == "neurons" and inspector.activation.isVisible()


def test_a_shape_that_cannot_be_leaves_the_layer_and_says_what_to_type(qtbot, setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    for text in ("", "a, b", "0", "1, 2, 3, 4", "-3"):
        type_into(qtbot, inspector.shape, text)
        assert g.layer("h").shape == (3, 4), text
        assert inspector.shape_error.isVisible() and "28, 28" in inspector.shape_error.text()
    assert stack.count() == 0
    type_into(qtbot, inspector.shape, "2x5")
    assert g.layer("h").shape == (2, 5) and not inspector.shape_error.isVisible()
    assert inspector.shape.text() == "2, 5"


def test_changes_made_elsewhere_show_up_and_a_removed_item_clears_the_inspector(setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    stack.push(UpdateLayerCommand(g, "h", activation="sigmoid", shape=(5,)))
    assert inspector.activation.currentData() == "sigmoid" and inspector.shape.text() == "5"
    stack.push(RemoveItemsCommand(g, ["h"], []))
    assert inspector.item_id is None and inspector.subtitle.text() == "Nothing selected"
    stack.undo()
    inspector.show_selection(["h"])
    assert inspector.shape.text() == "5"


def test_arrowing_through_activations_is_one_undo_step(qtbot, setup):
    g, stack, inspector = setup
    inspector.show_selection(["h"])
    inspector.activation.setFocus()
    for _ in range(2):
        qtbot.keyClick(inspector.activation, Qt.Key.Key_Down)
    assert g.layer("h").activation == "elu"  # relu -> leaky_relu -> elu
    assert stack.count() == 1
    stack.undo()
    assert g.layer("h").activation == "relu"


def test_a_connection_window_that_cannot_be_is_explained(qtbot, setup):
    g, stack, inspector = setup
    inspector.show_selection(["x-h"])
    inspector.connectivity.setFocus()
    qtbot.keyClicks(inspector.connectivity, "L")
    assert g.layer("h").shape == (4, 4)  # 6x6 through 3x3
    type_into(qtbot, inspector.window, "three")
    assert inspector.window_error.isVisible() and "“28, 28”" in inspector.window_error.text()
    type_into(qtbot, inspector.window, "9")  # larger than the grid: applied, and left to validation
    assert g.connection("x-h").connectivity.window == (9,)
    assert g.layer("h").shape == (4, 4)  # no grid fits: the target keeps its shape


def test_a_neuron_shows_where_it_sits(setup):
    g, stack, inspector = setup
    inspector.show_neuron("h", 5)
    assert inspector.title.text() == "Neuron 5 of “hidden”"
    assert inspector.subtitle.text() == "index 5 of 12 (row 1, column 1)"
    assert "x-h" in inspector.neuron_page.text()


def test_parse_ints():
    assert parse_ints("28, 28", "The shape") == (28, 28)
    assert parse_ints(" 3 x 8 x 8 ", "The shape") == (3, 8, 8)
    assert parse_ints("28,,", "The shape") == (28,)
    with pytest.raises(InputError, match="The shape takes 1 to 3 whole numbers"):
        parse_ints("0", "The shape")
    with pytest.raises(InputError, match="The window takes one number"):
        parse_ints("3, 3", "The window", max_dims=1)

"""Undo commands change the graph, undo puts it back exactly, and a drag is one undo step."""
import pytest

from designer.graph import Connection, Connectivity, GraphError, Layer
from designer.ui.commands import (AddConnectionCommand, AddLayerCommand, MoveLayersCommand, RemoveItemsCommand,
                                  ToggleLinkCommand, UpdateConnectionCommand, UpdateLayerCommand)


def test_add_layer_and_undo(graph, stack):
    stack.push(AddLayerCommand(graph, Layer("h2", "neurons", (3,))))
    assert "h2" in graph.layers
    assert stack.undoText() == "Add layer h2"
    stack.undo()
    assert "h2" not in graph.layers
    stack.redo()
    assert graph.layer("h2").shape == (3,)


def test_add_layer_with_used_id_fails_before_touching_the_stack(graph, stack):
    with pytest.raises(GraphError, match="'h' is already used"):
        AddLayerCommand(graph, Layer("h"))


def test_connect_text_and_undo(graph, stack):
    stack.push(AddConnectionCommand(graph, Connection("h-h", "h", "h")))
    assert stack.undoText() == "Connect h to h"
    assert "h-h" in graph.flow().recurrent
    stack.undo()
    assert "h-h" not in graph.connections


def _by_id(graph):
    d = graph.to_dict()
    return {item["id"]: item for item in d["layers"] + d["connections"]}


def test_delete_restores_layers_and_their_connections(graph, stack):
    before = _by_id(graph)
    stack.push(RemoveItemsCommand(graph, ["h"], ["x-h"]))
    assert stack.undoText() == "Delete 2 items"
    assert set(graph.layers) == {"x", "out"} and not graph.connections
    stack.undo()
    assert _by_id(graph) == before
    stack.redo()
    assert not graph.connections


def test_undo_of_a_delete_restores_the_drawing_order(graph, stack):
    """The order decides which connection of a cycle loops back; undo must not change it."""
    graph.connect("out", "h")  # closes a cycle: h -> out -> h
    before = graph.to_dict()
    recurrent = set(graph.flow().recurrent)
    stack.push(RemoveItemsCommand(graph, ["x"], ["h-out"]))
    stack.undo()
    assert graph.to_dict() == before
    assert graph.flow().recurrent == recurrent


def test_moves_of_one_drag_merge_into_one_step(graph, stack):
    stack.push(MoveLayersCommand(graph, {"h": ((220, 0), (240, 0)), "x": ((0, 0), (20, 0))}, drag_id=1))
    stack.push(MoveLayersCommand(graph, {"h": ((240, 0), (260, 20)), "x": ((20, 0), (40, 20))}, drag_id=1))
    assert stack.count() == 1
    assert stack.undoText() == "Move 2 layers"
    assert graph.layer("h").position == (260, 20)
    stack.undo()
    assert graph.layer("h").position == (220, 0) and graph.layer("x").position == (0, 0)
    stack.push(MoveLayersCommand(graph, {"h": ((220, 0), (300, 0))}, drag_id=2))
    stack.push(MoveLayersCommand(graph, {"h": ((300, 0), (320, 0))}, drag_id=3))
    assert stack.count() == 2


def test_a_drag_back_to_the_start_leaves_no_step(graph, stack):
    stack.push(MoveLayersCommand(graph, {"h": ((220, 0), (240, 0))}, drag_id=7))
    stack.push(MoveLayersCommand(graph, {"h": ((240, 0), (220, 0))}, drag_id=7))
    assert stack.count() == 0
    assert graph.layer("h").position == (220, 0)


def test_update_layer_names_the_field_and_undoes(graph, stack):
    stack.push(UpdateLayerCommand(graph, "h", activation="relu", shape=[5]))
    assert stack.undoText() == "Change h: activation, shape"
    assert graph.layer("h").shape == (5,)
    stack.undo()
    assert graph.layer("h").activation == "tanh" and graph.layer("h").shape == (4,)


def test_update_layer_with_a_bad_value_fails_in_the_caller(graph):
    with pytest.raises(GraphError, match="shape"):
        UpdateLayerCommand(graph, "h", shape=[0])
    with pytest.raises(GraphError, match="no field 'colour'"):
        UpdateLayerCommand(graph, "h", colour="red")


def test_update_connection_and_toggle_link(graph, stack):
    graph.update_layer("x", shape=(5, 5))
    graph.update_layer("h", shape=(3, 3))
    stack.push(UpdateConnectionCommand(graph, "x-h", connectivity=Connectivity("local", (3, 3))))
    assert graph.connection("x-h").connectivity.kind == "local"
    stack.push(ToggleLinkCommand(graph, "x-h", 0, 1))
    assert stack.undoText() == "Disable link x[1] → h[0]"
    assert graph.connection("x-h").disabled == [(0, 1)]
    stack.undo()
    assert graph.connection("x-h").disabled == []
    stack.undo()
    assert graph.connection("x-h").connectivity.kind == "dense"


def test_toggle_link_outside_the_layers_fails(graph):
    with pytest.raises(GraphError, match="has no link"):
        ToggleLinkCommand(graph, "x-h", 9, 0)

"""Changing a design: each operation changes the model, emits its events in order, and gives undo what it needs."""
import pytest

from designer.graph import Connection, Connectivity, Graph, GraphError, Layer

EVENT_NAMES = ("layer_added", "layer_removed", "layer_changed", "connection_added", "connection_removed",
               "connection_changed", "reset", "changed")


class Recorder:
    """Every event a graph emits, as ``(name, id or None, changed names or None)``."""

    def __init__(self, graph: Graph) -> None:
        self.events: list[tuple] = []
        for name in EVENT_NAMES:
            getattr(graph.events, name).connect(getattr(self, "on_" + name))

    def _record(self, name, item=None, names=None):
        self.events.append((name, getattr(item, "id", None), frozenset(names) if names else None))

    def __getattr__(self, attr):
        if attr.startswith("on_"):
            return lambda *args: self._record(attr[3:], *args)
        raise AttributeError(attr)

    def take(self) -> list[tuple]:
        events, self.events = self.events, []
        return events


@pytest.fixture
def graph():
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h", "neurons", (3,), "tanh"))
    graph.add_layer(Layer("out", "neurons", (1,), "sigmoid"))
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "out", connection_id="h-out")
    return graph


def test_adding_emits_added_then_changed():
    graph = Graph()
    events = Recorder(graph)
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h"))
    conn = graph.connect("x", "h")
    assert conn.id == "x-h" and conn.connectivity.kind == "dense"
    assert events.take() == [("layer_added", "x", None), ("changed", None, None),
                             ("layer_added", "h", None), ("changed", None, None),
                             ("connection_added", "x-h", None), ("changed", None, None)]
    assert list(graph.layers) == ["x", "h"] and list(graph.connections) == ["x-h"]


def test_remove_layer_removes_and_returns_its_connections(graph):
    graph.connect("out", "h", connection_id="loop")
    events = Recorder(graph)
    layer, removed = graph.remove_layer("h")
    assert layer.id == "h"
    assert [c.id for c in removed] == ["x-h", "h-out", "loop"]
    assert events.take() == [("connection_removed", "x-h", None), ("connection_removed", "h-out", None),
                             ("connection_removed", "loop", None), ("layer_removed", "h", None),
                             ("changed", None, None)]
    assert list(graph.layers) == ["x", "out"] and graph.connections == {}
    # undo: put them back as they were
    graph.add_layer(layer)
    for conn in removed:
        graph.add_connection(conn)
    assert sorted(graph.connections) == ["h-out", "loop", "x-h"]


def test_update_layer_returns_the_old_values_for_undo(graph):
    events = Recorder(graph)
    old = graph.update_layer("h", activation="relu", shape=[2, 3], label="hidden")
    assert old == {"activation": "tanh", "shape": (3,), "label": ""}
    layer = graph.layer("h")
    assert (layer.activation, layer.shape, layer.label, layer.units) == ("relu", (2, 3), "hidden", 6)
    assert events.take() == [("layer_changed", "h", frozenset({"activation", "shape", "label"})),
                             ("changed", None, None)]
    graph.update_layer("h", **old)
    assert graph.layer("h").to_dict() == Layer("h", "neurons", (3,), "tanh").to_dict()


def test_moving_a_layer_does_not_count_as_a_design_change(graph):
    events = Recorder(graph)
    assert graph.move_layer("h", (10, 20)) == (0.0, 0.0)
    assert graph.layer("h").position == (10.0, 20.0)
    assert events.take() == [("layer_changed", "h", frozenset({"position"}))]


def test_update_with_the_same_values_emits_nothing(graph):
    events = Recorder(graph)
    graph.update_layer("h", activation="tanh")
    graph.update_connection("x-h", connectivity=Connectivity())
    assert events.take() == []


def test_invalid_update_leaves_the_layer_as_it_was(graph):
    events = Recorder(graph)
    with pytest.raises(GraphError, match="layer 'h': shape must be a list of 1 to 3 positive integers"):
        graph.update_layer("h", activation="relu", shape=[0])
    with pytest.raises(GraphError, match="a layer has no field 'colour'"):
        graph.update_layer("h", colour="red")
    assert graph.layer("h").activation == "tanh" and graph.layer("h").shape == (3,)
    assert events.take() == []


def test_update_connection_returns_the_old_connectivity_and_links(graph):
    events = Recorder(graph)
    old = graph.update_connection("x-h", connectivity=Connectivity("local", 2), disabled=[(0, 1)])
    assert old[0] == Connectivity() and old[1] == []
    conn = graph.connection("x-h")
    assert conn.connectivity.kind == "local" and conn.disabled == [(0, 1)]
    assert events.take() == [("connection_changed", "x-h", frozenset({"connectivity", "disabled"})),
                             ("changed", None, None)]
    graph.update_connection("x-h", *old)
    assert graph.connection("x-h").to_dict() == {"id": "x-h", "source": "x", "target": "h",
                                                 "connectivity": {"kind": "dense"}}


def test_toggling_a_link(graph):
    events = Recorder(graph)
    graph.set_link_enabled("x-h", 2, 1, False)
    graph.set_link_enabled("x-h", 0, 0, False)
    assert graph.connection("x-h").disabled == [(0, 0), (2, 1)]
    graph.set_link_enabled("x-h", 2, 1, True)
    assert graph.connection("x-h").disabled == [(0, 0)]
    assert [e[0] for e in events.take()] == ["connection_changed", "changed"] * 3


def test_remove_connection(graph):
    events = Recorder(graph)
    assert graph.remove_connection("h-out").id == "h-out"
    assert events.take() == [("connection_removed", "h-out", None), ("changed", None, None)]
    with pytest.raises(GraphError, match="there is no connection 'h-out'"):
        graph.remove_connection("h-out")


def test_replace_takes_over_another_design_and_emits_reset(graph):
    other = Graph()
    other.add_layer(Layer("only", "input", (4,)))
    events = Recorder(graph)
    graph.replace(other)
    assert list(graph.layers) == ["only"] and graph.connections == {}
    assert events.take() == [("reset", None, None), ("changed", None, None)]
    assert graph.flow().inputs == ["only"]


def test_ids_must_be_unique_and_well_formed(graph):
    with pytest.raises(GraphError, match="the id 'h' is already used"):
        graph.add_layer(Layer("h"))
    with pytest.raises(GraphError, match="the id 'x-h' is already used"):
        graph.add_layer(Layer("x-h"))
    with pytest.raises(GraphError, match="the id 'out' is already used"):
        graph.add_connection(Connection("out", "x", "h"))
    with pytest.raises(GraphError, match="layer id 'a b' must be 1 to 64 letters"):
        graph.add_layer(Layer("a b"))
    with pytest.raises(GraphError, match="there is no layer 'nowhere'"):
        graph.connect("x", "nowhere")
    assert "nowhere" not in {c.target for c in graph.connections.values()}


def test_new_id_never_repeats_an_id(graph):
    assert graph.new_id("y") == "y"
    assert graph.new_id("h") == "h2"
    assert graph.new_id("x-h") == "x-h2"  # connection ids count too
    graph.add_layer(Layer("h2"))
    assert graph.new_id("h") == "h3"
    assert graph.new_id("my layer/1") == "my-layer-1"
    assert graph.new_id("") == "item"
    made = set()
    for _ in range(50):
        layer_id = graph.new_id("n")
        graph.add_layer(Layer(layer_id))
        made.add(layer_id)
    assert len(made) == 50
    long_id = graph.new_id("z" * 100)
    graph.add_layer(Layer(long_id))  # short enough to be a valid id
    assert len(graph.new_id("z" * 100)) <= 64


def test_a_disconnected_listener_hears_nothing_more(graph):
    calls = []

    def on_changed():
        calls.append(1)

    graph.events.changed.connect(on_changed)
    graph.events.changed.connect(on_changed)  # connecting twice still calls once
    graph.move_layer("h", (1, 1))  # a move alone is not a change of the design
    graph.update_layer("h", label="a")
    assert calls == [1]
    graph.events.changed.disconnect(on_changed)
    graph.update_layer("h", label="b")
    assert calls == [1]


def test_flow_is_recomputed_after_a_change(graph):
    assert graph.flow().outputs == ["out"]
    graph.add_layer(Layer("out2"))
    graph.connect("out", "out2")
    assert graph.flow().outputs == ["out2"]
    graph.remove_layer("out2")
    assert graph.flow().outputs == ["out"]


def test_add_at_an_index_puts_layers_and_connections_back_in_place():
    from designer.graph import Connection, Graph, Layer
    g = Graph()
    for name in ("a", "b", "c"):
        g.add_layer(Layer(name, "neurons", (2,)))
    g.add_layer(Layer("between", "neurons", (2,)), index=1)
    g.add_connection(Connection("a-c", "a", "c"))
    g.add_connection(Connection("a-b", "a", "b"), index=0)
    assert list(g.layers) == ["a", "between", "b", "c"]
    assert list(g.connections) == ["a-b", "a-c"]

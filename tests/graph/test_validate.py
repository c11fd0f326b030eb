"""Validation: each problem a user can draw is reported once, naming the layer or connection to fix."""
import pytest

from designer.graph import Connection, Connectivity, Graph, Layer, errors, validate
from designer.graph.validate import MAX_CONNECTION_WEIGHTS, MAX_LAYER_UNITS, MAX_PARAMETERS


def design(*layers, connections=()):
    graph = Graph()
    for layer in layers:
        graph.add_layer(layer)
    for conn in connections:
        graph.add_connection(conn)
    return graph


def xor():
    return design(Layer("x", "input", (2,)), Layer("h", "neurons", (4,), "tanh"), Layer("out", "neurons", (1,)),
                  connections=[Connection("x-h", "x", "h"), Connection("h-out", "h", "out")])


def only(problems, severity="error"):
    """The one problem of ``severity``; fails if there are none or several."""
    found = [p for p in problems if p.severity == severity]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def test_a_sound_design_has_no_problems():
    assert validate(xor()) == []
    assert validate(xor(), input_shape=(2,)) == []
    assert validate(xor(), input_shape=(1, 2)) == []  # the same two numbers per sample


def test_unknown_kind():
    graph = xor()
    graph.update_layer("h", kind="conv")
    problem = only(validate(graph))
    assert problem.layer_id == "h" and "unknown kind 'conv'" in problem.message
    assert str(problem).startswith("error: layer h: ")


def test_unknown_activation():
    graph = xor()
    graph.update_layer("h", activation="mish")
    problem = only(validate(graph))
    assert problem.item_id == "h" and "unknown activation 'mish'; use one of step, sign, linear" in problem.message


def test_bad_local_window_names_the_connection():
    graph = design(Layer("x", "input", (3,)), Layer("h", "neurons", (1,)),
                   connections=[Connection("x-h", "x", "h", Connectivity("local", 5))])
    problem = only(validate(graph))
    assert problem.connection_id == "x-h"
    assert "a window of [5] does not fit a source grid of [3]" in problem.message
    graph.update_connection("x-h", connectivity=Connectivity("local", (3, 3)))
    assert "window [3, 3] has 2 dimensions, the source grid [3] has 1" in only(validate(graph)).message
    graph.update_connection("x-h", connectivity=Connectivity("local", 3, stride=0))
    assert "stride must be at least 1" in only(validate(graph)).message
    graph.update_connection("x-h", connectivity=Connectivity("local", 3, padding="full"))
    assert "padding must be 'valid' or 'same'" in only(validate(graph)).message


def test_target_shape_disagreeing_with_the_window_names_both_shapes():
    graph = design(Layer("img", "input", (8, 8)), Layer("conv", "neurons", (5, 5)),
                   connections=[Connection("img-conv", "img", "conv", Connectivity("local", 3))])
    problem = only(validate(graph))
    assert problem.connection_id == "img-conv"
    assert "the window makes a grid of [6, 6] but the target's shape is [5, 5]" in problem.message
    assert "source 'img' [8, 8], target 'conv' [5, 5]" in problem.message
    graph.update_layer("conv", shape=[6, 6])
    assert validate(graph) == []
    graph.update_layer("conv", shape=[4, 6, 6])  # four output channels on the same grid
    assert validate(graph) == []


def test_local_connections_do_not_feed_gated_layers():
    graph = design(Layer("x", "input", (4,)), Layer("m", "lstm", (2,)),
                   connections=[Connection("x-m", "x", "m", Connectivity("local", 3))])
    problem = only(validate(graph))
    assert problem.connection_id == "x-m" and "lstm layers take dense connections only" in problem.message


def test_gated_layers_are_columns():
    graph = design(Layer("x", "input", (4,)), Layer("m", "gru", (2, 2)), connections=[Connection("x-m", "x", "m")])
    problem = only(validate(graph))
    assert problem.layer_id == "m" and "its shape must be [units], not [2, 2]" in problem.message


def test_connection_into_an_input():
    graph = xor()
    graph.connect("out", "x", connection_id="back")
    problem = only(validate(graph))
    assert problem.connection_id == "back" and "input layer 'x' cannot receive connections" in problem.message


def test_connection_to_a_missing_layer():
    graph = Graph.from_dict({"layers": [{"id": "x", "kind": "input", "shape": [2]}],
                             "connections": [{"id": "x-ghost", "source": "x", "target": "ghost"}]})
    problem = only(validate(graph))
    assert problem.connection_id == "x-ghost" and "'ghost'" in problem.message


def test_no_input():
    graph = design(Layer("h"), Layer("out"), connections=[Connection("h-out", "h", "out")])
    problem = only(validate(graph))
    assert problem.item_id is None and "no input layer" in problem.message


def test_two_inputs_names_the_second():
    graph = xor()
    graph.add_layer(Layer("x2", "input", (2,)))
    graph.connect("x2", "h")
    problem = only(validate(graph))
    assert problem.layer_id == "x2" and "'x' is the first" in problem.message


def test_no_output():
    graph = design(Layer("x", "input", (2,)))
    problem = only(validate(graph))
    assert "no output" in problem.message


def test_two_outputs_names_both():
    graph = xor()
    graph.add_layer(Layer("out2", "neurons", (1,)))
    graph.connect("h", "out2")
    found = errors(validate(graph))
    assert sorted(p.layer_id for p in found) == ["out", "out2"]
    assert all("2 outputs (out, out2)" in p.message for p in found)


def test_unreachable_layer_is_a_warning_only():
    graph = xor()
    graph.add_layer(Layer("lost"))
    graph.add_layer(Layer("lost2"))
    graph.connect("lost", "lost2")
    problems = validate(graph)
    assert errors(problems) == []
    assert sorted(p.layer_id for p in problems if p.severity == "warning") == ["lost", "lost2"]
    assert "not reached from the input" in problems[0].message


def test_input_shape_must_match_the_data():
    problem = only(validate(xor(), input_shape=(3,)))
    assert problem.layer_id == "x" and "[2] does not match the data, which gives [3]" in problem.message
    assert "set its shape to [3]" in problem.message


def test_disabled_link_out_of_range():
    graph = xor()
    graph.set_link_enabled("x-h", 4, 0, False)  # h has 4 neurons: 0..3
    problem = only(validate(graph))
    assert problem.connection_id == "x-h"
    assert "disabled link [4, 0] is outside the layers (4 target and 2 source neurons)" in problem.message


def test_disabled_link_outside_the_window():
    graph = design(Layer("x", "input", (5,)), Layer("h", "neurons", (3,)),
                   connections=[Connection("x-h", "x", "h", Connectivity("local", 3), disabled=[(0, 2)])])
    assert validate(graph) == []  # target 0 sees sources 0, 1, 2
    graph.set_link_enabled("x-h", 0, 4, False)
    problem = only(validate(graph))
    assert problem.connection_id == "x-h" and "disabled link [0, 4] is not inside the window" in problem.message


def test_absurd_sizes_are_refused_before_anything_is_allocated():
    side = int(MAX_LAYER_UNITS ** 0.5) + 1
    graph = design(Layer("x", "input", (2,)), Layer("huge", "neurons", (side, side)),
                   connections=[Connection("x-huge", "x", "huge")])
    problem = only(validate(graph))
    assert problem.layer_id == "huge" and "more than the 10,000,000 a layer may have" in problem.message

    n = int(MAX_CONNECTION_WEIGHTS ** 0.5) + 1
    graph = design(Layer("x", "input", (n,)), Layer("wide", "neurons", (n,)),
                   connections=[Connection("x-wide", "x", "wide")])
    problem = only(validate(graph))
    assert problem.connection_id == "x-wide" and "more than the 200,000,000 allowed" in problem.message

    # each connection within its limit, but all of them together more than a design may hold
    n = int(MAX_CONNECTION_WEIGHTS ** 0.5) - 1
    chain = [Layer("x", "input", (2,))] + [Layer(f"h{i}", "neurons", (n,)) for i in range(3)]
    graph = design(*chain, connections=[Connection(f"c{i}", a.id, b.id) for i, (a, b) in
                                        enumerate(zip(chain, chain[1:]))])
    assert graph.parameter_count() > MAX_PARAMETERS
    problem = only(validate(graph))
    assert problem.item_id is None and f"more than the {MAX_PARAMETERS:,} allowed" in problem.message


@pytest.mark.parametrize("bad_id", ["has space", "", "x" * 65])
def test_bad_ids_from_a_file(bad_id):
    graph = Graph.from_dict({"layers": [{"id": "x", "kind": "input", "shape": [2]},
                                        {"id": bad_id, "kind": "neurons", "shape": [1]}],
                             "connections": [{"id": "c", "source": "x", "target": bad_id}]})
    problem = only(validate(graph))
    assert problem.layer_id == bad_id and "the id must be 1 to 64 letters" in problem.message


def test_every_problem_names_what_it_concerns():
    graph = xor()
    graph.update_layer("h", activation="nope")
    graph.add_layer(Layer("lost"))
    for problem in validate(graph):
        assert problem.item_id in ("h", "lost")

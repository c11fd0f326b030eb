"""The flow of a design: the order layers run in, which connections loop back, the input and the output."""
from designer.graph import Graph, Layer


def design(layers, connections):
    """``layers``: ids (``"x"`` is the input); ``connections``: ``"a-b"`` ids, in drawing order."""
    graph = Graph()
    for layer_id in layers:
        graph.add_layer(Layer(layer_id, "input" if layer_id == "x" else "neurons", (2,)))
    for conn_id in connections:
        source, target = conn_id.split("-")
        graph.connect(source, target, connection_id=conn_id)
    return graph


def test_feed_forward():
    flow = design(["x", "h", "out"], ["x-h", "h-out"]).flow()
    assert flow.order == ["x", "h", "out"]
    assert flow.recurrent == set() and not flow.is_recurrent
    assert flow.inputs == ["x"] and flow.outputs == ["out"]
    assert flow.reachable == {"x", "h", "out"}


def test_order_follows_the_connections_not_the_drawing():
    flow = design(["out", "b", "a", "x"], ["a-b", "x-a", "b-out"]).flow()
    assert flow.order == ["x", "a", "b", "out"]
    assert flow.outputs == ["out"]


def test_skip_connections_keep_every_layer_after_its_sources():
    flow = design(["x", "a", "b", "out"], ["x-out", "b-out", "a-b", "x-a"]).flow()
    assert flow.order.index("out") > flow.order.index("b") > flow.order.index("a") > flow.order.index("x")


def test_self_loop_is_recurrent():
    flow = design(["x", "h", "out"], ["x-h", "h-h", "h-out"]).flow()
    assert flow.recurrent == {"h-h"} and flow.is_recurrent
    assert flow.order == ["x", "h", "out"] and flow.outputs == ["out"]


def test_the_connection_closing_a_cycle_is_recurrent():
    flow = design(["x", "a", "b", "out"], ["x-a", "a-b", "b-a", "b-out"]).flow()
    assert flow.recurrent == {"b-a"}
    assert flow.order == ["x", "a", "b", "out"]


def test_a_cycle_back_from_the_output_keeps_it_the_output():
    flow = design(["x", "a", "b", "out"], ["x-a", "a-b", "b-out", "out-a"]).flow()
    assert flow.recurrent == {"out-a"}
    assert flow.outputs == ["out"]


def test_a_layer_that_only_loops_back_is_a_hidden_layer_of_its_cycle_not_an_output():
    # x -> h -> out, and h -> h2 -> h: h2 feeds h the step after, so out alone is the output
    flow = design(["x", "h", "h2", "out"], ["x-h", "h-h2", "h2-h", "h-out"]).flow()
    assert flow.recurrent == {"h2-h"}
    assert flow.outputs == ["out"]
    # with no other end, the layer that loops back is the output
    flow = design(["x", "h", "h2"], ["x-h", "h-h2", "h2-h"]).flow()
    assert flow.outputs == ["h2"]


def test_recurrence_is_found_from_the_input_whatever_the_drawing_order():
    # the loop b-a was drawn first, yet the walk starts at the input: b-a closes the cycle
    flow = design(["a", "b", "x", "out"], ["b-a", "a-b", "x-a", "b-out"]).flow()
    assert flow.recurrent == {"b-a"}
    assert flow.order == ["x", "a", "b", "out"]


def test_unreachable_layers_are_not_outputs():
    flow = design(["x", "h", "out", "lost"], ["x-h", "h-out"]).flow()
    assert flow.reachable == {"x", "h", "out"}
    assert flow.outputs == ["out"]
    assert set(flow.order) == {"x", "h", "out", "lost"}


def test_several_outputs_are_all_listed():
    flow = design(["x", "h", "o1", "o2"], ["x-h", "h-o1", "h-o2"]).flow()
    assert flow.outputs == ["o1", "o2"]


def test_deep_designs_do_not_hit_the_recursion_limit():
    ids = ["x"] + [f"h{i}" for i in range(3000)]
    flow = design(ids, [f"{a}-{b}" for a, b in zip(ids, ids[1:])]).flow()
    assert flow.order == ids and flow.outputs == ["h2999"]

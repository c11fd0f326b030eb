"""``module.trace(x)``: every layer's values and weighted sums, the numbers the neuron-level views show."""
import torch
import torch.nn.functional as F

from designer.compiler import compile_graph
from designer.graph import Connectivity, Graph, Layer


def _feed_forward() -> Graph:
    graph = Graph()
    for layer in (Layer("x", "input", (1, 6, 6)), Layer("c", "neurons", (2, 4, 4), activation="relu"),
                  Layer("p", "neurons", (2, 2, 2), bias=False), Layer("h", "neurons", (5,), activation="tanh",
                                                                      norm="layer"),
                  Layer("y", "neurons", (3,), activation="softmax")):
        graph.add_layer(layer)
    graph.connect("x", "c", Connectivity("local", 3, shared=True))
    graph.connect("c", "p", Connectivity("local", 2, 2, pool="max"))
    graph.connect("p", "h")
    graph.connect("h", "y")
    return graph


def test_trace_gives_each_layer_its_sums_and_values_as_computed_by_hand():
    module = compile_graph(_feed_forward(), seed=1)
    x = torch.randn(4, 36)
    with torch.no_grad():
        traced = module.trace(x)
        values, sums = traced["values"], traced["sums"]
        c_sum = F.conv2d(x.view(4, 1, 6, 6), module.x_c_weight).flatten(1) + module.c_bias
        torch.testing.assert_close(sums["c"], c_sum)
        torch.testing.assert_close(values["c"], torch.relu(c_sum))
        torch.testing.assert_close(values["p"], F.max_pool2d(values["c"].view(4, 2, 4, 4), 2).flatten(1))
        h_sum = values["p"] @ module.p_h_weight.T + module.h_bias
        torch.testing.assert_close(sums["h"], h_sum)
        torch.testing.assert_close(values["h"], torch.tanh(F.layer_norm(h_sum, (5,), module.h_norm_weight,
                                                                         module.h_norm_bias)))
        torch.testing.assert_close(values["y"], module(x), rtol=0, atol=0)
    assert set(values) == {"x", "c", "p", "h", "y"} and "x" not in sums


def test_a_sequence_trace_gives_every_step_as_the_design_computes_it_up_to_that_step():
    graph = Graph()
    for layer in (Layer("x", "input", (2,)), Layer("h", "neurons", (4,), activation="tanh"),
                  Layer("g", "gru", (3,)), Layer("y", "neurons", (1,))):
        graph.add_layer(layer)
    graph.connect("x", "h")
    graph.connect("h", "h")
    graph.connect("h", "g")
    graph.connect("g", "y")
    module = compile_graph(graph, seed=2)
    x = torch.randn(3, 6, 2)
    with torch.no_grad():
        traced = module.trace(x)
        assert traced["values"]["h"].shape == (3, 6, 4) and traced["values"]["g"].shape == (3, 6, 3)
        assert traced["values"]["y"].shape == (3, 1, 1)  # the output runs once, after the last step
        for t in range(6):  # the design run on the first t + 1 steps ends where the trace is at step t
            shorter = module.trace(x[:, :t + 1])
            torch.testing.assert_close(traced["values"]["h"][:, t], shorter["values"]["h"][:, -1])
            torch.testing.assert_close(traced["values"]["g"][:, t], shorter["values"]["g"][:, -1])
        torch.testing.assert_close(traced["values"]["y"][:, 0], module(x), rtol=0, atol=0)
        torch.testing.assert_close(torch.tanh(traced["sums"]["h"]), traced["values"]["h"])

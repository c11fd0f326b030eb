"""Following a sample: the sum written out gives the compiled module's own intermediate numbers."""
import math

import numpy as np
import pytest
import torch

from designer.compiler import compile_graph
from designer.graph import GraphError
from designer.insight import explain, sample_values
from designer.insight.tracing import trace

ACTIVATIONS = {"tanh": np.tanh, "relu": lambda z: max(z, 0.0), "linear": lambda z: z,
               "sigmoid": lambda z: 1 / (1 + math.exp(-z))}


def _check_layer(graph, weights, traced, layer, samples=(0, 1), step=None):
    """Every neuron of ``layer``: z is the trace's sum, the terms add up to it, the value is the trace's."""
    sums, values = traced["sums"][layer], traced["values"][layer]
    for sample in samples:
        for neuron in range(graph.layers[layer].units):
            e = explain(graph, weights, traced, sample, layer, neuron, step)
            at = (sample, neuron) if sums.ndim == 2 else (sample, e.step if e.step is not None else 0, neuron)
            assert e.z == pytest.approx(float(sums[at]), abs=1e-5, rel=1e-5), (layer, sample, neuron)
            assert e.value == float(values[at])
            added = math.fsum(inc.total for inc in e.incoming) + (e.bias or 0.0)
            assert added == pytest.approx(e.z, abs=1e-12)
            for inc in e.incoming:
                if inc.kind in ("dense", "local", "mean"):
                    assert inc.total == pytest.approx(math.fsum(t.weight * t.input_value for t in inc.terms), abs=1e-9)


def test_a_dense_neurons_sum_is_the_traced_sum_term_by_term(build):
    graph = build([("x", "input", [3]), ("h", "neurons", [4], "tanh"), ("g", "neurons", [3], "relu"),
                   ("y", "neurons", [2], "softmax")],
                  [("x", "h", {"kind": "dense"}, [(2, 1)]), ("h", "g"), ("x", "g"), ("g", "y")])
    module = compile_graph(graph, seed=1)
    w = module.named_weights()
    x = torch.randn(3, 3)
    traced = trace(module, x)
    for layer in ("h", "g", "y"):
        _check_layer(graph, w, traced, layer, samples=(0, 1, 2))
    e = explain(graph, w, traced, 1, "h", 2)
    # the disabled link (2, 1) is no link: x[1] gives no term to neuron 2
    assert sorted(t.source_index for t in e.incoming[0].terms) == [0, 2]
    term = next(t for t in e.incoming[0].terms if t.source_index == 2)
    assert term.weight == pytest.approx(float(w["x-h.weight"][2, 2]))
    assert term.input_value == pytest.approx(float(x[1, 2]))
    assert e.value == pytest.approx(math.tanh(e.z), abs=1e-6)
    # g has two incoming connections, each with its own terms
    g = explain(graph, w, traced, 0, "g", 1)
    assert [inc.connection for inc in g.incoming] == ["h-g", "x-g"]
    products = [abs(t.product) for t in g.incoming[0].terms]
    assert products == sorted(products, reverse=True)


def _local_design(build):
    x = ("x", "input", [2, 7, 7])
    c = ("c", "neurons", [3, 4, 4], "relu", {"norm": "batch"})  # shared 3x3, stride 2, same padding
    u = ("u", "neurons", [2, 4, 4], "tanh")  # unshared 2x2, same padding (after 1)
    p = ("p", "neurons", [2, 2, 2], "linear")  # max pooling, with a bias
    m = ("m", "neurons", [2, 2, 2], "linear", {"bias": False})  # mean pooling 3x3, stride 2, same (after 1)
    h = ("h", "neurons", [5], "tanh", {"norm": "layer"})
    y = ("y", "neurons", [3], "softmax")
    return build([x, c, u, p, m, h, y], [
        ("x", "c", {"kind": "local", "window": 3, "stride": 2, "padding": "same", "shared": True},
         [(0, 0), (5, 2 * 49 // 2 + 8), (17, 49 + 1)]),
        ("c", "u", {"kind": "local", "window": 2, "stride": 1, "padding": "same", "shared": False},
         [(0, 0), (20, 16 + 5)]),
        ("u", "p", {"kind": "local", "window": 2, "stride": 2, "pool": "max"}),
        ("u", "m", {"kind": "local", "window": 3, "stride": 2, "padding": "same", "pool": "mean"}),
        ("p", "h"), ("m", "h"), ("h", "y")])


def test_local_shared_unshared_pooled_and_normalised_sums_are_the_traced_ones(build):
    graph = _local_design(build)
    module = compile_graph(graph, seed=2)
    w = module.named_weights()
    rng = np.random.default_rng(0)
    w["c.running_mean"] = rng.normal(size=3).astype(np.float32)
    w["c.running_var"] = rng.uniform(0.5, 2, size=3).astype(np.float32)
    w["c.norm_weight"] = rng.uniform(0.5, 2, size=3).astype(np.float32)
    w["h.norm_bias"] = rng.normal(size=5).astype(np.float32)
    module.load_named_weights(w)
    w = module.named_weights()
    traced = trace(module, torch.randn(2, 2, 7, 7))
    for layer in ("c", "u", "p", "m", "h", "y"):
        _check_layer(graph, w, traced, layer)
    # normalised sums, through the activation, give the traced values
    for layer, f in (("c", ACTIVATIONS["relu"]), ("h", np.tanh)):
        for neuron in range(graph.layers[layer].units):
            e = explain(graph, w, traced, 1, layer, neuron)
            assert f(e.normalised) == pytest.approx(e.value, abs=1e-5)
    # a disabled link of the shared kernel takes that one position out: neuron 0 has no (channel 0, 0, 0) term
    first = explain(graph, w, traced, 0, "c", 0)
    assert 0 not in [t.source_index for t in first.incoming[0].terms]
    assert len(first.incoming[0].terms) == 2 * 4 - 1  # window on the padding: 2x2 places x 2 channels, one off


def test_max_pooling_names_the_winner_and_mean_pooling_divides_by_the_window(build):
    graph = _local_design(build)
    module = compile_graph(graph, seed=2)
    w = module.named_weights()
    traced = trace(module, torch.randn(2, 2, 7, 7))
    u = traced["values"]["u"][1].reshape(2, 4, 4)
    e = explain(graph, w, traced, 1, "p", 1 * 4 + 1 * 2 + 0)  # channel 1, row 1, column 0: u[1, 2:4, 0:2]
    (pool,) = e.incoming
    window = u[1, 2:4, 0:2]
    assert pool.kind == "max" and pool.total == pytest.approx(float(window.max()))
    assert pool.winner == 16 + int(np.argmax(u[1].ravel() == window.max()))
    assert sorted(t.input_value for t in pool.terms) == sorted(window.ravel().tolist())
    m = explain(graph, w, traced, 1, "m", 3)  # channel 0, row 1, column 1: rows 2..3, columns 2..3 (+ padding)
    (mean,) = m.incoming
    assert mean.kind == "mean" and len(mean.terms) == 4
    assert mean.total == pytest.approx(float(u[0, 2:4, 2:4].sum()) / 9, abs=1e-6)
    text = "\n".join(e.lines())
    assert f"u[{pool.winner}] won" in text


def test_a_recurrent_neurons_sum_at_a_step_reads_the_step_before(build):
    graph = build([("x", "input", [2]), ("a", "neurons", [3], "relu"), ("h", "neurons", [4], "tanh"),
                   ("g", "gru", [3]), ("y", "neurons", [1], "sigmoid")],
                  [("x", "a"), ("a", "h"), ("x", "h"), ("h", "h"), ("h", "g"), ("g", "y")])
    module = compile_graph(graph, seed=3)
    w = module.named_weights()
    x = torch.randn(2, 5, 2)
    traced = trace(module, x)
    for step in range(5):
        _check_layer(graph, w, traced, "h", step=step)
        _check_layer(graph, w, traced, "a", step=step)
    _check_layer(graph, w, traced, "y")
    h = traced["values"]["h"]
    e = explain(graph, w, traced, 1, "h", 2, step=3)
    loop = next(inc for inc in e.incoming if inc.connection == "h-h")
    assert loop.previous_step
    for term in loop.terms:
        assert term.input_value == pytest.approx(float(h[1, 2, term.source_index]))
    first = explain(graph, w, traced, 1, "h", 2, step=0)
    assert all(t.input_value == 0 for t in next(i for i in first.incoming if i.connection == "h-h").terms)
    assert explain(graph, w, traced, 0, "h", 0).step == 4  # the last step by default
    out = explain(graph, w, traced, 0, "y", 0, step=2)  # the output runs once, after the last step
    assert out.step is None
    assert [t.input_value for t in out.incoming[0].terms] == pytest.approx(
        [float(traced["values"]["g"][0, 4, t.source_index]) for t in out.incoming[0].terms])
    gru = explain(graph, w, traced, 0, "g", 1, step=2)
    assert gru.z is None and gru.value == float(traced["values"]["g"][0, 2, 1]) and "gru" in gru.note
    assert "value" in gru.lines()[-1]
    with pytest.raises(GraphError, match="step 5"):
        explain(graph, w, traced, 0, "h", 0, step=5)


def test_lines_write_the_sum_out_with_the_largest_terms_first(build):
    graph = build([("x", "input", [12]), ("h", "neurons", [2], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "y")])
    module = compile_graph(graph, seed=1)
    traced = trace(module, torch.randn(1, 12))
    e = explain(graph, module.named_weights(), traced, 0, "h", 1)
    lines = e.lines()
    biggest = e.terms[0]
    assert lines[0] == "h[1], sample 0"
    assert lines[1] == f"{biggest.weight:.3g} × {biggest.input_value:.3g} (x[{biggest.source_index}])"
    assert all(line.startswith("+ ") for line in lines[2:9])
    assert lines[9].startswith("… 4 more")
    assert lines[10].startswith("sum + b = ") and lines[10].endswith(f"= {e.z:.3g} = z")
    assert lines[11] == f"tanh({e.z:.3g}) = {e.value:.3g} = a"


def test_sample_values_give_every_neuron_its_value_for_one_sample(build):
    graph = build([("x", "input", [2]), ("h", "neurons", [3], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=1)
    with torch.no_grad():
        traced = module.trace(torch.randn(2, 4, 2))  # tensors, as the module gives them
    values = sample_values(traced, 1, step=2)
    np.testing.assert_array_equal(values["h"], traced["values"]["h"][1, 2].numpy())
    np.testing.assert_array_equal(values["y"], traced["values"]["y"][1, 0].numpy())
    e = explain(graph, module.named_weights(), traced, 1, "h", 0, step=2)
    assert e.z == pytest.approx(float(traced["sums"]["h"][1, 2, 0]), abs=1e-5)

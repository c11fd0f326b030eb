"""Named weights in and out, parameter counts, and the errors a user can meet."""
import numpy as np
import pytest
import torch

from designer.compiler import CompileError, compile_graph
from designer.graph import errors, parameter_count, validate

DESIGNS = {
    "mlp": ([("x", "input", [4]), ("h", "neurons", [8], "relu"), ("y", "neurons", [3], "softmax")],
            [("x", "h"), ("h", "y")]),
    "local": ([("x", "input", [2, 9, 9]), ("c", "neurons", [3, 9, 9], "relu"), ("u", "neurons", [4, 4], "tanh"),
               ("y", "neurons", [2])],
              [("x", "c", {"kind": "local", "window": 3, "padding": "same", "shared": True}),
               ("c", "u", {"kind": "local", "window": 3, "stride": 2}), ("u", "y"), ("x", "y")]),
    "rnn": ([("x", "input", [2]), ("h", "neurons", [6], "tanh"), ("y", "neurons", [1])],
            [("x", "h"), ("h", "h"), ("h", "y")]),
    "gated": ([("x", "input", [3]), ("l", "lstm", [4]), ("g", "gru", [5]), ("y", "neurons", [2])],
              [("x", "l"), ("l", "g"), ("g", "y"), ("x", "g")]),
    "unreached": ([("x", "input", [2]), ("y", "neurons", [1]), ("lonely", "neurons", [4, 4]),
                   ("loop", "gru", [3])],
                  [("x", "y"), ("lonely", "loop")]),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_parameter_count_equals_the_designs(build, name):
    graph = build(*DESIGNS[name])
    module = compile_graph(graph, seed=0)
    assert sum(p.numel() for p in module.parameters()) == parameter_count(graph)
    assert sum(w.size for w in module.named_weights().values()) == parameter_count(graph)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_named_weights_round_trip_through_load_named_weights(build, name):
    graph = build(*DESIGNS[name])
    first = compile_graph(graph, seed=1)
    second = compile_graph(graph, seed=2, weights=first.named_weights())
    x = torch.randn(3, 4, *first.input_shape) if first.is_sequence else torch.randn(3, *first.input_shape)
    torch.testing.assert_close(second(x), first(x), rtol=0, atol=0)
    for key, value in second.named_weights().items():
        np.testing.assert_array_equal(value, first.named_weights()[key])


def test_named_weights_are_copies(build):
    module = compile_graph(build(*DESIGNS["mlp"]), seed=0)
    weights = module.named_weights()
    weights["h.bias"][:] = 42
    assert not (module.named_weights()["h.bias"] == 42).any()


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_named_weights_are_contiguous_float32_as_files_store_them(build, name):
    for key, value in compile_graph(build(*DESIGNS[name]), seed=0).named_weights().items():
        assert value.flags.c_contiguous and value.dtype == np.float32, key


def test_a_mis_shaped_tensor_is_named(build):
    module = compile_graph(build(*DESIGNS["mlp"]), seed=0)
    weights = module.named_weights()
    weights["x-h.weight"] = np.zeros((4, 8), np.float32)
    with pytest.raises(CompileError,
                       match=r"'x-h.weight' has shape \[4, 8\] but connection 'x-h' needs \[8, 4\]") as err:
        module.load_named_weights(weights)
    assert err.value.problems[0].connection_id == "x-h"
    del weights["x-h.weight"]
    with pytest.raises(CompileError, match=r"no tensor 'x-h.weight'"):
        compile_graph(build(*DESIGNS["mlp"]), weights=weights)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_tensor_holding_nan_or_infinity_is_refused_naming_it(build, value):
    # loaded, it would end the next run at its first batch as "diverged", blaming the learning rate
    module = compile_graph(build(*DESIGNS["mlp"]), seed=0)
    weights = module.named_weights()
    weights["h.bias"][2] = value
    with pytest.raises(CompileError, match=r"'h.bias' holds NaN or infinite values") as err:
        module.load_named_weights(weights)
    assert err.value.problems[0].layer_id == "h"


def test_a_failed_load_changes_nothing(build):
    module = compile_graph(build(*DESIGNS["mlp"]), seed=0)
    before = module.named_weights()
    bad = {k: np.zeros_like(v) for k, v in before.items()}
    bad["y.bias"] = np.zeros(7, np.float32)
    with pytest.raises(CompileError, match="y.bias"):
        module.load_named_weights(bad)
    for key, value in module.named_weights().items():
        np.testing.assert_array_equal(value, before[key])


def test_invalid_designs_raise_compile_error_naming_each_id(build):
    graph = build([("x", "input", [5]), ("h", "neurons", [3], "glow"), ("y", "neurons", [4])],
                  [("x", "h"), ("h", "y", {"kind": "local", "window": 3})])
    with pytest.raises(CompileError) as err:
        compile_graph(graph)
    message = str(err.value)
    assert "layer h" in message and "glow" in message
    assert "connection h-y" in message
    assert {p.item_id for p in err.value.problems} == {"h", "h-y"}
    assert isinstance(err.value, ValueError)


def test_a_design_without_input_cannot_compile(build):
    with pytest.raises(CompileError, match="no input layer"):
        compile_graph(build([("h", "neurons", [3])], []))


def test_a_disabled_link_outside_the_window_of_a_large_layer_is_named(build):
    # validation lists links only for small layers; the compiler checks the rest
    graph = build([("x", "input", [500, 500]), ("y", "neurons", [498, 498])],
                  [("x", "y", {"kind": "local", "window": 3}, [(0, 5000)])])
    assert not errors(validate(graph))
    with pytest.raises(CompileError, match="x-y") as err:
        compile_graph(graph)
    assert "not inside the window" in str(err.value)

"""Round trips through ONNX: each shipped example exported with NN Designer's own exporter, imported, and exported
again gives the same outputs on its validation data, with the same layers, connections and parameter count."""
from __future__ import annotations

import numpy as np
import pytest

from designer.data import load_dataset
from designer.importing import read_onnx
from designer.project import read_project

from .helpers import EXAMPLES, compiled, designer_export, outputs, run_onnx

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

SHIPPED = sorted(path.name for path in EXAMPLES.glob("*.nnd"))


def _with_weights(project, seed=3):
    """The example with weights that are not the identity anywhere: seeded fresh ones, batch norm's statistics
    and shifts drawn at random (a trained model's are)."""
    from designer.compiler import compile_graph

    weights = compile_graph(project.graph, seed=seed).named_weights()
    rng = np.random.default_rng(seed)
    for name, array in weights.items():
        if name.endswith(("running_mean", "norm_bias")):
            weights[name] = rng.normal(0, 1, array.shape).astype(np.float32)
        elif name.endswith(("running_var", "norm_weight")):
            weights[name] = rng.uniform(0.5, 2.0, array.shape).astype(np.float32)
    project.store_weights(weights)
    return project


def _function(graph):
    """Layers and connections by what they compute, ids aside (in drawing order)."""
    index = {lid: i for i, lid in enumerate(graph.layers)}
    layers = [(layer.kind, tuple(layer.shape), layer.activation if layer.kind == "neurons" else None,
               layer.bias if layer.kind != "input" else None, layer.norm) for layer in graph.layers.values()]
    recurrent = graph.flow().recurrent
    connections = sorted((index[c.source], index[c.target], str(c.connectivity.to_dict()), c.id in recurrent)
                         for c in graph.connections.values())
    return layers, connections


def test_every_shipped_example_is_covered():
    assert len(SHIPPED) >= 7 and "sine-recurrent.nnd" in SHIPPED and "lenet-shapes.nnd" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_example_survives_export_import_export(tmp_path, name):
    original = _with_weights(read_project(EXAMPLES / name))
    first = designer_export(original, tmp_path / "first.onnx")
    result = read_onnx(first)
    imported = result.project
    assert imported.weights is not None and imported.trained_design is not None
    assert imported.fitting_weights()[1] == set()  # every tensor belongs to the design as it is
    imported.path = original.path  # the same data, for the sequence length of the second export
    second = designer_export(imported, tmp_path / "second.onnx")

    x = load_dataset(original.dataset, EXAMPLES).x_val
    expected = outputs(compiled(original), x)
    np.testing.assert_allclose(outputs(compiled(imported), x), expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(run_onnx(second, x), run_onnx(first, x), atol=1e-5, rtol=0)
    np.testing.assert_allclose(run_onnx(first, x), expected, atol=1e-5, rtol=0)

    layers, connections = _function(original.graph)
    got_layers, got_connections = _function(imported.graph)
    assert got_connections == connections
    # batch norm included: the command writes a design with batch norm without the exporter's folding of it
    assert got_layers == layers
    assert imported.graph.parameter_count() == original.graph.parameter_count()
    # the same ids where the file's names carry them (the biases: 'h1_bias' is layer h1's)
    named = [lid for lid, layer in original.graph.layers.items() if layer.kind != "input" and layer.bias]
    assert set(named) <= set(imported.graph.layers)


def test_batch_norm_comes_back_as_itself_when_the_file_keeps_it(tmp_path):
    """Exported without the optimizer's folding (as the command does for a design with batch norm), mlp-batchnorm's
    norms import as ``norm: batch`` with their statistics: the same layers, connections and parameter count."""
    import torch

    from designer.compiler import compile_graph

    original = _with_weights(read_project(EXAMPLES / "mlp-batchnorm.nnd"))
    module = compile_graph(original.graph, weights=original.weights)
    program = torch.onnx.export(module, (torch.zeros(2, 6),), None, dynamo=True, optimize=False, input_names=["x"],
                                output_names=["y"], dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    program.save(str(tmp_path / "kept.onnx"))
    imported = read_onnx(tmp_path / "kept.onnx").project
    assert _function(imported.graph) == _function(original.graph)
    assert imported.graph.parameter_count() == original.graph.parameter_count()
    for layer in ("h1", "h2"):
        name = f"{layer}.running_var"
        np.testing.assert_array_equal(imported.weights[name], original.weights[name])
    x = load_dataset(original.dataset, EXAMPLES).x_val
    np.testing.assert_allclose(outputs(compiled(imported), x), outputs(module, x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("sequence", [False, True], ids=["grid", "sequence"])
def test_every_part_of_the_layer_library_survives_a_round_trip(tmp_path, sequence):
    """Grid: mean pooling with 'same' padding (a Pad node before it), layer norm, gelu, leaky_relu's slope,
    hard_sigmoid, sign, softplus (PyTorch's thresholded form), elu, softmax, four connections summed into one layer.
    Sequence: a recurrent silu layer with layer norm, then an lstm, which the export writes as an unrolled cell."""
    from designer.data import load_dataset as load

    from test_cli import _library_project  # tests/ is on the path, as pytest runs them

    original = _with_weights(_library_project(sequence))
    first = designer_export(original, tmp_path / "library.onnx")
    imported = read_onnx(first).project
    assert _function(imported.graph) == _function(original.graph)
    if not sequence:
        assert imported.graph.layers["s"].slope == 0.3
    assert imported.graph.parameter_count() == original.graph.parameter_count()
    x = load(original.dataset, None).x_val
    np.testing.assert_allclose(outputs(compiled(imported), x), outputs(compiled(original), x), atol=1e-5, rtol=0)


def _recurrent_design(kinds: list[str], bias: bool):
    from designer.graph import Graph, Layer
    from designer.project import Project

    graph = Graph()
    graph.add_layer(Layer("x", "input", (1,)))
    previous = "x"
    for i, kind in enumerate(kinds):
        fields = {"activation": "tanh"} if kind == "neurons" else {}
        graph.add_layer(Layer(f"r{i}", kind, (5 + i,), bias=bias, **fields))
        graph.connect(previous, f"r{i}")
        if kind == "neurons":
            graph.connect(f"r{i}", f"r{i}")
        previous = f"r{i}"
    graph.add_layer(Layer("y", "neurons", (1,)))
    graph.connect(previous, "y")
    return Project(name="cells", graph=graph, dataset={"kind": "builtin", "name": "sine", "samples": 64})


@pytest.mark.parametrize("kinds,bias", [(["lstm"], True), (["gru"], True), (["gru"], False), (["lstm"], False),
                                        (["lstm", "gru"], True), (["neurons", "gru"], True)],
                         ids=["lstm", "gru", "gru-no-bias", "lstm-no-bias", "lstm-gru", "rnn-gru"])
def test_lstm_and_gru_layers_come_back_from_the_cells_the_export_unrolls(tmp_path, kinds, bias):
    """NN Designer's export writes an lstm/gru layer as its cell, once per step (Split into gates, Sigmoid, Tanh,
    Mul, Add); the import recognises PyTorch's LSTM and GRU cells in it and folds the steps back into one layer."""
    import torch

    original = _with_weights(_recurrent_design(kinds, bias))
    imported = read_onnx(designer_export(original, tmp_path / "cells.onnx")).project
    assert _function(imported.graph) == _function(original.graph)
    assert imported.graph.parameter_count() == original.graph.parameter_count()
    for steps in (20, 33):  # the length it was exported for, and another
        x = torch.randn((6, steps, 1), generator=torch.Generator().manual_seed(steps))
        np.testing.assert_allclose(outputs(compiled(imported), x), outputs(compiled(original), x), atol=1e-5, rtol=0)

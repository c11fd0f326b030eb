"""train(..., gradient_norms=True): each layer's gradient norm per epoch, as computed by hand."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from designer.compiler import compile_graph
from designer.graph import Graph, Layer
from designer.project import Project
from designer.training import train, train_project
from designer.training.loop import GradientNorms


def _design() -> Graph:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("h", "neurons", (5,), activation="tanh", norm="layer"))
    graph.add_layer(Layer("g", "neurons", (3,), activation="relu"))
    graph.add_layer(Layer("out", "neurons", (1,), activation="sigmoid"))
    graph.add_layer(Layer("unused", "neurons", (2,), activation="tanh"))  # reached from nothing
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "g", connection_id="h-g")
    graph.connect("x", "g", connection_id="x-g")
    graph.connect("g", "out", connection_id="g-out")
    graph.connect("unused", "out", connection_id="unused-out")
    return graph


#: what computes each layer: its own tensors and its incoming connections' weights
COMPUTES = {"h": ["h.bias", "h.norm_weight", "h.norm_bias", "x-h.weight"], "g": ["g.bias", "h-g.weight", "x-g.weight"],
            "out": ["out.bias", "g-out.weight"]}


def _norms_by_hand(module, x, y) -> dict[str, float]:
    """One batch's per-layer gradient norm: sqrt of the sum of squares over everything that computes the layer."""
    module.zero_grad()
    F.binary_cross_entropy_with_logits(module.logits(x), y.float().reshape(-1, 1)).backward()
    grads = {spec.name: getattr(module, spec.attr).grad for spec in module.weight_specs()}
    return {layer: math.sqrt(sum(float(grads[name].square().sum()) for name in names))
            for layer, names in COMPUTES.items()}


def test_gradient_norms_are_off_by_default(xor_data):
    epochs = []
    train(compile_graph(_design(), seed=0), xor_data, {"epochs": 1, "device": "cpu"}, on_epoch=epochs.append)
    assert epochs[0].gradient_norms is None


@pytest.mark.parametrize("flush", [1, GradientNorms.FLUSH])  # folded batch by batch, or all at the epoch's end
def test_each_layers_norm_is_the_mean_over_batches_of_everything_that_computes_it(xor_data, monkeypatch, flush):
    monkeypatch.setattr(GradientNorms, "FLUSH", flush)
    graph = _design()
    module = compile_graph(graph, seed=0)
    by_hand = copy.deepcopy(module).train()
    n, size, lr = len(xor_data.x_train), 40, 0.5
    epochs = []
    train(module, xor_data, {"epochs": 1, "batch_size": size, "learning_rate": lr, "device": "cpu"},
          on_epoch=epochs.append, gradient_norms=True, graph=graph)
    # the same batches, in the loop's order, with the same plain SGD steps
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    per_batch = []
    for start in range(0, n, size):
        index = order[start:start + size]
        per_batch.append(_norms_by_hand(by_hand, xor_data.x_train[index], xor_data.y_train[index]))
        with torch.no_grad():
            for p in by_hand.parameters():
                if p.grad is not None:  # "unused" has none
                    p -= lr * p.grad
    assert len(per_batch) == 4
    norms = epochs[0].gradient_norms
    assert set(norms) == {"h", "g", "out"}  # "unused" takes no part: no gradient, no entry
    for layer in COMPUTES:
        assert norms[layer] == pytest.approx(sum(b[layer] for b in per_batch) / len(per_batch), rel=1e-5)


def test_without_the_design_a_connections_weights_are_reported_under_its_id(xor_data):
    epochs = []
    train(compile_graph(_design(), seed=0), xor_data, {"epochs": 2, "device": "cpu"}, on_epoch=epochs.append,
          gradient_norms=True)
    assert set(epochs[-1].gradient_norms) == {"h", "g", "out", "x-h", "h-g", "x-g", "g-out"}
    assert all(value > 0 for value in epochs[-1].gradient_norms.values())


def test_another_module_groups_its_parameters_by_name(tiny, xor_data):
    epochs = []
    train(tiny(hidden=4), xor_data, {"epochs": 1, "device": "cpu"}, on_epoch=epochs.append, gradient_norms=True)
    assert set(epochs[0].gradient_norms) == {"hidden", "out"}


def test_train_project_passes_gradient_norms_down_per_layer():
    project = Project.new("xor")
    project.graph = _design()
    project.dataset = {"kind": "builtin", "name": "xor", "samples": 100, "seed": 1}
    project.training.update(epochs=2, device="cpu")
    epochs = []
    run = train_project(project, on_epoch=epochs.append, gradient_norms=True)
    assert run.status == "completed"
    assert [set(e.gradient_norms) for e in epochs] == [{"h", "g", "out"}] * 2
    assert "gradient_norms" not in project.history[-1]  # measured for the window, not saved

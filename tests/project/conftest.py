"""A small trained-looking project (the spec's XOR example) for the file tests."""
import numpy as np
import pytest

from designer.graph import Connectivity, Graph, Layer
from designer.project import Project


def xor_project() -> Project:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,), label="inputs", position=(0, 0)))
    graph.add_layer(Layer("h", "neurons", (4,), "tanh", position=(220, 0)))
    graph.add_layer(Layer("out", "neurons", (1,), "sigmoid", position=(440, 0)))
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "out", connection_id="h-out")
    graph.set_link_enabled("x-h", 3, 1, False)
    project = Project.new("XOR")
    project.graph = graph
    project.description = "Two inputs, one hidden layer of four tanh neurons. Ünïcode ok."
    rng = np.random.default_rng(0)
    project.weights = {
        "x-h.weight": rng.standard_normal((4, 2)).astype(np.float32),
        "h.bias": rng.standard_normal(4).astype(np.float32),
        "h-out.weight": rng.standard_normal((1, 4)).astype(np.float32),
        "out.bias": np.array([0.25], np.float32),
    }
    project.history = [{"id": "run-1", "started": "2026-11-27T10:00:00Z", "training": dict(project.training),
                        "status": "completed", "epochs": [1, 2], "train_loss": [0.69, 0.51],
                        "val_loss": [0.70, 0.55], "train_accuracy": [0.5, 0.8], "val_accuracy": [0.5, 0.78]}]
    return project


def grid_project() -> Project:
    """A design with a local connection, to check connectivity survives a round trip."""
    project = xor_project()
    graph = project.graph
    graph.add_layer(Layer("img", "input", (1, 8, 8)))
    graph.add_layer(Layer("conv", "neurons", (2, 6, 6), "relu"))
    graph.connect("img", "conv", Connectivity("local", (3, 3), shared=True), connection_id="img-conv")
    return project


@pytest.fixture
def project() -> Project:
    return xor_project()

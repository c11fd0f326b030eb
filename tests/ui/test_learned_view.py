"""The "what the network learned" map of a trained perceptron: two half-planes in the two class colours.

A step unit answers exactly 0 or 1, so the map must show each side of its line in its class's colour
(not the near-white of an "unsure" sigmoid read off its small pre-activation), with the line drawn.
Real training of the bundled example, started with the toolbar button, on the real worker thread.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from designer.compiler import compile_graph
from designer.ui.main_window import MainWindow
from designer.ui.training.learned_view import class_colours

WHITE = np.array([255, 255, 255])


@pytest.fixture
def window(example_window):
    return example_window("perceptron")


def train(qtbot, window: MainWindow) -> None:
    controller = window.training
    button = window.toolbar.widgetForAction(controller.action_train)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=60_000)


def nearest_colour(pixels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """For each RGB pixel, the index of the nearest of ``colours``."""
    return np.linalg.norm(pixels[:, None, :] - colours[None, :, :], axis=-1).argmin(axis=1)


def test_a_trained_perceptron_shows_both_half_planes_in_their_class_colours_and_the_line(qtbot, window):
    train(qtbot, window)
    assert window.project.history[-1]["val_accuracy"][-1] == 1.0  # the AND gate, learned
    plane = window.training.learned_view.plane
    assert window.training.learned_view.current is plane
    image = plane.image.image[..., :3].astype(float)
    rows, cols = image.shape[:2]

    # what the trained perceptron answers at the point each pixel stands for
    module = compile_graph(window.project.graph)
    module.load_named_weights(window.project.weights)
    x0, x1, y0, y1 = plane.bounds
    xx, yy = np.meshgrid(np.linspace(x0, x1, cols), np.linspace(y0, y1, rows))
    with torch.no_grad():
        answer = module(torch.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=torch.float32))
    ones = answer.numpy().reshape(rows, cols) > 0.5
    assert 0.05 < ones.mean() < 0.95  # both half-planes are on the map

    # each half-plane in its class's colour: nearer to it than to the other class's colour or to white
    negative, positive = class_colours(2)[:2] * 255
    choices = np.stack([negative, positive, WHITE])
    assert (nearest_colour(image[ones], choices) == 1).mean() > 0.97
    assert (nearest_colour(image[~ones], choices) == 0).mean() > 0.97

    # the boundary is drawn as the straight line where the weighted sum crosses 0, across the map (not
    # a staircase between the cells of the 0/1 answers)
    x, y = plane.boundary.getData()
    assert x is not None and len(x) >= 2
    weight = window.project.weights["x-out.weight"].ravel()
    bias = float(window.project.weights["out.bias"][0])
    cell = np.hypot((x1 - x0) / (cols - 1), (y1 - y0) / (rows - 1))
    distance = np.abs(weight[0] * x + weight[1] * y + bias) / np.linalg.norm(weight)
    assert distance.max() < cell / 20
    assert np.hypot(np.ptp(x), np.ptp(y)) > 0.25 * np.hypot(x1 - x0, y1 - y0)  # across the map, not a piece


@pytest.mark.parametrize("activation", ["tanh", "step", "relu", "sigmoid"])
def test_the_map_predicts_the_class_that_training_counts(activation):
    """One output unit: class 1 where training's accuracy says so (the output above 0.5 under squared
    error; the sigmoid above 0.5 under binary cross-entropy), on every cell of the map."""
    from designer.data import load_dataset
    from designer.graph import Graph, Layer
    from designer.ui.training.predictions import Probe

    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    graph.add_layer(Layer("out", "neurons", (1,), activation=activation))
    graph.connect("x", "out", connection_id="x-out")
    module = compile_graph(graph)
    # the sum x + y - 1 runs from -1.2 to 1.2 over the map: tanh and relu pass 0.5 only above 0.55 and
    # 0.5, where its sign (what a sigmoid of it would say) changes at 0
    module.load_named_weights({"x-out.weight": np.array([[1.0, 1.0]], dtype=np.float32),
                               "out.bias": np.array([-1.0], dtype=np.float32)})
    dataset = load_dataset({"kind": "builtin", "name": "gate_and", "samples": 64, "noise": 0.0,
                            "validation_split": 0.25, "seed": 1})
    probe = Probe(module, dataset)  # the loss as the project says by default: auto
    probabilities = probe.predict()["probabilities"]
    x0, x1, y0, y1 = probe.info()["bounds"]
    xx, yy = np.meshgrid(np.linspace(x0, x1, 64, dtype=np.float32), np.linspace(y0, y1, 64, dtype=np.float32))
    with torch.no_grad():
        output = module(torch.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=torch.float32))
    expected = output.numpy().reshape(64, 64) > 0.5
    assert np.array_equal(probabilities.argmax(axis=-1) == 1, expected)
    if activation == "step":  # the output is the class: certain everywhere
        assert np.all(probabilities.max(axis=-1) == 1.0)

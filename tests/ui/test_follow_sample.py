"""Following one sample through the network (issue 9), as a person does it in the window.

A click on a validation sample in "What the network learned" (a ring on the 2-D map, an image, a sequence's
curve at a step) follows it: every neuron on the canvas shows its value for that sample, and a clicked neuron's
page in the inspector writes out its sum. The numbers are checked against the compiled module's own
``trace`` on the trained weights (run here, apart from the window); Escape or a click on empty ground stops.
Real widgets off-screen, real mouse clicks and keys, real training on the worker thread.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt

from designer.compiler import compile_graph
from designer.ui.main_window import MainWindow

from .test_neuron_pictures import local_project, sequence_project
from .test_training import answers, open_window, press, wait_idle, xor_project  # noqa: F401 (fixtures)


def train(qtbot, window: MainWindow) -> None:
    press(qtbot, window, window.training.action_train)
    wait_idle(qtbot, window)
    assert window.training.last_run["status"] == "completed", window.training.last_error


def traced(window: MainWindow, x: np.ndarray) -> dict:
    """The compiled module's own trace of one sample, on the project's trained weights."""
    module = compile_graph(window.graph, window.project.weights)
    with torch.no_grad():
        out = module.trace(torch.as_tensor(np.asarray(x, dtype=np.float32))[None])
    return {key: {lid: t.numpy()[0] for lid, t in part.items()} for key, part in out.items()}


def click_plot(qtbot, plot, x: float, y: float) -> None:
    """A left click on a pyqtgraph plot at the data coordinates (x, y)."""
    vb = plot.getPlotItem().vb
    pos = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def click_neuron(qtbot, window: MainWindow, layer_id: str, index: int) -> None:
    """A left click on a neuron of the canvas."""
    canvas = window.canvas
    item = canvas.canvas_scene.layer_items[layer_id]
    canvas.centerOn(item)
    pos = canvas.mapFromScene(item.mapToScene(item.neuron_center(index)))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.inspector.neuron == (layer_id, index)


def shown_values(window: MainWindow) -> dict[str, np.ndarray]:
    return {lid: item.sample_values for lid, item in window.canvas.canvas_scene.layer_items.items()}


def explanation(window: MainWindow) -> tuple[float, float, str]:
    """``(z, a, text)`` as the inspector writes the clicked neuron's sum out."""
    text = window.inspector.explanation.text()
    assert window.inspector.follow_box.isVisible(), text
    z = float(re.search(r"= (\S+) = z$", text, re.MULTILINE).group(1))
    a = float(re.search(r"= (\S+) = a$", text, re.MULTILINE).group(1))
    return z, a, text


def close(value: float, expected: float) -> bool:
    """Equal to the three significant digits the explanation writes."""
    return abs(value - expected) <= 6e-3 * abs(expected) + 1e-6


def lonely_point(points: np.ndarray) -> int:
    """The point farthest from its nearest neighbour (a click on it cannot pick another)."""
    d = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)))


# ---------------------------------------------------------------------------------------------- 2-D data
def test_a_clicked_point_is_followed_through_every_neuron_and_a_neurons_sum_is_written_out(qtbot, open_window):
    window = open_window(xor_project(epochs=20))
    train(qtbot, window)
    plane = window.training.learned_view.plane
    info = window.training._view_info
    sample = lonely_point(plane.x_val)
    x, y = plane.x_val[sample]
    click_plot(qtbot, plane, x, y)
    followed = window.training.followed
    assert followed is not None and followed["sample"] == sample
    assert len(plane.followed.data) == 1  # ringed on the map

    expected = traced(window, info["inputs"][sample])
    values = shown_values(window)
    for lid in ("x", "h", "out"):
        np.testing.assert_allclose(values[lid], expected["values"][lid], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values["x"], [x, y], rtol=1e-6)  # the input neurons show the sample itself

    # a neuron's sum, written out: sum + b = z as the trace summed it, tanh(z) = a as it computed it
    click_neuron(qtbot, window, "h", 2)
    z, a, text = explanation(window)
    assert close(z, float(expected["sums"]["h"][2])) and close(a, float(expected["values"]["h"][2]))
    assert "tanh(" in text and "× " in text and "(x[0])" in text and "(x[1])" in text
    click_neuron(qtbot, window, "out", 0)
    z, a, text = explanation(window)
    assert close(z, float(expected["sums"]["out"][0])) and close(a, float(expected["values"]["out"][0]))
    assert "sigmoid(" in text

    # it keeps following as the weights change: train on, and the values are the new weights' trace
    window.project.training["epochs"] = 5
    train(qtbot, window)
    assert window.training.followed is not None and window.training.followed["sample"] == sample
    expected = traced(window, info["inputs"][sample])
    np.testing.assert_allclose(shown_values(window)["h"], expected["values"]["h"], rtol=1e-5, atol=1e-6)

    # Escape in the view stops following; so does a click on empty ground
    window.training.learned_view.setFocus()
    qtbot.keyClick(window.training.learned_view, Qt.Key.Key_Escape)
    assert window.training.followed is None
    assert all(v is None for v in shown_values(window).values()) and not window.inspector.follow_box.isVisible()
    assert len(plane.followed.data) == 0
    click_plot(qtbot, plane, x, y)
    assert window.training.followed is not None
    x0, x1, y0, y1 = plane.bounds
    empty = np.array([[gx, gy] for gx in np.linspace(x0, x1, 12) for gy in np.linspace(y0, y1, 12)])
    far = empty[np.argmax(np.min(np.hypot(*(empty[:, None, :] - plane.x_val[None, :, :]).transpose(2, 0, 1)),
                                 axis=1))]
    click_plot(qtbot, plane, *far)
    assert window.training.followed is None


def test_escape_on_the_canvas_with_nothing_selected_stops_following(qtbot, open_window):
    window = open_window(xor_project(epochs=5))
    train(qtbot, window)
    assert window.training.follow_sample(0)
    canvas = window.canvas
    canvas.setFocus()
    click_neuron(qtbot, window, "h", 1)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)  # the first Escape clears the selection only
    assert window.training.followed is not None and not canvas.selected_ids()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert window.training.followed is None


def test_a_sample_needs_weights_that_fit_the_design(qtbot, open_window):
    window = open_window(xor_project(epochs=3))
    train(qtbot, window)
    window.training.reset_weights()
    assert not window.training.follow_sample(0)
    assert window.training.followed is None and "Train the network first" in window.statusBar().currentMessage()


# ---------------------------------------------------------------------------------------------- images
def test_a_clicked_image_is_followed_through_the_local_layer(qtbot, open_window):
    window = open_window(local_project())
    train(qtbot, window)
    view = window.training.learned_view.images
    qtbot.mouseClick(view.pictures[3], Qt.MouseButton.LeftButton)
    followed = window.training.followed
    assert followed is not None and followed["sample"] == 3 and view.followed_index == 3
    expected = traced(window, window.training._view_info["inputs"][3])
    values = shown_values(window)
    for lid in ("image", "conv", "out"):
        np.testing.assert_allclose(values[lid], expected["values"][lid].reshape(-1), rtol=1e-5, atol=1e-6)
    window.action_neuron_pictures.trigger()  # with pictures on, the values go in a band on each picture
    qtbot.waitUntil(lambda: window.training.pictures is not None, timeout=20_000)
    qtbot.waitUntil(lambda: window.training._preview is None, timeout=20_000)
    assert window.training.followed is not None  # the preview of the stored weights' pictures keeps following
    index = 1 * 49 + 1 * 7 + 1  # channel 1, row 1, column 1: drawn on the card with pictures on
    assert window.canvas.canvas_scene.layer_items["conv"].picture_rect(index) is not None
    click_neuron(qtbot, window, "conv", index)
    z, a, text = explanation(window)
    assert close(z, float(expected["sums"]["conv"].reshape(-1)[index]))
    assert close(a, float(expected["values"]["conv"].reshape(-1)[index]))
    assert "(image[" in text


# ---------------------------------------------------------------------------------------------- sequences
def test_a_sequence_is_followed_at_the_step_clicked_and_the_slider_moves_it(qtbot, open_window):
    window = open_window(sequence_project())
    train(qtbot, window)
    view = window.training.learned_view.sequences
    sequences = view.sequences[:, :, 0]
    # the step where sequence 1 stands farthest from the others, so that a click there can only pick it
    gaps = np.min(np.abs(np.delete(sequences, 1, axis=0) - sequences[1]), axis=0)
    step = int(np.argmax(gaps[:-1]))
    click_plot(qtbot, view, step, sequences[1, step])
    followed = window.training.followed
    assert followed is not None and (followed["sample"], followed["step"]) == (1, step)
    assert view.followed_index == 1 and view.step_line.isVisible() and view.step_line.value() == step

    expected = traced(window, window.training._view_info["inputs"][1])
    np.testing.assert_allclose(shown_values(window)["h"], expected["values"]["h"][step], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(shown_values(window)["x"], expected["values"]["x"][step], rtol=1e-6)
    click_neuron(qtbot, window, "h", 2)
    slider = window.inspector.follow_step
    assert window.inspector.follow_step_row.isVisible() and slider.value() == step
    z, a, text = explanation(window)
    assert close(z, float(expected["sums"]["h"][step, 2])) and f"step {step}" in text.splitlines()[0]
    assert "at the step before" in text  # the loop's terms read the step before

    later = min(step + 3, sequences.shape[1] - 1)
    slider.setValue(later)
    assert window.training.followed["step"] == later
    np.testing.assert_allclose(shown_values(window)["h"], expected["values"]["h"][later], rtol=1e-5, atol=1e-6)
    z, a, text = explanation(window)
    assert close(z, float(expected["sums"]["h"][later, 2])) and close(a, float(expected["values"]["h"][later, 2]))
    assert view.step_line.value() == later


# ---------------------------------------------------------------------------------------------- tables
# QTest warns that a plot alone in its window leaves the press unaccepted (pyqtgraph takes clicks in its scene)
@pytest.mark.qt_log_level_fail("CRITICAL")
def test_a_clicked_point_of_the_predicted_against_true_plot_is_followed(qtbot):
    from designer.ui.training.learned_view import TableView

    view = TableView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_info({"y_true": np.array([0.0, 1.0, 2.0, 3.0]), "classification": False})
    view.set_predictions({"predicted": np.array([0.2, 1.5, 1.8, 3.3])})
    view.getPlotItem().vb.setRange(xRange=(-0.5, 3.5), yRange=(-0.5, 3.8), padding=0)
    clicked = []
    view.on_click = lambda index, step: clicked.append((index, step))
    click_plot(qtbot, view, 1.0, 1.5)
    click_plot(qtbot, view, 0.0, 3.5)  # empty ground: far from every point
    assert clicked == [(1, -1), (-1, -1)]

"""Neuron pictures on the canvas (issue 9): each neuron drawn as what it computes, live while the network trains.

Real windows off-screen, real training on the worker thread, real torch. Every picture kind is checked against
numbers computed here by hand from the trained weights (not by the engine that drew it): a hidden neuron's map
over the 2-D input plane, a local neuron's incoming weights placed at its window on the image, and its strongest
validation images; a recurrent neuron's activation over a sequence. Also: the pictures are drawn with the output
map's colour scale, the cards make room for them without overlapping, View › Neuron Pictures is remembered
across a relaunch, and ``export --neurons`` draws them into the exported picture.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from designer.graph import Connectivity, Graph, Layer
from designer.project import Project, read_project
from designer.ui import resource_path
from designer.ui.canvas import neuron_pictures
from designer.ui.canvas.layout import PICTURE_GRID, layout_layer, shown_neurons
from designer.ui.main_window import MainWindow

from .test_training import LONG_RUN, answers, open_window, press, wait_idle, xor_project  # noqa: F401 (fixtures)


def pictures_on(qtbot, window: MainWindow) -> None:
    """View › Neuron Pictures, from its menu."""
    action = window.action_neuron_pictures
    assert action in window.menu_view.actions()
    if not action.isChecked():
        action.trigger()
    assert window.canvas.pictures_on()


def train(qtbot, window: MainWindow) -> None:
    press(qtbot, window, window.training.action_train)
    wait_idle(qtbot, window)
    assert window.training.last_run["status"] == "completed", window.training.last_error


def pixel(image: QImage, x: int, y: int) -> tuple[int, int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue(), c.alpha()


def local_project() -> Project:
    """16x16 shapes -> a shared 3x3 local connection, stride 2 -> conv (2, 7, 7) relu -> 4 softmax classes."""
    project = Project.new("Local")
    g: Graph = project.graph
    g.add_layer(Layer("image", "input", (16, 16), position=(0, 0)))
    g.add_layer(Layer("conv", "neurons", (2, 7, 7), activation="relu", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (4,), activation="softmax", position=(440, 0)))
    g.connect("image", "conv", Connectivity(kind="local", window=(3,), stride=2, shared=True),
              connection_id="image-conv")
    g.connect("conv", "out", connection_id="conv-out")
    project.dataset = {"kind": "builtin", "name": "shapes", "samples": 400, "noise": 0.05, "validation_split": 0.25,
                       "seed": 1}
    project.training.update(epochs=2, learning_rate=0.01, optimizer="adam", batch_size=32, device="cpu")
    return project


def sequence_project() -> Project:
    """Sine sequences -> h (4 tanh, looping onto itself) -> out (1 linear)."""
    project = Project.new("Loop")
    g: Graph = project.graph
    g.add_layer(Layer("x", "input", (1,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (4,), activation="tanh", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="linear", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "h", connection_id="h-h")
    g.connect("h", "out", connection_id="h-out")
    project.dataset = {"kind": "builtin", "name": "sine", "samples": 120, "noise": 0.02, "validation_split": 0.25,
                       "seed": 1}
    project.training.update(epochs=2, learning_rate=0.01, optimizer="adam", batch_size=16, device="cpu")
    return project


# ---------------------------------------------------------------------------------------------- 2-D data
def test_a_hidden_neurons_picture_is_its_activation_over_the_plane_evaluated_by_hand(qtbot, open_window):
    window = open_window(xor_project(epochs=LONG_RUN))
    pictures_on(qtbot, window)
    sent = []
    window.training.pictures_changed.connect(lambda payload: sent.append(payload))
    press(qtbot, window, window.training.action_train)
    # live: the starting weights' pictures, then new ones as it trains (at most every half second)
    qtbot.waitUntil(lambda: len([p for p in sent if p.get("epoch")]) >= 2, timeout=20_000)
    during = [p for p in sent if p.get("epoch")]
    assert during[1]["position"] > during[0]["position"] >= 0
    assert not np.array_equal(during[0]["layers"]["h"], during[1]["layers"]["h"])
    press(qtbot, window, window.training.action_stop)
    wait_idle(qtbot, window)  # the last pictures are the stored weights'

    payload = window.training.pictures
    item = window.canvas.canvas_scene.layer_items["h"]
    assert item.has_picture_slots() and item.picture_kind == "plane"
    assert sorted(item.pictures) == [0, 1, 2, 3]
    # by hand: tanh(w . (x, y) + b) on the grid the payload names (numpy.linspace over its bounds, row = y)
    weights = window.project.weights
    w, b = np.asarray(weights["x-h.weight"], dtype=np.float64), np.asarray(weights["h.bias"], dtype=np.float64)
    x0, x1, y0, y1 = payload["bounds"]
    size = payload["size"]
    xs, ys = np.linspace(x0, x1, size), np.linspace(y0, y1, size)
    for k in range(4):
        expected = np.tanh(w[k, 0] * xs[None, :] + w[k, 1] * ys[:, None] + b[k])
        np.testing.assert_allclose(item.pictures[k], expected, atol=2e-5)

    # drawn on the output map's scale: class 0's colour below 0, class 1's above, as pale as the map where it
    # is unsure (tanh spans -1..1); y grows upwards, as on the map
    from designer.ui.training import learned_view

    assert (neuron_pictures.SURE_STRENGTH, neuron_pictures.UNSURE_STRENGTH) == (learned_view.SURE_STRENGTH,
                                                                                learned_view.UNSURE_STRENGTH)
    np.testing.assert_allclose(neuron_pictures.class_colours(5), learned_view.class_colours(5))
    colours = learned_view.class_colours(2)
    image = item.picture_images[0]
    assert (image.width(), image.height()) == (size, size)
    value = np.tanh(w[0, 0] * xs[None, :] + w[0, 1] * ys[:, None] + b[0])
    for i, j in ((0, 0), (size - 1, 5), (size // 2, size // 3), (7, size - 1)):
        t = value[i, j]
        strength = learned_view.UNSURE_STRENGTH + (learned_view.SURE_STRENGTH - learned_view.UNSURE_STRENGTH) * abs(t)
        rgb = (colours[1 if t > 0 else 0] * strength + (1 - strength)) * 255
        drawn = pixel(image, j, size - 1 - i)
        assert drawn[3] == 255 and np.abs(np.array(drawn[:3]) - rgb).max() <= 0.6, (i, j, t, drawn, rgb)

    # the sigmoid output unit's picture is the output map itself (probability of class 1 -> the same colours)
    out = window.canvas.canvas_scene.layer_items["out"].picture_images[0]
    probabilities = window.training.learned_view.plane.image.image  # the map's RGBA, as drawn
    assert out.width() == probabilities.shape[1]
    for i, j in ((3, 3), (40, 20), (60, 60)):
        drawn, mapped = np.array(pixel(out, j, size - 1 - i)[:3]), probabilities[i, j, :3].astype(int)
        assert np.abs(drawn - mapped).max() <= 1, (drawn, mapped)  # (the map's probability went by the logit)

    # hovering says what the picture is and its scale
    assert "over the input plane" in item.neuron_text(0) and "tanh from -1 to 1" in item.neuron_text(0)


def test_an_unbounded_layer_is_normalised_per_layer_and_says_so(qtbot, open_window):
    project = xor_project(epochs=3)
    project.graph.update_layer("h", activation="relu")
    window = open_window(project)
    pictures_on(qtbot, window)
    train(qtbot, window)
    item = window.canvas.canvas_scene.layer_items["h"]
    low, high, normalised = item.picture_range
    biggest = max(float(np.abs(a).max()) for a in item.pictures.values())
    assert normalised and (low, high) == pytest.approx((-biggest, biggest))
    assert "normalised per layer" in item.neuron_text(1)


# ---------------------------------------------------------------------------------------------- images
def test_a_local_neurons_weight_picture_sits_at_its_window_and_its_strongest_images_are_its_hardest(
        qtbot, open_window):
    window = open_window(local_project())
    pictures_on(qtbot, window)
    train(qtbot, window)
    item = window.canvas.canvas_scene.layer_items["conv"]
    assert item.picture_kind == "images"
    # the card shows a readable subset with pictures on, and the worker drew exactly those neurons
    assert sorted(item.pictures) == shown_neurons((2, 7, 7))
    weights = window.project.weights
    kernel = np.asarray(weights["image-conv.weight"], dtype=np.float64)  # [out channels, in channels, 3, 3]
    for channel, row, col in ((0, 0, 0), (0, 1, 1), (1, 6, 6), (1, 0, 6)):
        index = channel * 49 + row * 7 + col
        picture = item.pictures[index]
        assert picture.shape == (16, 16)
        inside = np.zeros((16, 16), dtype=bool)
        inside[2 * row:2 * row + 3, 2 * col:2 * col + 3] = True  # stride 2, no padding
        assert np.isnan(picture[~inside]).all()
        np.testing.assert_allclose(picture[inside].reshape(3, 3), kernel[channel, 0], rtol=1e-6)
        # drawn: opaque in the window (orange for a positive weight, blue for a negative), transparent elsewhere
        image = item.picture_images[index]
        assert pixel(image, 15 if col < 5 else 0, 15 if row < 5 else 0)[3] == 0  # a place outside the window
        r, c = int(np.argmax(np.abs(kernel[channel, 0])) // 3), int(np.argmax(np.abs(kernel[channel, 0])) % 3)
        red, green, blue, alpha = pixel(image, 2 * col + c, 2 * row + r)
        assert alpha == 255
        assert (red > blue) == (kernel[channel, 0, r, c] > 0)
        # its slot on the card is a picture of at least 28 units a side
        assert item.picture_rect(index).width() == PICTURE_GRID >= 28

    # the strongest validation images: by hand, the neuron's value relu(sum of w * pixels + b) on each image
    info = window.training.pictures["info"]
    images = np.asarray(info["images"], dtype=np.float64)  # [n, 16, 16], the validation images searched
    index = 0 * 49 + 1 * 7 + 1
    bias = float(np.asarray(weights["conv.bias"])[index])
    patch = images[:, 2:5, 2:5]
    values = np.maximum((patch * kernel[0, 0]).sum(axis=(1, 2)) + bias, 0)
    strongest = item.strongest[index]
    assert len(strongest) == 6
    assert values[strongest].min() >= np.sort(values)[-6] - 1e-4
    tooltip = item.neuron_text(index)
    assert "drive it hardest" in tooltip and "Its window, enlarged" in tooltip
    assert tooltip.count("<img") == 1 + 6  # the window, then the six images


# ---------------------------------------------------------------------------------------------- sequences
def test_a_recurrent_neurons_picture_is_its_activation_over_the_steps_computed_by_hand(qtbot, open_window):
    window = open_window(sequence_project())
    pictures_on(qtbot, window)
    train(qtbot, window)
    item = window.canvas.canvas_scene.layer_items["h"]
    assert item.picture_kind == "sequence"
    sequence = np.asarray(window.training.pictures["info"]["sequence"], dtype=np.float64)[:, 0]  # [steps]
    weights = window.project.weights
    w_in, w_loop = np.asarray(weights["x-h.weight"], dtype=np.float64), np.asarray(weights["h-h.weight"], np.float64)
    b = np.asarray(weights["h.bias"], dtype=np.float64)
    h, states = np.zeros(4), []
    for x in sequence:  # the loop reads the step before (zeros at the first)
        h = np.tanh(w_in[:, 0] * x + w_loop @ h + b)
        states.append(h)
    states = np.array(states)  # [steps, 4]
    for k in range(4):
        np.testing.assert_allclose(item.pictures[k], states[:, k], atol=2e-5)
    assert "each step of a validation sequence" in item.neuron_text(2)


# ---------------------------------------------------------------------------------------------- the cards
@pytest.mark.parametrize("name", ["spiral", "shapes-local", "lenet-shapes", "sine-recurrent", "mlp-batchnorm"])
def test_with_pictures_the_slots_are_readable_and_the_cards_overlap_no_more_than_before(qtbot, name):
    from designer.ui.canvas.scene import CanvasScene

    graph = read_project(resource_path("examples") / f"{name}.nnd").graph

    def overlap(scene) -> float:
        frames = [item.mapRectToScene(item.frame) for item in scene.layer_items.values()]
        return sum(a.intersected(b).width() * a.intersected(b).height()
                   for i, a in enumerate(frames) for b in frames[i + 1:] if a.intersects(b))

    scene = CanvasScene(graph)
    try:
        before = overlap(scene)
        scene.set_pictures_mode(True)
        assert overlap(scene) <= before
        for lid, item in scene.layer_items.items():
            if graph.layers[lid].kind == "input":
                assert not item.layout.pictures
                continue
            assert item.layout.pictures and item.layout.radius * 2 >= 28
            for index in item.layout.neurons:  # the slots do not touch
                rect = item.picture_rect(index)
                assert not any(rect.intersects(item.picture_rect(other)) for other in item.layout.neurons
                               if other != index)
        scene.set_pictures_mode(False)
        assert overlap(scene) == before
        assert all(item.layout == layout_layer(graph.layers[lid].shape) for lid, item in scene.layer_items.items())
    finally:
        scene.detach()


def test_view_neuron_pictures_is_remembered_across_a_relaunch(qtbot, answers):
    first = MainWindow(Project.new())
    qtbot.addWidget(first)
    assert not first.action_neuron_pictures.isChecked() and not first.canvas.pictures_on()
    button = first.toolbar.widgetForAction(first.action_neuron_pictures)
    assert button is not None  # also on the toolbar
    first.action_neuron_pictures.trigger()
    assert first.canvas.pictures_on()
    assert first.close()

    second = MainWindow(Project.new())  # a new session on the same (temporary) settings
    qtbot.addWidget(second)
    assert second.action_neuron_pictures.isChecked() and second.canvas.pictures_on()
    assert second.training.pictures_wanted
    second.action_neuron_pictures.trigger()
    assert not second.canvas.pictures_on()
    assert second.close()

    third = MainWindow(Project.new())
    qtbot.addWidget(third)
    assert not third.action_neuron_pictures.isChecked() and not third.canvas.pictures_on()
    assert third.close()


def test_pictures_switched_on_after_a_run_come_from_the_stored_weights(qtbot, open_window):
    window = open_window(xor_project(epochs=3))
    train(qtbot, window)
    assert window.training.pictures is None  # nobody looked: none were computed
    pictures_on(qtbot, window)
    qtbot.waitUntil(lambda: window.training.pictures is not None, timeout=20_000)
    qtbot.waitUntil(lambda: window.training._preview is None, timeout=20_000)
    assert window.canvas.canvas_scene.layer_items["h"].picture_kind == "plane"
    window.training.reset_weights()
    assert window.training.pictures is None and not window.canvas.canvas_scene.layer_items["h"].pictures


# ---------------------------------------------------------------------------------------------- export
def test_export_neurons_draws_the_pictures_into_the_exported_picture(qtbot, tmp_path, capsys):
    from designer.cli import main
    from designer.project import write_project

    project = xor_project(epochs=5)
    path = tmp_path / "xor.nnd"
    write_project(project, path)
    assert main(["train", str(path)]) == 0
    plain, pictures = tmp_path / "plain.png", tmp_path / "neurons.png"
    assert main(["export", str(path), "--to", "png", "-o", str(plain)]) == 0
    assert main(["export", str(path), "--to", "png", "-o", str(pictures), "--neurons"]) == 0
    a, b = QImage(str(plain)), QImage(str(pictures))
    assert not a.isNull() and not b.isNull()
    assert a.size() != b.size() or a != b
    # the pictures carry the class colours of the map: many pixels near class 0's and class 1's colours
    def coloured(image: QImage, colour: str) -> int:
        target = QColor(colour)
        small = image.scaled(200, 200)
        hits = 0
        for y in range(small.height()):
            for x in range(small.width()):
                c = small.pixelColor(x, y)
                if abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue()) < 90:
                    hits += 1
        return hits

    assert coloured(b, "#8FA9E8") > coloured(a, "#8FA9E8") + 20  # class 0's colour at the map's strength
    svg = tmp_path / "neurons.svg"
    assert main(["export", str(path), "--to", "svg", "-o", str(svg), "--neurons"]) == 0
    assert "<image" in svg.read_text()
    # refused where it makes no sense: a format that is no picture, a project without trained weights
    assert main(["export", str(path), "--to", "py", "-o", str(tmp_path / "m.py"), "--neurons"]) == 2
    fresh = tmp_path / "fresh.nnd"
    write_project(xor_project(epochs=5), fresh)
    assert main(["export", str(fresh), "--to", "png", "-o", str(tmp_path / "f.png"), "--neurons"]) == 2
    assert "no trained weights" in capsys.readouterr().err

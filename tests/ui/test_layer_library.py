"""The parts practitioners draw, in the window: activations with their curves, slope, dropout, normalisation,
initialisations, pooling connections, the training settings that came with them, and the learning rate's curve.

Real widgets off-screen; every edit goes through the undo stack and is undone exactly.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from designer.compiler import runtime
from designer.graph import ACTIVATIONS, INITS, Connectivity, Graph, Layer
from designer.project import Project
from designer.training.config import LOSSES, OPTIMIZERS, SCHEDULES, TrainingConfig
from designer.ui.canvas.layer_item import LayerItem, describe
from designer.ui.dataset_panel import DatasetPanel
from designer.ui.inspector import ACTIVATION_NAMES, ActivationCurve, Inspector
from designer.ui.training.loss_plot import LossPlot

from .test_window import drop_on_canvas, make_window


@pytest.fixture
def design():
    """x [2, 8, 8] -> h (16 relu) -> r (an LSTM of 4) -> out; x -> p: a 2x2 local connection, stride 2."""
    g = Graph()
    g.add_layer(Layer("x", "input", (2, 8, 8), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (16,), activation="relu", position=(250, 0)))
    g.add_layer(Layer("r", "lstm", (4,), position=(500, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(750, 0)))
    g.add_layer(Layer("p", "neurons", (4, 4), position=(250, 300)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "r", connection_id="h-r")
    g.connect("r", "out", connection_id="r-out")
    g.connect("x", "p", connection_id="x-p", connectivity=Connectivity("local", (2,), 2))
    return g


@pytest.fixture
def inspector(qtbot, design):
    stack = QUndoStack()
    widget = Inspector(design, stack)
    qtbot.addWidget(widget)
    widget.resize(320, 700)
    widget.show()
    return widget


def pick(combo, value) -> None:
    """Choose the entry whose data is ``value``, as a click on it does."""
    index = combo.findData(value)
    assert index >= 0, (value, [combo.itemData(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)


def shown(form, widget) -> bool:
    return form.isRowVisible(widget)


# ---------------------------------------------------------------- the layer page
def test_every_activation_is_offered_by_a_readable_name(inspector):
    combo = inspector.activation
    assert [combo.itemData(i) for i in range(combo.count())] == list(ACTIVATIONS)
    for i in range(combo.count()):
        assert combo.itemText(i) == ACTIVATION_NAMES[combo.itemData(i)] and combo.itemText(i) != combo.itemData(i)
    assert combo.itemText(combo.findData("gelu")) == "GELU"
    assert combo.itemText(combo.findData("hard_sigmoid")) == "Hard sigmoid"


def test_leaky_relu_shows_its_slope_and_each_edit_undoes_exactly(inspector, design):
    stack, form = inspector.undo_stack, inspector._layer_form
    inspector.show_selection(["h"])
    start = design.to_dict()
    assert not shown(form, inspector.slope)  # relu has no slope
    pick(inspector.activation, "leaky_relu")
    assert design.layer("h").activation == "leaky_relu"
    assert shown(form, inspector.slope) and inspector.slope.value() == pytest.approx(0.01)
    assert inspector.activation_curve.name == "leaky_relu"
    inspector.slope.setValue(0.2)
    assert design.layer("h").slope == 0.2
    assert inspector.activation_curve.slope == 0.2  # the curve follows the slope
    assert stack.count() == 2  # the activation, then the slope: a step each
    stack.undo()
    assert design.layer("h").slope == 0.01 and inspector.slope.value() == pytest.approx(0.01)
    stack.undo()
    assert design.to_dict() == start and inspector.activation.currentData() == "relu"
    assert not shown(form, inspector.slope)


def test_dropout_and_normalisation_edit_the_layer_and_undo_exactly(inspector, design):
    stack, form = inspector.undo_stack, inspector._layer_form
    inspector.show_selection(["h"])
    before = Layer.from_dict(design.layer("h").to_dict())
    assert shown(form, inspector.dropout) and shown(form, inspector.norm)
    assert [inspector.norm.itemText(i) for i in range(inspector.norm.count())] == [
        "None", "Batch normalisation", "Layer normalisation"]
    assert (inspector.dropout.minimum(), inspector.dropout.maximum(), inspector.dropout.singleStep()) == (
        0.0, 0.95, 0.05)
    inspector.dropout.setValue(0.5)
    assert design.layer("h").dropout == 0.5
    pick(inspector.norm, "batch")
    assert design.layer("h").norm == "batch"
    assert stack.count() == 2
    assert inspector.subtitle.text() == "16 neurons · 2,096 parameters with incoming weights"  # + scale, shift
    stack.undo()
    assert design.layer("h").norm == "none" and inspector.norm.currentData() == "none"
    stack.undo()
    assert design.layer("h") == before and inspector.dropout.value() == 0.0
    # an LSTM drops out too, but normalises nothing; an input layer does neither
    inspector.show_selection(["r"])
    assert shown(form, inspector.dropout) and not shown(form, inspector.norm)
    assert not shown(form, inspector.activation) and not shown(form, inspector.activation_box)
    inspector.show_selection(["x"])
    assert not shown(form, inspector.dropout) and not shown(form, inspector.norm)


def test_a_recurrent_layer_chooses_how_its_recurrent_weights_start(inspector, design):
    stack, form = inspector.undo_stack, inspector._layer_form
    inspector.show_selection(["r"])
    assert shown(form, inspector.layer_init) and not shown(form, inspector.layer_init_value)
    assert [inspector.layer_init.itemData(i) for i in range(inspector.layer_init.count())] == list(INITS)
    pick(inspector.layer_init, "orthogonal")
    pick(inspector.layer_init, "constant")  # a second choice straight after: the same step
    assert design.layer("r").init == "constant" and stack.count() == 1
    assert shown(form, inspector.layer_init_value)
    inspector.layer_init_value.setValue(0.25)
    assert design.layer("r").init_value == 0.25 and stack.count() == 2
    assert design.layer("r").to_dict()["init"] == "constant" and design.layer("r").to_dict()["init_value"] == 0.25
    stack.undo()
    stack.undo()
    assert (design.layer("r").init, design.layer("r").init_value) == ("default", 0.0)
    assert not shown(form, inspector.layer_init_value)
    inspector.show_selection(["h"])  # a neurons layer's weights start on its connections
    assert not shown(form, inspector.layer_init)


# ---------------------------------------------------------------- the activation's curve
def torch_activation(name: str, z: torch.Tensor, slope: float) -> torch.Tensor:
    """What the compiled network computes (the compiler's helpers for step and sign)."""
    if name == "softmax":  # one unit's share against a second unit at 0
        return F.softmax(torch.stack([z, torch.zeros_like(z)]), dim=0)[0]
    return {
        "step": runtime.step, "sign": runtime.sign, "linear": lambda v: v, "sigmoid": torch.sigmoid,
        "hard_sigmoid": F.hardsigmoid, "tanh": torch.tanh, "relu": F.relu,
        "leaky_relu": lambda v: F.leaky_relu(v, slope), "elu": F.elu, "gelu": F.gelu, "softplus": F.softplus,
        "silu": F.silu,
    }[name](z)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_the_curve_drawn_is_the_activation_torch_computes(qtbot, name):
    widget = ActivationCurve()
    qtbot.addWidget(widget)
    slope = 0.2
    widget.set_activation(name, slope)
    samples = widget.samples()
    assert len(samples) == ActivationCurve.SAMPLES
    z = torch.tensor([s[0] for s in samples], dtype=torch.float64)
    assert z[0] == -4.0 and z[-1] == 4.0 and (z == 0).any()
    expected = torch_activation(name, z, slope)
    got = torch.tensor([s[1] for s in samples], dtype=torch.float64)
    assert torch.allclose(got, expected, rtol=1e-9, atol=1e-12), (name, (got - expected).abs().max())
    low, high = widget.y_range()
    assert low <= float(got.min()) and float(got.max()) <= high  # all of it in view
    widget.show()
    image = widget.grab().toImage()  # it paints (a curve in the kind's colour)
    assert any(image.pixelColor(x, y).blue() > image.pixelColor(x, y).red() + 60
               for x in range(0, image.width(), 2) for y in range(image.height()))


def test_the_inspector_draws_the_chosen_activation_and_explains_softmax(inspector):
    inspector.show_selection(["out"])
    assert inspector.activation_curve.isVisible() and inspector.activation_curve.name == "sigmoid"
    pick(inspector.activation, "softmax")
    assert inspector.activation_curve.name == "softmax"
    text = inspector.activation_formula.text()
    assert "over the layer's units" in text and "one unit against another at 0" in text
    pick(inspector.activation, "gelu")
    assert "Φ" in inspector.activation_formula.text()


# ---------------------------------------------------------------- the connection page
def test_the_operation_makes_a_local_connection_pool_and_the_target_keeps_the_channels(inspector, design):
    stack, form = inspector.undo_stack, inspector._connection_form
    inspector.show_selection(["x-p"])
    start = design.to_dict()
    assert inspector.operation.currentText() == "Weighted sum"
    assert shown(form, inspector.shared) and shown(form, inspector.init)
    assert inspector.subtitle.text().startswith(f"{2 * 4 * 16:,} weights")
    pick(inspector.operation, "max")
    conn = design.connection("x-p")
    assert conn.connectivity.pool == "max" and conn.connectivity.is_pool
    assert design.layer("p").shape == (2, 4, 4)  # the channels kept, over the 4x4 grid
    assert stack.count() == 1 and stack.undoText() == "Make x-p max pooling"
    assert inspector.subtitle.text().startswith("max pooling: no weights")
    assert inspector.produces.text() == "a 4 × 4 grid, on each of the 2 channels (kept): shape 2, 4, 4"
    assert not shown(form, inspector.shared) and shown(form, inspector.no_weights)
    assert "maximum" in inspector.no_weights.text()
    assert not shown(form, inspector.init)  # nothing to start
    pick(inspector.operation, "mean")
    assert design.connection("x-p").connectivity.pool == "mean" and "mean" in inspector.no_weights.text()
    stack.undo()
    stack.undo()
    assert design.to_dict() == start
    assert inspector.operation.currentData() == "" and shown(form, inspector.shared)
    # a dense connection has no window, so no operation
    inspector.show_selection(["x-h"])
    assert not shown(form, inspector.operation)


def test_a_connection_chooses_how_its_weights_start(inspector, design):
    stack, form = inspector.undo_stack, inspector._connection_form
    inspector.show_selection(["x-h"])
    assert inspector.init.currentData() == "default" and not shown(form, inspector.init_value)
    pick(inspector.init, "he_normal")
    assert (design.connection("x-h").init, stack.count()) == ("he_normal", 1)
    pick(inspector.init, "constant")  # straight after: the same step
    assert shown(form, inspector.init_value) and stack.count() == 1
    inspector.init_value.setValue(0.5)
    assert (design.connection("x-h").init, design.connection("x-h").init_value) == ("constant", 0.5)
    assert design.connection("x-h").to_dict()["init_value"] == 0.5
    stack.undo()
    assert (design.connection("x-h").init, design.connection("x-h").init_value) == ("default", 0.0)
    assert inspector.init.currentData() == "default" and not shown(form, inspector.init_value)
    stack.redo()
    assert (design.connection("x-h").init, design.connection("x-h").init_value) == ("constant", 0.5)


# ---------------------------------------------------------------- the canvas
def test_a_card_shows_its_dropout_and_normalisation(qtbot, design):
    window = make_window(qtbot, design)
    window.canvas.select("h")
    window.inspector.dropout.setValue(0.5)
    pick(window.inspector.norm, "batch")
    card = window.canvas.canvas_scene.layer_items["h"]
    assert card.subtitle == "relu · 16 · batch norm · dropout 0.5"
    assert "dropout 0.5" in card.toolTip()
    window.undo_stack.undo()
    assert card.subtitle == "relu · 16 · dropout 0.5"
    # an LSTM drops out too; an output layer's card stays as it was
    assert describe(Layer("m", "lstm", (8,), dropout=0.25)) == "lstm · 8 · dropout 0.25"
    assert describe(Layer("l", "neurons", (3,), activation="tanh", norm="layer")) == "tanh · 3 · layer norm"
    assert LayerItem(Layer("n", "neurons", (4,), activation="gelu")).subtitle == "gelu · 4"


def test_a_pooling_connection_is_labelled_and_drawn_dashed_without_weights(qtbot, design):
    design.update_connection("x-p", connectivity=Connectivity("local", (2,), 2, pool="max"))
    design.update_layer("p", shape=(2, 4, 4))
    window = make_window(qtbot, design)
    item = window.canvas.canvas_scene.connection_items["x-p"]
    assert item.is_pool and item._label == "max 2×2"
    assert item.mode == "links" and len(item.links) == 2 * 16 * 4  # each channel's window, on its own channel
    assert {link.source // 64 for link in item.links if link.target < 16} == {0}
    assert all(link.source // 64 == link.target // 16 for link in item.links)
    assert item.link_pen(item.links[0]).style() == Qt.PenStyle.DashLine
    assert "max pooling" in item.summary_text() and "no weights" in item.summary_text()
    assert not item.set_weights(torch.ones(3).numpy())  # nothing to colour
    assert item.mean_weight is None
    design.update_connection("x-p", connectivity=Connectivity("local", (2,), 2, padding="valid", pool="mean"))
    assert window.canvas.canvas_scene.connection_items["x-p"]._label == "mean 2×2"


def test_max_pooling_from_the_palette_pools_the_first_connection_into_it(qtbot):
    g = Graph()
    g.add_layer(Layer("x", "input", (3, 8, 8), position=(0, 0)))
    window = make_window(qtbot, g)
    palette = window.palette
    assert palette.list.item(palette.list.count() - 1).text() == "Max pooling"
    assert "2×2" in palette.item("pool").toolTip()
    view = window.canvas
    assert drop_on_canvas(window, palette.mimeData("pool"), view.mapFromScene(300, 0))
    pool = [layer for layer in g.layers.values() if layer.id != "x"][0]
    assert (pool.kind, pool.activation, pool.bias) == ("neurons", "linear", False)
    view._connect("x", pool.id)  # as a drag from x's port onto it does
    conn = g.incoming(pool.id)[0]
    assert (conn.connectivity.kind, conn.connectivity.pool, conn.connectivity.window,
            conn.connectivity.stride) == ("local", "max", (2,), 2)
    assert g.layer(pool.id).shape == (3, 4, 4)
    assert window.undo_stack.undoText() == f"Connect x to {pool.id} (max pooling)"
    window.undo_stack.undo()  # the connection and the new shape, as one step
    assert not g.incoming(pool.id) and g.layer(pool.id).shape == (4, 4)


# ---------------------------------------------------------------- the training settings
@pytest.fixture
def panel(qtbot):
    project = Project.new("Settings")
    stack = QUndoStack()
    widget = DatasetPanel(project, stack)
    qtbot.addWidget(widget)
    widget.setCurrentIndex(1)
    widget.resize(360, 900)
    widget.show()
    return widget


def test_the_choices_have_readable_names_and_cover_the_engines(panel):
    for combo, values in ((panel.loss, LOSSES), (panel.optimizer, OPTIMIZERS), (panel.schedule, SCHEDULES)):
        assert sorted(combo.itemData(i) for i in range(combo.count())) == sorted(values)
        assert all(combo.itemText(i) != combo.itemData(i) for i in range(combo.count()))


def test_each_new_training_setting_is_written_to_the_block_and_read_back(qtbot, panel):
    project, stack = panel.project, panel.undo_stack
    form = panel._training_form
    pick(panel.loss, "cross_entropy")
    panel.label_smoothing.setValue(0.1)
    assert panel.label_smoothing.isEnabled() and not shown(form, panel.huber_delta)
    pick(panel.loss, "huber")
    assert shown(form, panel.huber_delta) and not panel.label_smoothing.isEnabled()
    panel.huber_delta.setValue(0.5)
    pick(panel.optimizer, "sgd")
    panel.momentum.setValue(0.9)
    assert shown(form, panel.nesterov) and panel.nesterov.isEnabled()
    panel.nesterov.setChecked(True)
    panel.weight_decay.setValue(0.01)
    pick(panel.schedule, "step")
    assert [shown(form, w) for w in (panel.step_size, panel.gamma, panel.patience, panel.min_learning_rate)] == [
        True, True, False, False]
    panel.step_size.setValue(10)
    panel.gamma.setValue(0.5)
    wanted = {"loss": "huber", "label_smoothing": 0.1, "huber_delta": 0.5, "optimizer": "sgd", "momentum": 0.9,
              "nesterov": True, "weight_decay": 0.01, "schedule": "step", "step_size": 10, "gamma": 0.5}
    assert {k: project.training.get(k) for k in wanted} == wanted
    config = TrainingConfig.from_dict(project.training)  # what the form wrote trains
    assert (config.schedule, config.step_size, config.gamma, config.nesterov) == ("step", 10, 0.5, True)
    pick(panel.schedule, "plateau")
    assert [shown(form, w) for w in (panel.step_size, panel.gamma, panel.patience, panel.min_learning_rate)] == [
        False, True, True, True]
    panel.patience.setValue(4)
    panel.min_learning_rate.setValue(0.0001)
    assert (project.training["patience"], project.training["min_learning_rate"]) == (4, 0.0001)
    pick(panel.schedule, "cosine")
    assert [shown(form, w) for w in (panel.step_size, panel.gamma, panel.patience, panel.min_learning_rate)] == [
        False, False, False, True]
    block = dict(project.training)

    # read back: another panel on a project with this block shows every value
    other = Project.new("Read back")
    other.training = dict(block)
    second = DatasetPanel(other, QUndoStack())
    qtbot.addWidget(second)
    assert second.loss.currentData() == "huber" and second.huber_delta.value() == 0.5
    assert second.label_smoothing.value() == pytest.approx(0.1)
    assert second.optimizer.currentData() == "sgd" and second.momentum.value() == pytest.approx(0.9)
    assert second.nesterov.isChecked() and second.weight_decay.value() == pytest.approx(0.01)
    assert second.schedule.currentData() == "cosine" and second.step_size.value() == 10
    assert second.gamma.value() == 0.5 and second.patience.value() == 4
    assert second.min_learning_rate.value() == pytest.approx(0.0001)

    # and undo takes each back, the fields following
    while stack.canUndo():
        stack.undo()
    assert project.training == Project.new("x").training
    assert panel.loss.currentData() == "auto" and panel.schedule.currentData() == "none"
    assert not panel.nesterov.isChecked() and panel.weight_decay.value() == 0.0


def test_momentum_is_for_sgd_and_rmsprop_and_nesterov_needs_it(panel):
    project, form = panel.project, panel._training_form
    for optimizer, momentum, nesterov in (("sgd", True, True), ("adam", False, False), ("adamw", False, False),
                                          ("rmsprop", True, False)):
        pick(panel.optimizer, optimizer)
        assert (panel.momentum.isEnabled(), shown(form, panel.nesterov)) == (momentum, nesterov), optimizer
    pick(panel.optimizer, "sgd")
    panel.momentum.setValue(0.0)
    assert not panel.nesterov.isEnabled()  # nothing for Nesterov to look ahead with
    panel.momentum.setValue(0.9)
    panel.nesterov.setChecked(True)
    panel.momentum.setValue(0.0)  # takes Nesterov with it, in the same step
    assert project.training["nesterov"] is False and not panel.nesterov.isChecked()
    TrainingConfig.from_dict(project.training)
    panel.undo_stack.undo()
    assert project.training["nesterov"] is True and project.training["momentum"] == 0.9


# ---------------------------------------------------------------- the learning rate on the loss plot
@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def run(rates):
    epochs = list(range(1, len(rates) + 1))
    return {"id": "run-1", "status": "completed", "epochs": epochs, "train_loss": [1 / e for e in epochs],
            "val_loss": [1.2 / e for e in epochs], "train_accuracy": [], "val_accuracy": [], "learning_rate": rates}


def visible_legend(plot) -> list[str]:
    legend = plot.findChild(QWidget, "loss_plot_legend")
    return [label.text() for label in plot.legend_labels if label.isVisibleTo(legend)]


def test_a_stored_run_whose_rate_changes_shows_the_learning_rate(plot):
    rates = [0.1] * 3 + [0.01] * 3 + [0.001] * 2
    plot.show_run(run(rates))
    assert plot.shows_learning_rate and plot.rate.isVisible()
    xs, ys = plot.rate_curve.xData, plot.learning_rate.y
    assert list(plot.learning_rate.x) == list(range(1, 9)) and list(ys) == rates
    assert len(xs) == 8
    assert visible_legend(plot) == ["training", "validation", "learning rate"]
    # the lowest plot carries the epochs
    assert plot.rate.getAxis("bottom").labelText == "epoch"
    assert plot.loss.getAxis("bottom").labelText != "epoch"
    assert "lr 0.01" in plot.values_at(5)
    # a run at one rate throughout: no strip, no legend entry
    plot.show_run(run([0.1] * 8))
    assert not plot.shows_learning_rate and not plot.rate.isVisible()
    assert visible_legend(plot) == ["training", "validation"]
    assert plot.loss.getAxis("bottom").labelText == "epoch"
    # a run stored before the rate was recorded
    old = run([0.1] * 4)
    del old["learning_rate"]
    plot.show_run(old)
    assert not plot.shows_learning_rate


def test_the_rate_shows_live_once_it_changes_and_sits_under_the_accuracy(plot):
    plot.begin_run(classification=True, epochs=10)
    for b in range(1, 9):
        plot.add_batches(b / 4, 1.0 / b, 0.1)
    plot.redraw()
    assert not plot.shows_learning_rate  # flat so far
    for b in range(9, 17):
        plot.add_batches(b / 4, 1.0 / b, 0.1 * math.cos(b / 20))
    plot.redraw()
    assert plot.shows_learning_rate and plot.accuracy.isVisible()
    rows = {p: plot.graphics.ci.items[p][0][0] for p in (plot.loss, plot.accuracy, plot.rate)}
    assert rows == {plot.loss: 0, plot.accuracy: 1, plot.rate: 2}
    assert len(plot.rate_curve.xData) == 16
    assert plot.rate.getAxis("bottom").labelText == "epoch"
    plot.end_run()
    plot.begin_run(classification=False)  # a new run starts without it, until its rate changes
    assert not plot.shows_learning_rate and not plot.rate.isVisible()
    plot.end_run()


def test_the_window_shows_the_new_fields_of_a_selected_layer(qtbot, design):
    """In the real window (docked inspector at the default size), a selected layer's new fields are on screen."""
    design.update_connection("x-p", connectivity=Connectivity("local", (2,), 2, pool="max"))
    design.update_layer("p", shape=(2, 4, 4))
    design.update_layer("h", activation="leaky_relu", slope=0.2, dropout=0.5, norm="batch")
    window = make_window(qtbot, design)
    window.canvas.select("h")
    qtbot.wait(20)
    assert window.inspector.activation_curve.isVisible() and window.inspector.slope.isVisible()
    assert window.inspector.dropout.isVisible() and window.inspector.norm.isVisible()
    assert window.inspector.slope.value() == pytest.approx(0.2)
    assert window.inspector.norm.currentText() == "Batch normalisation"
    assert window.canvas.canvas_scene.layer_items["h"].subtitle == "leaky_relu · 16 · batch norm · dropout 0.5"


def test_a_pooled_neuron_reads_a_window_on_its_own_channel_and_has_no_weights(inspector, design):
    from designer.ui.neuron_weights import incoming_weights, local_window

    design.update_connection("x-p", connectivity=Connectivity("local", (2,), 2, pool="max"))
    design.update_layer("p", shape=(2, 4, 4))
    conn = design.connection("x-p")
    window = local_window(design, conn, 16 + 5)  # channel 1, row 1, column 1
    assert (window.first_channel, window.channels, window.weights) == (1, 1, 0)
    assert window.positions() == {64 + 2 * 8 + 2, 64 + 2 * 8 + 3, 64 + 3 * 8 + 2, 64 + 3 * 8 + 3}
    assert window.describe() == "2×2 on channel 1, pooled to its maximum"
    bias, rows, notes = incoming_weights(design, {"x-h.weight": torch.zeros(16, 128).numpy()}, "p", 21)
    assert (bias, rows) == (None, [])
    assert notes == ["x-p: no weights, 2×2 on channel 1, pooled to its maximum on x (outlined on the canvas)"]
    inspector.show_neuron("p", 21)
    assert "pooled to its maximum" in inspector.neuron_page.text()

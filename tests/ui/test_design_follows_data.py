"""The design follows the data, and weights follow the design: what a person starting from File > New meets.

A dropped input layer takes the data's shape and an output layer its classes; choosing other data offers to
adapt the design in one undo step; an edit that changes what a layer computes makes its trained weights
start afresh (said in Problems, on the canvas and at Train), and undoing it brings them back. Real widgets,
real drops and clicks, real training.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from designer.graph import Graph, Layer
from designer.project import Project
from designer.ui.main_window import MainWindow

from .conftest import wait_for_data
from .test_training import answers, press, wait_idle  # noqa: F401 (answers: a fixture)
from .test_window import choose, drop_on_canvas, quick_typing  # noqa: F401 (a fixture)


@pytest.fixture
def window(qtbot, answers):
    w = MainWindow(Project.new())
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    return w


def use_dataset(qtbot, window: MainWindow, title: str) -> None:
    """Pick a built-in dataset in the Data tab by typing its title, as a keyboard user does."""
    window.dataset_panel.setCurrentIndex(0)
    choose(qtbot, window.dataset_panel.dataset_name, title)
    qtbot.waitUntil(lambda: not window._validation_timer.isActive())


def drop(window: MainWindow, kind: str, x: int, y: int):
    """Drop a palette item on the canvas at viewport point (x, y); the new layer."""
    before = set(window.graph.layers)
    assert drop_on_canvas(window, window.palette.mimeData(kind), QPoint(x, y))
    (new,) = set(window.graph.layers) - before
    return window.graph.layer(new)


def train_then_change_the_output(qtbot, window: MainWindow, graph: Graph, epochs: int, activation: str) -> dict:
    """Train ``graph`` (the conftest's x -> h -> out) for ``epochs``, then choose another activation for
    ``out`` in the inspector; the weights as trained."""
    project = Project(name="XOR", graph=graph)
    project.training.update(epochs=epochs)
    window.open_project(project)
    press(qtbot, window, window.training.action_train)
    wait_idle(qtbot, window)
    assert window.project.weights is not None
    trained = {name: value.copy() for name, value in window.project.weights.items()}
    window.canvas.select("out")
    choose(qtbot, window.inspector.activation, activation)
    assert window.graph.layer("out").activation == activation.lower()
    return trained


def test_a_dropped_input_takes_the_datas_shape_and_an_output_its_classes(qtbot, window):
    use_dataset(qtbot, window, "Shapes")
    assert window.project.dataset["name"] == "shapes"
    image = drop(window, "input", 150, 200)
    assert image.shape == (16, 16)  # the data's 16x16 images
    answer = drop(window, "output", 600, 200)
    assert (answer.shape, answer.activation) == ((4,), "softmax")  # one unit per shape class
    use_dataset(qtbot, window, "Sine")
    values = drop(window, "output", 600, 420)
    assert (values.shape, values.activation) == ((1,), "linear")  # a value to predict
    hidden = drop(window, "neurons", 400, 420)
    assert (hidden.shape, hidden.activation) == ((8,), "tanh")


def test_choosing_other_data_offers_to_adapt_input_and_output_in_one_undo_step(qtbot, window, graph):
    window.open_project(Project(name="XOR", graph=graph))
    assert not window.adapt_bar.isVisible()
    use_dataset(qtbot, window, "Shapes")
    qtbot.waitUntil(window.adapt_bar.isVisible)
    text = window.adapt_label.text()
    assert "'shapes'" in text and "[2]" in text and "[16, 16]" in text and "4 softmax units" in text
    assert not window.status_text().startswith("Valid")  # the data does not fit the design yet
    steps = window.undo_stack.count()
    qtbot.mouseClick(window.adapt_button, Qt.MouseButton.LeftButton)
    assert window.graph.layer("x").shape == (16, 16)
    out = window.graph.layer("out")
    assert (out.shape, out.activation) == ((4,), "softmax")
    assert window.undo_stack.count() == steps + 1  # both layers in one step
    assert window.history.model().data(window.history.model().index(steps + 1, 0)) == "Adapt the design to shapes"
    qtbot.waitUntil(lambda: window.status_text().startswith("Valid"))
    assert not window.adapt_bar.isVisible()
    window.action_undo.trigger()
    assert window.graph.layer("x").shape == (2,) and window.graph.layer("out").shape == (1,)
    assert window.project.dataset["name"] == "shapes"  # the data stays chosen


def test_keep_as_is_hides_the_offer_and_the_problem_stays_listed(qtbot, window, graph):
    window.open_project(Project(name="XOR", graph=graph))
    use_dataset(qtbot, window, "Shapes")
    qtbot.waitUntil(window.adapt_bar.isVisible)
    qtbot.mouseClick(window.adapt_bar.findChild(QPushButton, "adapt_dismiss"), Qt.MouseButton.LeftButton)
    assert not window.adapt_bar.isVisible()
    assert any("layer x" in line and "[16, 16]" in line for line in window.problems.lines())


def test_a_changed_activation_starts_that_layer_afresh_and_undo_brings_its_weights_back(qtbot, window, graph):
    trained = train_then_change_the_output(qtbot, window, graph, 20, "Tanh")
    qtbot.waitUntil(lambda: any(line.startswith("warning: weights: out, h-out start from fresh weights")
                                for line in window.problems.lines()))
    assert window.status_text().startswith("Valid")  # a warning, not an error: it trains
    links = window.canvas.canvas_scene.connection_items
    assert links["h-out"].weights is None  # drawn untrained: the next run does not use them
    assert links["x-h"].weights is not None  # trained links keep the colour of their weights

    press(qtbot, window, window.training.action_train)
    qtbot.waitUntil(lambda: "start from fresh weights" in window.training.status_label.text(), timeout=10_000)
    wait_idle(qtbot, window)
    run = window.project.history[-1]
    assert run["initial_weights"] == "partly stored"
    assert not any("weights:" in line for line in window.problems.lines())  # the new weights fit
    assert not np.array_equal(window.project.weights["h-out.weight"], trained["h-out.weight"])


def test_undoing_the_edit_before_training_makes_every_weight_fit_again(qtbot, window, graph):
    train_then_change_the_output(qtbot, window, graph, 5, "Linear")
    qtbot.waitUntil(lambda: any("fresh weights" in line for line in window.problems.lines()))
    window.action_undo.trigger()
    qtbot.waitUntil(lambda: window.problems.lines() == [])
    assert window.canvas.canvas_scene.connection_items["h-out"].weights is not None


def test_saving_after_such_an_edit_leaves_the_stale_weights_out_of_the_file(qtbot, window, graph, tmp_path):
    from designer.project import read_project

    train_then_change_the_output(qtbot, window, graph, 5, "Linear")
    assert window._write(tmp_path / "edited.nnd")
    saved = read_project(tmp_path / "edited.nnd")
    assert set(saved.weights) == {"x-h.weight", "h.bias"}  # out and h-out were made for a sigmoid


def test_a_run_that_could_not_run_is_shown_apart_and_goes_with_the_next_edit(qtbot, window, graph, tmp_path):
    """Stale run messages live apart from the design's problems and are not counted with them."""
    window.open_project(Project(name="XOR", graph=graph))
    window.problems.set_run_message("Training could not run: the file changed")
    assert window.problems.run_label.isVisible()
    assert window.problems_dock.windowTitle() == "Problems" and window.status_text().startswith("Valid")
    window.canvas.select("h")
    choose(qtbot, window.inspector.activation, "ReLU")
    assert not window.problems.run_label.isVisible() and window.problems.run_message is None


def test_one_parameter_is_said_in_the_singular(qtbot, window, tmp_path):
    g = Graph()
    g.add_layer(Layer("x", "input", (1,), position=(0, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="linear", bias=False, position=(220, 0)))
    g.connect("x", "out", connection_id="x-out")
    (tmp_path / "line.csv").write_text("a,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(20)))
    project = Project(name="One", graph=g, path=tmp_path / "one.nnd")
    project.dataset = {"kind": "csv", "path": "line.csv", "target": "y", "task": "regression"}
    window.open_project(project)
    wait_for_data(qtbot, window)
    assert window.status_text() == "Valid · 1 parameter", window.problems.lines()


def test_the_history_names_a_dataset_change_by_the_dataset(qtbot, window):
    use_dataset(qtbot, window, "AND")
    model = window.history.model()
    assert model.data(model.index(window.undo_stack.count(), 0)) == "Use dataset gate_and"


def test_a_long_fix_in_problems_wraps_and_is_never_cut_short(qtbot, window, graph):
    window.open_project(Project(name="XOR", graph=graph))
    use_dataset(qtbot, window, "Shapes")
    window.problems_dock.show()
    window.problems_dock.raise_()
    window.resizeDocks([window.problems_dock], [180], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: window.problems.list.viewport().width() < 200)
    listing = window.problems.list
    (index,) = [i for i in range(listing.count()) if "set its shape to [16, 16]" in window.problems.row_text(i)]
    label = listing.itemWidget(listing.item(index)).findChild(QLabel, "problem_text")
    assert label.text().endswith("set its shape to [16, 16]")
    QApplication.processEvents()
    # the whole text fits in the row the list gives it: every wrapped line is inside the visible row
    needed = label.heightForWidth(label.width())
    assert label.height() >= needed and label.width() <= listing.viewport().width()
    assert listing.visualItemRect(listing.item(index)).height() >= needed


def test_a_reopened_project_names_its_last_runs_figures(qtbot, window, graph):
    from designer.training import train_project

    project = Project(name="XOR", graph=graph)
    project.training.update(epochs=3)
    run = train_project(project)
    window.open_project(project)
    line = window.training.status_label.text().replace("\u00a0", " ")
    assert line.startswith("Last run: completed after 3 epochs · training loss ")
    assert f"validation accuracy {run.val_accuracy[-1]:.1%}" in line

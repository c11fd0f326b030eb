"""The insight docks: layer health (and its warnings in Problems), classification results, and the runs compared.

Real widgets off-screen, fed with what the real engine computes (designer.insight on compiled modules and the
built-in data), and a real window where the docks live.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from designer.data import load_dataset
from designer.graph import Graph, Layer
from designer.insight import classification_results, health_problems, layer_health, samples_in_cell, trace
from designer.project import Project
from designer.training import train_project
from designer.training.projects import prepare_project
from designer.ui import dialogs
from designer.ui.commands import UpdateLayerCommand
from designer.ui.main_window import MainWindow
from designer.ui.training.health_view import HealthView
from designer.ui.training.insight_docks import DOCKS, install_insight_docks
from designer.ui.training.loss_plot import LossPlot
from designer.ui.training.results_view import MAX_SAMPLES, ResultsView
from designer.ui.training.runs_view import RunsView

from .test_training import press, wait_idle, xor_project

torch.set_num_threads(1)


@pytest.fixture
def answers(monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *_args: "discard")
    monkeypatch.setattr(dialogs, "show_error", lambda *_args: None)


def relu_project() -> Project:
    """x (2) -> h1 (8 relu) -> h2 (6 tanh) -> y (1 sigmoid), on the spiral."""
    project = Project.new("Dead")
    g: Graph = project.graph
    g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
    g.add_layer(Layer("h1", "neurons", (8,), activation="relu", position=(220, 0)))
    g.add_layer(Layer("h2", "neurons", (6,), activation="tanh", position=(440, 0)))
    g.add_layer(Layer("y", "neurons", (1,), activation="sigmoid", position=(660, 0)))
    g.connect("x", "h1", connection_id="x-h1")
    g.connect("h1", "h2", connection_id="h1-h2")
    g.connect("h2", "y", connection_id="h2-y")
    project.dataset = {"kind": "builtin", "name": "spiral", "samples": 200, "validation_split": 0.25, "seed": 1}
    project.training.update(epochs=3, learning_rate=0.05, device="cpu", seed=0)
    return project


def dead_relu_payloads(project: Project) -> list[dict]:
    """Three epochs of training a design whose h1 never fires (bias -100), measured as the worker does:
    the layers' values on the validation data and the gradient norms training reports, per epoch."""
    prepared = prepare_project(project)
    module, data = prepared.module, prepared.dataset
    weights = module.named_weights()
    weights["h1.bias"] = np.full(8, -100.0, dtype=np.float32)
    module.load_named_weights(weights)
    history, payloads = [], []

    def on_epoch(stats) -> None:
        health = layer_health(project.graph, trace(module, data.x_val), stats.gradient_norms)
        history.append(health)
        payloads.append({"epoch": stats.epoch,
                         "layers": {lid: {"dead_share": h.dead_share, "saturated_share": h.saturated_share,
                                          "gradient_norm": h.gradient_norm} for lid, h in health.items()},
                         "problems": health_problems(project.graph, history)})

    from designer.training import train

    train(module, data, prepared.config, on_epoch=on_epoch, gradient_norms=True, graph=project.graph)
    assert len(payloads) == 3
    return payloads


@pytest.fixture
def open_window(qtbot, answers):
    """A real window on a project, 1300x850; its threads joined after the test."""
    windows = []

    def make(project: Project) -> MainWindow:
        windows.append(make_window(qtbot, project))
        return windows[-1]

    yield make
    for window in windows:
        window.training.shutdown()


def make_window(qtbot, project: Project) -> MainWindow:
    window = MainWindow(project)
    qtbot.addWidget(window)
    install_insight_docks(window, window.training)
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    return window


# ---------------------------------------------------------------------------------------------- layer health
def test_the_health_view_draws_the_measures_it_was_given_and_problems_list_the_dead_layer(qtbot, answers):
    project = relu_project()
    payloads = dead_relu_payloads(project)
    window = make_window(qtbot, project)
    try:
        docks = window.insight_docks
        window.insight_docks.health_dock.show()
        window.insight_docks.health_dock.raise_()
        for payload in payloads:
            docks.show_health(payload)
        view: HealthView = docks.health_view
        assert view.layers() == ["h1", "h2", "y"]
        assert view.epochs == [1, 2, 3]
        for lid in ("h1", "h2", "y"):
            for measure in ("dead_share", "saturated_share", "gradient_norm"):
                given = [p["layers"][lid][measure] for p in payloads]
                expected = np.array([np.nan if v is None else v for v in given], dtype=np.float64)
                np.testing.assert_array_equal(view.series(lid, measure), expected)
                # the sparkline the cell draws: the shares as given, the gradient norm on a log scale
                drawn = view.cell(lid, measure).data(Qt.ItemDataRole.UserRole + 1)
                if measure == "gradient_norm":  # a log scale shared by the layers; no gradient at its bottom
                    low = view.cell(lid, measure).data(Qt.ItemDataRole.UserRole + 3)[0]
                    with np.errstate(divide="ignore"):
                        expected = np.where(expected > 0, np.log10(expected), low)
                np.testing.assert_allclose(drawn, expected)
        assert view.series("h1", "dead_share").tolist() == [1.0, 1.0, 1.0]  # dead, and it stays dead
        assert view.cell("h1", "dead_share").text() == "100%" and view.status("h1", "dead_share") == "bad"
        assert view.cell("h2", "dead_share").text() == "–" and view.status("h2", "dead_share") == "none"
        assert view.cell("h1", "gradient_norm").text() == f"{payloads[-1]['layers']['h1']['gradient_norm']:.2g}"
        assert "never fire" in view.cell("h1", "dead_share").toolTip()
        assert "vanishes" in view.table.horizontalHeaderItem(3).toolTip()

        # Problems lists the warning, apart from the design's problems (it has none), and a click selects h1
        problems = window.problems
        assert problems.lines() == [] and problems.count() == 0
        dead = ("warning: layer h1: 100% of its ReLU neurons never fire on the validation data: lower the learning "
                "rate or use leaky relu")
        assert problems.health_lines() == [str(p) for p in payloads[-1]["problems"]]
        assert problems.health_lines()[0] == dead
        # (a dead layer passes no gradient back either: the engine also reports it as vanishing)
        assert all(line.startswith("warning: layer h1: ") for line in problems.health_lines())
        assert problems.health_epoch == 3
        row = problems.health_rows()[0]
        assert problems.row_text(row) == dead.removeprefix("warning: ").replace("layer h1", "Layer h1")
        listing = problems.list
        assert listing.isVisible()
        rect = listing.visualItemRect(listing.item(row))
        qtbot.mouseClick(listing.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert window.canvas.selected_ids() == ["h1"]

        # a click on the health row selects the layer too
        window.canvas.select("y")
        health_row = view.layers().index("h2")
        cell = view.table.visualItemRect(view.table.item(health_row, 0))
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=cell.center())
        assert window.canvas.selected_ids() == ["h2"]

        # an edit: the warnings were about the design before it
        window.undo_stack.push(UpdateLayerCommand(window.graph, "h1", activation="leaky_relu"))
        assert problems.health_lines() == [] and problems.health_rows() == []
        assert view.layers() == ["h1", "h2", "y"]  # the measured run stays in the panel
    finally:
        window.training.shutdown()


def test_a_new_run_in_the_same_panel_starts_new_sparklines(qtbot):
    view = HealthView()
    qtbot.addWidget(view)
    view.add({"epoch": 1, "layers": {"h": {"dead_share": 0.0, "saturated_share": None, "gradient_norm": 0.5}},
              "problems": []})
    view.add({"epoch": 2, "layers": {"h": {"dead_share": 0.25, "saturated_share": None, "gradient_norm": 0.4}},
              "problems": []})
    assert view.series("h", "dead_share").tolist() == [0.0, 0.25]
    assert view.status("h", "dead_share") == "watch"  # amber: a quarter dead
    view.add({"epoch": 1, "layers": {"h": {"dead_share": 0.5, "saturated_share": None, "gradient_norm": 0.4}},
              "problems": []})
    assert view.series("h", "dead_share").tolist() == [0.5]


# ---------------------------------------------------------------------------------------------- results
def _results_payload(data, kind: str, hidden: int = 6, seed: int = 1) -> dict:
    from designer.compiler import compile_graph

    g = Graph()
    g.add_layer(Layer("x", "input", tuple(data.input_shape)))
    g.add_layer(Layer("h", "neurons", (hidden,), activation="tanh"))
    g.add_layer(Layer("y", "neurons", (data.num_classes,), activation="softmax"))
    g.connect("x", "h")
    g.connect("h", "y")
    module = compile_graph(g, seed=seed)
    results = classification_results(module, data)
    return {"epoch": 1, "matrix": results.matrix, "class_names": list(results.class_names),
            "per_class_accuracy": results.accuracy, "predicted": results.predicted, "actual": results.actual,
            "inputs": data.x_val.numpy(), "kind": kind}


@pytest.fixture
def results_view(qtbot):
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_confusion_grid_writes_the_matrix_and_a_click_shows_exactly_the_cells_images(qtbot, results_view):
    data = load_dataset({"kind": "builtin", "name": "shapes", "samples": 400, "seed": 3})
    payload = _results_payload(data, "images")
    matrix = payload["matrix"]
    results_view.set_results(payload)
    grid = results_view.grid
    assert grid.classes() == data.num_classes == 4
    for a in range(4):
        for p in range(4):
            assert grid.cell_text(a, p) == str(matrix[a, p])
    np.testing.assert_allclose(grid.accuracy, payload["per_class_accuracy"])
    assert grid.class_names == ["circle", "square", "triangle", "cross"]
    # the fullest cell off the diagonal (an untrained network confuses plenty)
    off = matrix.copy()
    np.fill_diagonal(off, -1)
    a, p = np.unravel_index(int(off.argmax()), off.shape)
    assert matrix[a, p] > 0
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(a, p).center())
    expected = samples_in_cell(payload["predicted"], payload["actual"], a, p)[:MAX_SAMPLES]
    assert results_view.shown_samples == expected.tolist()
    assert results_view.cell_total == matrix[a, p]
    assert results_view.thumbnails.captions == [f"#{i}" for i in expected]
    assert len(results_view.thumbnails.pixmaps) == len(expected)
    assert results_view.samples.currentWidget() is results_view.thumbnail_scroll
    names = grid.class_names
    assert results_view.cell_caption.text().startswith(f"Actual {names[a]}, predicted {names[p]} (wrong): ")
    # and the diagonal: right answers
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(0, 0).center())
    assert results_view.shown_samples == samples_in_cell(payload["predicted"], payload["actual"], 0, 0)[
        :MAX_SAMPLES].tolist()
    assert "(right)" in results_view.cell_caption.text()


def test_a_cell_of_plane_data_rings_its_points_and_table_rows_list_as_text(qtbot, results_view):
    data = load_dataset({"kind": "builtin", "name": "spiral", "samples": 300, "seed": 2})
    payload = _results_payload(data, "plane")
    results_view.set_results(payload)
    grid = results_view.grid
    matrix = payload["matrix"]
    a, p = (0, 1) if matrix[0, 1] else (1, 0)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(a, p).center())
    expected = samples_in_cell(payload["predicted"], payload["actual"], a, p)[:MAX_SAMPLES]
    assert results_view.shown_samples == expected.tolist()
    x, y = results_view.points.highlighted.getData()
    np.testing.assert_allclose(np.stack([x, y], axis=1), payload["inputs"][expected])
    assert len(results_view.points.all_points.getData()[0]) == len(payload["inputs"])
    # the same results as table rows
    payload = dict(payload, kind="table")
    results_view.set_results(payload)  # the selected cell keeps showing its samples
    lines = results_view.shown_text()
    assert [line.split(":")[0] for line in lines] == [f"#{i}" for i in expected]
    first = payload["inputs"][expected[0]]
    assert lines[0] == f"#{expected[0]}: {first[0]:.3g}, {first[1]:.3g}"


def test_sequences_show_as_sparklines(qtbot, results_view):
    rng = np.random.default_rng(0)
    actual = rng.integers(0, 3, 60)
    predicted = np.where(rng.random(60) < 0.7, actual, (actual + 1) % 3)
    from designer.insight import confusion_matrix, per_class_accuracy

    matrix = confusion_matrix(predicted, actual, 3)
    inputs = rng.normal(size=(60, 12, 2)).astype(np.float32)
    results_view.set_results({"matrix": matrix, "class_names": ["a", "b", "c"],
                              "per_class_accuracy": per_class_accuracy(matrix), "predicted": predicted,
                              "actual": actual, "inputs": inputs, "kind": "sequence"})
    qtbot.mouseClick(results_view.grid, Qt.MouseButton.LeftButton, pos=results_view.grid.cell_rect(1, 1).center())
    expected = samples_in_cell(predicted, actual, 1, 1)
    assert results_view.shown_samples == expected.tolist()
    assert len(results_view.thumbnails.sequences) == len(expected)
    np.testing.assert_array_equal(results_view.thumbnails.sequences[0], inputs[expected[0]])


# ---------------------------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def two_runs() -> list[dict]:
    project = xor_project(epochs=3, learning_rate=0.1)
    train_project(project)
    project.training["learning_rate"] = 0.5
    train_project(project)
    return project.history


def test_the_runs_table_highlights_exactly_the_settings_that_differ(qtbot, two_runs):
    view = RunsView()
    qtbot.addWidget(view)
    view.show()
    view.set_runs(two_runs)
    assert view.run_ids() == ["run-2", "run-1"]  # newest first
    assert view.highlighted_settings() == ["learning_rate"]
    assert view.differs_label.text() == "differs: learning_rate"
    columns = view.columns()
    # the differing settings right after the run's id, then its results, how long it trained, when it started,
    # the shared settings
    assert columns[:9] == ["run", "learning_rate", "status", "epochs", "train loss", "val loss", "val accuracy",
                           "duration", "started"]
    assert set(columns[9:]) == set(view.run_table.settings) - {"learning_rate"}
    assert view.table.item(1, columns.index("duration")).text() == f"{two_runs[0]['seconds']:.1f} s"
    column = columns.index("learning_rate")
    assert [view.table.item(r, column).text() for r in range(2)] == ["0.5", "0.1"]
    loss = columns.index("val loss")
    assert view.table.item(1, loss).text() == f"{two_runs[0]['val_loss'][-1]:.4g}"
    assert view.table.item(0, columns.index("epochs")).text() == "3"
    # the same settings: nothing highlighted
    view.set_runs([two_runs[0], dict(two_runs[0], id="run-3")])
    assert view.highlighted_settings() == [] and view.differs_label.text() == "All 2 runs used the same settings."
    view.set_runs(two_runs[:1])
    assert view.highlighted_settings() == [] and "One run" in view.differs_label.text()


def test_selecting_two_runs_draws_both_over_the_loss_plot_and_clearing_removes_them(qtbot, two_runs):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.show()
    view = RunsView(loss_plot=plot)
    qtbot.addWidget(view)
    view.resize(700, 200)
    view.show()
    qtbot.waitExposed(view)
    view.set_runs(two_runs)
    plot.set_history(two_runs)
    table = view.table
    first = table.visualItemRect(table.item(0, 0)).center()
    second = table.visualItemRect(table.item(1, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos=second)
    assert view.selected_ids() == ["run-2", "run-1"]
    assert plot.overlay_runs() == ["run-1", "run-2"]
    for run in two_runs:
        curves = plot.overlay_curves(run["id"])
        np.testing.assert_allclose(curves["val_loss"].yData, run["val_loss"])
        np.testing.assert_allclose(curves["train_loss"].yData, run["train_loss"])
        np.testing.assert_allclose(curves["val_loss"].xData, run["epochs"])
        assert curves["val_loss"].opts["pen"].style() == Qt.PenStyle.DashLine
    assert plot.overlay_curves("run-1")["val_loss"].opts["pen"].color() != \
        plot.overlay_curves("run-2")["val_loss"].opts["pen"].color()
    legend = plot.overlay_legend
    assert legend.isVisible()
    entries = legend.text().replace("&nbsp;", " ")
    assert "run-1 (learning_rate 0.1)" in entries and "run-2 (learning_rate 0.5)" in entries
    assert not any(item.isVisibleTo(item.parentItem()) for item in plot.history_items)  # the faint copies make way
    assert "run-1 val" in plot.values_at(2.0)
    table.clearSelection()
    assert plot.overlay_runs() == [] and not legend.isVisible()
    assert all(item.isVisibleTo(item.parentItem()) for item in plot.history_items)


# ---------------------------------------------------------------------------------------------- in the window
def test_the_docks_are_tabs_beside_the_learned_view_in_the_view_menu_and_reset_layout(qtbot, answers):
    window = make_window(qtbot, xor_project(epochs=2))
    try:
        docks = window.insight_docks.docks()
        assert [d.objectName() for d in docks] == [name for name, _title in DOCKS]
        assert set(window.tabifiedDockWidgets(window.learned_dock)) >= set(docks)
        titles = [a.text() for a in window.menu_panels.actions()]
        learned = titles.index("What the network learned")
        assert titles[learned + 1:learned + 4] == ["Layer health", "Classification results", "Runs"]
        for dock in docks:
            dock.close()
        window.insight_docks.runs_dock.setFloating(True)
        window.action_reset_layout.trigger()
        for dock in docks:
            assert not dock.isHidden() and not dock.isFloating()
        assert set(window.tabifiedDockWidgets(window.learned_dock)) >= set(docks)
        install_insight_docks(window, window.training)  # a second call adds nothing
        assert len(window.findChildren(type(docks[0]), "layer_health")) == 1
    finally:
        window.training.shutdown()


def test_training_xor_in_the_window_fills_the_health_and_results_docks_and_lists_the_run(qtbot, open_window):
    project = xor_project(epochs=6)
    window = open_window(project)
    docks = window.insight_docks
    controller = window.training
    health, results = [], []
    controller.health_changed.connect(health.append)
    controller.results_changed.connect(results.append)
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: docks.runs_view.run_ids() == ["run-1"])
    run = window.project.history[-1]
    assert run["status"] == "completed" and len(run["epochs"]) == 6
    # layer health: what the controller sent, drawn per layer
    assert health, "no layer health came from the run"
    view = docks.health_view
    assert view.epochs == [p["epoch"] for p in health]
    assert view.layers() == [lid for lid in window.graph.flow().order if lid in health[-1]["layers"]]
    for lid in view.layers():
        np.testing.assert_allclose(view.series(lid, "gradient_norm"),
                                   [np.nan if p["layers"][lid]["gradient_norm"] is None
                                    else p["layers"][lid]["gradient_norm"] for p in health])
    assert window.problems.health_lines() == [str(p) for p in health[-1]["problems"]]
    # the confusion matrix of the validation set, as the last results said
    assert results, "no classification results came from the run"
    grid = docks.results_view.grid
    matrix = np.asarray(results[-1]["matrix"])
    assert grid.classes() == 2
    assert [[grid.cell_text(a, p) for p in range(2)] for a in range(2)] == matrix.astype(str).tolist()
    assert matrix.sum() == len(results[-1]["actual"])
    # the runs table has the run, with its final figures
    table = docks.runs_view
    columns = table.columns()
    assert table.table.item(0, columns.index("status")).text() == "completed"
    assert table.table.item(0, columns.index("val loss")).text() == f"{run['val_loss'][-1]:.4g}"
    # a second run: a new run starts new sparklines, and the table compares the two
    window.project.training["learning_rate"] = 0.3
    press(qtbot, window, controller.action_train)
    assert window.problems.health_lines() == []
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: docks.runs_view.run_ids() == ["run-2", "run-1"])
    assert table.highlighted_settings() == ["learning_rate"]
    assert view.epochs and view.epochs[0] <= 6 and view.epochs == sorted(view.epochs)
    table.select_runs(["run-1", "run-2"])
    assert controller.loss_plot.overlay_runs() == ["run-1", "run-2"]

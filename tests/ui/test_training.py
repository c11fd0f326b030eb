"""Training in the window, as a person does it: press Train, watch, pause, step, stop, save, close.

Real training (torch, the built-in datasets) on a real worker thread, with the real main window
off-screen; buttons are pressed with mouse clicks on the toolbar. The runs are small (a few
epochs of the XOR example) so each test takes seconds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QThread, Qt
from PySide6.QtWidgets import QApplication

from designer.graph import Graph, Layer
from designer.project import Project, read_project
from designer.ui import dialogs, resource_path
from designer.ui.main_window import MainWindow

from .conftest import assert_collected_on_the_gui_thread

LONG_RUN = 100_000  # epochs: a run that only ends when stopped


@pytest.fixture
def answers(monkeypatch):
    """The window's questions, answered without a modal box; records what it asked and showed."""
    record = {"save_changes": 0, "errors": []}

    def ask_save_changes(_parent, _name):
        record["save_changes"] += 1
        return "discard"

    def show_error(_parent, title, message):
        record["errors"].append((title, message))

    monkeypatch.setattr(dialogs, "ask_save_changes", ask_save_changes)
    monkeypatch.setattr(dialogs, "show_error", show_error)
    return record


def xor_project(epochs: int = 30, learning_rate: float | None = None) -> Project:
    """The XOR example (the bundled file when installed, else the spec's example design), its own
    settings but for the epochs (and the learning rate when given)."""
    example = resource_path("examples") / "xor.nnd"
    if example.is_file():
        project = read_project(example)
        project.path = None
    else:
        project = Project.new("XOR")
        g = project.graph
        g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
        g.add_layer(Layer("h", "neurons", (4,), activation="tanh", position=(220, 0)))
        g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
        g.connect("x", "h", connection_id="x-h")
        g.connect("h", "out", connection_id="h-out")
    project.weights = None
    project.history = []
    project.training.update(epochs=epochs, device="cpu")
    if learning_rate is not None:
        project.training["learning_rate"] = learning_rate
    return project


def plane_regression_project(learning_rate: float) -> Project:
    project = Project.new("Plane")
    g: Graph = project.graph
    g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (8,), activation="relu", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="linear", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    project.dataset = {"kind": "builtin", "name": "plane", "samples": 200, "noise": 0.05,
                       "validation_split": 0.2, "seed": 1}
    project.training.update(loss="mse", learning_rate=learning_rate, epochs=50, device="cpu")
    return project


@pytest.fixture
def open_window(qtbot, answers):
    windows = []

    def make(project: Project) -> MainWindow:
        window = MainWindow(project)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.training:
            window.training.shutdown()


def press(qtbot, window: MainWindow, action) -> None:
    """Click the action's toolbar button (or trigger it from its menu when it has no button)."""
    button = window.toolbar.widgetForAction(action)
    if button is not None and button.isVisible():
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    else:
        action.trigger()


def wait_idle(qtbot, window: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=timeout)


def running_threads() -> list[QThread]:
    app = QApplication.instance()
    return [t for t in app.findChildren(QThread) if t.isRunning()]


# ---------------------------------------------------------------------------------------------- tests
def test_train_on_xor_makes_the_loss_fall_and_draws_it(qtbot, open_window):
    project = xor_project(epochs=40)
    # enough batches that the run outlasts several of the worker's reports (a warm engine trains 400 samples
    # x 40 epochs in less than one report's interval)
    project.dataset["samples"] = 4000
    window = open_window(project)
    controller = window.training
    assert not window.isWindowModified()
    press(qtbot, window, controller.action_train)
    assert controller.state == "running"
    # while it trains the design cannot be edited, and the canvas says so
    assert window.canvas.is_read_only()
    assert window.inspector.is_read_only() and not window.inspector.layer_page.isEnabled()
    assert not controller.action_train.isEnabled() and controller.action_stop.isEnabled()
    wait_idle(qtbot, window)

    plot = controller.loss_plot
    epochs = list(plot.train_curve.xData)
    losses = list(plot.train_curve.yData)
    assert epochs == list(range(1, 41))
    assert losses[-1] < 0.6 * losses[0], losses
    assert len(plot.val_curve.yData) == 40
    assert plot.val_accuracy_curve.yData[-1] >= 0.8
    assert len(plot.batch_curve.xData) >= 2  # live points within epochs
    assert not plot.timer.isActive()

    run = window.project.history[-1]
    assert run["status"] == "completed" and run["id"] == "run-1"
    assert run["train_loss"] == pytest.approx(losses)
    assert set(window.project.weights) >= {"x-h.weight", "h.bias", "h-out.weight", "out.bias"}
    assert window.isWindowModified()
    # editing is back
    assert not window.canvas.is_read_only() and not window.inspector.is_read_only()
    assert controller.action_train.isEnabled() and not controller.action_stop.isEnabled()
    assert "Trained 40 epochs" in controller.status_label.text()


def test_the_decision_boundary_and_the_canvas_follow_the_training(qtbot, open_window):
    window = open_window(xor_project(epochs=40, learning_rate=0.1))
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    view = controller.learned_view
    assert view.current is view.plane and view.updates >= 2
    image = view.plane.image.image
    assert image.shape == (64, 64, 4)
    # XOR: opposite quadrants share a class, so opposite corners of the map have the same colour,
    # and neighbouring corners differ
    corners = [image[8, 8, :3].astype(int), image[8, -9, :3].astype(int),
               image[-9, -9, :3].astype(int), image[-9, 8, :3].astype(int)]
    assert np.abs(corners[0] - corners[2]).sum() < np.abs(corners[0] - corners[1]).sum()
    # the canvas shows the weights the project now holds, and the inspector a clicked neuron's
    scene_weights = window.canvas.canvas_scene._weights
    assert np.array_equal(scene_weights["x-h.weight"], window.project.weights["x-h.weight"])
    window.canvas.neuron_selected.emit("h", 2)
    shown = window.inspector.neuron_weights
    assert shown.isVisibleTo(window.inspector)
    rows = shown.values()
    expected = window.project.weights["x-h.weight"][2]
    assert [float(value) for _source, value in rows] == pytest.approx(expected, rel=1e-3, abs=1e-4)
    bias = window.project.weights["h.bias"][2]
    assert f"bias {bias:+.4g}" in shown.title.text()


def test_a_closed_learned_panel_is_not_computed_and_is_current_when_opened_again(qtbot, open_window):
    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    controller.learned_dock.close()
    press(qtbot, window, controller.action_train)
    qtbot.waitUntil(lambda: len(controller.loss_plot.train.x) >= 3, timeout=30_000)
    assert controller.learned_view.updates == 0  # nobody could see it: the worker skipped it
    controller.learned_dock.show()
    qtbot.waitUntil(lambda: controller.learned_view.updates >= 1, timeout=5_000)
    controller.stop()
    wait_idle(qtbot, window)


def test_stop_ends_the_run_within_a_second_and_keeps_what_was_learned(qtbot, open_window):
    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    press(qtbot, window, controller.action_train)
    qtbot.waitUntil(lambda: len(controller.loss_plot.train.x) >= 2, timeout=30_000)
    press(qtbot, window, controller.action_stop)
    wait_idle(qtbot, window, timeout=1000)
    run = window.project.history[-1]
    assert run["status"] == "stopped"
    assert len(run["epochs"]) >= 2
    assert window.project.weights is not None
    assert running_threads() == []


def test_an_absurd_learning_rate_ends_as_diverged_with_its_message_shown(qtbot, open_window, answers):
    window = open_window(plane_regression_project(learning_rate=1e6))
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    run = window.project.history[-1]
    assert run["status"] == "diverged"
    assert len(run["epochs"]) < 50
    # both learning-rate boxes show the project's value (boxes that stopped at 100 showed 100)
    from designer.training.config import MAX_LEARNING_RATE

    assert controller.learning_rate.maximum() == window.dataset_panel.learning_rate.maximum() == MAX_LEARNING_RATE
    assert controller.learning_rate.value() == window.dataset_panel.learning_rate.value() == 1e6
    # shown in the problems panel, in sight, apart from the design's problems (the design has none)
    problems = window.problems
    assert window.problems_dock.isVisible()
    assert "diverged" in problems.run_message and "learning rate" in problems.run_message
    assert problems.run_label.isVisible() and problems.run_message in problems.run_label.text()
    assert problems.count() == 0 and window.problems_dock.windowTitle() == "Problems"
    assert "diverged" in window.statusBar().currentMessage()
    # as `nn-designer train` does (record_run): the run's last finite weights are stored, the same
    # ones the command stores for the same project
    from designer.training import train_project

    command_side = plane_regression_project(learning_rate=1e6)
    command_run = train_project(command_side)
    assert command_run.status == "diverged"
    assert window.project.weights is not None
    assert sorted(window.project.weights) == sorted(command_side.weights)
    for name, value in window.project.weights.items():
        assert np.isfinite(value).all(), name
        np.testing.assert_allclose(value, command_side.weights[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert run["id"] == command_side.history[-1]["id"] == "run-1"
    assert window.isWindowModified()
    assert answers["errors"] == []  # no modal box for a run that ended normally
    # after Reset Weights (as the message says) the next run starts cleanly and the banner goes
    assert "Reset Weights" in problems.run_message
    press(qtbot, window, controller.action_reset)
    assert window.project.weights is None
    window.project.training["learning_rate"] = 0.01
    window.project.training["epochs"] = 2
    press(qtbot, window, controller.action_train)
    assert problems.run_message is None and problems.count() == 0
    wait_idle(qtbot, window)
    assert window.project.history[-1]["status"] == "completed"
    assert [r["id"] for r in window.project.history] == ["run-1", "run-2"]


def test_an_error_in_the_worker_shows_a_message_and_the_window_stays_usable(qtbot, open_window, answers, tmp_path):
    project = xor_project()
    table = tmp_path / "changing.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{'yn'[i % 2]}\n" for i in range(40)))
    project.dataset = {"kind": "csv", "path": str(table), "target": "y"}
    window = open_window(project)
    qtbot.waitUntil(lambda: not window.data_loader.loading and window.status_text().startswith("Valid ·"))
    # the file changes after the window checked it: Train finds it not loaded, and the worker, loading it, finds
    # the bad value (the window's check, loading it too, is cancelled)
    table.write_bytes(table.read_bytes().replace(b"1,1,", b"1,z,", 1) + b"\n")
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    assert len(answers["errors"]) == 1
    title, message = answers["errors"][0]
    assert "changing.csv" in message
    assert "Traceback" not in message
    assert window.project.history == []
    assert not window.canvas.is_read_only() and controller.action_train.isEnabled()
    assert running_threads() == []


def test_closing_during_training_stops_and_joins_the_thread_and_asks_to_save(qtbot, open_window, answers):
    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    press(qtbot, window, controller.action_train)
    qtbot.waitUntil(lambda: len(controller.loss_plot.train.x) >= 1, timeout=30_000)
    assert window.close()
    assert running_threads() == []
    assert controller.state == "idle"
    assert window.project.history[-1]["status"] == "stopped"
    # the run went into the project first, so the window asked whether to save it
    assert answers["save_changes"] == 1


def test_step_pause_and_continue(qtbot, open_window):
    window = open_window(xor_project(epochs=3))
    controller = window.training
    press(qtbot, window, controller.action_step)  # from idle: a paused run that trains one batch
    assert controller.state == "paused" and controller.action_pause.isChecked()
    plot = controller.loss_plot
    qtbot.waitUntil(lambda: len(plot.batch.x) == 1, timeout=30_000)
    batches = round(1 / plot.batch.x[0])  # one batch of an epoch of `batches`
    assert batches == math.ceil(320 / 16)
    press(qtbot, window, controller.action_step)
    qtbot.waitUntil(lambda: len(plot.batch.x) == 2)
    assert plot.batch.x[1] == pytest.approx(2 / batches)
    controller.action_step_epoch.trigger()
    qtbot.waitUntil(lambda: len(plot.train.x) == 1)
    assert controller.state == "paused"
    assert plot.batch.x[-1] == pytest.approx(1.0)  # it stopped at the end of the epoch
    press(qtbot, window, controller.action_train)  # Continue
    assert controller.state == "running"
    wait_idle(qtbot, window)
    assert window.project.history[-1]["status"] == "completed"
    assert window.project.history[-1]["epochs"] == [1, 2, 3]


def test_a_learning_rate_change_takes_effect_during_the_run_and_is_marked(qtbot, open_window):
    window = open_window(xor_project(epochs=2, learning_rate=0.5))
    controller = window.training
    controller.action_step.trigger()
    qtbot.waitUntil(lambda: len(controller.loss_plot.batch.x) == 1, timeout=30_000)
    spin = controller.learning_rate
    spin.setValue(0.05)
    assert window.project.training["learning_rate"] == 0.05
    assert window.dataset_panel.learning_rate.value() == pytest.approx(0.05)
    controller.action_train.trigger()
    wait_idle(qtbot, window)
    run = window.project.history[-1]
    assert _has_change(run, name="learning_rate", value=0.05, epoch=1, batch=2)
    markers = [item for item in controller.loss_plot._marker_items]
    assert len(markers) == 1 and markers[0].value() == pytest.approx(1 / 20)
    # the change is an undoable step, like the same change in the settings panel
    assert window.undo_stack.undoText() == "Change learning rate"
    window.action_undo.trigger()
    assert window.project.training["learning_rate"] == 0.5
    assert spin.value() == pytest.approx(0.5) and window.dataset_panel.learning_rate.value() == pytest.approx(0.5)


def test_undo_and_open_are_off_while_training_and_panel_settings_reach_the_run(qtbot, open_window):
    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    controller.action_step.trigger()  # paused: nothing moves while we look
    qtbot.waitUntil(lambda: len(controller.loss_plot.batch.x) == 1, timeout=30_000)
    window.dataset_panel.learning_rate.setValue(0.2)  # pushes an undoable settings change
    assert window.undo_stack.canUndo()
    assert not window.action_undo.isEnabled()
    # nor can another project replace the one being trained
    assert not window.action_open.isEnabled() and not window.action_new.isEnabled()
    # the panel's change reaches the run at its next batch
    controller.action_step.trigger()
    qtbot.waitUntil(lambda: len(controller.loss_plot.batch.x) == 2)
    controller.stop()
    wait_idle(qtbot, window)
    assert window.action_undo.isEnabled() and window.action_open.isEnabled()
    assert _has_change(window.project.history[-1], name="learning_rate", value=0.2, epoch=1, batch=2)


def test_saving_after_training_stores_weights_and_curves_and_reopening_shows_them(qtbot, open_window, tmp_path,
                                                                                  monkeypatch):
    window = open_window(xor_project(epochs=5))
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    path = tmp_path / "trained.nnd"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda _parent, _suggested: str(path))
    assert window.save()
    assert not window.isWindowModified()

    saved = read_project(path)
    assert set(saved.weights) == set(window.project.weights)
    for name, value in window.project.weights.items():
        assert np.array_equal(saved.weights[name], value)
    assert [run["status"] for run in saved.history] == ["completed"]
    assert saved.history[0]["train_loss"] == pytest.approx(window.project.history[0]["train_loss"])

    other = open_window(xor_project())
    assert other.open_path(path)
    plot = other.training.loss_plot
    assert list(plot.train_curve.yData) == pytest.approx(saved.history[0]["train_loss"])
    assert np.array_equal(other.canvas.canvas_scene._weights["x-h.weight"], saved.weights["x-h.weight"])
    # and what the stored weights predict, computed off the GUI thread without training
    view = other.training.learned_view
    qtbot.waitUntil(lambda: view.current is view.plane and view.updates >= 1)
    assert view.plane.image.image.shape == (64, 64, 4)
    # training again continues from the stored weights, and the earlier run is drawn faintly
    press(qtbot, other, other.training.action_train)
    wait_idle(qtbot, other)
    assert [run["id"] for run in other.project.history] == ["run-1", "run-2"]
    assert other.project.history[-1]["initial_weights"] == "stored"
    assert other.project.history[-1]["train_loss"][0] < saved.history[0]["train_loss"][0]
    assert len(plot.history_items) >= 2


def test_opening_an_untrained_project_empties_the_plot_and_its_axes(qtbot, open_window):
    window = open_window(xor_project(epochs=5, learning_rate=5.0))
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    plot = controller.loss_plot
    assert plot.train.size == 5
    window.open_project(xor_project())  # never trained
    assert plot.train.size == 0 and plot.batch.size == 0 and plot.history_items == []
    (x0, x1), (y0, y1) = plot.loss.viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((0.0, 1.0, 0.0, 1.0), abs=0.05)  # not the last run's ranges
    assert controller.status_label.text().startswith("Not trained yet")


def test_reset_forgets_the_weights(qtbot, open_window):
    window = open_window(xor_project(epochs=2))
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    assert window.project.weights is not None
    controller.action_reset.trigger()
    assert window.project.weights is None
    assert window.canvas.canvas_scene._weights is None
    assert len(window.project.history) == 1


@pytest.mark.parametrize("example, page", [("sine-recurrent", "sequences"), ("shapes-local", "images")])
def test_sequences_and_images_show_what_the_network_predicts(qtbot, open_window, example, page):
    project = read_project(resource_path("examples", f"{example}.nnd"))
    project.path = None
    project.dataset["samples"] = 120  # a quick run: the view, not the accuracy, is under test
    project.training.update(epochs=1, device="cpu")
    window = open_window(project)
    controller = window.training
    press(qtbot, window, controller.action_train)
    wait_idle(qtbot, window)
    assert window.project.history[-1]["status"] == "completed"
    view = controller.learned_view
    assert view.current is getattr(view, page) and view.updates >= 1
    if page == "sequences":
        predicted = view.sequences.predicted.getData()
        truth = view.sequences.truth.getData()
        assert len(predicted[0]) == len(truth[0]) == 4
        assert np.all(np.isfinite(predicted[1]))
    else:
        captions = view.images.captions_text()
        assert len(captions) == 16
        for caption in captions:
            label, percent = caption.rsplit(" ", 1)
            assert label in {"circle", "square", "triangle", "cross"} and percent.endswith("%")


def test_a_run_that_cannot_stop_in_time_is_left_to_finish_not_terminated(qtbot, open_window):
    from designer.ui.training import controller as controller_module

    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    press(qtbot, window, controller.action_train)
    assert controller.shutdown(timeout_ms=0) is False  # as if one batch took longer than the wait
    # the window is usable again at once; the thread finishes its batch on its own
    assert controller.state == "idle" and not window.canvas.is_read_only()
    thread, _worker = controller_module._FINISHING[-1]
    assert thread.parent() is None
    assert thread.wait(10_000)
    qtbot.waitUntil(lambda: bool(window.project.history) and window.project.history[-1]["status"] == "stopped")


def _has_change(run: dict, **expected) -> bool:
    """The run recorded this change (and how many batches its epoch had, to place the marker)."""
    return any(all(change.get(k) == v for k, v in expected.items()) and change.get("batches", 0) >= change["batch"]
               for change in run["changes"])


def test_no_garbage_is_collected_on_the_worker_while_it_trains(qtbot, open_window):
    """Qt objects freed by a collection on the worker thread deadlocked the suite (~QObject on the worker
    waiting for the GIL, the GUI thread holding it in a disconnect): while a run is live the collector runs
    only on the GUI thread, and afterwards it is automatic again."""
    import gc

    window = open_window(xor_project(epochs=LONG_RUN))
    controller = window.training
    assert gc.isenabled()
    press(qtbot, window, controller.action_train)
    qtbot.waitUntil(lambda: len(controller.loss_plot.train.x) >= 1, timeout=30_000)
    assert_collected_on_the_gui_thread(qtbot)
    press(qtbot, window, controller.action_stop)
    wait_idle(qtbot, window)
    assert gc.isenabled()

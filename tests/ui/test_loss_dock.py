"""The Loss dock in the real window at its default size, after real (short) runs: the legend clear of
the curves and readable, a status line that names its figures, and an accuracy plot only where a run
has accuracy.

The window is 1280x800 (the size it opens at on a screen too small for 85% of it; on 1600x1000 it
opens a little larger), with its first-start layout (the settings live in a temporary home): the Loss
dock shares the bottom with the learned view.
"""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtWidgets import QLabel

from designer.project import read_project
from designer.ui import resource_path
from designer.ui.main_window import MainWindow

from .test_loss_plot import legend_boxes

LONG_RUN = 100_000  # epochs: a run that only ends when stopped


@pytest.fixture
def example(tmp_path):
    """An example project, as a file of its own (so the window saves it instead of asking), with the
    epochs given, on the CPU, never trained."""

    def read(name: str, epochs: int):
        path = tmp_path / f"{name}.nnd"
        shutil.copy(resource_path("examples") / f"{name}.nnd", path)
        project = read_project(path)
        project.weights = None
        project.history = []
        project.training.update(epochs=epochs, device="cpu")
        return project

    return read


@pytest.fixture
def window(qtbot):
    windows = []

    def make(project) -> MainWindow:
        # (closed here, not by qtbot: its closing comes first, and would ask about the unsaved run)
        w = MainWindow(project)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.training.shutdown()
        if w.is_modified:
            assert w.save()  # to its own file: closing then has nothing to ask
        w.close()
        w.deleteLater()


def train(qtbot, w: MainWindow) -> dict:
    """Press Train on the toolbar and wait for the run to end; the run as the project stored it."""
    controller, runs = w.training, len(w.project.history)
    qtbot.mouseClick(w.toolbar.widgetForAction(controller.action_train), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.state == "idle" and len(w.project.history) == runs + 1, timeout=60_000)
    return w.project.history[-1]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def in_widget(plot, scene_point: QPointF) -> QPoint:
    """A point of the plots' scene in the loss plot widget's coordinates (where its legend is laid out)."""
    return plot.graphics.viewport().mapTo(plot, plot.graphics.mapFromScene(scene_point))


def plot_area(plot, item) -> QRect:
    """Where a plot's data area (its view box) is on the widget."""
    rect = item.getViewBox().sceneBoundingRect()
    return QRect(in_widget(plot, rect.topLeft()), in_widget(plot, rect.bottomRight()))


def test_the_legend_is_clear_of_the_curves_and_its_labels_are_whole(qtbot, window, example):
    project = example("xor", epochs=20)
    project.dataset["samples"] = 4000  # a run that outlasts several reports, so each curve has several points
    w = window(project)
    train(qtbot, w)
    plot = w.training.loss_plot
    qtbot.wait(50)  # the layout settles and the last points are drawn
    box, labels = legend_boxes(plot)
    # outside the data area of either plot: nothing drawn there can be under it
    for item in (plot.loss, plot.accuracy):
        assert not box.intersects(plot_area(plot, item)), (box, plot_area(plot, item))
    vb = plot.loss.getViewBox()
    for curve in (plot.train_curve, plot.val_curve, plot.batch_curve):
        xs, ys = curve.getData()
        assert xs is not None and len(xs) > 1
        for x, y in zip(xs, ys):
            point = in_widget(plot, vb.mapViewToScene(QPointF(float(x), float(y))))
            assert not box.contains(point), (curve.name(), x, y)
    assert sorted(text for text, _box, _needed in labels) == ["training", "validation"]
    for text, label_box, needed in labels:
        assert label_box.width() >= needed, text
        # and the dock shows all of it (a label past the dock's edge is clipped just the same)
        assert plot.rect().contains(label_box), (text, label_box, plot.rect())


def _shows_all_of(label: QLabel) -> bool:
    needed = label.fontMetrics().boundingRect(label.contentsRect(), Qt.TextFlag.TextWordWrap | label.alignment(),
                                              label.text())
    return needed.height() <= label.contentsRect().height() and needed.width() <= label.contentsRect().width()


def test_the_status_line_after_a_classification_run_names_the_training_and_validation_figures(qtbot, window,
                                                                                            example):
    w = window(example("xor", epochs=20))
    run = train(qtbot, w)
    controller = w.training
    figures = (f"training loss {run['train_loss'][-1]:.3g} · validation loss {run['val_loss'][-1]:.3g} · "
               f"validation accuracy {run['val_accuracy'][-1]:.1%}")
    assert plain(controller.status_label.text()) == f"Trained 20 epochs · {figures}."
    assert _shows_all_of(controller.status_label)  # at the default size, not cut off at the dock's edge
    assert plain(w.statusBar().currentMessage()).startswith(f"Training finished: 20 epochs · {figures} · ")


def test_the_status_line_after_a_regression_run_has_no_accuracy(qtbot, window, example):
    w = window(example("sine-recurrent", epochs=3))
    run = train(qtbot, w)
    text = plain(w.training.status_label.text())
    assert text == (f"Trained 3 epochs · training loss {run['train_loss'][-1]:.3g} · "
                    f"validation loss {run['val_loss'][-1]:.3g}.")
    assert "accuracy" not in w.statusBar().currentMessage()


def test_a_stopped_run_says_its_figures_by_name_too(qtbot, window, example):
    w = window(example("xor", epochs=LONG_RUN))
    controller = w.training
    qtbot.mouseClick(w.toolbar.widgetForAction(controller.action_train), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(controller.loss_plot.train.x) >= 2, timeout=30_000)
    qtbot.mouseClick(w.toolbar.widgetForAction(controller.action_stop), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=30_000)
    run = w.project.history[-1]
    assert run["status"] == "stopped"
    n = len(run["epochs"])
    figures = (f"training loss {run['train_loss'][-1]:.3g} · validation loss {run['val_loss'][-1]:.3g} · "
               f"validation accuracy {run['val_accuracy'][-1]:.1%}")
    assert plain(controller.status_label.text()) == f"Stopped after {n} epochs · {figures}."
    assert plain(w.statusBar().currentMessage()).startswith(f"Training stopped after {n} epochs · {figures} · ")


def _accuracy_shown(plot) -> bool:
    return plot.accuracy.isVisible() and plot_area(plot, plot.accuracy).height() > 0.15 * plot.graphics.height()


def test_the_accuracy_plot_is_there_only_for_runs_with_accuracy_and_follows_the_open_project(qtbot, window,
                                                                                            example):
    sine = example("sine-recurrent", epochs=3)
    w = window(sine)
    plot = w.training.loss_plot
    # a regression project: no accuracy to show, before its run or after it; the loss has the height
    assert not _accuracy_shown(plot)
    train(qtbot, w)
    assert not _accuracy_shown(plot)
    # the loss plot (its axes with it) reaches down to the layout's margin: nothing is under it
    assert plot.graphics.viewport().height() - plot.loss.sceneBoundingRect().bottom() <= 12

    xor = example("xor", epochs=5)
    w.open_project(xor)
    train(qtbot, w)
    qtbot.waitUntil(lambda: _accuracy_shown(plot))
    # every epoch's point (xData: getData() is clipped to the view, whose range follows a moment later)
    assert len(plot.val_accuracy_curve.xData) == 5

    # opening the trained projects again shows their stored runs, each with its own kind of plot
    w.open_project(sine)
    assert not _accuracy_shown(plot)
    assert len(plot.train_curve.getData()[0]) == 3
    w.open_project(xor)
    qtbot.waitUntil(lambda: _accuracy_shown(plot))  # once the layout has given it its height

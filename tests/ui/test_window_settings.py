"""The data and training settings panel, used through the window: edits, undo, and what survives."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from designer.project import Project
from designer.ui.dataset_panel import MERGE_SECONDS
from designer.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    project = Project.new("Settings")
    project.dataset["future_option"] = {"kept": True}  # written by a newer version
    project.training["scheduler"] = "cosine"
    w = MainWindow(project)
    qtbot.addWidget(w, before_close_func=lambda w: w.undo_stack.setClean())
    w.show()
    qtbot.waitExposed(w)
    return w


def test_holding_an_arrow_is_one_step_and_a_later_edit_another(qtbot, window):
    samples = window.dataset_panel.samples
    samples.setFocus()
    for _ in range(3):
        qtbot.keyClick(samples, Qt.Key.Key_Up)
    assert window.project.dataset["samples"] == 400 + 3 * 50
    assert window.undo_stack.count() == 1
    qtbot.wait(int(MERGE_SECONDS * 1000) + 50)
    qtbot.keyClick(samples, Qt.Key.Key_Up)
    assert window.undo_stack.count() == 2
    window.action_undo.trigger()
    assert samples.value() == 550
    window.action_undo.trigger()
    assert samples.value() == 400 and window.project.dataset["samples"] == 400


def test_switching_to_a_csv_file_keeps_the_split_and_seed_and_undo_brings_the_builtin_back(qtbot, window):
    panel = window.dataset_panel
    before = dict(window.project.dataset)
    panel.source.setFocus()
    qtbot.keyClick(panel.source, Qt.Key.Key_Down)  # Built-in -> CSV file
    d = window.project.dataset
    assert d["kind"] == "csv" and d["seed"] == before["seed"] and d["validation_split"] == before["validation_split"]
    assert panel.csv_path.isVisible() and not panel.samples.isVisible()
    panel.csv_path.setFocus()
    qtbot.keyClicks(panel.csv_path, "data/iris.csv")
    qtbot.keyClick(panel.csv_path, Qt.Key.Key_Return)
    panel.csv_features.setFocus()
    qtbot.keyClicks(panel.csv_features, "sepal, petal")
    qtbot.keyClick(panel.csv_features, Qt.Key.Key_Return)
    assert d["path"] == "data/iris.csv" and d["features"] == ["sepal", "petal"]
    for _ in range(3):
        window.action_undo.trigger()
    assert window.project.dataset == before
    assert panel.samples.isVisible() and not panel.csv_path.isVisible()


def test_fields_this_version_does_not_know_survive_edits(qtbot, window):
    panel = window.dataset_panel
    panel.epochs.setFocus()
    panel.epochs.selectAll()
    qtbot.keyClicks(panel.epochs, "42")
    qtbot.keyClick(panel.epochs, Qt.Key.Key_Return)
    panel.noise.setFocus()
    qtbot.keyClick(panel.noise, Qt.Key.Key_Up)
    assert window.project.training["epochs"] == 42 and window.project.training["scheduler"] == "cosine"
    assert window.project.dataset["future_option"] == {"kept": True}
    assert window.project.dataset["noise"] == pytest.approx(0.06)


def test_momentum_only_applies_to_sgd(qtbot, window):
    panel = window.dataset_panel
    assert panel.momentum.isEnabled()
    panel.optimizer.setFocus()
    qtbot.keyClicks(panel.optimizer, "A")
    assert window.project.training["optimizer"] == "adam"
    assert not panel.momentum.isEnabled()

"""File › Export › Training Job… and File › Import Run…: a design leaves the window as a torchrun job folder,
the job runs for real (one process, ``python train.py``, a tiny design, two epochs), and its weights and run come home.

Real widgets and a real job in its own process; only the modal questions are replaced by recorders.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from designer.graph import Layer
from designer.project import read_project
from designer.ui import dialogs, resource_path
from designer.ui.commands import AddLayerCommand, UpdateLayerCommand

from .conftest import Recorder, make_window

torch = pytest.importorskip("torch")
from safetensors.numpy import load_file  # noqa: E402  (after torch's skip: safetensors comes with it)

JOB_FILES = ["README.md", "data.safetensors", "project.nnd", "slurm.sbatch", "start.safetensors", "train.py"]
ORIGIN = "a job: 1 process, cpu"


@pytest.fixture
def infos_shown(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(dialogs, "show_info", recorder)
    return recorder


@pytest.fixture(autouse=True)
def never_ask_to_save(monkeypatch):
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *_args: "discard")


def xor(epochs: int = 2):
    project = read_project(resource_path("examples") / "xor.nnd")
    project.path = None
    project.training.update(epochs=epochs, device="cpu")
    return project


def run_job(job: Path) -> None:
    """The job's own script, one process on the CPU, as its README says (``python train.py``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "train.py", "--device", "cpu"], cwd=job, capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert (job / "result.nnd").is_file() and (job / "trained.safetensors").is_file()


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    """A job of the XOR example (two epochs) that has run to its end."""
    from designer.training.jobs import write_job

    job = tmp_path_factory.mktemp("jobs") / "xor-job"
    write_job(xor(), job)
    run_job(job)
    return job


def export_through_the_menu(qtbot, window, monkeypatch, folder: Path) -> None:
    asked = Recorder(str(folder))
    monkeypatch.setattr(dialogs, "ask_job_folder", asked)
    assert window.action_export_job in window.menu_export.actions()
    assert window.menu_export.menuAction() in window.menu_file.actions()
    window.action_export_job.trigger()
    assert len(asked.calls) == 1
    qtbot.waitUntil(lambda: window.job_writer is None, timeout=60_000)
    assert not window.job_bar.isVisible()


def import_through_the_menu(window, monkeypatch, folder: Path) -> bool:
    monkeypatch.setattr(dialogs, "ask_run_folder", Recorder(str(folder)))
    assert window.action_import_run in window.menu_file.actions()
    return window.action_import_run.isEnabled() and window.import_run_dialog()


def test_a_job_exported_from_the_menu_runs_and_its_run_comes_home_and_stays_after_a_relaunch(
        qtbot, monkeypatch, tmp_path, errors_shown, infos_shown):
    window = make_window(qtbot, xor())
    # an unsaved edit goes into the job: the design as it is now
    window.undo_stack.push(UpdateLayerCommand(window.graph, "h", label="hidden"))
    job = tmp_path / "job"
    export_through_the_menu(qtbot, window, monkeypatch, job)
    assert errors_shown.calls == []
    assert sorted(path.name for path in job.iterdir()) == JOB_FILES
    assert read_project(job / "project.nnd").graph.layer("h").label == "hidden"
    (title, message), = infos_shown.calls
    assert title == "Training job written"
    assert str(job) in message and "train.py" in message and "python train.py" in message
    assert "torchrun --standalone --nproc-per-node=4" in message and "Import Run" in message
    # the project itself is as it was: no weights, no runs, no file, nothing more to save than the edit
    assert window.project.weights is None and window.project.history == [] and window.project.path is None
    assert window.undo_stack.count() == 1 and not window._modified_outside_undo

    run_job(job)
    assert import_through_the_menu(window, monkeypatch, job)
    assert errors_shown.calls == []
    trained = load_file(str(job / "trained.safetensors"))
    weights = window.project.weights
    assert weights.keys() == trained.keys()
    assert all(np.array_equal(weights[name], trained[name]) for name in trained)
    # the canvas draws them on the links
    link = window.canvas.canvas_scene.connection_items["x-h"]
    assert np.array_equal(link.weights, trained["x-h.weight"])
    run = window.project.history[-1]
    assert run["id"] == "run-1" and run["origin"]["kind"] == "job" and len(run["epochs"]) == 2
    assert window.is_modified and window.undo_stack.count() == 1  # modified as by a run, not an undo step
    runs = window.insight_docks.runs_view
    assert runs.run_ids() == ["run-1"]
    assert runs.origin_of("run-1") == ORIGIN and "trained on" in runs.columns()
    assert ORIGIN in window.training.status_label.text()
    assert "run-1" in window.statusBar().currentMessage()

    # a second import of the same run is refused, and changes nothing
    assert not import_through_the_menu(window, monkeypatch, job)
    assert "already in the project" in errors_shown.calls[-1][1]
    assert len(window.project.history) == 1

    # saved and opened again in a new window: the run still says where it came from
    saved = tmp_path / "design.nnd"
    monkeypatch.setattr(dialogs, "ask_save_path", Recorder(str(saved)))
    assert window.save()
    window.close()
    again = make_window(qtbot, read_project(saved))
    assert again.insight_docks.runs_view.run_ids() == ["run-1"]
    assert again.insight_docks.runs_view.origin_of("run-1") == ORIGIN
    assert ORIGIN in again.training.status_label.text()
    assert all(np.array_equal(again.project.weights[name], trained[name]) for name in trained)


def test_a_run_of_a_design_changed_since_is_refused_naming_the_layer(qtbot, monkeypatch, finished_job,
                                                                      errors_shown):
    project = xor()
    project.graph.add_layer(Layer("extra", "neurons", (3,), activation="relu", position=(440, 200)))
    window = make_window(qtbot, project)
    assert not import_through_the_menu(window, monkeypatch, finished_job)
    (title, message), = errors_shown.calls
    assert title == "Cannot import run"
    assert "layer extra" in message and "differ" in message
    assert window.project.weights is None and window.project.history == []
    assert not window.is_modified
    assert window.insight_docks.runs_view.run_ids() == []

    # and through an edit on the canvas (one undo step): refused the same way, the edit the only change
    window.undo_stack.push(AddLayerCommand(window.graph, Layer("more", "neurons", (2,), position=(660, 200))))
    assert not import_through_the_menu(window, monkeypatch, finished_job)
    assert "layer more" in errors_shown.calls[-1][1]
    assert window.project.weights is None and not window._modified_outside_undo


def test_a_run_that_matches_comes_into_a_project_with_runs_of_its_own(qtbot, monkeypatch, finished_job,
                                                                       errors_shown):
    project = xor()
    project.history.append({"id": "run-1", "status": "completed", "started": "2026-01-01T10:00:00Z",
                            "epochs": [1], "train_loss": [0.7], "val_loss": [0.7]})
    window = make_window(qtbot, project)
    assert import_through_the_menu(window, monkeypatch, finished_job)
    runs = window.insight_docks.runs_view
    assert runs.run_ids() == ["run-2", "run-1"]
    assert runs.origin_of("run-2") == ORIGIN and runs.origin_of("run-1") == "this machine"


def test_an_unfinished_job_or_a_busy_folder_is_refused_with_a_message(qtbot, monkeypatch, tmp_path, errors_shown,
                                                                        infos_shown):
    window = make_window(qtbot, xor())
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("mine")
    export_through_the_menu(qtbot, window, monkeypatch, other)
    (title, message), = errors_shown.calls
    assert title == "Cannot export the training job" and "is not empty" in message
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"] and infos_shown.calls == []

    job = tmp_path / "job"
    export_through_the_menu(qtbot, window, monkeypatch, job)
    assert len(infos_shown.calls) == 1
    assert not import_through_the_menu(window, monkeypatch, job)  # written, never run
    assert "has not finished" in errors_shown.calls[-1][1]
    assert window.project.weights is None and not window.is_modified

"""``nn-designer export --to torchrun`` of every shipped example: the script it writes runs as written.

The settings are written into the script as Python source; a value that Python cannot read back (a NaN
written as ``nan``) kills the script before its first epoch, so each example's script is run for real.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from designer.project import read_project
from designer.training import train_project
from designer.training.script import python_literal, torchrun_files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
SHIPPED = sorted(path.name for path in EXAMPLES.glob("*.nnd"))
SCRIPT = Path(sys.executable).with_name("nn-designer")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "designer.cli"]
TIMEOUT = 120


def _run(*args, cwd):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)


def _records(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _settings_of(script: Path) -> dict:
    """The ``SETTINGS`` the script holds, read by importing it as its user would (``main`` is not run)."""
    spec = importlib.util.spec_from_file_location(f"exported_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SETTINGS


def test_the_softmax_example_exported_by_the_command_trains_as_the_engine_does(tmp_path):
    out = tmp_path / "job.py"
    result = _run(*COMMAND, "export", EXAMPLES / "shapes-local.nnd", "--to", "torchrun", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = _run(sys.executable, out, "--epochs", "1", "--device", "cpu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = _records(run.stdout)
    engine = train_project(read_project(EXAMPLES / "shapes-local.nnd"), epochs=1, device="cpu")
    assert [r["train_loss"] for r in records] == pytest.approx(engine.train_loss, rel=1e-5)
    assert [r["val_accuracy"] for r in records] == pytest.approx(engine.val_accuracy)
    assert (tmp_path / "job.trained.safetensors").exists()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_examples_script_holds_its_settings_and_runs_an_epoch(tmp_path, name):
    project = read_project(EXAMPLES / name)
    for file_name, data in torchrun_files(project, "job").items():
        (tmp_path / file_name).write_bytes(data)
    script = tmp_path / "job.py"
    compile(script.read_text(encoding="utf-8"), str(script), "exec")

    settings = _settings_of(script)
    for key in ("optimizer", "learning_rate", "momentum", "batch_size", "epochs", "l1", "l2", "seed"):
        assert settings[key] == project.training[key], key
    for key, value in settings.items():
        assert not isinstance(value, float) or math.isfinite(value), f"{key}: {value}"
    # one output unit scores against a threshold; several units (or regression) need none
    assert (settings["threshold"] is None) == (settings["loss"] == "cross_entropy" or settings["one_hot"]
                                               or not settings["classification"])

    run = _run(sys.executable, script, "--epochs", "1", "--device", "cpu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = _records(run.stdout)
    assert [r["epoch"] for r in records] == [1] and math.isfinite(records[0]["train_loss"])


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.1, 1e-300, -0.0])
def test_any_float_in_the_settings_reads_back_as_itself(value):
    settings = {"threshold": value, "shape": [1, value], "pair": (value,), "none": None, "flag": True, "name": "x'y"}
    read = eval(python_literal(settings), {"__builtins__": {"float": float}})  # noqa: S307 - as the script does
    assert repr(read) == repr(settings)  # repr tells nan, inf and -0.0 apart, where == cannot


@pytest.mark.parametrize("name, training, epochs", [
    # regression over sequences: recurrent weights penalised, adamw's decoupled decay, cosine, Huber's loss
    ("sine-recurrent.nnd", {"optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine",
                            "min_learning_rate": 0.001, "loss": "huber", "huber_delta": 0.5, "l2": 0.001}, 3),
    # classes, one unit per class: label smoothing, nesterov momentum with weight decay, one-cycle per batch
    ("shapes-local.nnd", {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True,
                          "weight_decay": 0.0001, "label_smoothing": 0.1, "schedule": "one_cycle"}, 2),
    # one unit: rmsprop, the absolute error on the output, plateau on the validation loss (a rate so small
    # that every epoch after the first is a plateau); then step
    ("xor.nnd", {"optimizer": "rmsprop", "learning_rate": 1e-6, "momentum": 0.5, "loss": "mae",
                 "schedule": "plateau", "patience": 0, "gamma": 0.5, "l1": 0.001}, 4),
    ("spiral.nnd", {"optimizer": "adam", "weight_decay": 0.001, "schedule": "step", "step_size": 1,
                    "gamma": 0.5}, 3),
])
def test_the_new_losses_optimizers_and_schedules_train_in_the_script_as_in_the_engine(tmp_path, name, training,
                                                                                    epochs):
    project = read_project(EXAMPLES / name)
    project.training.update(training)
    for file_name, data in torchrun_files(project, "job").items():
        (tmp_path / file_name).write_bytes(data)
    settings = _settings_of(tmp_path / "job.py")
    for key, value in training.items():
        if key != "loss":
            assert settings[key] == value, key
    run = _run(sys.executable, tmp_path / "job.py", "--epochs", epochs, "--device", "cpu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = _records(run.stdout)
    engine = train_project(project, epochs=epochs, device="cpu")
    assert engine.status == "completed" and engine.loss == settings["loss"]
    assert [r["train_loss"] for r in records] == pytest.approx(engine.train_loss, rel=1e-5)
    assert [r["val_loss"] for r in records] == pytest.approx(engine.val_loss, rel=1e-5)
    assert [r["learning_rate"] for r in records] == pytest.approx(engine.learning_rate, rel=1e-9)
    assert len(set(engine.learning_rate)) > 1  # the schedule moved the rate


def test_the_script_orders_each_epoch_as_the_engine_does_also_beyond_the_windowed_size(tmp_path, monkeypatch):
    """A big table is shuffled by blocks within windows (designer.training.loop.epoch_order): the script carries
    the same rule, so one process still repeats `nn-designer train`'s batches on data of any size."""
    import torch

    from designer.training import loop

    files = torchrun_files(read_project(EXAMPLES / "xor.nnd"), "job")
    script = tmp_path / "job.py"
    script.write_bytes(files["job.py"])
    spec = importlib.util.spec_from_file_location("exported_order", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for sizes in ({}, {"LOCAL_SHUFFLE_FROM": 4096, "BLOCK_BYTES": 96, "WINDOW_BYTES": 960}):
        for name, value in sizes.items():
            monkeypatch.setattr(loop, name, value)
            monkeypatch.setattr(module, name, value)
        for n in (1, 700, 5000):
            ours = module.epoch_order(n, 12, torch.Generator().manual_seed(4))
            engine = loop.epoch_order(n, 12, torch.Generator().manual_seed(4))
            assert torch.equal(ours, engine)
    assert loop.shuffle_window(5000, 12) is not None  # the windowed rule was the one compared last

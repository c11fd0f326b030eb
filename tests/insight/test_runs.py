"""Comparing runs: the settings that differ, once every run's defaults are filled in."""
from designer.insight import compare_runs


def _run(rid, training, **more):
    run = {"id": rid, "started": "2026-01-01T10:00:00Z", "training": training, "status": "completed",
           "epochs": [1, 2, 3], "train_loss": [0.7, 0.5, 0.3], "val_loss": [0.8, 0.6, 0.4],
           "train_accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.5, 0.6, 0.85], "loss": "bce"}
    run.update(more)
    return run


BASE = {"loss": "auto", "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0, "batch_size": 16, "epochs": 3,
        "l1": 0.0, "l2": 0.0, "seed": 0, "device": "auto"}


def test_compare_runs_marks_exactly_the_settings_that_differ():
    table = compare_runs([_run("run-1", BASE), _run("run-2", {**BASE, "learning_rate": 0.01})])
    assert table.differing == ["learning_rate"]
    assert [row.settings["learning_rate"] for row in table.rows] == [0.1, 0.01]
    table = compare_runs([_run("run-1", BASE), _run("run-2", {**BASE, "learning_rate": 0.01, "seed": 4}),
                          _run("run-3", {**BASE, "batch_size": 16.0})])
    assert table.differing == ["learning_rate", "seed"]  # 16 and 16.0 are the same batch size


def test_a_setting_an_older_run_lacks_differs_only_if_its_default_differs():
    old = _run("run-1", BASE)  # written before schedules existed: it trained without one
    same = _run("run-2", {**BASE, "schedule": "none", "weight_decay": 0.0})
    other = _run("run-3", {**BASE, "schedule": "cosine"})
    assert compare_runs([old, same]).differing == []
    assert compare_runs([old, same, other]).differing == ["schedule"]
    newer = _run("run-4", {**BASE, "future_setting": 3})  # a newer version's setting: no default known
    assert compare_runs([old, newer]).differing == ["future_setting"]
    assert compare_runs([old]).differing == []


def test_each_row_gives_the_final_numbers_and_no_made_up_duration():
    diverged = _run("run-2", BASE, status="diverged", val_loss=[0.8, None], epochs=[1, 2], seconds=12.5,
                    val_accuracy=[])
    table = compare_runs([_run("run-1", BASE), diverged])
    first, second = table.rows
    assert (first.id, first.status, first.epochs, first.train_loss, first.val_loss, first.val_accuracy) == (
        "run-1", "completed", 3, 0.3, 0.4, 0.85)
    assert first.seconds is None  # history.json does not store a duration
    assert second.seconds == 12.5 and second.val_loss is None and second.val_accuracy is None
    assert second.status == "diverged" and second.epochs == 2
    assert table.settings[:3] == ["loss", "label_smoothing", "huber_delta"]  # the spec's order

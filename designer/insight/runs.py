"""Compare a project's training runs: one row per run of ``history.json``, the settings that differ marked.

A run's settings are its ``training`` block with the defaults filled in (:class:`designer.training.TrainingConfig`'s,
the spec's), so that a run saved before a setting existed compares by the value it trained with: a run without
``schedule`` trained with ``"none"`` and differs from one with ``"cosine"``, not from one with ``"none"``.

Duration: ``seconds``, how long the training loop ran, which runs record from this version on; a run saved
before has none, so it is None there and the table shows no duration rather than a guess.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

from designer.training.config import SETTINGS, TrainingConfig

#: every setting's default, as a run that does not name it trained with it
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrainingConfig) if f.name != "extra"}


@dataclass(frozen=True)
class RunRow:
    """One run. Final values are the last epoch's (None when it has none, or it was not a number:
    a diverged epoch's loss); ``epochs`` counts the finished epochs; ``settings`` has the defaults filled in."""

    id: str
    started: str
    status: str
    epochs: int
    seconds: float | None
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    loss: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunTable:
    """Rows in the order given; ``settings`` every setting name (the spec's order, then unknown ones sorted);
    ``differing`` the names whose values are not the same in every run (none with fewer than two runs)."""

    rows: list[RunRow]
    settings: list[str]
    differing: list[str]


def compare_runs(runs: Sequence[Mapping[str, Any]]) -> RunTable:
    """The runs (dicts as in ``history.json``) as a table, with the settings that differ among them."""
    rows = [_row(run) for run in runs if isinstance(run, Mapping)]
    names = [name for name in SETTINGS if any(name in row.settings for row in rows)]
    names += sorted({name for row in rows for name in row.settings} - set(names))
    differing = []
    if len(rows) >= 2:
        for name in names:
            first = _comparable(rows[0].settings.get(name))
            if any(_comparable(row.settings.get(name)) != first for row in rows[1:]):
                differing.append(name)
    return RunTable(rows, names, differing)


def _row(run: Mapping[str, Any]) -> RunRow:
    given = run.get("training")
    settings = dict(DEFAULTS)
    if isinstance(given, Mapping):
        settings.update(given)
    seconds = run.get("seconds")
    epochs = run.get("epochs")
    return RunRow(
        id=str(run.get("id", "")), started=str(run.get("started", "")), status=str(run.get("status", "")),
        epochs=len(epochs) if isinstance(epochs, list) else 0,
        seconds=float(seconds) if _finite(seconds) else None,
        train_loss=_final(run.get("train_loss")), val_loss=_final(run.get("val_loss")),
        val_accuracy=_final(run.get("val_accuracy")), loss=str(run.get("loss", "")), settings=settings)


def _final(values: Any) -> float | None:
    if not isinstance(values, list) or not values:
        return None
    last = values[-1]
    return float(last) if _finite(last) else None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _comparable(value: Any) -> Any:
    """A value as compared: numbers by value (16 and 16.0 are the same batch size), the rest as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (type(value).__name__, repr(value))
    return ("number", float(value))

"""The training settings of a project (its ``training`` block), validated, with the spec's defaults.

Every field has a default, so an empty block trains; a field with a wrong type or an
out-of-range value raises :class:`TrainingError` naming the field, the value and the fix.
Unknown keys are kept in ``extra`` and written back, so a newer version's settings survive.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

LOSSES = ("auto", "mse", "mae", "huber", "cross_entropy", "bce")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "one_cycle", "plateau")
DEVICES = ("auto", "cpu", "cuda", "mps")

#: beyond these a value is a typo, not a plan (a run of a million epochs on the GUI thread's data)
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 10_000_000
MAX_LEARNING_RATE = 1e6
MAX_PENALTY = 1e6
MAX_HUBER_DELTA = 1e6
MAX_SEED = 2**63 - 1


class TrainingError(ValueError):
    """Training cannot run as asked: a bad setting, a loss that does not fit, a missing device.

    The message names the field or layer and says what to change; ``layer_id`` is the layer it
    concerns where there is one (the window outlines it).
    """

    def __init__(self, message: str, layer_id: str | None = None) -> None:
        super().__init__(message)
        self.layer_id = layer_id


@dataclass
class TrainingConfig:
    """How a design trains; the names and defaults are the ``.nnd`` spec's ``training`` block."""

    loss: str = "auto"
    label_smoothing: float = 0.0  # cross_entropy only
    huber_delta: float = 1.0  # huber only
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.0  # sgd and rmsprop
    nesterov: bool = False  # sgd only
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int = 30  # step: epochs between decays
    gamma: float = 0.1  # step: the decay; plateau: the factor
    patience: int = 10  # plateau
    min_learning_rate: float = 0.0  # cosine and plateau
    batch_size: int = 16
    epochs: int = 200
    l1: float = 0.0
    l2: float = 0.0
    seed: int = 0
    device: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loss = _choice("loss", self.loss, LOSSES)
        self.label_smoothing = _number("label_smoothing", self.label_smoothing, 0.0, 1.0, True, False,
                                       "a number from 0 up to (not including) 1, e.g. 0.1 (0 turns it off)")
        self.huber_delta = _number("huber_delta", self.huber_delta, 0.0, MAX_HUBER_DELTA, False, True,
                                   f"a number above 0 and at most {MAX_HUBER_DELTA:g}, e.g. 1.0")
        self.optimizer = _choice("optimizer", self.optimizer, OPTIMIZERS)
        self.learning_rate = check_hyperparameter("learning_rate", self.learning_rate)
        self.momentum = check_hyperparameter("momentum", self.momentum)
        self.nesterov = _flag("nesterov", self.nesterov)
        self.weight_decay = _number("weight_decay", self.weight_decay, 0.0, MAX_PENALTY, True, True,
                                    f"a number from 0 to {MAX_PENALTY:g}, e.g. 0.01 (0 turns it off)")
        self.schedule = _choice("schedule", self.schedule, SCHEDULES)
        self.step_size = _integer("step_size", self.step_size, 1, MAX_EPOCHS)
        self.gamma = _number("gamma", self.gamma, 0.0, 1.0, False, False,
                             "a number between 0 and 1 (neither included), e.g. 0.1")
        self.patience = _integer("patience", self.patience, 0, MAX_EPOCHS)
        self.min_learning_rate = _number("min_learning_rate", self.min_learning_rate, 0.0, MAX_LEARNING_RATE,
                                         True, True, f"a number from 0 to {MAX_LEARNING_RATE:g}, e.g. 1e-5")
        self.batch_size = _integer("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        self.epochs = _integer("epochs", self.epochs, 1, MAX_EPOCHS)
        self.l1 = check_hyperparameter("l1", self.l1)
        self.l2 = check_hyperparameter("l2", self.l2)
        self.seed = _integer("seed", self.seed, 0, MAX_SEED)
        self.device = _choice("device", self.device, DEVICES)
        if self.optimizer == "sgd" and self.nesterov and self.momentum == 0:
            raise TrainingError("training: nesterov true needs a momentum above 0, got momentum 0.0; set momentum "
                                "(e.g. 0.9) or set nesterov to false")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "TrainingConfig":
        """Read a ``training`` block; missing fields take the spec's defaults."""
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise TrainingError(f"training: the training settings must be a JSON object, got {d!r}")
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names}
        extra = {k: v for k, v in d.items() if k not in names}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The ``training`` block as written to ``project.json`` (unknown keys included).

        The settings that came after the first version (:data:`OPTIONAL`) are written only when they
        differ from their defaults, so a project that does not use them saves as it did before.
        """
        d = dict(self.extra)
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in OPTIONAL and value == f.default and type(value) is type(f.default):
                continue
            d[f.name] = value
        return d

    def replace(self, **changes: Any) -> "TrainingConfig":
        """A validated copy with some fields changed (``None`` values are ignored)."""
        d = self.to_dict()
        d.update({k: v for k, v in changes.items() if v is not None})
        return TrainingConfig.from_dict(d)


#: the fields of a ``training`` block, in the spec's order
SETTINGS = tuple(f.name for f in fields(TrainingConfig) if f.name != "extra")
#: the fields written only when they differ from their defaults (added after files were written without them)
OPTIONAL = ("label_smoothing", "huber_delta", "nesterov", "weight_decay", "schedule", "step_size", "gamma",
            "patience", "min_learning_rate")

#: the settings a running training accepts through ``Control.update``, with their valid ranges
_RANGES: dict[str, tuple[float, float, bool, str]] = {
    # name: (low, high, low is allowed, how to say it)
    "learning_rate": (0.0, MAX_LEARNING_RATE, False, f"a number above 0 and at most {MAX_LEARNING_RATE:g}"),
    "momentum": (0.0, 1.0, True, "a number from 0 up to (not including) 1, e.g. 0.9"),
    "l1": (0.0, MAX_PENALTY, True, f"a number from 0 to {MAX_PENALTY:g} (0 turns the penalty off)"),
    "l2": (0.0, MAX_PENALTY, True, f"a number from 0 to {MAX_PENALTY:g} (0 turns the penalty off)"),
}
HYPERPARAMETERS = tuple(_RANGES)


def check_hyperparameter(name: str, value: Any) -> float:
    """``value`` as a float if it is valid for ``name`` (one of :data:`HYPERPARAMETERS`)."""
    if name not in _RANGES:
        raise TrainingError(f"{name!r} cannot be changed while training; "
                            f"the settings that can are {', '.join(HYPERPARAMETERS)}")
    low, high, low_ok, wanted = _RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrainingError(f"training: {name} must be {wanted}, got {value!r}")
    value = float(value)
    upper_ok = name != "momentum"
    if (not math.isfinite(value) or value < low or (value == low and not low_ok)
            or value > high or (value == high and not upper_ok)):
        raise TrainingError(f"training: {name} must be {wanted}, got {value!r}")
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise TrainingError(f"training: {name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _number(name: str, value: Any, low: float, high: float, low_ok: bool, high_ok: bool, wanted: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrainingError(f"training: {name} must be {wanted}, got {value!r}")
    number = float(value)
    if (not math.isfinite(number) or number < low or (number == low and not low_ok)
            or number > high or (number == high and not high_ok)):
        raise TrainingError(f"training: {name} must be {wanted}, got {value!r}")
    return number


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TrainingError(f"training: {name} must be true or false, got {value!r}")
    return value


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON written by hand or by other tools may say 16.0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrainingError(f"training: {name} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return value

"""Reading and checking the fields every dataset kind shares: seed, validation_split, samples, noise, path.

Each reader names the field, the value it got and the range it accepts, so a typo in a project file
becomes a sentence the user can act on instead of a NumPy traceback.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from .errors import DataError

MAX_SAMPLES = 1_000_000  # built-in datasets and image folders, decoded whole into memory
MAX_TABLE_ROWS = 2**31 - 1  # tables stream from the cache when big: only a sane bound on absurd input
MIN_SAMPLES = 4  # the smallest set that still holds every row of a truth table and both classes
MAX_VALIDATION_SPLIT = 0.9  # keep at least a tenth of the data to train on
MAX_NOISE = 10.0
DEFAULT_VALIDATION_SPLIT = 0.2
DEFAULT_SEED = 0


def is_whole(value: Any) -> bool:
    """True for an int, or a float with no fractional part (JSON may write 64 as 64.0); never for a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _field(spec: dict, name: str, default: Any, valid: Callable[[Any], bool], wanted: str) -> Any:
    """``spec[name]`` (``default`` when missing or null) if ``valid`` says so; else a message naming it."""
    value = spec.get(name, default)
    if value is None:
        return default
    if not valid(value):
        raise DataError(f"dataset field {name!r} must be {wanted}, not {value!r}")
    return value


def seed_of(spec: dict) -> int:
    """The dataset's ``seed`` (default 0): the same seed gives the same data and split."""
    return int(_field(spec, "seed", DEFAULT_SEED, lambda v: is_whole(v) and 0 <= v < 2**63,
                      "a whole number from 0 up"))


def validation_split_of(spec: dict) -> float:
    """The fraction of samples held out for validation (default 0.2, at most 0.9)."""
    return float(_field(spec, "validation_split", DEFAULT_VALIDATION_SPLIT,
                        lambda v: _is_number(v) and 0.0 <= v <= MAX_VALIDATION_SPLIT,
                        f"a number from 0 to {MAX_VALIDATION_SPLIT} (the fraction held out for validation)"))


def samples_of(spec: dict, default: int) -> int:
    """How many samples a built-in dataset generates."""
    return int(_field(spec, "samples", default, lambda v: is_whole(v) and MIN_SAMPLES <= v <= MAX_SAMPLES,
                      f"a whole number from {MIN_SAMPLES} to {MAX_SAMPLES:,}"))


def noise_of(spec: dict, default: float) -> float:
    """The standard deviation of the Gaussian noise a built-in dataset adds."""
    return float(_field(spec, "noise", default, lambda v: _is_number(v) and 0.0 <= v <= MAX_NOISE,
                        f"a number from 0 to {MAX_NOISE:g} (the standard deviation of the added noise)"))


def flag_of(spec: dict, field: str, default: bool) -> bool:
    """A true/false field such as ``standardize`` or ``grayscale``."""
    return _field(spec, field, default, lambda v: isinstance(v, bool), "true or false")


def path_of(spec: dict, base_dir: Path | str | None, what: str) -> tuple[Path, str]:
    """The dataset's ``path`` resolved against the project's folder, and the text the user wrote.

    Relative paths are relative to ``base_dir`` (the .nnd file's folder), or to the current folder when the
    project has not been saved yet.
    """
    raw = spec.get("path")
    if not isinstance(raw, str) or not raw.strip():
        raise DataError(f"a {what} dataset needs a 'path' (relative to the project file's folder, or absolute)")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(base_dir if base_dir is not None else Path.cwd()) / path
    return path, raw

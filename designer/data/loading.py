"""``load_dataset`` and ``describe``: turn a project's ``dataset`` block into data, or into one line of text."""
from __future__ import annotations

from pathlib import Path

from .builtin import describe_builtin, load_builtin
from .dataset import Dataset
from .errors import SILENT, DataError, Progress
from .images import describe_images, load_images
from .table import describe_csv, load_csv

KINDS = ("builtin", "csv", "images")


def _kind_of(spec: object) -> str:
    if not isinstance(spec, dict):
        raise DataError(f"the dataset block must be a JSON object such as "
                        f"{{\"kind\": \"builtin\", \"name\": \"xor\"}}, not {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        shown = "has no 'kind'" if kind is None else f"has unknown kind {kind!r}"
        raise DataError(f"the dataset {shown}: use one of {', '.join(KINDS)}")
    return kind


def load_dataset(spec: dict, base_dir: Path | str | None = None, progress: Progress = SILENT) -> Dataset:
    """Build the dataset a project's ``dataset`` block describes, split into training and validation.

    ``base_dir`` is the folder of the .nnd file, against which relative ``path`` fields resolve (the current
    folder when None). Raises ``DataError`` naming the field, file, column or line for anything the user can fix.
    ``progress`` hears how far a table file or an image folder has got, and may stop it (``LoadCancelled``).
    Kind ``csv`` covers every table file: CSV, Parquet, Feather and Arrow, told apart by the path's suffix.
    """
    kind = _kind_of(spec)
    if kind == "builtin":
        return load_builtin(spec)
    if kind == "csv":
        return load_csv(spec, base_dir, progress)
    return load_images(spec, base_dir, progress)


def describe(spec: dict, base_dir: Path | str | None = None) -> str:
    """A one-line summary for the window, e.g. "spiral: 400 samples, 2 classes, 2 inputs, 20% for validation".

    Built-ins are described from the catalogue without generating anything; a CSV file is read but not
    converted (Parquet: its metadata), an image folder only listed. Raises ``DataError`` as ``load_dataset`` would.
    """
    kind = _kind_of(spec)
    if kind == "builtin":
        return describe_builtin(spec)
    if kind == "csv":
        return describe_csv(spec, base_dir)
    return describe_images(spec, base_dir)

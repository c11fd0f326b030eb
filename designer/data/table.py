"""Table datasets: a CSV, Parquet, Feather or Arrow file, one sample per row, numeric features, one target column.

A CSV file has a header line naming the columns (delimiter ``,``, ``;`` or tab, taken from the first line); the
other formats name their columns themselves. ``designer.data.table_read`` reads the needed columns (pyarrow,
chunk by chunk, with exact messages for bad cells: file, line, column and the fix), this module checks the
dataset block and turns the target into classes or values, and ``designer.data.table_prepare`` splits,
standardises and builds the tensors, in memory or streamed from the cache for a table bigger than the budget.
Line numbers in messages are the file's own (the header is line 1; blank lines count but are skipped).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import CLASSIFICATION, REGRESSION, TASKS, Dataset
from .errors import SILENT, DataError, Progress
from .options import flag_of, path_of, seed_of, validation_split_of
from .table_read import (MISSING, TEXT_LIMIT, Raw, Source, bad_number, buffers_returned_when_freed, count_rows,
                         free_unused_memory, open_source, read_columns)
from .table_prepare import prepare

MAX_CLASSES = 1000
INFERRED_CLASS_LIMIT = 20  # whole-number targets with at most this many values are taken as class labels
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".feather", ".arrow", ".ipc")


def _columns(spec: dict, source: Source) -> tuple[list[str], str]:
    existing = ", ".join(repr(name) for name in source.header)
    target = spec.get("target")
    if target is None or (isinstance(target, str) and not target.strip()):
        target = source.header[-1]  # the usual layout: features first, the thing to predict last
    if not isinstance(target, str) or target not in source.header:
        raise DataError(f"{source.shown}: no target column {target!r}; the columns are {existing}")
    features = spec.get("features")
    if features is None:
        features = [name for name in source.header if name != target]
    elif not isinstance(features, list) or not all(isinstance(name, str) for name in features):
        raise DataError(f"dataset field 'features' must be a list of column names, not {features!r}")
    missing = [name for name in features if name not in source.header]
    if missing:
        raise DataError(f"{source.shown}: no column {missing[0]!r}; the columns are {existing}")
    if target in features:
        raise DataError(f"{source.shown}: column {target!r} is the target, so it cannot also be a feature")
    repeated = sorted({name for name in features if features.count(name) > 1})
    if repeated:
        raise DataError(f"dataset field 'features' lists column {repeated[0]!r} twice")
    if not features:
        raise DataError(f"{source.shown}: no feature columns; the file needs at least one column besides the "
                        f"target {target!r}")
    return list(features), target


def _task_of(spec: dict) -> str | None:
    task = spec.get("task")
    if task is not None and task not in TASKS:
        raise DataError(f"dataset field 'task' must be 'classification' or 'regression' (or left out to infer "
                        f"it), not {task!r}")
    return task


def _first_bad(raw: Raw, target: str, hint: str = "") -> DataError:
    """The message for the first value of a text target that is missing, not a number, or not finite."""
    row, text = raw.texts.first_bad
    _, problem = bad_number([text], hint)
    return raw.error(row, target, problem)


def _numeric_target(raw: Raw, values: np.ndarray, target: str, task: str | None):
    finite = np.isfinite(values)
    if not finite.all():  # all numbers, but "nan" and "inf" are holes, not data
        row = int(np.flatnonzero(~finite)[0])
        line, found = raw.locate(row)
        text = found.get(target, str(values[row]))
        _, problem = bad_number([text]) or (0, f"{text!r} is not a finite number")
        raise raw.source.where(line, row, target, problem)
    counted = None
    if task is None:
        whole = bool(np.all(values == np.round(values)))
        counted = _counted_classes(values) if whole else None
        if counted is not None:
            few = len(counted[0]) <= INFERRED_CLASS_LIMIT
        else:
            few = whole and len(np.unique(values[:1 << 20])) <= INFERRED_CLASS_LIMIT \
                and len(np.unique(values)) <= INFERRED_CLASS_LIMIT
        task = CLASSIFICATION if few else REGRESSION
    if task == REGRESSION:
        return values[:, None], task, []
    distinct, labels = counted if counted is not None else np.unique(values, return_inverse=True)
    names = [str(int(v)) if v == int(v) else f"{v:g}" for v in distinct]
    return labels.reshape(-1).astype(np.int64), task, names


def _counted_classes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(values, return_inverse=True)`` for whole numbers within a span of 65,536, by counting
    rather than sorting (1M labels: 4 ms against three sorts, 40 ms); None for other values."""
    low, high = values.min(), values.max()
    if not high - low < 1 << 16:
        return None
    offsets = (values - low).astype(np.intp)
    present = np.bincount(offsets, minlength=int(high - low) + 1) > 0
    index = np.cumsum(present) - 1  # each present value's place among the distinct ones
    return np.flatnonzero(present) + low, index[offsets]


def _target(raw: Raw, target: str, task: str | None) -> tuple[np.ndarray, str, list[str]]:
    """The target as class indices or numbers, the task, and the class names."""
    shown = raw.source.shown
    texts = raw.texts
    if texts is None:
        y, task, names = _numeric_target(raw, np.asarray(raw.numbers, dtype=np.float64), target, task)
        if task == REGRESSION:
            return y, task, names
    else:
        if texts.first_bad is None and texts.numeric_rows == raw.rows and not texts.overflow:
            # numbers stored as text (a Parquet string column): numbers, as in a CSV file
            values = np.array([float(t) for t in texts.texts], dtype=np.float64)[np.asarray(raw.codes)]
            return _target_numbers(raw, values, target, task)
        if task is None:
            if texts.numeric_rows >= 0.9 * raw.rows:  # a few stray words in a numeric column are typos, not labels
                raise _first_bad(raw, target, " (set 'task' to 'classification' to use the values as class labels)")
            task = CLASSIFICATION
        if task == REGRESSION:
            raise _first_bad(raw, target, "; a regression target must be numeric")
        if texts.overflow:
            raise DataError(f"{shown}: column {target!r} has more than {TEXT_LIMIT:,} distinct labels, more than "
                            f"{MAX_CLASSES:,} classes; if it is a quantity, set 'task' to 'regression'")
        stripped = [text.strip() for text in texts.texts]
        missing = [k for k, text in enumerate(stripped) if text.lower() in MISSING]
        if missing:
            k = min(missing, key=lambda m: texts.first[m])
            shown_text = f" ({stripped[k]!r})" if stripped[k] else ""
            raise raw.error(texts.first[k], target, f"missing class label{shown_text}; fill it in or remove the line")
        names = sorted(set(stripped))  # " cat" and "cat" are one class
        position = {name: k for k, name in enumerate(names)}
        lookup = np.array([position[text] for text in stripped], dtype=np.int64)
        y = lookup[np.asarray(raw.codes)]
    if len(names) < 2:
        raise DataError(f"{shown}: column {target!r} holds a single class ({names[0]!r}); "
                        f"classification needs at least two")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{shown}: column {target!r} has {len(names):,} distinct labels, more than "
                        f"{MAX_CLASSES:,} classes; if it is a quantity, set 'task' to 'regression'")
    return y, task, names


def _target_numbers(raw: Raw, values: np.ndarray, target: str, task: str | None):
    y, task, names = _numeric_target(raw, values, target, task)
    if task == CLASSIFICATION and len(names) < 2:
        raise DataError(f"{raw.source.shown}: column {target!r} holds a single class ({names[0]!r}); "
                        f"classification needs at least two")
    if task == CLASSIFICATION and len(names) > MAX_CLASSES:
        raise DataError(f"{raw.source.shown}: column {target!r} has {len(names):,} distinct labels, more than "
                        f"{MAX_CLASSES:,} classes; if it is a quantity, set 'task' to 'regression'")
    return y, task, names


def load_csv(spec: dict, base_dir: Path | str | None, progress: Progress = SILENT) -> Dataset:
    """Load a table dataset block: features standardised with the training split's statistics."""
    with buffers_returned_when_freed():
        return _load_csv(spec, base_dir, progress)


def _load_csv(spec: dict, base_dir: Path | str | None, progress: Progress) -> Dataset:
    path, shown = path_of(spec, base_dir, "CSV")
    task = _task_of(spec)
    standardize = flag_of(spec, "standardize", True)
    split = validation_split_of(spec)
    seed = seed_of(spec)
    source = open_source(path, shown)
    features, target = _columns(spec, source)
    hint = " (list only numeric columns in 'features' to leave this one out)" if spec.get("features") is None else ""
    raw = read_columns(source, features, target, hint, progress)
    try:
        raw.labels, task, class_names = _target(raw, target, task)
        raw.numbers = raw.codes = None  # the target as read: the labels replace it
        raw.release()  # the target's pages of a spilled table, read by the checks above
        free_unused_memory()  # what reading the text needed and let go of, before the dataset is built
        return prepare(raw, task, class_names, standardize=standardize, split=split, seed=seed, progress=progress,
                       key_options={"features": features, "target": target, "format": source.format,
                                    "delimiter": source.delimiter, "header_line": source.header_line})
    finally:
        raw.close()  # the spilled values' file, if any


def describe_csv(spec: dict, base_dir: Path | str | None) -> str:
    """"csv iris.csv: 150 rows, 4 inputs, target 'species'", from the header and a count of the rows."""
    path, shown = path_of(spec, base_dir, "CSV")
    task = _task_of(spec)
    source = open_source(path, shown)
    features, target = _columns(spec, source)
    rows = count_rows(source, SILENT)
    kind = f", {task}" if task else ""
    return (f"csv {path.name}: {rows} rows, {len(features)} input{'s' if len(features) != 1 else ''}, "
            f"target {target!r}{kind}, {round(validation_split_of(spec) * 100)}% for validation")

"""CSV datasets: a header line naming the columns, one sample per line, numeric features, one target column.

Parsing is Python's ``csv`` module plus NumPy: rows are read once, each needed column is converted to numbers
in one pass, and only when that fails is the column walked value by value to find the first bad line, so a
clean 100,000-row file loads in about a quarter of a second and a bad one still gets a precise message.
Line numbers in messages are the file's own (the header is line 1; blank lines count but are skipped).
"""
from __future__ import annotations

import csv
import gc
import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from .dataset import CLASSIFICATION, REGRESSION, TASKS, Dataset, split_indices, to_dataset
from .errors import SILENT, DataError, Progress
from .options import MAX_SAMPLES, flag_of, path_of, seed_of, validation_split_of

MAX_FILE_BYTES = 1 << 30
MAX_CLASSES = 1000
INFERRED_CLASS_LIMIT = 20  # whole-number targets with at most this many values are taken as class labels
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
DELIMITERS = (",", ";", "\t")


@dataclass
class Table:
    """The raw text of a CSV file: header names, rows of strings and where each row sits in the file."""

    shown: str  # the file as the user wrote it, for messages
    header: list[str]
    header_line: int
    rows: list[list[str]]
    lines: np.ndarray  # 1-based line number of each row

    def error(self, row: int | None, column: str | None, problem: str) -> DataError:
        where = [self.shown]
        if row is not None:
            where.append(f"line {int(self.lines[row])}")
        if column is not None:
            where.append(f"column {column!r}")
        return DataError(f"{', '.join(where)}: {problem}")

    def column(self, name: str) -> list[str]:
        return list(map(itemgetter(self.header.index(name)), self.rows))


@contextmanager
def _collector_paused():
    """Pause Python's cycle collector while a file becomes ~100k small lists of strings.

    Those lists hold no cycles, but each batch of new objects makes the collector rescan all the older ones:
    measured here it was about half the time of loading a 100,000-row file.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _open_text(path: Path, shown: str):
    if not path.exists():
        raise DataError(f"CSV file {shown!r} not found (looked for {path})")
    if path.is_dir():
        raise DataError(f"CSV path {shown!r} is a folder, not a file ({path})")
    if not path.is_file():  # a pipe or a device: reading it would wait forever, or never end
        raise DataError(f"CSV path {shown!r} is not a plain file ({path}); save the data to a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"CSV file {shown!r} is {size / 2**30:.1f} GiB; NN Designer reads CSV files up to "
                        f"{MAX_FILE_BYTES // 2**30} GiB")
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot open CSV file {shown!r}: {exc.strerror or exc}") from None


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: Path, shown: str) -> Table:
    """Read a CSV file into a ``Table``; the delimiter (comma, semicolon or tab) is taken from the header."""
    reader = None
    try:
        with _open_text(path, shown) as handle:
            first = handle.readline()
            handle.seek(0)
            delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] | None = None
            for header in reader:
                if not _is_blank(header):
                    break
            else:
                raise DataError(f"CSV file {shown!r} is empty: it needs a header line naming the columns "
                                f"and a line per sample")
            header_line = reader.line_num
            raw = list(itertools.islice(reader, MAX_SAMPLES + 1))
            lines_read = reader.line_num
            if len(raw) > MAX_SAMPLES:
                raise DataError(f"CSV file {shown!r} has more than {MAX_SAMPLES:,} rows, more than NN Designer "
                                f"trains on; use a sample of it")
    except UnicodeDecodeError as exc:
        raise DataError(f"CSV file {shown!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte in older Pythons ...
        where = f", line {reader.line_num}" if reader is not None else ""
        raise DataError(f"CSV file {shown!r}{where}: {exc}") from None

    header = [name.strip() for name in header]
    if all(_looks_numeric(name) for name in header):
        raise DataError(f"CSV file {shown!r} has no header: line {header_line} holds numbers, not column names; "
                        f"add a first line naming the columns")
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{shown}, line {header_line}: column {position} has no name in the header")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{shown}, line {header_line}: the header names column {duplicates[0]!r} more than once")

    if lines_read == header_line + len(raw):  # one line per row: the common case, no per-row bookkeeping
        lines = np.arange(header_line + 1, header_line + 1 + len(raw))
    else:  # a quoted value spans lines: read again, noting where each row starts
        lines = _row_lines(path, delimiter, header_line, len(raw))
    width = len(header)
    lengths = np.fromiter(map(len, raw), dtype=np.int64, count=len(raw))
    odd = np.flatnonzero(lengths != width)
    blank = [int(i) for i in odd if _is_blank(raw[i])]
    ragged = [int(i) for i in odd if not _is_blank(raw[i])]
    if ragged:
        i = ragged[0]
        raise DataError(f"{shown}, line {int(lines[i])}: {len(raw[i])} values, but the header (line "
                        f"{header_line}) names {width} columns")
    if blank:
        keep = np.ones(len(raw), dtype=bool)
        keep[blank] = False
        raw = [row for row, kept in zip(raw, keep) if kept]
        lines = lines[keep]
    return Table(shown, header, header_line, raw, lines)


def _row_lines(path: Path, delimiter: str, header_line: int, count: int) -> np.ndarray:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        while reader.line_num < header_line:
            next(reader)
        starts, previous = [], header_line
        for _ in itertools.islice(reader, count):
            starts.append(previous + 1)
            previous = reader.line_num
        return np.array(starts, dtype=np.int64)


def _first_bad_number(table: Table, column: str, texts: list[str], hint: str = "") -> DataError:
    """The error for the first value of a column that is missing, not a number, or infinite."""
    for row, text in enumerate(texts):
        value = text.strip()
        if value.lower() in MISSING:
            return table.error(row, column, f"missing value{f' ({value!r})' if value else ''}; fill it in or "
                                            f"remove the line")
        try:
            number = float(value)
        except ValueError:
            decimal = "; use a dot as the decimal separator" if "," in value else ""
            return table.error(row, column, f"{text!r} is not a number{decimal}{hint}")
        if not np.isfinite(number):
            return table.error(row, column, f"{text!r} is not a finite number")
    return table.error(None, column, "holds values that are not numbers")


def _parse(texts: list[str]) -> np.ndarray | None:
    """The column as numbers, or None if any value is not one (float() takes surrounding spaces)."""
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        return None


def _numbers(table: Table, column: str, hint: str = "") -> np.ndarray:
    texts = table.column(column)
    values = _parse(texts)
    if values is None:
        raise _first_bad_number(table, column, texts, hint)
    if not np.isfinite(values).all():  # "nan" and "inf" parse, but they are holes, not data
        raise _first_bad_number(table, column, texts, hint)
    return values


def _columns(spec: dict, table: Table) -> tuple[list[str], str]:
    existing = ", ".join(repr(name) for name in table.header)
    target = spec.get("target")
    if target is None:  # the usual layout: features first, the thing to predict last
        target = table.header[-1]
    if not isinstance(target, str) or target not in table.header:
        raise DataError(f"{table.shown}: no target column {target!r}; the columns are {existing}")
    features = spec.get("features")
    if features is None:
        features = [name for name in table.header if name != target]
    elif not isinstance(features, list) or not all(isinstance(name, str) for name in features):
        raise DataError(f"dataset field 'features' must be a list of column names, not {features!r}")
    missing = [name for name in features if name not in table.header]
    if missing:
        raise DataError(f"{table.shown}: no column {missing[0]!r}; the columns are {existing}")
    if target in features:
        raise DataError(f"{table.shown}: column {target!r} is the target, so it cannot also be a feature")
    repeated = sorted({name for name in features if features.count(name) > 1})
    if repeated:
        raise DataError(f"dataset field 'features' lists column {repeated[0]!r} twice")
    if not features:
        raise DataError(f"{table.shown}: no feature columns; the file needs at least one column besides the "
                        f"target {target!r}")
    return list(features), target


def _task_of(spec: dict) -> str | None:
    task = spec.get("task")
    if task is not None and task not in TASKS:
        raise DataError(f"dataset field 'task' must be 'classification' or 'regression' (or left out to infer "
                        f"it), not {task!r}")
    return task


def _codes(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each value's index among the sorted distinct values, and those values."""
    distinct = sorted(set(texts))
    position = {text: k for k, text in enumerate(distinct)}
    return np.fromiter(map(position.__getitem__, texts), dtype=np.int64, count=len(texts)), distinct


def _target(table: Table, target: str, task: str | None) -> tuple[np.ndarray, str, list[str]]:
    """The target as class indices or numbers, the task, and the class names."""
    texts = table.column(target)
    values = _parse(texts)
    if values is not None and not np.isfinite(values).all():
        raise _first_bad_number(table, target, texts)
    if values is not None:
        if task is None:
            whole = bool(np.all(values == np.round(values)))
            task = CLASSIFICATION if whole and len(np.unique(values)) <= INFERRED_CLASS_LIMIT else REGRESSION
        if task == REGRESSION:
            return values[:, None], task, []
        distinct, labels = np.unique(values, return_inverse=True)
        names = [str(int(v)) if v == int(v) else f"{v:g}" for v in distinct]
    else:
        codes, distinct_texts = _codes(texts)
        if task is None:
            counts = np.bincount(codes, minlength=len(distinct_texts))
            numeric = sum(int(counts[k]) for k, text in enumerate(distinct_texts) if _looks_numeric(text))
            if numeric >= 0.9 * len(texts):  # a few stray words in a numeric column are typos, not labels
                raise _first_bad_number(table, target, texts, " (set 'task' to 'classification' to use the "
                                                              "values as class labels)")
            task = CLASSIFICATION
        if task == REGRESSION:
            raise _first_bad_number(table, target, texts, "; a regression target must be numeric")
        stripped = [text.strip() for text in distinct_texts]
        missing = [k for k, text in enumerate(stripped) if text.lower() in MISSING]
        if missing:
            row = int(np.flatnonzero(np.isin(codes, missing))[0])
            shown = f" ({texts[row].strip()!r})" if texts[row].strip() else ""
            raise table.error(row, target, f"missing class label{shown}; fill it in or remove the line")
        names = sorted(set(stripped))  # " cat" and "cat" are one class
        position = {name: k for k, name in enumerate(names)}
        labels = np.array([position[text] for text in stripped], dtype=np.int64)[codes]
    if len(names) < 2:
        raise DataError(f"{table.shown}: column {target!r} holds a single class ({names[0]!r}); "
                        f"classification needs at least two")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{table.shown}: column {target!r} has {len(names):,} distinct labels, more than "
                        f"{MAX_CLASSES:,} classes; if it is a quantity, set 'task' to 'regression'")
    return labels.reshape(-1), task, names


def load_csv(spec: dict, base_dir: Path | str | None, progress: Progress = SILENT) -> Dataset:
    """Load a ``csv`` dataset block: features standardised with the training split's statistics."""
    path, shown = path_of(spec, base_dir, "CSV")
    task = _task_of(spec)
    standardize = flag_of(spec, "standardize", True)
    split = validation_split_of(spec)
    seed = seed_of(spec)
    with _collector_paused():
        return _load_table(spec, read_table(path, shown), path, task, standardize, split, seed)


def _load_table(spec: dict, table: Table, path: Path, task: str | None, standardize: bool, split: float,
                seed: int) -> Dataset:
    shown = table.shown
    if len(table.rows) < 2:
        raise DataError(f"CSV file {shown!r} has {len(table.rows)} data line{'s' if len(table.rows) != 1 else ''};"
                        f" it needs at least 2 (one sample per line below the header)")
    features, target = _columns(spec, table)
    default_features = spec.get("features") is None
    hint = " (list only numeric columns in 'features' to leave this one out)" if default_features else ""
    x = np.column_stack([_numbers(table, name, hint) for name in features])
    y, task, class_names = _target(table, target, task)
    train, val = split_indices(len(x), split, np.random.default_rng(seed),
                               y if task == CLASSIFICATION else None)
    if standardize:
        # Statistics of the training rows only: the validation rows must stay unseen, as new data would be.
        mean = x[train].mean(axis=0)
        std = x[train].std(axis=0)
        std[std == 0] = 1.0  # a constant column is centred, not divided by zero
        x = (x - mean) / std
    return to_dataset(x, y, train, val, task=task, class_names=class_names, feature_names=features,
                      input_shape=(len(features),), is_sequence=False, name=path.name)


def describe_csv(spec: dict, base_dir: Path | str | None) -> str:
    """"csv iris.csv: 150 rows, 4 inputs, target 'species'", from the header and a line count."""
    path, shown = path_of(spec, base_dir, "CSV")
    task = _task_of(spec)
    with _collector_paused():
        table = read_table(path, shown)
    features, target = _columns(spec, table)
    kind = f", {task}" if task else ""
    return (f"csv {path.name}: {len(table.rows)} rows, {len(features)} input{'s' if len(features) != 1 else ''}, "
            f"target {target!r}{kind}, {round(validation_split_of(spec) * 100)}% for validation")

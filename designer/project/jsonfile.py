"""JSON entries of the archive: written in a stable form, read with messages that say where.

Written as UTF-8 (two-space indents unless told otherwise), keys in the order given (the writer
fixes it), and a final newline, so that saving an opened project again gives the same bytes.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy


#: deeper nesting than any project needs; refused on reading
MAX_DEPTH = 64


class JsonProblem(Exception):
    """What is wrong with a JSON entry or value; the caller adds the file's name."""


def dump(value: Any, indent: int | None = 2) -> bytes:
    return (json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def load(data: bytes, entry: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"{entry} is not UTF-8 text (byte {exc.start})") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"{entry} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    except RecursionError as exc:
        raise JsonProblem(f"{entry} is nested too deeply to read") from exc
    if _depth(value) > MAX_DEPTH:
        # so that whatever is read can be copied and written back without hitting Python's recursion limit
        raise JsonProblem(f"{entry} is nested more than {MAX_DEPTH} levels deep")
    return value


def _depth(value: Any) -> int:
    deepest = 0
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                todo.extend((child, depth + 1) for child in item)
    return deepest


def plain(value: Any, where: str, non_finite_as_null: bool = False) -> Any:
    """``value`` as plain JSON data (numpy scalars and arrays converted, tuples as lists).

    Raises :class:`JsonProblem` naming ``where`` (a dotted path) for what JSON cannot hold.
    Non-finite floats are refused, or written as ``null`` with ``non_finite_as_null`` (the
    losses of a diverged run: standard JSON has no NaN).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numpy.ndarray):
        value = value.tolist()
    elif isinstance(value, numpy.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)  # numpy.float64 is a float too; keep the plain type
        if non_finite_as_null:
            return None
        raise JsonProblem(f"{where} is {value}, which a project file cannot hold")
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise JsonProblem(f"{where} has a key {key!r} that is not a string")
            out[key] = plain(item, f"{where}.{key}", non_finite_as_null)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]", non_finite_as_null) for i, item in enumerate(value)]
    raise JsonProblem(f"{where} is a {type(value).__name__}, which a project file cannot hold")

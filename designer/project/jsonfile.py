"""JSON entries of the archive: written in a stable form, read with messages that say where.

Written as UTF-8 (two-space indents unless told otherwise), keys in the order given (the writer
fixes it), and a final newline, so that saving an opened project again gives the same bytes.

Reading refuses, naming where, what could be read but never written back: a whole number of more
than :data:`MAX_DIGITS` digits (Python refuses to convert those) and text holding a lone surrogate
(``"\\ud800"`` is valid JSON, but no UTF-8 file can hold it), so that opening and saving agree.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy


#: deeper nesting than any project needs; refused on reading
MAX_DEPTH = 64
#: Python's own limit on converting whole numbers from and to text (sys.get_int_max_str_digits)
MAX_DIGITS = 4300


class JsonProblem(Exception):
    """What is wrong with a JSON entry or value; the caller adds the file's name."""


def dump(value: Any, indent: int | None = 2) -> bytes:
    """``value`` as JSON bytes. Raises :class:`JsonProblem` for a number or text no JSON file can hold."""
    try:
        return (json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonProblem(f"it holds text that is not valid Unicode ({_surrogate_text(exc)}); "
                          f"retype the text") from exc
    except ValueError as exc:  # a whole number past Python's digit limit
        raise JsonProblem(f"it holds a number of more than {MAX_DIGITS} digits, which cannot be written") from exc


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
    except ValueError as exc:  # not a JSONDecodeError: int() refused a number past Python's digit limit
        raise JsonProblem(f"{entry} holds a number of more than {MAX_DIGITS} digits; no NN Designer file needs "
                          f"one: correct or remove it") from exc
    if _depth(value) > MAX_DEPTH:
        # so that whatever is read can be copied and written back without hitting Python's recursion limit
        raise JsonProblem(f"{entry} is nested more than {MAX_DEPTH} levels deep")
    where = _bad_text(value, entry)
    if where is not None:
        raise JsonProblem(f"{where} holds text that is not valid Unicode (a lone surrogate such as \"\\ud800\", "
                          f"which no file can store); correct that text")
    return value


def _surrogate_text(exc: UnicodeEncodeError) -> str:
    return f"{exc.object[exc.start:exc.end]!r} at character {exc.start}"


def _valid(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text(value: Any, entry: str) -> str | None:
    """Where (``entry.key[2]``) the first key or text value holding a lone surrogate is, or None."""
    todo = [(value, entry)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, str):
            if not _valid(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _valid(key):
                    return f"{where} (a key)"
                todo.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            todo.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def salvage(value: Any) -> tuple[Any, int]:
    """``value`` made writable whatever it holds, and how many parts had to change.

    For keeping a finished run when the project cannot be saved as it is: lone surrogates become U+FFFD,
    numbers JSON or Python cannot write become text, other objects their ``repr``. Never raises.
    """
    changed = 0

    def fix(item: Any, depth: int) -> Any:
        nonlocal changed
        if isinstance(item, str):
            if _valid(item):
                return item
            changed += 1
            return item.encode("utf-8", "replace").decode("utf-8")
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, (numpy.generic, numpy.ndarray)):
            item = item.tolist()
        if isinstance(item, int):
            if abs(item).bit_length() < MAX_DIGITS * 3:  # about 900 digits: always convertible
                return item
            changed += 1
            return f"(a number of {abs(item).bit_length()} bits)"
        if isinstance(item, float):
            if math.isfinite(item):
                return item
            changed += 1
            return None
        if depth > MAX_DEPTH:
            changed += 1
            return None
        if isinstance(item, dict):
            return {fix(str(key), depth + 1): fix(child, depth + 1) for key, child in item.items()}
        if isinstance(item, (list, tuple)):
            return [fix(child, depth + 1) for child in item]
        changed += 1
        return fix(repr(item), depth + 1)

    return fix(value, 0), changed


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

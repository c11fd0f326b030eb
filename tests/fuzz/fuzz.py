"""Fuzzing the ``.nnd`` file: hypothesis strategies over its structure, and byte-level mutations of the examples.

Each input is written to a file and run through what ``nn-designer check FILE`` runs (``designer.cli.main``,
in this process, its output captured) and through ``read_project`` + ``write_project`` + ``read_project``.
The property (:func:`run_one`): the exit status is 0 or 2, never 1 (a bug) and never an exception escaping,
within :data:`TIME_LIMIT` seconds; a file that opens saves and opens again. ``tests/fuzz/test_fuzz.py`` runs
a small fixed budget; ``make fuzz`` (``run_fuzz.py``) a long one.
"""
from __future__ import annotations

import contextlib
import io
import json
import random
import re
import signal
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from designer import cli
from designer.project import ProjectError, read_project, write_project

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.nnd"))
MIMETYPE = b"application/vnd.nn-designer+zip"
#: seconds one input may take through check and the round trip (the slowest example checks in about 1 s)
TIME_LIMIT = 30


def _members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


#: the examples, read once: (file bytes, [(member name, member bytes)])
SOURCES = [(path.read_bytes(), _members(path)) for path in EXAMPLES]


# ---------------------------------------------------------------- structure
ODD_TEXT = st.sampled_from(["", " ", "\ud800", "a\udfffb", "\x00", "../x", "é" * 3, "1e309", "NaN", "-",
                            "x" * 5000, "{}", "xor", "csv", "sgd", "neurons", "local"])
# built by map: hypothesis describes a sampled_from by its values, and repr() fails on 5,000 digits
HUGE = (st.sampled_from([5000, 4301, 20, 12]).map(lambda digits: 10 ** digits - 1)
        | st.sampled_from([2 ** 64, -1, 0, 1e308, 1e-320, -0.0]))
SCALARS = (st.none() | st.booleans() | st.integers() | HUGE | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=8) | ODD_TEXT)
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6) | ODD_TEXT, inner, max_size=4), max_leaves=12)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def documents(draw, source_index=None):
    """``project.json`` of an example with a few changes: junk at any place, keys gone or added, junk lists."""
    index = draw(st.integers(0, len(SOURCES) - 1)) if source_index is None else source_index
    document = json.loads(dict(SOURCES[index][1])["project.json"])
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = [p for p in _paths(document) if p]
        where = draw(st.sampled_from(paths))
        parent = document
        for key in where[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["junk", "junk", "delete", "add", "junk list"]))
        if action == "delete":
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6) | ODD_TEXT)] = draw(JUNK)
        elif action == "junk list":
            parent[where[-1]] = draw(st.lists(JUNK | st.just(parent[where[-1]]), max_size=4))
        else:
            parent[where[-1]] = draw(JUNK)
        if not isinstance(document, dict):
            break
    return document


@st.composite
def safetensors_junk(draw):
    header = draw(JUNK | st.just({"__metadata__": {"format": "nnd-weights", "version": "1"}}))
    if isinstance(header, dict) and draw(st.booleans()):
        header["t"] = {"dtype": draw(st.sampled_from(["F32", "F64", "I8", "BOOL", "X"])),
                       "shape": draw(st.lists(st.integers(-2, 10 ** 6), max_size=3)),
                       "data_offsets": draw(st.lists(st.integers(-1, 10 ** 9), max_size=3))}
    try:
        text = json.dumps(header).encode()
    except ValueError:  # a number past Python's digit limit: its digits by hand
        text = b'{"__metadata__": ' + b"9" * 4400 + b"}"
    size = draw(st.sampled_from([len(text), len(text) + 1, 0, 2 ** 63, 7]))
    return struct.pack("<Q", size) + text + draw(st.binary(max_size=64))


@st.composite
def structured_files(draw):
    """A whole ``.nnd`` built from parts: a changed ``project.json``, junk history, weights, other entries."""
    index = draw(st.integers(0, len(SOURCES) - 1))
    members = dict(SOURCES[index][1])
    entries = [("mimetype", MIMETYPE if draw(st.integers(0, 19)) else draw(st.sampled_from([b"", MIMETYPE + b"x"])))]
    if draw(st.integers(0, 9)):
        document = draw(documents(index))
        ensure_ascii = draw(st.booleans())
        try:
            text = json.dumps(document, ensure_ascii=ensure_ascii, indent=1)
            entries.append(("project.json", text.encode("utf-8", "surrogatepass")))
        except ValueError:  # a huge number json.dumps itself cannot write: write its digits by hand
            entries.append(("project.json", b'{"format": "nnd", "version": 1, "graph": ' + b"9" * 5000 + b"}"))
    choice = draw(st.sampled_from(["keep", "junk", "none"]))
    if choice == "keep" and "history.json" in members:
        entries.append(("history.json", members["history.json"]))
    elif choice == "junk":
        history = draw(JUNK | st.builds(lambda runs: {"runs": runs}, st.lists(JUNK, max_size=3)))
        try:
            entries.append(("history.json", json.dumps(history).encode()))
        except ValueError:
            entries.append(("history.json", b'{"runs": [' + b"1" * 4400 + b"]}"))
    choice = draw(st.sampled_from(["keep", "junk", "none"]))
    if choice == "keep" and "weights.safetensors" in members:
        entries.append(("weights.safetensors", members["weights.safetensors"]))
    elif choice == "junk":
        entries.append(("weights.safetensors", draw(safetensors_junk())))
    for name in draw(st.lists(st.sampled_from(["extra.bin", "", "dir/", "a/b.txt", "project.json"]), max_size=2)):
        entries.append((name, draw(st.binary(max_size=32))))
    return build_zip(entries, draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])))


def build_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, _quiet_duplicates():
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with archive.open(info, "w") as entry:  # open(), not writestr(): it accepts an empty name
                entry.write(data)
    return out.getvalue()


@contextlib.contextmanager
def _quiet_duplicates():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        yield


# ---------------------------------------------------------------- bytes
def mutate_bytes(data: bytes, rng: random.Random, count: int) -> bytes:
    """``count`` byte-level changes: flip, insert, delete, truncate, a member's name or sizes rewritten."""
    buffer = bytearray(data)
    for _ in range(count):
        if not buffer:
            break
        kind = rng.choice(["flip", "insert", "delete", "truncate", "name", "size", "size", "flip"])
        at = rng.randrange(len(buffer))
        if kind == "flip":
            buffer[at] ^= 1 << rng.randrange(8)
        elif kind == "insert":
            buffer[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == "delete":
            del buffer[at:at + rng.randint(1, 8)]
        elif kind == "truncate":
            del buffer[at:]
        else:
            headers = [m.start() for m in re.finditer(rb"PK\x01\x02|PK\x03\x04", bytes(buffer))]
            if not headers:
                continue
            start = rng.choice(headers)
            central = buffer[start + 2:start + 4] == b"\x01\x02"
            if kind == "name":
                name_at, length_at = (46, 28) if central else (30, 26)
                if start + name_at + 2 > len(buffer):
                    continue
                (length,) = struct.unpack_from("<H", buffer, start + length_at)
                new = rng.choice([b"", b"../x", b"/abs", b"mimetype", b"project.json", b"\xff\xfe",
                                  bytes(rng.randrange(256) for _ in range(length))])
                if rng.random() < 0.5:
                    new = (new + b"_" * length)[:length]  # same length: the offsets stay right
                buffer[start + name_at:start + name_at + length] = new
                struct.pack_into("<H", buffer, start + length_at, len(new))
            else:
                fields = (20, 24) if central else (18, 22)
                offset = start + rng.choice(fields)
                if offset + 4 <= len(buffer):
                    struct.pack_into("<I", buffer, offset, rng.choice([0, 1, 100, 2 ** 31, 2 ** 32 - 1,
                                                                       rng.randrange(2 ** 32)]))
    return bytes(buffer)


# ---------------------------------------------------------------- the property
class Hang(BaseException):
    """One input took longer than :data:`TIME_LIMIT` (a BaseException, so that no handler swallows it)."""


@dataclass
class Outcome:
    status: int
    output: str
    kind: str
    round_trip: str = ""
    problems: list[str] = field(default_factory=list)


def kind_of(status: int, output: str) -> str:
    """How an input was handled, for the report: ``exit 0``, or ``exit 2: <the part the message names>``."""
    if status != 2:
        return f"exit {status}"
    lines = [line for line in output.strip().splitlines() if line.strip()]
    reason = lines[0] if lines else ""
    if ": " in reason and reason.startswith("error: Cannot open "):
        reason = reason.split(": ", 2)[-1]  # what follows the file's name
    for part in ("project.json", "history.json", "weights.safetensors", "mimetype", "empty name",
                 "not a ZIP", "ZIP directory", "damaged", "encrypted", "compression", "unpack", "entries",
                 "absolute path", "leaves the archive", "two entries", "no 'project.json'"):
        if part in reason:
            return f"exit 2: {part}"
    # check's own report: one line per problem, naming the layer, connection, dataset or training setting
    for part in ("layer", "connection", "dataset", "data", "training", "loss", "optimizer"):
        if part in reason.lower():
            return f"exit 2: check found a problem ({part})"
    return f"exit 2: {reason[:70]}"


def run_one(data: bytes, folder: Path, name: str = "fuzzed.nnd") -> Outcome:
    """Run ``data`` as an ``.nnd`` through check and the round trip; ``problems`` lists property failures."""
    path = folder / name
    path.write_bytes(data)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIME_LIMIT)
    problems = []
    try:
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = cli.main(["check", str(path)])
        except Hang:
            raise
        except BaseException as exc:  # noqa: BLE001 - what escapes main is the failure looked for
            status = -1
            problems.append(f"check let {type(exc).__name__} escape: {exc}")
        output = out.getvalue() + err.getvalue()
        if status not in (0, 2):
            problems.append(f"check exited {status}: {output[-500:]}")
        round_trip = _round_trip(path, folder, problems)
    except Hang:
        return Outcome(-2, "", "hang", problems=[f"took more than {TIME_LIMIT} s"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Outcome(status, output, kind_of(status, output), round_trip, problems)


def _on_alarm(signum, frame):
    raise Hang


def _round_trip(path: Path, folder: Path, problems: list[str]) -> str:
    try:
        project = read_project(path)
    except ProjectError:
        return "refused"
    except Exception as exc:  # noqa: BLE001
        problems.append(f"read_project raised {type(exc).__name__}: {exc}")
        return "crashed"
    copy = folder / "saved.nnd"
    try:
        write_project(project, copy)
    except ProjectError:
        return "opened; not saved"
    except Exception as exc:  # noqa: BLE001
        problems.append(f"write_project raised {type(exc).__name__}: {exc}")
        return "crashed"
    try:
        read_project(copy)
    except Exception as exc:  # noqa: BLE001 - a file this app saved must open again
        problems.append(f"the saved copy does not open: {exc}")
        return "crashed"
    return "saved and reopened"


def summary(outcomes: Counter) -> str:
    return "\n".join(f"{count:7,}  {kind}" for kind, count in outcomes.most_common())

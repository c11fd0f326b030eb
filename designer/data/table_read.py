"""Reading a table file into numeric columns, chunk by chunk: CSV through pyarrow, Parquet, Feather and Arrow files.

A CSV file is cut into pieces of about ``CHUNK_BYTES`` at line ends (never inside a quoted value), and each piece
is parsed by ``pyarrow.csv.read_csv`` with typed columns, multi-threaded and without the GIL. Only a piece that
pyarrow refuses, or whose numbers are not all finite, is read again by Python's ``csv`` module with the exact
rules and messages of the first NN Designer versions (file, line, column and the fix): so a clean file is read at
pyarrow's speed and a bad one still gets its precise message, from one piece rather than from the whole file.

The target column is read as numbers while it looks like numbers, else as text (each piece's distinct values
and their counts and first rows: all that the task inference and the messages need). The feature columns are
float64 arrays; once they pass ``SPILL_BYTES`` they go to a store entry (``designer.data.store``) keyed by the
file's path, size and modification time, so that a table bigger than memory never is in memory, and the next
load of the same file reads no text at all.
"""
from __future__ import annotations

import bisect
import codecs
import csv
import io
import os
import shutil
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .errors import DataError, Progress
from .options import MAX_TABLE_ROWS as MAX_ROWS

CHUNK_BYTES = 4 << 20  # text parsed per pyarrow call: big enough for its threads, small for memory
SPILL_BYTES = 16 << 20  # float64 values kept in memory while reading; beyond that they go to the cache
BATCH_ROWS = 1 << 18  # rows per record batch read from Parquet and Arrow files
TEXT_LIMIT = 100_000  # distinct target texts remembered; past this the column cannot be class labels
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
DELIMITERS = (",", ";", "\t")
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow"}
FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "arrow": "Arrow"}
RAW_KIND = "table"  # store entries of decoded columns (``key.split("-")[0]`` tells kinds apart)


class TextTarget(Exception):
    """The target column holds a value that is not a number: read it again as text."""


def format_of(path: Path) -> str:
    return SUFFIXES.get(path.suffix.lower(), "csv")


def is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_numbers(texts: list[str]) -> np.ndarray | None:
    """The values as numbers, or None if any is not one (``float`` takes surrounding spaces)."""
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except (ValueError, TypeError):
        return None


def bad_number(texts: list, hint: str = "") -> tuple[int, str] | None:
    """(row, problem) of the first value that is missing, not a number, or not finite; None if all are fine."""
    for row, text in enumerate(texts):
        if text is None:
            return row, "missing value; fill it in or remove the line"
        value = text.strip()
        if value.lower() in MISSING:
            return row, f"missing value{f' ({value!r})' if value else ''}; fill it in or remove the line"
        try:
            number = float(value)
        except ValueError:
            decimal = "; use a dot as the decimal separator" if "," in value else ""
            return row, f"{text!r} is not a number{decimal}{hint}"
        if not np.isfinite(number):
            return row, f"{text!r} is not a finite number"
    return None


# ------------------------------------------------------------------------------------------------ the source
@dataclass
class Source:
    """A table file as far as its first lines (or its schema) tell: names, and where the data starts."""

    path: Path
    shown: str
    format: str  # csv, parquet or arrow
    header: list[str]
    header_line: int = 0  # CSV: the line naming the columns
    delimiter: str = ","
    data_offset: int = 0  # CSV: the byte where the first line after the header starts
    newline: bytes = b"\n"
    size: int = 0

    @property
    def what(self) -> str:
        return f"{FORMAT_NAMES[self.format]} file"

    def line_at(self, offset: int) -> int:
        """The line the byte at ``offset`` of the data is on: counted only when a message needs it, since
        counting the line ends of a whole file costs as much as a tenth of parsing it."""
        lines = self.header_line + 1
        with open(self.path, "rb") as handle:
            handle.seek(self.data_offset)
            left = offset - self.data_offset
            while left > 0:
                data = handle.read(min(left, 8 << 20))
                if not data:
                    break
                lines += data.count(self.newline)
                left -= len(data)
        return lines

    def where(self, line: int | None, row: int | None, column: str | None, problem: str) -> DataError:
        where = [self.shown]
        if line is not None:
            where.append(f"line {line}")
        elif row is not None:
            where.append(f"row {row + 1}")
        if column is not None:
            where.append(f"column {column!r}")
        if self.format != "csv":
            problem = problem.replace("remove the line", "remove the row")
        return DataError(f"{', '.join(where)}: {problem}")


def open_source(path: Path, shown: str) -> Source:
    kind = format_of(path)
    what = f"{FORMAT_NAMES[kind]} file"
    if not path.exists():
        raise DataError(f"{what} {shown!r} not found (looked for {path})")
    if path.is_dir():
        raise DataError(f"{FORMAT_NAMES[kind]} path {shown!r} is a folder, not a file ({path})")
    if not path.is_file():  # a pipe or a device: reading it would wait forever, or never end
        raise DataError(f"{FORMAT_NAMES[kind]} path {shown!r} is not a plain file ({path}); save the data to a file")
    size = path.stat().st_size
    try:
        if kind == "csv":
            source = _csv_source(path, shown)
        else:
            names = _arrow_schema(path, kind, shown).names
            source = Source(path, shown, kind, list(names))
    except OSError as exc:
        raise DataError(f"cannot read {what} {shown!r}: {exc.strerror or exc}") from None
    source.size = size
    if kind != "csv":
        duplicates = sorted({name for name in source.header if source.header.count(name) > 1})
        if duplicates:
            raise DataError(f"{shown}: the file names column {duplicates[0]!r} more than once")
    return source


class _Lines:
    """Lines of a text, as a ``csv.reader`` pulls them, counting the characters handed out."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline="")
        self.used = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.lines.readline()
        if not line:
            raise StopIteration
        self.used += len(line)
        return line


def _csv_source(path: Path, shown: str) -> Source:
    """The delimiter (from the first line), the header row, its line and the byte offset of the data."""
    size = path.stat().st_size
    want = 1 << 20
    while True:
        with open(path, "rb") as handle:
            head = handle.read(want)
        complete = len(head) >= size
        try:
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=complete)
        except UnicodeDecodeError as exc:
            raise DataError(f"CSV file {shown!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
        bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
        ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
        first = text[:min(ends)] if ends else text
        delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
        lines = _Lines(text)
        reader = csv.reader(lines, delimiter=delimiter)
        header = None
        try:
            for row in reader:
                if not is_blank(row):
                    header = row
                    break
        except csv.Error as exc:
            if complete:
                raise DataError(f"CSV file {shown!r}, line {reader.line_num}: {exc}") from None
            header = None
        if header is not None and (complete or lines.used < len(text)):
            break  # the header row is whole (more text follows it, or the file ends)
        if complete:
            raise DataError(f"CSV file {shown!r} is empty: it needs a header line naming the columns "
                            f"and a line per sample")
        want *= 4
    header_line = reader.line_num
    offset = bom + len(text[:lines.used].encode("utf-8"))
    newline = b"\n" if "\n" in text or "\r" not in text else b"\r"
    header = [name.strip() for name in header]
    if all(looks_numeric(name) for name in header):
        raise DataError(f"CSV file {shown!r} has no header: line {header_line} holds numbers, not column names; "
                        f"add a first line naming the columns")
    for position, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{shown}, line {header_line}: column {position} has no name in the header")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{shown}, line {header_line}: the header names column {duplicates[0]!r} more than once")
    return Source(path, shown, "csv", header, header_line, delimiter, offset, newline)


def _arrow_schema(path: Path, kind: str, shown: str):
    import pyarrow as pa

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq
            return pq.ParquetFile(path).schema_arrow
        return _ipc_reader(path).schema
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise DataError(f"{FORMAT_NAMES[kind]} file {shown!r} cannot be read: {exc}") from None


def _ipc_reader(path: Path):
    """An Arrow IPC (Feather v2) reader: the random-access file format, else the stream format."""
    import pyarrow as pa

    try:
        return pa.ipc.open_file(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        return pa.ipc.open_stream(pa.memory_map(str(path)))


# ------------------------------------------------------------------------------------------------ the columns
@dataclass
class Piece:
    """Where one chunk of rows sits in the file: for finding a row's line again when a message needs it."""

    row: int  # first row (0-based, among the data rows)
    rows: int
    offset: int = 0  # CSV: its bytes in the file
    length: int = 0
    line: int = -1  # CSV: the line its first byte is on; -1 until a message needs it (Source.line_at)


@dataclass
class Texts:
    """The target column as text: each distinct value, how often it occurs and its first row; rows' codes."""

    index: dict = field(default_factory=dict)
    texts: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    first: list = field(default_factory=list)
    overflow: bool = False  # more distinct values than TEXT_LIMIT: codes are no longer kept
    numeric_rows: int = 0
    first_bad: tuple | None = None  # (row, text) of the first value that is missing, not a number, not finite

    def add(self, codes: np.ndarray, local: list[str], row: int) -> np.ndarray:
        """Count a chunk's values (``codes`` into its distinct ``local`` texts); the rows' codes into ``texts``."""
        counts = np.bincount(codes, minlength=len(local))
        present, firsts = np.unique(codes, return_index=True)
        lut = np.zeros(len(local), dtype=np.int32)
        for k, first in zip(present.tolist(), firsts.tolist()):
            text, count = local[k], int(counts[k])
            if looks_numeric(text):
                self.numeric_rows += count
            if (self.first_bad is None or row + first < self.first_bad[0]) and bad_number([text]) is not None:
                self.first_bad = (row + first, text)
            if self.overflow:
                continue
            code = self.index.get(text)
            if code is None:
                code = self.index[text] = len(self.texts)
                self.texts.append(text)
                self.counts.append(0)
                self.first.append(row + first)
            self.counts[code] += count
            lut[k] = code
        if len(self.texts) > TEXT_LIMIT:
            self.overflow = True
        if self.overflow:
            self.index.clear()
            return np.zeros(0, dtype=np.int32)
        return lut[codes]


class Spill:
    """Decoded float64 rows, in file order, in a nameless temporary file of the cache folder.

    For a table too big to hold as float64 while reading, yet whose float32 dataset fits in memory: its
    values only pass through the file once on their way to the dataset, so they are not worth a cache entry
    (its checksums cost a third of the reading). The file is deleted when closed, or when the process ends.
    """

    def __init__(self, width: int) -> None:
        folder = store.cache_root()
        folder.mkdir(parents=True, exist_ok=True)
        self.handle = tempfile.TemporaryFile(prefix=".spill.", dir=folder)
        self.fd = self.handle.fileno()
        self.width = width
        self.rows = 0

    def append(self, rows: np.ndarray) -> None:
        store.write_at(self.fd, np.ascontiguousarray(rows, dtype=np.float64), self.rows * self.width * 8)
        self.rows += len(rows)

    def close(self) -> None:
        self.handle.close()


@dataclass
class Raw:
    """A table's needed columns as float64 (features) and the target, in file order."""

    source: Source
    features: list[str]
    target: str | None
    rows: int
    x: np.ndarray | None  # float64 [rows, features], in memory or memory-mapped; None when spilled
    numbers: np.ndarray | None  # a numeric target's values [rows]
    codes: np.ndarray | None  # a text target: each row's index into texts.texts
    texts: Texts | None
    pieces: list[Piece]
    entry: store.Entry | None = None
    spill: Spill | None = None
    labels: np.ndarray | None = None  # the dataset's y, in file order, once the task is known (prepare takes it)

    @property
    def width(self) -> int:
        return len(self.features)

    @contextmanager
    def values_file(self):
        """(file descriptor, byte offset) of the float64 rows when they are in a file; None in memory."""
        if self.spill is not None:
            yield self.spill.fd, 0
        elif self.entry is not None:
            fd = os.open(self.entry.folder / "x.npy", os.O_RDONLY | getattr(os, "O_BINARY", 0))
            try:
                yield fd, store.HEADER_BYTES
            finally:
                os.close(fd)
        else:
            yield None

    def release(self) -> None:
        if self.entry is not None:
            self.entry.release()

    def close(self) -> None:
        """Let go of the spilled values' file (an entry stays in the cache)."""
        if self.spill is not None:
            self.spill.close()
            self.spill = None

    # -- finding a row in the file again, for a message
    def locate(self, row: int) -> tuple[int | None, dict[str, str]]:
        """The line of data row ``row`` (None for files without lines) and its values by column name."""
        if self.source.format != "csv":
            return None, {}
        starts = [p.row for p in self.pieces]
        piece = self.pieces[bisect.bisect_right(starts, row) - 1]
        with open(self.source.path, "rb") as handle:
            handle.seek(piece.offset)
            data = handle.read(piece.length)
        if piece.line < 0:
            piece.line = self.source.line_at(piece.offset)
        rows, lines = python_rows(self.source, data, piece.line, piece.offset)
        values = rows[row - piece.row]
        return lines[row - piece.row], dict(zip(self.source.header, values))

    def error(self, row: int, column: str, problem: str) -> DataError:
        line, _ = self.locate(row)
        return self.source.where(line, row, column, problem)


def python_rows(source: Source, data: bytes, first_line: int, offset: int) -> tuple[list[list[str]], list[int]]:
    """A piece of a CSV file read as the csv module reads it: its non-blank rows and the line each starts on."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"CSV file {source.shown!r} is not UTF-8 text (byte {offset + exc.start}); "
                        f"save it as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter)
    rows, lines = [], []
    width = len(source.header)
    previous = 0
    try:
        for row in reader:
            start = first_line + previous
            previous = reader.line_num
            if is_blank(row):
                continue
            if len(row) != width:
                raise DataError(f"{source.shown}, line {start}: {len(row)} values, but the header (line "
                                f"{source.header_line}) names {width} columns")
            rows.append(row)
            lines.append(start)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte ...
        raise DataError(f"CSV file {source.shown!r}, line {first_line + reader.line_num - 1}: {exc}") from None
    return rows, lines


class _Chunk:
    """One chunk's rows: float64 features [rows, features], and the target as numbers or codes into local texts."""

    def __init__(self, features: list[np.ndarray] | np.ndarray, rows: int, numbers=None, codes=None,
                 local=None) -> None:
        if isinstance(features, np.ndarray):
            self.features = features
        else:
            self.features = np.column_stack(features) if features else np.zeros((rows, 0))
        self.rows = rows
        self.numbers = numbers
        self.codes = codes
        self.local = local


class Reader:
    """Read ``features`` and ``target`` of a source (``target`` None: only count the rows)."""

    def __init__(self, source: Source, features: list[str], target: str | None, text_target: bool,
                 feature_hint: str, progress: Progress) -> None:
        self.source = source
        self.features = features
        self.target = target
        self.text = text_target
        self.hint = feature_hint
        self.progress = progress
        self._spare: list[np.ndarray] = []
        self._finite = np.empty(0, dtype=bool)

    # -- Python's reading of one CSV piece, exact and slow: only where pyarrow refused it
    def _python_chunk(self, data, line: int, offset: int, row: int, last: bool) -> _Chunk:
        source = self.source
        rows, lines = python_rows(source, data, line, offset)
        if self.target is not None and last and row == 0 and len(rows) < 2:
            raise too_few_rows(source, len(rows))
        index = {name: k for k, name in enumerate(source.header)}
        features = []
        for name in self.features:
            texts = [r[index[name]] for r in rows]
            values = parse_numbers(texts)
            if values is None or not np.isfinite(values).all():
                bad = bad_number(texts, self.hint)
                if bad is not None:
                    raise source.where(lines[bad[0]], None, name, bad[1])
            features.append(values)
        chunk = _Chunk(features, len(rows))
        if self.target is not None:
            texts = [r[index[self.target]] for r in rows]
            if not self.text:
                chunk.numbers = parse_numbers(texts)
                if chunk.numbers is None:
                    raise TextTarget()
            else:
                local, codes = np.unique(np.array(texts, dtype=object), return_inverse=True)
                chunk.local, chunk.codes = [str(t) for t in local], codes.reshape(-1).astype(np.int64)
        return chunk

    # -- buffers of decoded rows, used again once their rows are written out (see recycle)
    def _rows_buffer(self, rows: int) -> np.ndarray:
        while self._spare:
            spare = self._spare.pop()
            if len(spare) >= rows:
                return spare[:rows]
        return np.empty((rows + rows // 8, len(self.features)))[:rows]  # room for a piece with more rows

    def recycle(self, chunk: "_Chunk") -> None:
        """The chunk's rows are written out: its buffer may hold another piece's (pieces of similar size
        reuse their buffers rather than have the C library map and fault in fresh ones)."""
        base = chunk.features.base
        if isinstance(base, np.ndarray) and base.ndim == 2 and len(self._spare) < 3:
            self._spare.append(base)

    # -- pyarrow's reading of one CSV piece
    def _arrow_table(self, data: memoryview, whole: bytes):
        """The piece's wanted columns as a pyarrow table (on the parsing thread); None where pyarrow refuses it."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        source = self.source
        if self.target is None:
            wanted = [source.header[0]]
            types = {source.header[0]: pa.string()}
        else:
            wanted = [*self.features, self.target]
            types = {name: pa.float64() for name in self.features}
            types[self.target] = pa.string() if self.text else pa.float64()
        quoted = whole.find(b'"', 0, len(data)) >= 0
        # pyarrow reads a copy in memory of its own (36 copies of 4 MB: 13 ms), not a view of this bytearray: its
        # threads let go of a Python-owned buffer under the GIL, and the last may do so after read_csv has
        # returned. At the interpreter's exit (a load cancelled just before) that thread could not take the GIL
        # and the process aborted ("terminate called without an active exception").
        text = pa.allocate_buffer(len(data), memory_pool=pa.system_memory_pool())
        memoryview(text).cast("B")[:] = data
        try:
            return pacsv.read_csv(
                pa.BufferReader(text),
                read_options=pacsv.ReadOptions(column_names=source.header, use_threads=True, block_size=1 << 20),
                parse_options=pacsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=quoted,
                                                 ignore_empty_lines=True),
                convert_options=pacsv.ConvertOptions(include_columns=wanted, column_types=types, null_values=[],
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                     check_utf8=True),
                memory_pool=pa.system_memory_pool())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None

    def _arrow_chunk(self, table) -> _Chunk | None:
        """A parsed piece's columns as one [rows, features] array and the target; None where a value is not
        finite (Python reads the piece again, to name it)."""
        rows = table.num_rows
        # each column's pieces straight into one [rows, features] array: no concatenated copy of a column in
        # pyarrow's pool and no second copy stacking the columns
        values = self._rows_buffer(rows)
        for k, name in enumerate(self.features):
            _into(values[:, k], table.column(name))
        if len(self._finite) < values.size:
            self._finite = np.empty(values.size + values.size // 8, dtype=bool)
        finite = self._finite[:values.size].reshape(values.shape)  # made once, not for each piece
        if not np.isfinite(values, out=finite).all():
            return None
        chunk = _Chunk(values, rows)
        if self.target is not None:
            column = table.column(self.target)
            if self.text:
                import pyarrow as pa
                import pyarrow.compute as pc  # only here: importing it maps some 7 MB of pyarrow's libraries

                encoded = pc.dictionary_encode(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0),
                                               memory_pool=pa.system_memory_pool())
                chunk.local = encoded.dictionary.to_pylist()
                chunk.codes = _values(encoded.indices).astype(np.int64)
            else:
                chunk.numbers = np.empty(rows)
                _into(chunk.numbers, column)
        return chunk

    def _csv_chunks(self):
        """(piece, the bytes read, offset, last) of the data, each piece ending at a line end outside quotes."""
        source = self.source
        newline = source.newline
        offset = source.data_offset
        want = CHUNK_BYTES
        # Pieces are read into three buffers in turn, made once: one being parsed, one waiting for the parser, and
        # one handed on, then read into again. Fresh buffers for each piece would have the C library map and fault
        # in 4 MB again and again.
        buffers: list[bytearray] = [bytearray(0)] * 3
        turn = 0
        with open(source.path, "rb") as handle:
            while True:
                turn = (turn + 1) % 3  # the buffer of the piece before last: handed on and done with
                while True:
                    if len(buffers[turn]) != want:
                        buffers[turn] = bytearray(want)
                    data = buffers[turn]
                    handle.seek(offset)
                    read = handle.readinto(data)
                    if read < want:  # the end of the file
                        if read:
                            data = bytes(memoryview(data)[:read])
                            yield memoryview(data), data, offset, True
                        return
                    cut = _cut(data, newline)
                    if cut >= 0:
                        break
                    want *= 2  # a line longer than a chunk: read more at once
                want = CHUNK_BYTES
                yield memoryview(data)[:cut], data, offset, False
                offset += cut  # the rest is read again as the start of the next piece

    def _parsed(self, data: memoryview, whole: bytes):
        """On the parsing thread: the piece as a pyarrow table; None where it is not UTF-8 or pyarrow refuses it."""
        return self._arrow_table(data, whole) if whole.isascii() or _utf8(data) else None

    def chunks(self):
        """(Piece, _Chunk) for each chunk of the file, reporting progress and checking for a cancel.

        A CSV file's pieces are parsed on a second thread, by pyarrow's threads, two pieces ahead of this one:
        while this thread puts one parsed piece's columns into rows and hands them on, the parser already has
        the next piece and the one after waits for it, so the parser never waits for this thread.
        """
        source, progress = self.source, self.progress
        row = 0
        label = f"Reading {source.path.name}"
        if source.format == "csv":
            pieces = self._csv_chunks()
            waiting: deque = deque()
            with ThreadPoolExecutor(1, thread_name_prefix="nn-designer-csv") as pool:
                def read_ahead() -> None:
                    following = next(pieces, None)
                    if following is not None:
                        waiting.append((following, pool.submit(self._parsed, *following[:2])))

                try:
                    read_ahead()
                    read_ahead()
                    while waiting:
                        (data, _, offset, last), parsed = waiting.popleft()
                        table = parsed.result()
                        chunk = self._arrow_chunk(table) if table is not None else None
                        del table
                        if chunk is None:
                            chunk = self._python_chunk(data, source.line_at(offset), offset, row, last)
                        piece = Piece(row, chunk.rows, offset, len(data))
                        row += chunk.rows
                        if row > MAX_ROWS:
                            raise DataError(f"{source.what} {source.shown!r} has more than {MAX_ROWS:,} rows, more "
                                            f"than NN Designer trains on; use a sample of it")
                        yield piece, chunk
                        progress.update(offset + len(data) - source.data_offset,
                                        max(1, source.size - source.data_offset), f"{label}: {row:,} rows")
                        read_ahead()  # into the buffer of the piece just handed on
                finally:
                    for _, parsed in waiting:
                        parsed.cancel()
            return
        for batch, total in _arrow_batches(source, [*self.features, *([self.target] if self.target else [])]):
            chunk = self._batch_chunk(batch, row)
            piece = Piece(row, chunk.rows)
            row += chunk.rows
            yield piece, chunk
            progress.update(row, max(total, row, 1), f"{label}: {row:,} rows")

    # -- one record batch of a Parquet or Arrow file
    def _batch_chunk(self, batch, row: int) -> _Chunk:
        features = [self._float_column(batch.column(name), name, row) for name in self.features]
        chunk = _Chunk(features, batch.num_rows)
        if self.target is not None:
            import pyarrow as pa
            import pyarrow.compute as pc

            column = batch.column(self.target)
            if _is_numeric(column.type):
                chunk.numbers = self._float_column(column, self.target, row, finite=False)
            else:
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
                if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                    raise DataError(f"{self.source.shown}: column {self.target!r} holds {column.type} values, "
                                    f"neither numbers nor text")
                encoded = pc.dictionary_encode(pc.fill_null(column, ""))
                chunk.local = encoded.dictionary.to_pylist()
                chunk.codes = _values(encoded.indices).astype(np.int64)
        return chunk

    def _float_column(self, column, name: str, row: int, finite: bool = True) -> np.ndarray:
        import pyarrow as pa

        source = self.source
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if _is_numeric(column.type):
            if column.null_count:
                first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                raise source.where(None, row + first, name, "missing value; fill it in or remove the row")
            values = _values(column.cast(pa.float64()))
            if finite and not np.isfinite(values).all():
                first = int(np.flatnonzero(~np.isfinite(values))[0])
                _, problem = bad_number([str(values[first])])
                raise source.where(None, row + first, name, problem)
            return values
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            texts = column.to_pylist()
            values = parse_numbers(texts)
            if values is None or (finite and not np.isfinite(values).all()):
                bad = bad_number(texts, self.hint)
                if bad is not None:
                    raise source.where(None, row + bad[0], name, bad[1])
            return values
        raise DataError(f"{source.shown}: column {name!r} holds {column.type} values, not numbers")


def _is_numeric(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
        or pa.types.is_decimal(kind)


def _arrow_batches(source: Source, names: list[str]):
    """(record batch, total rows) of a Parquet or Arrow file, only the named columns."""
    import pyarrow as pa

    columns = names or source.header[:1]
    try:
        if source.format == "parquet":
            import pyarrow.parquet as pq
            parquet = pq.ParquetFile(source.path)
            total = parquet.metadata.num_rows
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=True):
                yield batch, total
            return
        reader = _ipc_reader(source.path)
        if isinstance(reader, pa.ipc.RecordBatchFileReader):
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            total = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        else:
            batches = iter(reader)
            total = 0
        for batch in batches:
            batch = batch.select(columns)
            for start in range(0, max(batch.num_rows, 1), BATCH_ROWS):
                if batch.num_rows:
                    yield batch.slice(start, BATCH_ROWS), total
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OSError) as exc:
        raise DataError(f"{source.what} {source.shown!r} cannot be read: {exc}") from None


def _values(array) -> np.ndarray:
    """A pyarrow array of numbers as a NumPy view of its buffer (``to_numpy`` would import pandas, when
    installed, costing some 30 MB on its first call); with holes or of another kind, through ``to_numpy``."""
    import pyarrow as pa

    kind = array.type
    if array.null_count == 0 and (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        dtype = np.dtype(kind.to_pandas_dtype())
        return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array) + array.offset)[array.offset:]
    return array.to_numpy(zero_copy_only=False)


def _into(out: np.ndarray, column) -> None:
    """A float64 pyarrow column, chunk by chunk, into ``out`` (a view; the chunks are not copied first)."""
    start = 0
    for piece in column.chunks:
        n = len(piece)
        out[start:start + n] = _values(piece)
        start += n


def _glibc():
    """The C library where it is glibc (whose malloc_trim and mallopt are used here), else None."""
    import ctypes
    import platform

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def free_unused_memory() -> None:
    """Give the memory freed after reading back to the system: pyarrow's pool and the C library's heap keep it."""
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


_GLIBC_LOCK = threading.Lock()
_loads_running = 0
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
#: while tables load: buffers of 16 MB or more are mapped on their own, and each heap gives back the free
#: memory at its top above 4 MB (at glibc's default 128 KB, each piece's buffers were handed back and mapped again:
#: 20,000 page faults in reading 1M rows, 11-15% of the load, and the peak was no lower: 1.26-1.33x either way)
LOAD_THRESHOLDS = {M_MMAP_THRESHOLD: 16 << 20, M_TRIM_THRESHOLD: 4 << 20}
#: afterwards: where glibc's own rule settles once a big buffer was freed (its 64-bit ceiling, trimming at twice it)
SETTLED_THRESHOLDS = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 64 << 20}


@contextmanager
def buffers_returned_when_freed():
    """While tables load, have the C library give freed memory back to the system rather than keep it.

    glibc adapts its thresholds as a program frees big buffers: after the first one, its heaps keep up to
    twice that buffer's size of free memory each, and buffers below its size come from the heaps. Reading a
    table frees many such buffers, on several threads (pyarrow's and ours): loading 1M rows held some 30 MB
    more at its peak that way (+134 MB against +104 MB, for a 76 MB dataset). So while tables load the
    thresholds are held at ``LOAD_THRESHOLDS``; on leaving they are set where glibc's own rule would have
    settled, so that training allocates as fast as before (measured on a convolutional network: the same
    speed; held at the load's values it ran three times slower). Elsewhere than glibc: nothing.
    """
    global _loads_running
    libc = _glibc()
    if libc is None:
        yield
        return
    mallopt = libc.mallopt
    with _GLIBC_LOCK:
        _loads_running += 1
        if _loads_running == 1:
            for parameter, value in LOAD_THRESHOLDS.items():
                mallopt(parameter, value)
    try:
        yield
    finally:
        with _GLIBC_LOCK:
            _loads_running -= 1
            if _loads_running == 0:
                for parameter, value in SETTLED_THRESHOLDS.items():
                    mallopt(parameter, value)


def _utf8(data) -> bool:
    try:
        codecs.utf_8_decode(bytes(data), "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _cut(buffer: bytes, newline: bytes) -> int:
    """Where to end a piece: just after the last line end that is outside quotes; -1 if none."""
    cut = buffer.rfind(newline)
    if cut < 0 or buffer.find(b'"') < 0:
        return cut + 1 if cut >= 0 else -1
    tries = 0
    while cut >= 0 and buffer.count(b'"', 0, cut) % 2:
        cut = buffer.rfind(newline, 0, cut)
        tries += 1
        if tries > 10_000:
            return -1
    return cut + 1 if cut >= 0 else -1


def too_few_rows(source: Source, rows: int) -> DataError:
    lines = "line" if source.format == "csv" else "row"
    return DataError(f"{source.what} {source.shown!r} has {rows} data {lines}{'s' if rows != 1 else ''}; it needs "
                     f"at least 2 (one sample per {lines}{' below the header' if source.format == 'csv' else ''})")


# ------------------------------------------------------------------------------------------------ reading it all
def read_columns(source: Source, features: list[str], target: str, feature_hint: str, progress: Progress) -> Raw:
    """The feature columns and the target of the whole file, from the cache when the file has not changed."""
    stamp = store.stamp_of(source.path)
    options = {"features": features, "target": target, "delimiter": source.delimiter, "format": source.format,
               "header_line": source.header_line, "layout": 2}  # 2: pieces without the line-per-row flag
    key = store.key_of(RAW_KIND, stamp, options)
    entry = store.open_entry(key, progress=progress, text=f"Checking the cache of {source.path.name}")
    if entry is not None:
        raw = _from_entry(source, features, target, entry)
        if raw is not None:
            return raw
    if source.format == "csv":
        text = _sniff_text(source, target)
    else:
        kind = _arrow_schema(source.path, source.format, source.shown).field(target).type
        text = not _is_numeric(getattr(kind, "value_type", kind))
    for _ in range(2):
        try:
            return _read(source, features, target, text, feature_hint, progress, key, stamp)
        except TextTarget:
            text = True
    raise AssertionError("unreachable")


def count_rows(source: Source, progress: Progress) -> int:
    """How many data rows a file has, reading no value (a CSV file is still parsed for its line structure)."""
    if source.format == "parquet":
        import pyarrow.parquet as pq
        return pq.ParquetFile(source.path).metadata.num_rows
    reader = Reader(source, [], None, False, "", progress)
    return sum(piece.rows for piece, _ in reader.chunks())


def _sniff_text(source: Source, target: str) -> bool:
    """Whether the target's first values already show text: then it is read as text from the start."""
    with open(source.path, "rb") as handle:
        handle.seek(source.data_offset)
        data = handle.read(1 << 16)
    cut = _cut(data, source.newline)
    if cut <= 0:
        return False
    try:
        rows, _ = python_rows(source, data[:cut], source.header_line + 1, source.data_offset)
    except DataError:
        return False
    column = source.header.index(target)
    return parse_numbers([row[column] for row in rows[:1000]]) is None


def _from_entry(source: Source, features: list[str], target: str, entry: store.Entry) -> Raw | None:
    meta = entry.meta
    try:
        rows = int(meta["rows"])
        columns = entry.arrays["x"]
        if columns.shape[1:] != (len(features),):
            return None
        pieces = [Piece(*p) for p in meta["pieces"]]
        texts = None
        if meta["text"]:
            texts = Texts(texts=list(meta["texts"]), counts=list(meta["counts"]), first=list(meta["first"]),
                          numeric_rows=int(meta["numeric_rows"]),
                          first_bad=tuple(meta["first_bad"]) if meta["first_bad"] else None)
            codes, numbers = entry.arrays["codes"], None
        else:
            codes, numbers = None, entry.arrays["y"]
    except (KeyError, TypeError, ValueError):
        return None
    return Raw(source, features, target, rows, columns, numbers, codes, texts, pieces, entry)


def _read(source: Source, features: list[str], target: str, text: bool, hint: str, progress: Progress,
          key: str, stamp: dict) -> Raw:
    """Read every chunk; past ``SPILL_BYTES`` the float64 rows go to a file: a cache entry when the float32
    dataset will stream (it is then built from the entry, and the next load skips the text), else a
    nameless :class:`Spill` file."""
    reader = Reader(source, features, target, text, hint, progress)
    texts = Texts() if text else None
    held: list[np.ndarray] = []
    held_target: list[np.ndarray] = []
    held_bytes = 0
    pieces: list[Piece] = []
    writer = spill = None
    arrays = None
    rows = 0
    width = len(features)
    with ExitStack() as stack:
        try:
            for piece, chunk in reader.chunks():
                pieces.append(piece)
                rows += chunk.rows
                y = chunk.numbers if not text else texts.add(chunk.codes, chunk.local, piece.row)
                if arrays is not None:
                    arrays[0].append(chunk.features)
                    arrays[1].append(y)
                    reader.recycle(chunk)
                    continue
                held_target.append(y)
                if spill is not None:
                    spill.append(chunk.features)
                    reader.recycle(chunk)
                    continue
                held.append(chunk.features)
                held_bytes += chunk.rows * (width + 1) * 8
                if held_bytes > SPILL_BYTES:
                    read = piece.offset + piece.length - source.data_offset
                    _check_space(source, features, rows, read)
                    expected = _expected_rows(source, rows, read)
                    if expected is not None and expected * width * 4 <= store.memory_budget() // 2:
                        spill = Spill(width)
                        for part in held:
                            spill.append(part)
                        held = []
                        continue
                    writer = stack.enter_context(store.EntryWriter(key, str(stamp["path"])))
                    arrays = [writer.array("x", np.float64, (width,)),
                              writer.array("codes" if text else "y", np.int32 if text else np.float64)]
                    for part, part_y in zip(held, held_target):
                        arrays[0].append(part)
                        arrays[1].append(part_y)
                    held, held_target = [], []
            if rows < 2:
                raise too_few_rows(source, rows)
        except BaseException as exc:
            if spill is not None:
                spill.close()
            if isinstance(exc, OSError):
                raise _space_error(source, exc) from None
            raise
        if texts is not None and texts.overflow:
            if spill is not None:
                spill.close()
            return Raw(source, features, target, rows, np.zeros((0, width)), None, None, texts, pieces)
        if writer is None:
            y = np.concatenate(held_target) if held_target else np.zeros(0)
            if spill is not None:
                return Raw(source, features, target, rows, None, None if text else y, y if text else None, texts,
                           pieces, spill=spill)
            x = np.concatenate(held) if held else np.zeros((0, width))
            return Raw(source, features, target, rows, x, None if text else y, y if text else None, texts, pieces)
        meta = {"rows": rows, "pieces": [[p.row, p.rows, p.offset, p.length, p.line] for p in pieces],
                "text": bool(text)}
        if text:
            meta.update(texts=texts.texts, counts=texts.counts, first=texts.first, numeric_rows=texts.numeric_rows,
                        first_bad=list(texts.first_bad) if texts.first_bad else None)
        try:
            entry = writer.commit(meta, progress)
        except OSError as exc:
            raise _space_error(source, exc) from None
    raw = _from_entry(source, features, target, entry)
    if raw is None:
        raise DataError(f"the dataset cache entry {entry.folder} could not be read back")
    return raw


def _expected_rows(source: Source, rows: int, read: int) -> float | None:
    """How many rows the whole file will have, judging by the ``read`` bytes that held ``rows``; None where
    that cannot be told (Parquet and Arrow files)."""
    if source.format != "csv":
        return None
    return rows * max(1, source.size - source.data_offset) / max(read, 1)


def _check_space(source: Source, features: list[str], rows: int, read: int) -> None:
    """Refuse, before writing, a table whose decoded copies would not fit on the cache's disk."""
    expected = _expected_rows(source, rows, read) or rows
    width = len(features)
    needed = int(expected * ((width + 1) * 8 + width * 4 + 8))  # raw float64 columns, then the prepared float32
    root = store.cache_root()
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed > free * 0.95:
        raise DataError(f"{source.shown}: decoding this table needs about {needed / 2**30:.1f} GiB in the dataset "
                        f"cache folder {root}, but only {free / 2**30:.1f} GiB are free there; free some space, or "
                        f"set NN_DESIGNER_CACHE to a folder on a bigger disk")


def _space_error(source: Source, exc: OSError) -> DataError:
    root = store.cache_root()
    return DataError(f"{source.shown}: cannot write the decoded table to the dataset cache folder {root}: "
                     f"{exc.strerror or exc}; free some space, or set NN_DESIGNER_CACHE to another folder")

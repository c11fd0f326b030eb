"""From a table's decoded columns to a ``Dataset``: the seeded split, standardisation, in memory or streamed.

Both ways give the same values: each feature is standardised with the mean and standard deviation of the
training rows, computed in float64 exactly as NumPy's ``x[train].mean(axis=0)`` and ``.std(axis=0)`` compute
them (a sum over rows in training order, pairwise for a single column), then rounded to float32. The rows are
laid out as [training rows in split order, then validation rows], so ``x_train`` and ``x_val`` are two views
of one array.

A table whose float32 values fit the memory budget (``designer.data.store.memory_budget``) is built in memory,
block of rows by block, so loading it never holds much more than the result. A bigger one is written,
in chunks of rows, into a store entry keyed by the file and every option that changes the values; its
tensors map that file and the dataset's ``release`` drops the pages read, so training streams it.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from . import store
from .dataset import CLASSIFICATION, Dataset, split_indices
from .errors import Progress
from .table_read import Raw, free_unused_memory

PREPARED_KIND = "tablex"
BLOCK_BYTES = 8 << 20  # float64 rows gathered at a time: in the processor's cache, and little memory
STREAM_CHUNK_BYTES = 64 << 20  # float32 rows written at a time into a streamed dataset's file


def _blocks(count: int, width: int, size: int = BLOCK_BYTES):
    step = max(1, size // max(1, width * 8))
    for start in range(0, count, step):
        yield start, min(count, start + step)


def statistics(raw: Raw, train: np.ndarray, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' mean and standard deviation of each feature, as ``x[train].mean/std(axis=0)``.

    NumPy sums a C-ordered ``[rows, features]`` array along axis 0 row after row (pairwise when there is a
    single feature), so blocks of training rows summed onto the running total, in training order, give the
    same bits without ever holding all the training rows.
    """
    count, width = len(train), raw.x.shape[1]
    name = raw.source.path.name
    if width == 1:
        values = raw.x[train]
        raw.release()
        mean = np.add.reduce(values, axis=0) / count
        values -= mean
        values *= values
        std = np.sqrt(np.add.reduce(values, axis=0) / count)
    else:
        totals = []
        mean = None
        for stage in range(2):
            total = np.zeros(width)
            for start, end in _blocks(count, width):
                block = np.empty((end - start + 1, width))
                block[0] = total
                np.take(raw.x, train[start:end], axis=0, out=block[1:])
                raw.release()
                if stage:
                    rest = block[1:]
                    rest -= mean
                    rest *= rest
                total = np.add.reduce(block, axis=0) if start else np.add.reduce(block[1:], axis=0)
                progress.update(stage * count + end, 2 * count, f"Preparing {name}: statistics, "
                                                                f"{stage * count + end:,} of {2 * count:,} rows")
            totals.append(total)
            if not stage:
                mean = total / count
        std = np.sqrt(totals[1] / count)
    std[std == 0] = 1.0  # a constant column is centred, not divided by zero
    return mean, std


def _fill(out: np.ndarray, raw: Raw, rows: np.ndarray, scale: tuple | None, progress: Progress,
          done: int = 0, count: int = 0) -> None:
    """out[k] = the (standardised) features of row ``rows[k]``, rounded to float32."""
    width = raw.x.shape[1]
    for start, end in _blocks(len(rows), width):
        block = np.take(raw.x, rows[start:end], axis=0)
        raw.release()
        if scale is not None:
            block -= scale[0]
            block /= scale[1]
        out[start:end] = block
        if count:
            progress.update(done + end, count, f"Preparing {raw.source.path.name}: {done + end:,} of {count:,} rows")


# ------------------------------------------------------------------ rows in split order, by sequential I/O only
# A table spilled to the cache is never gathered row by row from its memory map: a random read faults in a
# whole run of pages around each row (64 KB on Linux), so a gather over a mapped file holds most of it. Its
# rows are instead put in split order by an external bucket shuffle in a temporary file: pass 1 reads the
# decoded file front to back and writes each row to the part of the temporary file that will hold its
# position's bucket; pass 2 loads one bucket at a time, puts its rows in place and writes it back. Then the
# statistics and the float32 rows are read from it front to back, a bucket at a time.
BUCKET_BYTES = 64 << 20  # float64 rows put in split order at a time
READ_BYTES = 16 << 20  # float64 rows read from the decoded file at a time
MEMORY_BUCKET_BYTES = 4 << 20  # the same, when the result is built in memory: little next to it


def _pread(fd: int, out: np.ndarray, offset: int) -> None:
    view = memoryview(out).cast("B")
    done = 0
    while done < len(view):
        n = os.preadv(fd, [view[done:]], offset + done)
        if n <= 0:
            raise OSError(f"the dataset cache file ended early (at byte {offset + done})")
        done += n


def _pwrite(fd: int, values: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(values)).cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


class _Ordered:
    """The float64 rows of a spilled table in split order, in a temporary file: read back bucket by bucket."""

    def __init__(self, raw: Raw, order: np.ndarray, folder, progress: Progress, budget: int) -> None:
        count, width = len(order), raw.x.shape[1]
        self.count, self.width, self.row_bytes = count, width, width * 8
        self.name = raw.source.path.name
        self.bucket = max(1, min(BUCKET_BYTES, budget) // self.row_bytes)
        self.read_rows = max(1, min(READ_BYTES, budget) // self.row_bytes)
        handle, self.path = tempfile.mkstemp(prefix=".order.", suffix=".tmp", dir=folder)
        self.fd = handle
        try:
            self._scatter(raw, order, progress)
            self._place(order, progress)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def buckets(self, end: int | None = None):
        """(start, rows) of each bucket in split order up to row ``end``, read into one reused buffer."""
        end = self.count if end is None else end
        buffer = np.empty((min(self.bucket, max(end, 1)), self.width))
        for start in range(0, end, self.bucket):
            rows = buffer[:min(self.bucket, end - start)]
            _pread(self.fd, rows, start * self.row_bytes)
            yield start, rows

    def read(self, start: int, end: int) -> np.ndarray:
        rows = np.empty((end - start, self.width))
        _pread(self.fd, rows, start * self.row_bytes)
        return rows

    def _scatter(self, raw: Raw, order: np.ndarray, progress: Progress) -> None:
        """Pass 1: each row of the decoded file, in file order, to its bucket's part of the temporary file."""
        count, width, size = self.count, self.width, self.bucket
        buckets = -(-count // size)
        kind = np.uint8 if buckets <= 1 << 8 else np.uint16 if buckets <= 1 << 16 else np.uint32
        bucket_of = np.empty(count, dtype=kind)
        for k, start in enumerate(range(0, count, size)):
            bucket_of[order[start:start + size]] = k
        filled = np.arange(buckets, dtype=np.int64) * size
        name = raw.source.path.name
        source = os.open(raw.entry.folder / "x.npy", os.O_RDONLY)
        try:
            chunk = np.empty((min(self.read_rows, count), width))
            for start in range(0, count, self.read_rows):
                end = min(count, start + self.read_rows)
                rows = chunk[:end - start]
                _pread(source, rows, store.HEADER_BYTES + start * self.row_bytes)
                which = bucket_of[start:end]
                if buckets > 1:
                    sort = np.argsort(which, kind="stable")
                    rows = rows[sort]
                    counts = np.bincount(which, minlength=buckets)
                    first = 0
                    for k in np.flatnonzero(counts).tolist():
                        n = int(counts[k])
                        _pwrite(self.fd, rows[first:first + n], int(filled[k]) * self.row_bytes)
                        filled[k] += n
                        first += n
                else:
                    _pwrite(self.fd, rows, int(filled[0]) * self.row_bytes)
                    filled[0] += len(rows)
                progress.update(end, 2 * count, f"Preparing {name}: ordering, {end:,} of {2 * count:,} rows")
        finally:
            os.close(source)

    def _place(self, order: np.ndarray, progress: Progress) -> None:
        """Pass 2: in each bucket the rows came in file order; put them in split order."""
        count = self.count
        if -(-count // self.bucket) == 1 and np.all(order[1:] > order[:-1]):
            return
        placed = np.empty((min(self.bucket, count), self.width))
        for start, rows in self.buckets():
            end = start + len(rows)
            where = np.argsort(order[start:end], kind="stable")  # rows[i] belongs at where[i]
            out = placed[:len(rows)]
            out[where] = rows
            _pwrite(self.fd, out, start * self.row_bytes)
            progress.update(count + end, 2 * count, f"Preparing {self.name}: ordering, {count + end:,} of "
                                                     f"{2 * count:,} rows")


def _pairwise(ordered: _Ordered, start: int, n: int, leaf: int, transform) -> float:
    """NumPy's pairwise sum of ``n`` single-column values from ``start``, a subtree at a time (its recursion)."""
    if n <= leaf or n <= 128:
        values = ordered.read(start, start + n)[:, 0]
        if transform is not None:
            values = transform(values)
        return np.add.reduce(values)
    half = n // 2
    half -= half % 8
    return _pairwise(ordered, start, half, leaf, transform) + _pairwise(ordered, start + half, n - half, leaf,
                                                                       transform)


def _ordered_statistics(ordered: _Ordered, trained: int, name: str, progress: Progress):
    """``x[train].mean/std(axis=0)`` from the rows in split order, read front to back."""
    width = ordered.width
    if width == 1:
        leaf = max(1, ordered.bucket)
        mean = np.array([_pairwise(ordered, 0, trained, leaf, None)]) / trained

        def squared(values):
            values = values - mean[0]
            values *= values
            return values

        std = np.sqrt(np.array([_pairwise(ordered, 0, trained, leaf, squared)]) / trained)
    else:
        totals = []
        mean = None
        for stage in range(2):
            total = None
            for first, rows in ordered.buckets(trained):
                for start, end in _blocks(len(rows), width):
                    block = np.empty((end - start + 1, width))
                    block[1:] = rows[start:end]
                    if stage:
                        rest = block[1:]
                        rest -= mean
                        rest *= rest
                    if total is None:
                        total = np.add.reduce(block[1:], axis=0)
                    else:
                        block[0] = total
                        total = np.add.reduce(block, axis=0)
                done = stage * trained + first + len(rows)
                progress.update(done, 2 * trained, f"Preparing {name}: statistics, {done:,} of {2 * trained:,} rows")
            totals.append(total)
            if not stage:
                mean = total / trained
        std = np.sqrt(totals[1] / trained)
    std[std == 0] = 1.0
    return mean, std


def _emit(ordered: _Ordered, scale: tuple | None, name: str, progress: Progress, out: np.ndarray | None = None,
          append=None) -> None:
    """The float32 rows, standardised, into ``out`` or through ``append``, in split order."""
    count, width = ordered.count, ordered.width
    for first, rows in ordered.buckets():
        for start, end in _blocks(len(rows), width):
            block = rows[start:end]
            if scale is not None:
                block -= scale[0]
                block /= scale[1]
            if out is not None:
                out[first + start:first + end] = block
            else:
                append(block.astype(np.float32))
        done = first + len(rows)
        progress.update(done, count, f"Preparing {name}: {done:,} of {count:,} rows")


def prepare(raw: Raw, y: np.ndarray, task: str, class_names: list[str], *, standardize: bool, split: float,
            seed: int, progress: Progress, key_options: dict) -> Dataset:
    """The dataset: split (stratified by class), standardised, in memory or streamed from the cache."""
    count, width = raw.rows, raw.x.shape[1]
    name = raw.source.path.name
    streamed = count * width * 4 > store.memory_budget()
    key = source = None
    if streamed:
        stamp = store.stamp_of(raw.source.path)
        key = store.key_of(PREPARED_KIND, stamp, {**key_options, "standardize": standardize, "split": split,
                                                  "seed": seed, "task": task})
        source = str(stamp["path"])
        entry = store.open_entry(key, progress=progress, text=f"Checking the cache of {name}")
        if entry is not None and entry.meta.get("rows") == count:
            return _dataset(raw, entry.arrays["x"], entry.arrays["y"], int(entry.meta["train"]), task,
                            class_names, entry.release)
    train, val = split_indices(count, split, np.random.default_rng(seed), y if task == CLASSIFICATION else None)
    trained = len(train)
    order = np.concatenate([train, val])
    del train, val
    y = y[order] if task == CLASSIFICATION else np.asarray(y[order], dtype=np.float32).reshape(count, -1)
    raw.release()
    if raw.entry is None:  # the decoded values are in memory (a small table): gather the rows directly
        train = order[:trained]
        scale = statistics(raw, train, progress) if standardize else None
        del train
        if not streamed:
            x = np.empty((count, width), dtype=np.float32)
            _fill(x, raw, order, scale, progress, 0, count)
            return _dataset(raw, x, y, trained, task, class_names, None)
        step = max(1, STREAM_CHUNK_BYTES // (width * 4))
        with store.EntryWriter(key, source) as writer:
            xs = writer.array("x", np.float32, (width,))
            block = np.empty((min(step, count), width), dtype=np.float32)
            for start in range(0, count, step):
                rows = order[start:start + step]
                part = block[:len(rows)]
                _fill(part, raw, rows, scale, progress, start, count)
                xs.append(part)
            writer.put("y", y)
            entry = writer.commit({"rows": count, "train": trained}, progress)
        return _dataset(raw, entry.arrays["x"], entry.arrays["y"], int(entry.meta["train"]), task, class_names,
                        entry.release)
    if not streamed:
        # in memory: small buffers next to the result (loading it should hold little more than the result)
        x = np.empty((count, width), dtype=np.float32)
        ordered = _Ordered(raw, order, raw.entry.folder.parent, progress, MEMORY_BUCKET_BYTES)
        del order
        try:
            free_unused_memory()
            scale = _ordered_statistics(ordered, trained, name, progress) if standardize else None
            _emit(ordered, scale, name, progress, out=x)
        finally:
            ordered.close()
        return _dataset(raw, x, y, trained, task, class_names, None)
    with store.EntryWriter(key, source) as writer:
        ordered = _Ordered(raw, order, writer.folder, progress, BUCKET_BYTES)
        del order
        try:
            scale = _ordered_statistics(ordered, trained, name, progress) if standardize else None
            xs = writer.array("x", np.float32, (width,))
            _emit(ordered, scale, name, progress, append=xs.append)
        finally:
            ordered.close()
        writer.put("y", y)
        entry = writer.commit({"rows": count, "train": trained}, progress)
    return _dataset(raw, entry.arrays["x"], entry.arrays["y"], int(entry.meta["train"]), task, class_names,
                    entry.release)


def _dataset(raw: Raw, x: np.ndarray, y: np.ndarray, trained: int, task: str, class_names: list[str],
             release) -> Dataset:
    import torch

    classification = task == CLASSIFICATION
    return Dataset(
        x_train=torch.from_numpy(x[:trained]), y_train=torch.from_numpy(y[:trained]),
        x_val=torch.from_numpy(x[trained:]), y_val=torch.from_numpy(y[trained:]),
        task=task, num_classes=len(class_names) if classification else 0, input_shape=(raw.x.shape[1],),
        is_sequence=False, class_names=list(class_names) if classification else [],
        feature_names=list(raw.features), name=raw.source.path.name, release=release)

"""From a table's decoded columns to a ``Dataset``: the seeded split, standardisation, in memory or streamed.

Each feature is standardised with the mean and standard deviation of the training rows, computed in float64,
then rounded to float32. The rows are laid out as [training rows in split order, then validation rows], so
``x_train`` and ``x_val`` are two views of one array.

- A small table's values are in memory: its statistics are NumPy's ``x[train].mean(axis=0)`` and
  ``.std(axis=0)`` to the bit (a sum over rows in training order), and its rows are gathered directly.
- A bigger table's values were spilled to a file while reading (``table_read.SPILL_BYTES``). They are read
  front to back, a chunk of rows at a time on a few threads: one pass sums each chunk's training rows (its
  mean and the sum of squared deviations, combined chunk after chunk: Chan, Golub and LeVeque's pairwise
  update, no less accurate than one long sum), and one pass standardises each chunk and scatters its rows
  to their places in the float32 array. Chunks are cut by the number of columns only, so the same file gives
  the same statistics whatever the machine's memory and whether the dataset streams.

A table whose float32 values fit the memory budget (``designer.data.store.memory_budget``) is built in
memory. A bigger one is written, in chunks of rows, into a store entry keyed by the file and every option
that changes the values; its tensors map that file and the dataset's ``release`` drops the pages read, so
training streams it.
"""
from __future__ import annotations

import os
import queue
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import store
from .cores import usable_cores
from .dataset import CLASSIFICATION, Dataset, split_indices
from .errors import Progress
from .table_read import Raw, free_unused_memory

PREPARED_KIND = "tablex"
BLOCK_BYTES = 8 << 20  # float64 rows gathered at a time: in the processor's cache, and little memory
PASS_BYTES = 1 << 20  # float64 rows of a spilled table read at a time by each thread (fixes the statistics' chunks)
PASS_CHUNKS = 8  # chunks of rows each task of a pass reads in turn
STREAM_CHUNK_BYTES = 64 << 20  # float32 rows written at a time into a streamed dataset's file


def _standardise(rows: np.ndarray, scale: tuple | None) -> None:
    """Centre and scale float64 ``rows`` in place by ``scale`` (mean, std); nothing when it is None."""
    if scale is not None:
        rows -= scale[0]
        rows /= scale[1]


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
    count, width = len(train), raw.width
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
                np.take(raw.x, train[start:end], axis=0, out=block[1:], mode="clip")  # no temporary copy
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
    width = raw.width
    for start, end in _blocks(len(rows), width):
        block = np.take(raw.x, rows[start:end], axis=0)
        raw.release()
        _standardise(block, scale)
        out[start:end] = block
        if count:
            progress.update(done + end, count, f"Preparing {raw.source.path.name}: {done + end:,} of {count:,} rows")


# ------------------------------------------------------------------ rows in split order, by sequential I/O only
# A streamed table's float32 rows are written to its entry in split order, and its spilled values are never
# gathered row by row from a memory map: a random read faults in a whole run of pages around each row (64 KB
# on Linux), so a gather over a mapped file holds most of it. Its rows are instead put in split order by an
# external bucket shuffle in a temporary file: pass 1 reads the decoded file front to back and writes each row
# to the part of the temporary file that will hold its position's bucket; pass 2 loads one bucket at a time,
# puts its rows in place and writes it back. Then the float32 rows are read from it front to back, a bucket
# at a time. (A table built in memory needs none of this: its rows are scattered into the array.)
BUCKET_BYTES = 64 << 20  # float64 rows put in split order at a time
READ_BYTES = 16 << 20  # float64 rows read from the decoded file at a time


class _Ordered:
    """The float64 rows of a spilled table in split order, in a temporary file: read back bucket by bucket."""

    def __init__(self, raw: Raw, order: np.ndarray, folder, progress: Progress, budget: int) -> None:
        count, width = len(order), raw.width
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

    def buckets(self):
        """(start, rows) of each bucket in split order, read into one reused buffer."""
        buffer = np.empty((min(self.bucket, max(self.count, 1)), self.width))
        for start in range(0, self.count, self.bucket):
            rows = buffer[:min(self.bucket, self.count - start)]
            store.read_at(self.fd, rows, start * self.row_bytes)
            yield start, rows

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
        with raw.values_file() as (source, base):
            chunk = np.empty((min(self.read_rows, count), width))
            ordered = np.empty_like(chunk) if buckets > 1 else None  # made once, as chunk (no fresh 16 MB a read)
            for start in range(0, count, self.read_rows):
                end = min(count, start + self.read_rows)
                rows = chunk[:end - start]
                store.read_at(source, rows, base + start * self.row_bytes)
                which = bucket_of[start:end]
                if buckets > 1:
                    sort = np.argsort(which, kind="stable")
                    rows = np.take(rows, sort, axis=0, out=ordered[:end - start], mode="clip")
                    counts = np.bincount(which, minlength=buckets)
                    first = 0
                    for k in np.flatnonzero(counts).tolist():
                        n = int(counts[k])
                        store.write_at(self.fd, rows[first:first + n], int(filled[k]) * self.row_bytes)
                        filled[k] += n
                        first += n
                else:
                    store.write_at(self.fd, rows, int(filled[0]) * self.row_bytes)
                    filled[0] += len(rows)
                progress.update(end, 2 * count, f"Preparing {name}: ordering, {end:,} of {2 * count:,} rows")

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
            store.write_at(self.fd, out, start * self.row_bytes)
            progress.update(count + end, 2 * count, f"Preparing {self.name}: ordering, {count + end:,} of "
                                                     f"{2 * count:,} rows")


# ------------------------------------------------------------------ passes over spilled rows in file order
def _threads() -> int:
    return min(4, usable_cores())


class _Space:
    """One thread's buffers for a pass: the rows read, and a float64 scratch of the same size or their float32 form.
    Made once per pass on the calling thread and reused chunk after chunk: buffers freed by worker threads stay
    with the C library's per-thread heaps (1M rows: 21 MB more at the peak), these are returned whole."""

    def __init__(self, rows: int, width: int, scratch: bool) -> None:
        self.rows = np.empty((rows, width))
        self.scratch = np.empty((rows, width)) if scratch else None
        self.single = np.empty((rows, width), dtype=np.float32) if not scratch else None


def _file_order_pass(raw: Raw, work, progress: Progress, text: str, scratch: bool) -> list:
    """``work(start, end, rows, space)`` on each chunk of the spilled float64 rows, read front to back on a few
    threads (NumPy and the reads let go of the GIL); its results in chunk order. ``rows`` (a view of
    ``space.rows``) and ``space``'s other buffers are the thread's own: ``work`` may change them."""
    count, width = raw.rows, raw.width
    step = max(1, PASS_BYTES // (width * 8))
    starts = list(range(0, count, step))
    results: list = [None] * len(starts)
    threads = min(_threads(), -(-len(starts) // PASS_CHUNKS))
    spaces = queue.SimpleQueue()
    for _ in range(threads):
        spaces.put(_Space(min(step, count), width, scratch))
    stop = False

    def task(first: int, fd: int, base: int) -> None:
        space = spaces.get()
        try:
            for number in range(first, min(first + PASS_CHUNKS, len(starts))):
                if stop:
                    return
                start = starts[number]
                end = min(count, start + step)
                rows = space.rows[:end - start]
                store.read_at(fd, rows, base + start * width * 8)
                results[number] = work(start, end, rows, space)
        finally:
            spaces.put(space)

    with raw.values_file() as (fd, base):  # only a table whose values are in a file comes here
        with ThreadPoolExecutor(threads, thread_name_prefix="nn-designer-table") as pool:
            tasks = [pool.submit(task, first, fd, base) for first in range(0, len(starts), PASS_CHUNKS)]
            try:
                for number, future in enumerate(tasks):
                    future.result()
                    done = min(count, (number + 1) * PASS_CHUNKS * step)
                    progress.update(done, count, text.format(done=done, count=count))
            finally:
                stop = True
                for future in tasks:
                    future.cancel()
    return results


def _spilled_statistics(raw: Raw, training: np.ndarray, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' mean and (population) standard deviation of each feature, from one pass in file
    order: each chunk's count, mean and sum of squared deviations, combined chunk after chunk."""
    def partial(start: int, end: int, rows: np.ndarray, space: _Space):
        chosen = training[start:end]
        k = int(np.count_nonzero(chosen))
        if not k:
            return 0, None, None
        # np.compress(chosen, rows, out=...) is a take that copies through a temporary array (so that a bad index
        # leaves ``out`` untouched): a fresh 1 MB that the C library then hands back and maps again, chunk after
        # chunk (1M rows: 29,000 page faults, half this pass). These indices cannot be bad: "clip" takes directly.
        chosen = np.take(rows, np.flatnonzero(chosen), axis=0, out=space.scratch[:k], mode="clip")
        mean = np.add.reduce(chosen, axis=0) / k
        chosen -= mean
        chosen *= chosen
        return k, mean, np.add.reduce(chosen, axis=0)

    text = f"Preparing {raw.source.path.name}: statistics, {{done:,}} of {{count:,}} rows"
    n, mean, squares = 0, np.zeros(raw.width), np.zeros(raw.width)
    for k, part_mean, part_squares in _file_order_pass(raw, partial, progress, text, scratch=True):
        if not k:
            continue
        total = n + k
        delta = part_mean - mean
        mean = mean + delta * (k / total)
        squares = squares + part_squares + delta * delta * (n * k / total)
        n = total
    std = np.sqrt(squares / n)
    std[std == 0] = 1.0  # a constant column is centred, not divided by zero
    return mean, std


def _scatter(raw: Raw, place: np.ndarray, scale: tuple | None, out: np.ndarray, progress: Progress) -> None:
    """out[place[i]] = row i of the spilled table, standardised and rounded to float32: one pass in file order."""
    def put(start: int, end: int, rows: np.ndarray, space: _Space) -> None:
        _standardise(rows, scale)
        single = space.single[:end - start]
        np.copyto(single, rows, casting="same_kind")
        out[place[start:end]] = single

    _file_order_pass(raw, put, progress, f"Preparing {raw.source.path.name}: {{done:,}} of {{count:,}} rows",
                     scratch=False)


def _emit(ordered: _Ordered, scale: tuple | None, name: str, progress: Progress, append) -> None:
    """The float32 rows, standardised, through ``append``, in split order."""
    count, width = ordered.count, ordered.width
    for first, rows in ordered.buckets():
        for start, end in _blocks(len(rows), width):
            block = rows[start:end]
            _standardise(block, scale)
            append(block.astype(np.float32))
        done = first + len(rows)
        progress.update(done, count, f"Preparing {name}: {done:,} of {count:,} rows")


def prepare(raw: Raw, task: str, class_names: list[str], *, standardize: bool, split: float, seed: int,
            progress: Progress, key_options: dict) -> Dataset:
    """The dataset of ``raw`` and its ``labels``: split (stratified by class), standardised, in memory or
    streamed from the cache. It takes the labels off ``raw``: only their split-order copy is kept."""
    y, raw.labels = raw.labels, None
    count, width = raw.rows, raw.width
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
    free_unused_memory()  # the labels in file order, and the split's own arrays
    raw.release()
    if raw.x is not None and raw.entry is None:  # a small table, in memory: gather the rows directly
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
    # spilled to a file while reading: passes in file order, never a gather over the file
    place = np.empty(count, dtype=np.int32 if count < 2**31 else np.int64)
    place[order] = np.arange(count, dtype=place.dtype)  # where each row of the file goes
    scale = _spilled_statistics(raw, place < trained, progress) if standardize else None
    free_unused_memory()  # what the threads of that pass let go of
    if not streamed:
        del order
        x = np.empty((count, width), dtype=np.float32)
        _scatter(raw, place, scale, x, progress)
        return _dataset(raw, x, y, trained, task, class_names, None)
    del place
    with store.EntryWriter(key, source) as writer:
        ordered = _Ordered(raw, order, writer.folder, progress, BUCKET_BYTES)
        del order
        try:
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
        task=task, num_classes=len(class_names) if classification else 0, input_shape=(raw.width,),
        is_sequence=False, class_names=list(class_names) if classification else [],
        feature_names=list(raw.features), name=raw.source.path.name, release=release)

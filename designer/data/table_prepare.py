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

import numpy as np

from . import store
from .dataset import CLASSIFICATION, Dataset, split_indices
from .errors import Progress
from .table_read import Raw

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
    order = np.concatenate([train, val])
    scale = statistics(raw, train, progress) if standardize else None
    trained = len(train)
    del train, val
    y = y[order] if task == CLASSIFICATION else np.asarray(y[order], dtype=np.float32).reshape(count, -1)
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

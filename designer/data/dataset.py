"""The ``Dataset`` every loader returns, and the seeded train/validation split they share.

torch is imported only when tensors are made, so the window can describe a dataset before torch loads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import torch

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


@dataclass(eq=False)
class Dataset:
    """Training and validation tensors with what the rest of the app needs to know about them.

    ``x_*`` are float32 ``[n, *input_shape]``, or ``[n, time, *input_shape]`` when ``is_sequence``.
    ``y_*`` are int64 class indices ``[n]`` for classification, float32 ``[n, outputs]`` for regression.

    A dataset bigger than the memory budget is *streamed*: its tensors are views of a memory-mapped cache
    file (``designer.data.store``), read as batches use them, and ``release`` drops the pages read so far
    from this process (the training loop calls it every so many batches). In-memory datasets have none.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    task: str
    num_classes: int
    input_shape: tuple
    is_sequence: bool
    class_names: list[str]
    feature_names: list[str]
    name: str
    release: Callable[[], None] | None = None

    @property
    def streamed(self) -> bool:
        return self.release is not None

    def __repr__(self) -> str:  # the tensors themselves would flood a log or a debugger
        kind = f"{self.num_classes} classes" if self.task == CLASSIFICATION else "regression"
        return (f"Dataset({self.name!r}, {kind}, {len(self.x_train)} train / {len(self.x_val)} validation, "
                f"input_shape={self.input_shape}{', sequence' if self.is_sequence else ''}"
                f"{', streamed' if self.streamed else ''})")


def split_indices(count: int, validation_split: float, rng: np.random.Generator,
                  labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, validation) row indices; stratified by class when ``labels`` are given.

    Validation gets ``round(count * validation_split)`` rows. With labels each class gives its share
    (largest remainders settle the rounding) but always keeps at least one row for training, so no class
    is missing from training however small the data.
    """
    wanted = min(int(np.floor(count * validation_split + 0.5)), count - 1)
    if labels is None:
        order = rng.permutation(count)
        return order[wanted:], order[:wanted]
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * validation_split
    quota = np.minimum(np.floor(exact).astype(np.int64), counts - 1)
    spare = wanted - int(quota.sum())
    if spare > 0:
        for k in np.argsort(-(exact - quota), kind="stable"):
            if spare == 0:
                break
            if quota[k] < counts[k] - 1:
                quota[k] += 1
                spare -= 1
    train_parts, val_parts = [], []
    for cls, take in zip(classes, quota):
        members = rng.permutation(np.flatnonzero(labels == cls))
        val_parts.append(members[:take])
        train_parts.append(members[take:])
    train = rng.permutation(np.concatenate(train_parts))
    val = rng.permutation(np.concatenate(val_parts))
    return train, val


def to_dataset(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, *, task: str,
               class_names: list[str], feature_names: list[str], input_shape: tuple, is_sequence: bool,
               name: str) -> Dataset:
    """Cut numpy arrays into the split and wrap them as tensors of the documented dtypes."""
    import torch

    x = np.asarray(x, dtype=np.float32)
    if task == CLASSIFICATION:
        y = np.asarray(y, dtype=np.int64).reshape(-1)
    else:
        y = np.asarray(y, dtype=np.float32).reshape(len(x), -1)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a))

    return Dataset(
        x_train=tensor(x[train]), y_train=tensor(y[train]), x_val=tensor(x[val]), y_val=tensor(y[val]),
        task=task, num_classes=len(class_names) if task == CLASSIFICATION else 0,
        input_shape=tuple(int(d) for d in input_shape), is_sequence=is_sequence,
        class_names=list(class_names) if task == CLASSIFICATION else [], feature_names=list(feature_names),
        name=name)

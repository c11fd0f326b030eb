"""Classification results: the confusion matrix of the validation set, per-class accuracy, and the samples
behind each cell.

Classes are read from the outputs the way training scores them (:meth:`designer.training.Objective.correct`),
so the matrix's diagonal counts exactly what the validation accuracy counts: the unit with the largest value
for several output units; for one unit, class 1 where the logit is above 0 (binary cross-entropy) or the
output above 0.5 (squared, absolute and Huber errors).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from designer.training.loop import VALIDATION_CHUNK
from designer.training.objectives import Objective, choose_objective

from .tracing import as_array, evaluating, module_device


def confusion_matrix(predicted: Any, actual: Any, classes: int) -> np.ndarray:
    """int64 ``[classes, classes]``: row = the actual class, column = the predicted one.

    Raises ValueError for class indices outside ``0 .. classes - 1`` or arrays of different lengths.
    """
    p = as_array(predicted).astype(np.int64).reshape(-1)
    a = as_array(actual).astype(np.int64).reshape(-1)
    if len(p) != len(a):
        raise ValueError(f"{len(p)} predictions for {len(a)} samples")
    for name, c in (("predicted", p), ("actual", a)):
        if len(c) and (c.min() < 0 or c.max() >= classes):
            raise ValueError(f"a {name} class is outside 0..{classes - 1}")
    return np.bincount(a * classes + p, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: Any) -> np.ndarray:
    """float64 ``[classes]``: the share of each class's samples predicted right (its recall); NaN for a class
    without samples."""
    m = as_array(matrix).astype(np.float64)
    totals = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(m) / np.maximum(totals, 1), np.nan)


def samples_in_cell(predicted: Any, actual: Any, actual_class: int, predicted_class: int) -> np.ndarray:
    """int64 indices of the samples of ``actual_class`` predicted as ``predicted_class`` (a matrix cell)."""
    p = as_array(predicted).reshape(-1)
    a = as_array(actual).reshape(-1)
    return np.flatnonzero((a == actual_class) & (p == predicted_class)).astype(np.int64)


def predicted_classes(module: torch.nn.Module, objective_loss: Objective | str, x: Any) -> np.ndarray:
    """int64 ``[n]``: the class the module predicts for each sample of ``x``, as training scores it.

    ``objective_loss``: the run's :class:`~designer.training.Objective`, or a loss name (``"auto"``,
    ``"cross_entropy"``, ``"bce"``, ``"mse"`` ...) resolved for the module as training would for classes
    (one unit: two classes; several: one per class). Evaluation mode, no gradients, in chunks.
    """
    objective = _objective(module, objective_loss)
    device = module_device(module)
    x = torch.as_tensor(as_array(x), dtype=torch.float32)
    parts = []
    with evaluating(module):
        for start in range(0, len(x), VALIDATION_CHUNK):
            out = objective.outputs(module, x[start:start + VALIDATION_CHUNK].to(device))
            parts.append(_classes(objective, out.reshape(len(out), -1)).cpu())
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return torch.cat(parts).numpy().astype(np.int64)


def _classes(objective: Objective, out: torch.Tensor) -> torch.Tensor:
    """The predicted classes, mirroring :meth:`Objective.correct`."""
    if objective.loss == "cross_entropy" or objective.one_hot:
        return out.argmax(1)
    return (out[:, 0] > objective.threshold).long()


def _objective(module, objective_loss: Objective | str) -> Objective:
    if isinstance(objective_loss, Objective):
        if not objective_loss.classification:
            raise ValueError("a regression has no classes to predict")
        return objective_loss
    units = int(module.output_units)
    data = SimpleNamespace(task="classification", num_classes=max(units, 2), name="the data")
    return choose_objective(objective_loss, module, data)


@dataclass(frozen=True)
class ClassificationResults:
    """The validation set's results: ``matrix`` (rows actual, columns predicted), ``accuracy`` per class,
    and the classes behind them (``predicted``, ``actual``: int64 ``[samples]``)."""

    matrix: np.ndarray
    accuracy: np.ndarray
    predicted: np.ndarray
    actual: np.ndarray
    class_names: tuple[str, ...]

    def samples(self, actual_class: int, predicted_class: int) -> np.ndarray:
        """The samples (indices into the validation set) in one cell."""
        return samples_in_cell(self.predicted, self.actual, actual_class, predicted_class)


def classification_results(module: torch.nn.Module, dataset: Any,
                           loss: Objective | str = "auto") -> ClassificationResults:
    """The confusion matrix and per-class accuracy of ``module`` on ``dataset``'s validation set (its
    training set when it has none). ``loss``: the run's objective or loss setting."""
    if dataset.task != "classification":
        raise ValueError(f"the dataset {dataset.name!r} is a regression: it has no classes")
    if isinstance(loss, str):
        loss = choose_objective(loss, module, dataset)
    x, y = (dataset.x_val, dataset.y_val) if len(dataset.x_val) else (dataset.x_train, dataset.y_train)
    predicted = predicted_classes(module, loss, x)
    actual = as_array(y).astype(np.int64).reshape(-1)
    matrix = confusion_matrix(predicted, actual, int(dataset.num_classes))
    return ClassificationResults(matrix, per_class_accuracy(matrix), predicted, actual, tuple(dataset.class_names))

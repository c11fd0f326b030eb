"""What the model predicts, computed on the worker thread for the "what the network learned" view.

Three kinds of data, three pictures:

- ``plane``: two inputs per sample. The model is evaluated on a 64x64 grid over the data's range:
  class probabilities ``[64, 64, classes]`` (classification) or the first output ``[64, 64]``
  (regression), drawn under the training and validation points. Row ``i``, column ``j`` is the
  model at ``(x[j], y[i])`` of ``numpy.linspace`` over the bounds (both ends included). A single
  step output unit also sends its weighted sum, ``margin`` ``[64, 64]``, whose zero is its boundary.
- ``sequence``: a few validation sequences, each with its true and predicted next value.
- ``images``: a few validation images with the predicted class and its probability.
- anything else (``table``): predicted against true on validation samples.

Class probabilities are read from the outputs the way training scores them (see
:mod:`designer.training.objectives`), so the class drawn is the class the accuracy counts: a step or
tanh unit trained with squared error predicts class 1 when its *output* is above 0.5, whatever its
pre-activation, and a step unit's output (exactly 0 or 1) is a certain answer.

Everything returned is a plain dict of Python values and numpy arrays (copies), safe to send across threads.

``info()["inputs"]`` holds the shown validation samples as the model takes them (``[n, *input_shape]``, or
``[n, steps, *input_shape]`` for sequences): the points of the plane, the images, the sequences, the rows.
Clicking one in the view follows it through the network (computed from the weights by the controller).
"""
from __future__ import annotations

from typing import Any

import numpy as np

GRID = 64
MAX_POINTS = 1500
SEQUENCES = 4
IMAGES = 16
TABLE_ROWS = 200


class Probe:
    """Evaluates a training module on fixed inputs chosen once, when the run starts."""

    def __init__(self, module: Any, dataset: Any, loss: str = "auto") -> None:
        import torch

        self.module = module
        self.dataset = dataset
        self.classification = dataset.task == "classification"
        self.objective = _objective(loss, module, dataset) if self.classification else None
        shape = tuple(dataset.input_shape)
        if not dataset.is_sequence and int(np.prod(shape)) == 2:
            self.kind = "plane"
        elif dataset.is_sequence:
            self.kind = "sequence"
        elif self.classification and len(shape) >= 2:
            self.kind = "images"
        else:
            self.kind = "table"
        self._info: dict[str, Any] = {
            "kind": self.kind,
            "task": dataset.task,
            "classification": self.classification,
            "num_classes": int(dataset.num_classes),
            "class_names": list(dataset.class_names),
            "feature_names": list(dataset.feature_names),
            "input_shape": shape,
            "is_sequence": bool(dataset.is_sequence),
            "dataset_name": dataset.name,
        }
        x_val, y_val = dataset.x_val, dataset.y_val
        if len(x_val) == 0:  # no validation split: show training samples instead
            x_val, y_val = dataset.x_train, dataset.y_train
        if self.kind == "plane":
            x_train = dataset.x_train.reshape(len(dataset.x_train), 2).numpy()
            xv = x_val.reshape(len(x_val), 2).numpy()
            both = np.concatenate([x_train, xv]) if len(xv) else x_train
            low, high = both.min(axis=0), both.max(axis=0)
            margin = np.maximum((high - low) * 0.1, 1e-3)
            low, high = low - margin, high + margin
            self._info.update(
                bounds=(float(low[0]), float(high[0]), float(low[1]), float(high[1])),
                x_train=x_train[:MAX_POINTS].copy(), y_train=_targets(dataset.y_train[:MAX_POINTS]),
                x_val=xv[:MAX_POINTS].copy(), y_val=_targets(y_val[:MAX_POINTS]),
                inputs=x_val[:MAX_POINTS].numpy().copy(),
            )
            gx = np.linspace(low[0], high[0], GRID, dtype=np.float32)
            gy = np.linspace(low[1], high[1], GRID, dtype=np.float32)
            xx, yy = np.meshgrid(gx, gy)  # row = y, column = x, as the image is drawn
            grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
            self._inputs = torch.from_numpy(grid).reshape(GRID * GRID, *shape)
        elif self.kind == "sequence":
            self._inputs = x_val[:SEQUENCES].clone()
            self._info.update(sequences=self._inputs.numpy().reshape(len(self._inputs), self._inputs.shape[1], -1)
                              .copy(), y_true=_targets(y_val[:SEQUENCES]))
        elif self.kind == "images":
            self._inputs = x_val[:IMAGES].clone()
            images = self._inputs.numpy()
            if images.ndim == 4:  # [n, channels, h, w] -> [n, h, w, channels] for drawing
                images = np.moveaxis(images, 1, -1)
                if images.shape[-1] == 1:
                    images = images[..., 0]
            self._info.update(images=images.copy(), y_true=_targets(y_val[:IMAGES]))
        else:
            self._inputs = x_val[:TABLE_ROWS].clone()
            self._info.update(y_true=_targets(y_val[:TABLE_ROWS]))
        if self.kind != "plane":
            self._info["inputs"] = self._inputs.numpy().copy()

    def info(self) -> dict[str, Any]:
        """What the views draw once per run: the task, classes, and the fixed data."""
        return dict(self._info)

    def predict(self) -> dict[str, Any] | None:
        """The model's current output on the fixed inputs (no gradients, weights untouched)."""
        import torch

        module = self.module
        try:
            device = next(module.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
        was_training = module.training
        try:
            module.eval()
            with torch.no_grad():
                x = self._inputs.to(device)
                if self.classification:
                    probabilities = class_probabilities(module, x, self.objective).cpu().numpy()
                    margin = self._step_margin(module, x)
                else:
                    outputs = module(x).reshape(len(x), -1).cpu().numpy()
        finally:
            module.train(was_training)
        if self.kind == "plane":
            if self.classification:
                payload = {"kind": "plane", "probabilities": probabilities.reshape(GRID, GRID, -1).astype(np.float32)}
                if margin is not None:
                    payload["margin"] = margin.reshape(GRID, GRID).astype(np.float32)
                return payload
            return {"kind": "plane", "values": outputs[:, 0].reshape(GRID, GRID).astype(np.float32)}
        if self.classification:
            return {"kind": self.kind, "predicted": probabilities.argmax(axis=1),
                    "confidence": probabilities.max(axis=1).astype(np.float32)}
        return {"kind": self.kind, "values": outputs.astype(np.float32)}

    def _step_margin(self, module: Any, x: Any) -> np.ndarray | None:
        """For one step output unit on the plane: its weighted sum, class 1 exactly where it is above 0.

        Its output (0 or 1) changes from one grid cell to the next, so a line drawn from it could
        only run between cells, in steps; the sum is smooth, and its zero is the true boundary.
        """
        if (self.kind != "plane" or int(getattr(module, "output_units", 0)) != 1
                or getattr(module, "output_activation", None) != "step" or not hasattr(module, "logits")
                or getattr(self.objective, "loss", None) != "mse"):
            return None
        return module.logits(x).reshape(len(x)).cpu().numpy()


def class_probabilities(module: Any, x: Any, objective: Any = None) -> Any:
    """Class probabilities ``[n, classes]`` as training scores the outputs (``objective``, a
    :class:`designer.training.Objective`; without one, as ``loss: auto`` would).

    - cross-entropy: the softmax of the logits;
    - binary cross-entropy: the sigmoid of the logit (one unit: class 1's probability; several:
      one yes/no per class, normalised);
    - squared error (a ``step``, ``tanh`` or ``relu`` unit trained on the class as 0 or 1): the
      output itself, clipped to 0..1, is class 1's probability; several units, their clipped
      outputs normalised. A step unit thus gives exactly 0 or 1: a certain answer, where the sigmoid
      of its pre-activation (often close to 0) would say "unsure" everywhere.

    The likeliest class is always the one the accuracy counts as predicted.
    """
    import torch

    loss = getattr(objective, "loss", None)
    on_logits = getattr(objective, "on_logits", True)
    if loss is None:  # no objective: the one-unit sigmoid / several-unit softmax reading of the logits
        loss = "bce" if int(getattr(module, "output_units", 1)) == 1 else "cross_entropy"
    values = module.logits(x) if on_logits and hasattr(module, "logits") else module(x)
    values = values.reshape(len(x), -1).float()
    if loss == "cross_entropy":
        return torch.softmax(values, dim=1)
    if loss == "bce":
        scores = torch.sigmoid(values)
    else:
        scores = values.clamp(0.0, 1.0)
    if scores.shape[1] == 1:
        return torch.cat([1 - scores, scores], dim=1)
    total = scores.sum(dim=1, keepdim=True)
    # no unit says yes (all outputs at or below 0): nothing is predicted, every class equally likely
    uniform = torch.full_like(scores, 1.0 / scores.shape[1])
    return torch.where(total > 0, scores / total.clamp_min(1e-12), uniform)


def _objective(loss: str, module: Any, dataset: Any) -> Any:
    """The objective training uses for ``loss``; None when it cannot be chosen (training says why)."""
    from designer.training import TrainingError, choose_objective

    try:
        return choose_objective(loss, module, dataset)
    except TrainingError:
        return None


def _targets(y: Any) -> np.ndarray:
    return y.numpy().copy() if hasattr(y, "numpy") else np.asarray(y).copy()

"""What training minimises and how it scores: the loss for a design and its data, and accuracy.

``loss: auto`` picks, from the output layer and the data:

- regression: mean squared error on the output layer's values;
- classes, several output units (one per class): cross-entropy on ``module.logits`` (the values
  before a ``softmax``; PyTorch's ``cross_entropy`` applies the softmax itself, stably);
- two classes, one output unit with ``sigmoid`` or ``linear`` activation: binary cross-entropy on
  ``module.logits`` (``binary_cross_entropy_with_logits``: the sigmoid is applied inside, stably);
- two classes, one output unit with another activation (``step``, ``tanh``, ``relu`` ...): mean
  squared error between the output and the class (0 or 1), the classic perceptron / delta rule.

``mae`` (mean absolute error, ``F.l1_loss``) and ``huber`` (``F.huber_loss`` with ``huber_delta``)
are regression losses; asked for on classes they are used as ``mse`` is: on the output layer's
values, against the class (0 or 1) for one unit or the one-hot row for several. ``label_smoothing``
belongs to ``cross_entropy``; above 0 with any other loss (chosen or resolved by ``auto``) it is refused.

Accuracy: the unit with the largest value for several units; for one unit, class 1 where the
logit is above 0 (binary cross-entropy) or the output above 0.5 (the squared, absolute and Huber errors).

A loss that cannot fit the design or the data raises :class:`TrainingError` saying why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .config import TrainingError

#: the losses computed on the output layer's values (not its logits): errors between outputs and targets
_OUTPUT_LOSSES = ("mse", "mae", "huber")
#: one-unit outputs whose pre-activation value is a logit that binary cross-entropy can use
_LOGIT_ACTIVATIONS = ("sigmoid", "linear")


@dataclass(frozen=True)
class Objective:
    """The loss a run minimises, what it is computed on, and how a prediction is scored."""

    loss: str  # "mse", "mae", "huber", "cross_entropy" or "bce"
    on_logits: bool  # computed on module.logits(x) rather than module(x)
    classification: bool
    one_hot: bool  # classes as one-hot rows (several units under mse/mae/huber/bce)
    threshold: float  # one output unit: class 1 above this value
    label_smoothing: float = 0.0  # cross_entropy only
    huber_delta: float = 1.0  # huber only

    def outputs(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module.logits(x) if self.on_logits else module(x)

    def targets(self, y: torch.Tensor, num_classes: int) -> torch.Tensor:
        """The data's ``y`` as the loss wants it (done once per run, not per batch)."""
        if not self.classification:
            return y.float().reshape(len(y), -1)  # [n] or [n, outputs] -> [n, outputs]
        if self.loss == "cross_entropy":
            return y.long()
        if self.one_hot:
            return F.one_hot(y.long(), num_classes).float()
        return y.float().reshape(-1, 1)

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.loss == "cross_entropy":
            return F.cross_entropy(outputs, targets, label_smoothing=self.label_smoothing)
        if self.loss == "bce":
            return F.binary_cross_entropy_with_logits(outputs, targets)
        if self.loss == "mae":
            return F.l1_loss(outputs, targets)
        if self.loss == "huber":
            return F.huber_loss(outputs, targets, delta=self.huber_delta)
        return F.mse_loss(outputs, targets)

    def correct(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """How many predictions match (a 0-d tensor, so that no batch waits for a sync)."""
        if self.loss == "cross_entropy":
            return (outputs.argmax(1) == targets).sum()
        if self.one_hot:
            return (outputs.argmax(1) == targets.argmax(1)).sum()
        return ((outputs > self.threshold) == (targets > 0.5)).sum()


def choose_objective(loss: str, module: nn.Module, dataset, output_layer: str | None = None, *,
                     label_smoothing: float = 0.0, huber_delta: float = 1.0) -> Objective:
    """The objective for ``loss`` (one of :data:`~designer.training.config.LOSSES`).

    ``output_layer`` is the output layer's id, for the messages. ``label_smoothing`` above 0 needs the
    cross-entropy loss (asked for, or chosen by ``auto``); ``huber_delta`` is used by ``huber`` only.
    """
    objective = _objective(loss, module, dataset, output_layer)
    if label_smoothing > 0 and objective.loss != "cross_entropy":
        chosen = " (loss 'auto' chose it for this design and data)" if loss == "auto" else ""
        fix = "set label_smoothing to 0"
        if objective.classification and int(module.output_units) > 1:
            fix += ", or loss to 'cross_entropy'"
        raise TrainingError(f"training: label_smoothing {label_smoothing:g} applies to the cross_entropy loss "
                            f"only, and this run's loss is {objective.loss!r}{chosen}; {fix}")
    return replace(objective, label_smoothing=label_smoothing if objective.loss == "cross_entropy" else 0.0,
                   huber_delta=huber_delta)


def _objective(loss: str, module: nn.Module, dataset, output_layer: str | None) -> Objective:
    units = int(module.output_units)
    activation = getattr(module, "output_activation", "linear")
    output = f"the output layer {output_layer!r}" if output_layer else "the output layer"
    if units == 1 and activation == "softmax":
        raise TrainingError(f"{output} is one unit with softmax, which always gives 1; use sigmoid for one "
                            f"output unit, or one softmax unit per class", layer_id=output_layer)
    if dataset.task != "classification":
        if loss not in ("auto", *_OUTPUT_LOSSES):
            raise TrainingError(f"training: loss {loss!r} needs classes, but the dataset {dataset.name!r} is a "
                                f"regression task (numbers to predict); use 'mse', 'mae', 'huber' or 'auto'")
        targets = target_width(dataset)
        if units != targets:
            raise TrainingError(f"{output} has {units} unit{_s(units)} but the dataset {dataset.name!r} has "
                                f"{targets} value{_s(targets)} to predict per sample; give it {targets} "
                                f"unit{_s(targets)}", layer_id=output_layer)
        return Objective("mse" if loss == "auto" else loss, on_logits=False, classification=False, one_hot=False,
                         threshold=math.nan)

    classes = int(dataset.num_classes)
    if units == 1 and classes != 2:
        raise TrainingError(f"{output} has 1 unit, which can tell 2 classes apart, but the dataset "
                            f"{dataset.name!r} has {classes} classes; give it {classes} units with softmax",
                            layer_id=output_layer)
    if units > 1 and units != classes:
        raise TrainingError(f"{output} has {units} units but the dataset {dataset.name!r} has {classes} "
                            f"classes; give it {classes} units, one per class", layer_id=output_layer)
    if loss == "auto":
        if units > 1:
            loss = "cross_entropy"
        else:
            loss = "bce" if activation in _LOGIT_ACTIVATIONS else "mse"
    if loss == "cross_entropy":
        if units == 1:
            raise TrainingError(f"training: loss 'cross_entropy' needs one output unit per class, and {output} "
                                f"has 1 unit; use 'bce' (or 'auto') for one unit, or give it {classes} units")
        return Objective("cross_entropy", on_logits=True, classification=True, one_hot=False, threshold=math.nan)
    if loss == "bce":
        if units == 1 and activation not in _LOGIT_ACTIVATIONS:
            raise TrainingError(f"training: loss 'bce' reads a logit, but {output} applies {activation!r}; "
                                f"use sigmoid or linear on that unit, or loss 'mse'")
        return Objective("bce", on_logits=True, classification=True, one_hot=units > 1, threshold=0.0)
    # mse, mae, huber: the error between the output and the class (0 or 1), or the one-hot row
    return Objective(loss, on_logits=False, classification=True, one_hot=units > 1, threshold=0.5)


def is_penalized(name: str) -> bool:
    """Whether ``l1``/``l2`` pull the compiled design's tensor ``name`` (as in the weights file) towards zero.

    Only connection weights (``x-h.weight``) and recurrent weights (``h.weight_hh``): not biases
    (``h.bias``, ``h.bias_hh``), nor a normalisation's scale and shift (``h.norm_weight``,
    ``h.norm_bias``), nor its running statistics (``h.running_mean``, ``h.running_var``).
    """
    return name.endswith(".weight") or name.endswith(".weight_hh")


def penalized_parameters(module: nn.Module) -> list[torch.Tensor]:
    """The weights that ``l1``/``l2`` pull towards zero: connection and recurrent weights (:func:`is_penalized`).

    A compiled design says which tensor is which; any other module is judged by its parameter
    names in the same spirit: ``weight`` and ``weight_*`` (``weight_ih_l0``, ``weight_hh_l0``) of
    every submodule but normalisation layers, whose ``weight`` is a scale, not a connection.
    """
    specs = getattr(module, "weight_specs", None)
    if callable(specs):
        return [getattr(module, spec.attr) for spec in specs() if is_penalized(spec.name)]
    chosen = []
    for sub in module.modules():
        if isinstance(sub, _NORMS):
            continue
        for name, p in sub.named_parameters(recurse=False):
            if p.requires_grad and (name == "weight" or name.startswith("weight_")):
                chosen.append(p)
    return chosen


#: layers whose ``weight`` scales normalised values: not penalised
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)


def penalty(parameters: list[torch.Tensor], l1: float, l2: float) -> torch.Tensor | None:
    """``l1 * sum|w| + l2 * sum w^2`` over the weights (added to the loss, not weight decay)."""
    terms = []
    if l1 > 0:
        terms.append(l1 * sum(p.abs().sum() for p in parameters))
    if l2 > 0:
        terms.append(l2 * sum(p.square().sum() for p in parameters))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def target_width(dataset) -> int:
    y = dataset.y_train
    return int(y.shape[1]) if y.dim() > 1 else 1


def _s(n: int) -> str:
    return "" if n == 1 else "s"

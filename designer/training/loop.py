"""The training loop: shuffle, batch, forward, loss, backward, update; validate after every epoch.

In-memory data only, so no DataLoader: the tensors move to the device once, and each epoch
indexes them with one seeded permutation. Per batch the loop waits for the device once (the
loss value, which the NaN guard and the progress callbacks need) and for nothing else.

``train_loss`` is the data loss alone, without the ``l1``/``l2`` penalties, so that it compares
with ``val_loss``; the penalties still shape every update. Training accuracy is counted on the
batches as they train (the weights move during the epoch), as most frameworks report it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import torch
from torch import nn

from .config import TrainingConfig, TrainingError
from .control import Control
from .devices import resolve_device
from .objectives import Objective, choose_objective, penalized_parameters, penalty

#: samples evaluated at once for validation (bounds memory on large validation sets)
VALIDATION_CHUNK = 8192


@dataclass(frozen=True)
class BatchStats:
    """After every batch: ``batch`` counts from 1 to ``batches`` within ``epoch`` (from 1)."""

    epoch: int
    batch: int
    batches: int
    loss: float
    learning_rate: float


@dataclass(frozen=True)
class EpochStats:
    """After every epoch; accuracies are ``None`` for regression, ``val_*`` without validation data."""

    epoch: int
    train_loss: float
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None


@dataclass
class Run:
    """One training run: its settings, how it ended and its curves (one value per finished epoch).

    A curve that does not apply (accuracy in regression, validation without validation data)
    is an empty list. ``changes`` lists every setting changed while training, as
    ``{"epoch", "batch", "name", "value"}``: from that batch of that epoch on, ``name`` was ``value``.
    """

    training: dict[str, Any]
    started: str
    id: str = ""
    status: str = "running"  # then "completed", "stopped" or "diverged"
    message: str = ""
    loss: str = ""
    device: str = ""
    initial_weights: str = ""  # "stored", "partly stored" or "fresh" when train_project set it up
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    samples_trained: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The run as written to ``history.json``."""
        d: dict[str, Any] = {
            "id": self.id, "started": self.started, "training": dict(self.training), "status": self.status,
            "epochs": list(self.epochs), "train_loss": list(self.train_loss), "val_loss": list(self.val_loss),
            "train_accuracy": list(self.train_accuracy), "val_accuracy": list(self.val_accuracy),
            "changes": [dict(c) for c in self.changes],
        }
        for key in ("message", "loss", "device", "initial_weights"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d

    @property
    def last(self) -> EpochStats | None:
        """The last finished epoch, or None if none finished."""
        if not self.epochs:
            return None
        return EpochStats(self.epochs[-1], self.train_loss[-1], _last(self.val_loss),
                          _last(self.train_accuracy), _last(self.val_accuracy))

    @property
    def samples_per_second(self) -> float:
        return self.samples_trained / self.seconds if self.seconds > 0 else 0.0


def train(module: nn.Module, dataset, config: TrainingConfig | dict[str, Any], *,
          control: Control | None = None,
          on_batch: Callable[[BatchStats], None] | None = None,
          on_epoch: Callable[[EpochStats], None] | None = None,
          device: str | torch.device | None = None) -> Run:
    """Train ``module`` on ``dataset`` for ``config.epochs`` epochs and return the run.

    ``device`` overrides ``config.device``. The module trains on that device and is moved back
    to where it was afterwards. Callbacks receive plain Python numbers and run on this thread.
    """
    if not isinstance(config, TrainingConfig):
        config = TrainingConfig.from_dict(config)
    target = resolve_device(device if device is not None else config.device)
    check_fits(module, dataset)
    objective = choose_objective(config.loss, module, dataset)
    parameters = [p for p in module.parameters() if p.requires_grad]
    if not parameters:
        raise TrainingError("the design has no trainable parameters: connect the input to the output "
                            "(or give the output layer a bias)")
    if len(dataset.x_train) == 0:
        raise TrainingError(f"the dataset {dataset.name!r} has no training samples; lower validation_split "
                            f"or add data")
    run = Run(training=config.to_dict(), started=_now(), loss=objective.loss, device=str(target))
    home = parameters[0].device
    if control is not None:
        control.attach(config.optimizer)
    try:
        module.to(target)
        _Loop(module, dataset, config, objective, target, run, control, on_batch, on_epoch).run()
    except torch.OutOfMemoryError:
        raise TrainingError(f"the device {target} ran out of memory; use a smaller batch_size or a smaller "
                            f"design") from None
    finally:
        module.to(home)
        if control is not None:
            control.attach(None)
    return run


def check_fits(module: nn.Module, dataset) -> None:
    """Raise :class:`TrainingError` when the data cannot go through the module at all."""
    if bool(getattr(module, "is_sequence", False)) != bool(dataset.is_sequence):
        if dataset.is_sequence:
            raise TrainingError(f"the dataset {dataset.name!r} gives sequences, and the design has no loop "
                                f"to carry a step to the next; add a recurrent connection or an lstm/gru layer")
        raise TrainingError(f"the design is recurrent (it runs over sequences), but the dataset "
                            f"{dataset.name!r} gives single samples; remove the loop or use sequence data")
    wanted, given = tuple(module.input_shape), tuple(dataset.input_shape)
    if math.prod(wanted) != math.prod(given):
        raise TrainingError(f"the input layer takes {list(wanted)} per sample but the dataset {dataset.name!r} "
                            f"gives {list(given)}; set the input layer's shape to {list(given)}")


@torch.no_grad()
def evaluate(module: nn.Module, objective: Objective, x: torch.Tensor,
             targets: torch.Tensor) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) of ``module`` on ``x`` in evaluation mode."""
    was_training = module.training
    module.eval()
    try:
        loss_sum = torch.zeros((), device=x.device)
        correct = torch.zeros((), device=x.device, dtype=torch.long)
        for start in range(0, len(x), VALIDATION_CHUNK):
            xc, tc = x[start:start + VALIDATION_CHUNK], targets[start:start + VALIDATION_CHUNK]
            out = objective.outputs(module, xc)
            loss_sum += objective(out, tc) * len(xc)
            if objective.classification:
                correct += objective.correct(out, tc)
        loss, hits = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()  # one sync
    finally:
        module.train(was_training)
    n = len(x)
    return loss / n, (hits / n if objective.classification else None)


class _Loop:
    """One run's state; :meth:`run` fills in ``run``."""

    def __init__(self, module, dataset, config: TrainingConfig, objective: Objective, device: torch.device,
                 run: Run, control: Control | None, on_batch, on_epoch) -> None:
        self.module = module
        self.config = config
        self.objective = objective
        self.run_record = run
        self.control = control
        self.on_batch = on_batch
        self.on_epoch = on_epoch
        classes = int(getattr(dataset, "num_classes", 0) or 0)
        self.x_train = dataset.x_train.to(device)
        self.t_train = objective.targets(dataset.y_train, classes).to(device)
        self.x_val = dataset.x_val.to(device) if len(dataset.x_val) else None
        self.t_val = objective.targets(dataset.y_val, classes).to(device) if self.x_val is not None else None
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        self.penalized = penalized_parameters(module)
        self.settings = {"learning_rate": config.learning_rate, "momentum": config.momentum,
                         "l1": config.l1, "l2": config.l2}
        self.optimizer = _optimizer(config, self.parameters)
        # A CPU generator shuffles identically on every device, and its permutation moves once per epoch.
        self.generator = torch.Generator().manual_seed(config.seed)

    def run(self) -> None:
        run, module, config = self.run_record, self.module, self.config
        n = len(self.x_train)
        size = config.batch_size
        batches = -(-n // size)
        module.train()
        started = time.perf_counter()
        try:
            for epoch in range(1, config.epochs + 1):
                ended = self._epoch(epoch, n, size, batches)
                if ended:
                    run.status, run.message = ended
                    return
            run.status = "completed"
        finally:
            run.seconds = time.perf_counter() - started

    def _epoch(self, epoch: int, n: int, size: int, batches: int) -> tuple[str, str] | None:
        run, module, objective, control = self.run_record, self.module, self.objective, self.control
        optimizer, on_batch = self.optimizer, self.on_batch
        x, t = self.x_train, self.t_train
        order = torch.randperm(n, generator=self.generator).to(x.device)
        snapshot = [p.detach().clone() for p in self.parameters]  # kept in case a batch ruins the weights
        loss_sum = 0.0
        correct = torch.zeros((), device=x.device, dtype=torch.long) if objective.classification else None
        penalize = self.settings["l1"] > 0 or self.settings["l2"] > 0
        for b in range(batches):
            if control is not None:
                if not control.wait_for_batch():
                    return "stopped", f"stopped by the user in epoch {epoch}, before batch {b + 1} of {batches}"
                updates = control.take_updates()
                if updates:
                    self._apply(updates, epoch, b + 1, batches)
                    penalize = self.settings["l1"] > 0 or self.settings["l2"] > 0
            index = order[b * size:(b + 1) * size]
            xb, tb = x[index], t[index]
            out = objective.outputs(module, xb)
            loss = objective(out, tb)
            optimizer.zero_grad(set_to_none=True)
            if penalize:
                total = loss + penalty(self.penalized, self.settings["l1"], self.settings["l2"])
                total.backward()
                value, checked = torch.stack([loss.detach(), total.detach()]).tolist()
            else:
                loss.backward()
                value = checked = loss.item()
            if not math.isfinite(checked):
                return "diverged", self._diverged(epoch, b + 1, batches, value, snapshot)
            optimizer.step()
            count = len(index)
            loss_sum += value * count
            run.samples_trained += count
            if correct is not None:
                correct += objective.correct(out.detach(), tb)
            if on_batch is not None:
                on_batch(BatchStats(epoch, b + 1, batches, value, self.settings["learning_rate"]))
        if not self._weights_finite():
            # A saturating activation (tanh, sigmoid) can keep the loss finite over infinite weights.
            self._restore(snapshot)
            return "diverged", (f"the weights became infinite or NaN in epoch {epoch}; lower the learning rate "
                                f"(now {self.settings['learning_rate']:g}) and train again (the weights are "
                                f"those from the start of epoch {epoch})")
        self._finish_epoch(epoch, loss_sum / n, correct, n)
        return None

    def _weights_finite(self) -> bool:
        with torch.no_grad():
            sums = torch.stack([p.sum() for p in self.parameters])
            return bool(torch.isfinite(sums).all())  # inf - inf gives NaN, so a sum hides nothing

    def _restore(self, snapshot: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, saved in zip(self.parameters, snapshot):
                p.copy_(saved)

    def _finish_epoch(self, epoch: int, train_loss: float, correct: torch.Tensor | None, n: int) -> None:
        run = self.run_record
        train_accuracy = correct.item() / n if correct is not None else None
        val_loss = val_accuracy = None
        if self.x_val is not None:
            val_loss, val_accuracy = evaluate(self.module, self.objective, self.x_val, self.t_val)
        run.epochs.append(epoch)
        run.train_loss.append(train_loss)
        if train_accuracy is not None:
            run.train_accuracy.append(train_accuracy)
        if val_loss is not None:
            run.val_loss.append(val_loss)
        if val_accuracy is not None:
            run.val_accuracy.append(val_accuracy)
        if self.on_epoch is not None:
            self.on_epoch(EpochStats(epoch, train_loss, val_loss, train_accuracy, val_accuracy))
        if self.control is not None:
            self.control.epoch_finished()

    def _apply(self, updates: dict[str, float], epoch: int, batch: int, batches: int) -> None:
        """Put changed settings into effect from this batch on, and record them for the plot."""
        for name, value in updates.items():
            if name == "learning_rate":
                for group in self.optimizer.param_groups:
                    group["lr"] = value
            elif name == "momentum":
                if self.config.optimizer != "sgd":
                    continue  # asked before the run began (later, Control refuses it for adam)
                for group in self.optimizer.param_groups:
                    group["momentum"] = value
            self.settings[name] = value
            # "batch of batches": a stored run's marker is drawn at its exact place within the epoch
            self.run_record.changes.append({"epoch": epoch, "batch": batch, "batches": batches,
                                            "name": name, "value": value})

    def _diverged(self, epoch: int, batch: int, batches: int, value: float, snapshot) -> str:
        what = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else "infinite with the penalty")
        message = (f"the loss became {what} in epoch {epoch}, batch {batch} of {batches}; "
                   f"lower the learning rate (now {self.settings['learning_rate']:g}) and train again")
        if not self._weights_finite():
            # An earlier update overflowed without the loss showing it yet.
            self._restore(snapshot)
            message += f" (the weights are those from the start of epoch {epoch})"
        return message


def _optimizer(config: TrainingConfig, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.learning_rate)
    # momentum 0 and no weight decay: exactly w <- w - lr * grad
    return torch.optim.SGD(parameters, lr=config.learning_rate, momentum=config.momentum)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last(values: list[float]) -> float | None:
    return values[-1] if values else None

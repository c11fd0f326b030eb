"""The training loop: shuffle, batch, forward, loss, backward, update; validate after every epoch.

In-memory data only, so no DataLoader: the tensors move to the device once, and each epoch
indexes them with one seeded permutation. Per batch the loop waits for the device once (the
loss value, which the NaN guard and the progress callbacks need) and for nothing else.

``train_loss`` is the data loss alone, without the ``l1``/``l2`` penalties, so that it compares
with ``val_loss``; the penalties still shape every update. Training accuracy is counted on the
batches as they train (the weights move during the epoch, and dropout is on), as most frameworks
report it.

The module is in training mode (``module.train()``: dropout on, batch normalisation on the batch's
statistics) for the batches, in evaluation mode for validation, and left in evaluation mode.

The optimizer (``sgd``, ``adam``, ``adamw``, ``rmsprop``) and the learning-rate schedule are
PyTorch's own; ``step``, ``cosine`` and ``plateau`` move the rate after every epoch (``plateau``
on the validation loss, or the training loss without validation data), ``one_cycle`` after every
batch. A learning rate changed while training (``Control.update``) rescales the schedule.

``train(..., gradient_norms=True)`` also measures, per layer, the mean over each epoch's batches of the L2
norm of the gradient (:class:`EpochStats` ``gradient_norms``), for the window's layer health. A layer's
gradient norm is that of everything that computes it: its own tensors (bias, normalisation's scale and
shift, an lstm/gru layer's recurrent weights) and the weights of its incoming connections, all together.
It costs one norm per tensor per batch, kept on the device, and one wait for the device per epoch.
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

#: the schedules that move the learning rate after every batch (the others: after every epoch)
PER_BATCH_SCHEDULES = ("one_cycle",)

#: samples evaluated at once for validation (bounds memory on large validation sets)
VALIDATION_CHUNK = 8192
# Shuffling a big training set: over LOCAL_SHUFFLE_FROM bytes, an epoch visits blocks of about BLOCK_BYTES
# of consecutive rows in a random order, and shuffles the rows within each window of WINDOW_BYTES of blocks.
# The rows were already laid out in the random order of the seeded train/validation split, so batches stay
# as mixed as a full permutation's; but each window reads one stretch of memory, so a dataset streamed from
# a memory-mapped file touches (and then releases) WINDOW_BYTES at a time instead of a page per row over
# the whole file. The rule depends only on the data's size: in memory or streamed, the same order.
LOCAL_SHUFFLE_FROM = 256 << 20
BLOCK_BYTES = 1 << 20
WINDOW_BYTES = 64 << 20


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
    learning_rate: float | None = None  # the rate used for the epoch's last batch
    # with train(..., gradient_norms=True): {layer id: the epoch's mean gradient L2 norm} (see GradientNorms)
    gradient_norms: dict[str, float] | None = None


@dataclass
class Run:
    """One training run: its settings, how it ended and its curves (one value per finished epoch).

    A curve that does not apply (accuracy in regression, validation without validation data)
    is an empty list. ``learning_rate`` is the rate used for each epoch's last batch (it moves
    under a schedule, and when the user changes it). ``changes`` lists every setting changed while
    training, as ``{"epoch", "batch", "name", "value"}``: from that batch of that epoch on, ``name``
    was ``value`` (for ``learning_rate``: the schedule's base rate).
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
    learning_rate: list[float] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    samples_trained: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The run as written to ``history.json``."""
        d: dict[str, Any] = {
            "id": self.id, "started": self.started, "training": dict(self.training), "status": self.status,
            "epochs": list(self.epochs), "train_loss": list(self.train_loss), "val_loss": list(self.val_loss),
            "train_accuracy": list(self.train_accuracy), "val_accuracy": list(self.val_accuracy),
            "learning_rate": list(self.learning_rate), "changes": [dict(c) for c in self.changes],
        }
        for key in ("message", "loss", "device", "initial_weights"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.seconds > 0:  # how long the loop trained, for comparing runs
            d["seconds"] = round(self.seconds, 3)
        return d

    @property
    def last(self) -> EpochStats | None:
        """The last finished epoch, or None if none finished."""
        if not self.epochs:
            return None
        return EpochStats(self.epochs[-1], self.train_loss[-1], _last(self.val_loss),
                          _last(self.train_accuracy), _last(self.val_accuracy), _last(self.learning_rate))

    @property
    def samples_per_second(self) -> float:
        return self.samples_trained / self.seconds if self.seconds > 0 else 0.0


def train(module: nn.Module, dataset, config: TrainingConfig | dict[str, Any], *,
          control: Control | None = None,
          on_batch: Callable[[BatchStats], None] | None = None,
          on_epoch: Callable[[EpochStats], None] | None = None,
          device: str | torch.device | None = None,
          gradient_norms: bool = False, graph=None) -> Run:
    """Train ``module`` on ``dataset`` for ``config.epochs`` epochs and return the run.

    ``device`` overrides ``config.device``. The module trains on that device and is moved back
    to where it was afterwards, in evaluation mode. Callbacks receive plain Python numbers and run
    on this thread.

    ``gradient_norms``: measure each layer's gradient norm per epoch, reported in ``EpochStats.gradient_norms``
    (see :class:`GradientNorms`); ``graph`` is the design the module was compiled from, which says what layer
    each connection feeds (without it a connection's weights are reported under the connection's id).
    """
    if not isinstance(config, TrainingConfig):
        config = TrainingConfig.from_dict(config)
    target = resolve_device(device if device is not None else config.device)
    check_fits(module, dataset)
    objective = choose_objective(config.loss, module, dataset, label_smoothing=config.label_smoothing,
                                 huber_delta=config.huber_delta)
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
        control.attach(config.optimizer, config.nesterov)
    try:
        module.to(target)
        loop = _Loop(module, dataset, config, objective, target, run, control, on_batch, on_epoch)
        if gradient_norms and on_epoch is not None:  # reported to on_epoch only
            loop.gradients = GradientNorms(module, loop.parameters, graph, target)
        loop.run()
    except torch.OutOfMemoryError:
        raise TrainingError(f"the device {target} ran out of memory; use a smaller batch_size or a smaller "
                            f"design") from None
    finally:
        module.to(home)
        module.eval()
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


def shuffle_window(n: int, row_bytes: int) -> int | None:
    """Rows per shuffling window for ``n`` rows of ``row_bytes`` each, or None for a full permutation."""
    if n * row_bytes <= LOCAL_SHUFFLE_FROM:
        return None
    block = max(1, BLOCK_BYTES // row_bytes)
    return max(block, WINDOW_BYTES // row_bytes // block * block)


def epoch_order(n: int, row_bytes: int, generator: torch.Generator) -> torch.Tensor:
    """The order in which one epoch visits ``n`` training rows: a permutation drawn from ``generator``.

    Up to LOCAL_SHUFFLE_FROM bytes of rows, ``torch.randperm``. Above, blocks of consecutive rows in a
    random order, shuffled row by row within each window of blocks (see LOCAL_SHUFFLE_FROM).
    """
    window = shuffle_window(n, row_bytes)
    if window is None:
        return torch.randperm(n, generator=generator)
    block = max(1, BLOCK_BYTES // row_bytes)
    blocks = -(-n // block)
    order = (torch.randperm(blocks, generator=generator)[:, None] * block + torch.arange(block)).reshape(-1)
    order = order[order < n]
    for start in range(0, n, window):
        part = order[start:start + window]
        order[start:start + window] = part[torch.randperm(len(part), generator=generator)]
    return order


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
        # A streamed dataset's tensors map a cache file: drop the pages read after each shuffling window,
        # so an epoch over a table bigger than memory keeps its resident memory bounded.
        self.release = getattr(dataset, "release", None)
        self.row_bytes = max(1, dataset.x_train[:1].numel() * dataset.x_train.element_size())
        window = shuffle_window(len(dataset.x_train), self.row_bytes)
        self.release_every = max(1, (window or WINDOW_BYTES // self.row_bytes) // config.batch_size)
        self.x_train = dataset.x_train.to(device)
        self.t_train = objective.targets(dataset.y_train, classes).to(device)
        self.x_val = dataset.x_val.to(device) if len(dataset.x_val) else None
        self.t_val = objective.targets(dataset.y_val, classes).to(device) if self.x_val is not None else None
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        # what a diverged epoch restores: the parameters, and the running statistics of batch normalisation
        self.state = self.parameters + [tensor for tensor in module.state_dict(keep_vars=True).values()
                                        if not isinstance(tensor, nn.Parameter) and tensor.is_floating_point()]
        self.penalized = penalized_parameters(module)
        self.settings = {"learning_rate": config.learning_rate, "momentum": config.momentum,
                         "l1": config.l1, "l2": config.l2}
        self.optimizer = _optimizer(config, self.parameters)
        self.batches = -(-len(self.x_train) // config.batch_size)
        # Batch norm cannot normalise one sample by its batch: a last batch of one joins the batch before it.
        self.last_joins = (bool(getattr(module, "batch_statistics", False)) and self.batches > 1
                           and len(self.x_train) % config.batch_size == 1)
        if self.last_joins:
            self.batches -= 1
        self.scheduler = _scheduler(config, self.optimizer, self.batches)
        self.learning_rate = self._rate()  # the rate the next batch uses
        # A CPU generator shuffles identically on every device, and its permutation moves once per epoch.
        self.generator = torch.Generator().manual_seed(config.seed)
        self.gradients: GradientNorms | None = None  # train(..., gradient_norms=True)

    def run(self) -> None:
        run, module, config = self.run_record, self.module, self.config
        n = len(self.x_train)
        size = config.batch_size
        batches = self.batches
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
        optimizer, on_batch, scheduler = self.optimizer, self.on_batch, self.scheduler
        per_batch = scheduler is not None and self.config.schedule in PER_BATCH_SCHEDULES
        x, t = self.x_train, self.t_train
        order = epoch_order(n, self.row_bytes, self.generator).to(x.device)
        snapshot = [tensor.detach().clone() for tensor in self.state]  # kept in case a batch ruins the weights
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
            index = order[b * size:(b + 1) * size if not (self.last_joins and b == batches - 1) else n]
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
            if self.gradients is not None:
                self.gradients.add_batch()
            rate = self.learning_rate
            optimizer.step()
            if per_batch:
                scheduler.step()
                self.learning_rate = self._rate()
            count = len(index)
            loss_sum += value * count
            run.samples_trained += count
            if correct is not None:
                correct += objective.correct(out.detach(), tb)
            if on_batch is not None:
                on_batch(BatchStats(epoch, b + 1, batches, value, rate))
            if self.release is not None and (b + 1) % self.release_every == 0:
                self.release()
        if not self._weights_finite():
            # A saturating activation (tanh, sigmoid) can keep the loss finite over infinite weights.
            self._restore(snapshot)
            return "diverged", (f"the weights became infinite or NaN in epoch {epoch}; lower the learning rate "
                                f"(now {self.settings['learning_rate']:g}) and train again (the weights are "
                                f"those from the start of epoch {epoch})")
        self._finish_epoch(epoch, loss_sum / n, correct, n, rate)
        return None

    def _weights_finite(self) -> bool:
        with torch.no_grad():
            sums = torch.stack([tensor.sum() for tensor in self.state])
            return bool(torch.isfinite(sums).all())  # inf - inf gives NaN, so a sum hides nothing

    def _restore(self, snapshot: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for tensor, saved in zip(self.state, snapshot):
                tensor.copy_(saved)

    def _rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _finish_epoch(self, epoch: int, train_loss: float, correct: torch.Tensor | None, n: int,
                      rate: float) -> None:
        run = self.run_record
        train_accuracy = correct.item() / n if correct is not None else None
        val_loss = val_accuracy = None
        if self.x_val is not None:
            val_loss, val_accuracy = evaluate(self.module, self.objective, self.x_val, self.t_val)
        if self.release is not None:
            self.release()
        run.epochs.append(epoch)
        run.train_loss.append(train_loss)
        if train_accuracy is not None:
            run.train_accuracy.append(train_accuracy)
        if val_loss is not None:
            run.val_loss.append(val_loss)
        if val_accuracy is not None:
            run.val_accuracy.append(val_accuracy)
        run.learning_rate.append(rate)
        scheduler = self.scheduler
        if scheduler is not None and self.config.schedule not in PER_BATCH_SCHEDULES:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss if val_loss is not None else train_loss)
            else:
                scheduler.step()
            self.learning_rate = self._rate()
        if self.on_epoch is not None:
            norms = self.gradients.epoch() if self.gradients is not None else None
            self.on_epoch(EpochStats(epoch, train_loss, val_loss, train_accuracy, val_accuracy, rate, norms))
        if self.control is not None:
            self.control.epoch_finished()

    def _apply(self, updates: dict[str, float], epoch: int, batch: int, batches: int) -> None:
        """Put changed settings into effect from this batch on, and record them for the plot."""
        for name, value in updates.items():
            if name == "learning_rate":
                self._rescale(value / self.settings["learning_rate"], value)
                self.learning_rate = self._rate()
            elif name == "momentum":
                if self.config.optimizer not in ("sgd", "rmsprop"):
                    continue  # asked before the run began (later, Control refuses it for adam and adamw)
                for group in self.optimizer.param_groups:
                    group["momentum"] = value
                if value > 0 and self.config.optimizer == "rmsprop":
                    # RMSprop makes its momentum buffers at its first step only when momentum was on then
                    for p in self.parameters:
                        state = self.optimizer.state.get(p)
                        if state and "momentum_buffer" not in state:
                            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            self.settings[name] = value
            # "batch of batches": a stored run's marker is drawn at its exact place within the epoch
            self.run_record.changes.append({"epoch": epoch, "batch": batch, "batches": batches,
                                            "name": name, "value": value})

    def _rescale(self, ratio: float, base: float) -> None:
        """A new base learning rate: the schedule goes on as if the run had started with ``base``.

        Every rate the schedule holds (the group's ``lr``, ``initial_lr``, ``max_lr``, ``min_lr``, the
        scheduler's ``base_lrs``) is multiplied by ``ratio``; for step, one-cycle and plateau that is
        the schedule of the new base exactly. Cosine's floor does not scale, so its rate is set from
        its closed form. Without a schedule the rate is simply ``base``.
        """
        scheduler, groups = self.scheduler, self.optimizer.param_groups
        if scheduler is None:
            for group in groups:
                group["lr"] = base
            return
        for group in groups:
            for key in ("lr", "initial_lr", "max_lr", "min_lr"):
                if key in group:
                    group[key] = group[key] * ratio
        if getattr(scheduler, "base_lrs", None) is not None:
            scheduler.base_lrs = [rate * ratio for rate in scheduler.base_lrs]
        if isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
            low, t, span = scheduler.eta_min, scheduler.last_epoch, scheduler.T_max
            for group, start in zip(groups, scheduler.base_lrs):
                group["lr"] = low + (start - low) * (1 + math.cos(math.pi * t / span)) / 2
        if hasattr(scheduler, "_last_lr"):
            scheduler._last_lr = [group["lr"] for group in groups]

    def _diverged(self, epoch: int, batch: int, batches: int, value: float, snapshot) -> str:
        what = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else "infinite with the penalty")
        message = (f"the loss became {what} in epoch {epoch}, batch {batch} of {batches}; "
                   f"lower the learning rate (now {self.settings['learning_rate']:g}) and train again")
        if not self._weights_finite():
            # An earlier update overflowed without the loss showing it yet.
            self._restore(snapshot)
            message += f" (the weights are those from the start of epoch {epoch})"
        return message


class GradientNorms:
    """Each layer's gradient norm, per epoch: the mean over the epoch's batches of the L2 norm of the
    gradient of everything that computes the layer (its own tensors and its incoming connections' weights).

    Per batch one ``torch._foreach_norm`` over the gradients, kept on the device without waiting for it;
    every :data:`FLUSH` batches and at the end of the epoch the tensors' norms are combined per layer
    (``sqrt(sum of squares)``) and summed over the batches, and at the end of the epoch read back at once.

    Tensors are grouped by owner (``module.weight_specs()``: ``spec.owner``), a connection's weights under
    the layer it feeds when ``graph`` says which; a module that is not a compiled design groups its
    parameters by name (``hidden.weight`` under ``hidden``). Tensors without a gradient (those of layers
    that take no part: the first batch tells) are left out, and so is a group without any.
    """

    #: batches whose norms are kept before they are folded into the epoch's sums (bounds the memory)
    FLUSH = 256

    def __init__(self, module: nn.Module, parameters: list[nn.Parameter], graph, device: torch.device) -> None:
        owners = {}
        specs = getattr(module, "weight_specs", None)
        if callable(specs):
            for spec in specs():
                owner = spec.owner
                connection = graph.connections.get(owner) if graph is not None else None
                if spec.owner_kind == "connection" and connection is not None:
                    owner = connection.target
                owners[id(getattr(module, spec.attr))] = owner
        else:
            for name, p in module.named_parameters():
                owners[id(p)] = name.rsplit(".", 1)[0]
        self.owners = [owners.get(id(p), "") for p in parameters]
        self.parameters = parameters
        self.device = device
        self.measured: list[nn.Parameter] | None = None  # the tensors that get gradients, from the first batch
        self.kept: list[torch.Tensor] = []
        self.count = 0

    def add_batch(self) -> None:
        """Keep the norms of the gradients the last backward pass left (no wait for the device)."""
        if self.measured is None:
            self._start()
        try:
            self.kept += torch._foreach_norm([p.grad for p in self.measured])
        except TypeError:  # a tensor lost its gradient (not seen in practice): count it as zero
            self.kept += [torch.linalg.vector_norm(p.grad) if p.grad is not None else self.zero
                          for p in self.measured]
        self.count += 1
        if self.count % self.FLUSH == 0:
            self._flush()

    def _start(self) -> None:
        chosen = [(p, owner) for p, owner in zip(self.parameters, self.owners) if p.grad is not None]
        self.measured = [p for p, _ in chosen]
        self.groups = list(dict.fromkeys(owner for _, owner in chosen))
        matrix = torch.zeros(len(self.measured), len(self.groups))
        for row, (_, owner) in enumerate(chosen):
            matrix[row, self.groups.index(owner)] = 1.0
        self.matrix = matrix.to(self.device)
        self.sums = torch.zeros(len(self.groups), device=self.device)
        self.zero = torch.zeros((), device=self.device)

    def _flush(self) -> None:
        if not self.kept or not self.measured:
            self.kept = []
            return
        norms = torch.stack(self.kept).view(-1, len(self.measured))  # [batches, tensors]
        self.sums += (norms.square() @ self.matrix).sqrt().sum(0)  # each batch's per-layer norm, summed
        self.kept = []

    def epoch(self) -> dict[str, float]:
        """``{layer id: mean gradient norm}`` over the epoch's batches; then ready for the next epoch."""
        if self.measured is None or not self.count:
            return {}
        self._flush()
        means = (self.sums / self.count).tolist()  # the one wait for the device
        self.sums.zero_()
        self.count = 0
        return dict(zip(self.groups, means))


def _optimizer(config: TrainingConfig, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    """PyTorch's optimizer for ``config`` with its defaults otherwise (Adam's betas, RMSprop's alpha ...).

    ``weight_decay`` goes to every one: added to the gradient (L2) by sgd, adam and rmsprop,
    decoupled (``w <- w - lr * weight_decay * w``) by adamw.
    """
    lr, decay = config.learning_rate, config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
    # momentum 0 and no weight decay: exactly w <- w - lr * grad
    return torch.optim.SGD(parameters, lr=lr, momentum=config.momentum, nesterov=config.nesterov,
                           weight_decay=decay)


def _scheduler(config: TrainingConfig, optimizer: torch.optim.Optimizer, batches: int):
    """PyTorch's scheduler for ``config.schedule`` (None for ``none``); ``batches`` per epoch."""
    schedules = torch.optim.lr_scheduler
    if config.schedule == "step":
        return schedules.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if config.schedule == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.min_learning_rate)
    if config.schedule == "one_cycle":
        # the rate cycles, the momentum stays the user's (and Control.update can still change it)
        return schedules.OneCycleLR(optimizer, max_lr=config.learning_rate, total_steps=config.epochs * batches,
                                    cycle_momentum=False)
    if config.schedule == "plateau":
        return schedules.ReduceLROnPlateau(optimizer, factor=config.gamma, patience=config.patience,
                                           min_lr=config.min_learning_rate)
    return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last(values: list[float]) -> float | None:
    return values[-1] if values else None

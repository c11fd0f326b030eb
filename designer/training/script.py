"""A standalone training script for a project, ready for ``torchrun`` on a bigger machine.

:func:`torchrun_files` gives three files to write side by side (``OUT`` stands for the name chosen):

- ``OUT.py``: the model's source (:func:`designer.compiler.export_source`) followed by the training
  loop of :func:`designer.training.train` written out: the same loss, optimizer, learning-rate
  schedule, penalties, seeded shuffling and batches, training and evaluation modes, so one process
  reproduces ``nn-designer train``'s losses. Under ``torchrun``
  each of N processes takes every N-th sample of each epoch's permutation and its batches of
  ``batch_size`` (the effective batch is ``batch_size x N``); DistributedDataParallel averages the
  gradients. It imports only torch and safetensors.
- ``OUT.data.safetensors``: the project's training and validation tensors, as loaded here.
- ``OUT.safetensors``: the starting weights (the project's, or fresh ones from its seed).

The script prints one JSON object per epoch (as ``nn-designer train --json``, with the epoch's
``learning_rate`` when a schedule moves it) and saves the trained weights, under the ``.nnd`` names,
to ``OUT.trained.safetensors``.
"""
from __future__ import annotations

import inspect
import math
import numbers

import numpy as np
from safetensors.numpy import save as save_numpy

from designer.compiler import export_source, runtime

from .projects import prepare_project

WEIGHTS_METADATA = {"format": "nnd-weights", "version": "1"}


def torchrun_files(project, stem: str) -> dict[str, bytes]:
    """``{file name: contents}`` of the script, its data and its starting weights, named after ``stem``."""
    prepared = prepare_project(project, device="cpu")
    module, dataset, config = prepared.module, prepared.dataset, prepared.config
    from .objectives import choose_objective, is_penalized

    objective = choose_objective(config.loss, module, dataset, label_smoothing=config.label_smoothing,
                                 huber_delta=config.huber_delta)
    classes = int(dataset.num_classes or 0)
    data = {
        "x_train": dataset.x_train.numpy(), "y_train": dataset.y_train.numpy(),
        "x_val": dataset.x_val.numpy(), "y_val": dataset.y_val.numpy(),
    }
    specs = module.weight_specs()
    settings = {
        "loss": objective.loss, "on_logits": objective.on_logits, "classification": objective.classification,
        # the objective's NaN stands for "no threshold" (the largest unit is the class, or there are no
        # classes): the script says so with None, which it never compares
        "one_hot": objective.one_hot, "threshold": None if math.isnan(objective.threshold) else objective.threshold,
        "label_smoothing": objective.label_smoothing, "huber_delta": config.huber_delta,
        "classes": classes, "optimizer": config.optimizer, "learning_rate": config.learning_rate,
        "momentum": config.momentum, "nesterov": config.nesterov, "weight_decay": config.weight_decay,
        "schedule": config.schedule, "step_size": config.step_size, "gamma": config.gamma,
        "patience": config.patience, "min_learning_rate": config.min_learning_rate,
        "batch_size": config.batch_size, "epochs": config.epochs, "l1": config.l1, "l2": config.l2,
        "seed": config.seed,
    }
    file_shapes = {spec.name: list(spec.file_shape) for spec in specs}
    penalized = [spec.name for spec in specs if is_penalized(spec.name)]
    source = export_source(project.graph, project.name)
    source += _TRAINING.format(
        stem=stem, settings=python_literal(settings), file_shapes=python_literal(file_shapes),
        penalized=python_literal(penalized),
        to_file=inspect.getsource(runtime.local_weight_to_file).rstrip())
    weights = {name: np.ascontiguousarray(value) for name, value in module.named_weights().items()}
    return {
        f"{stem}.py": source.encode("utf-8"),
        f"{stem}.data.safetensors": save_numpy({k: np.ascontiguousarray(v) for k, v in data.items()}),
        f"{stem}.safetensors": save_numpy(weights, metadata=dict(WEIGHTS_METADATA)),
    }


def python_literal(value) -> str:
    """``value`` (dicts, lists, text, numbers, booleans, None) as Python source that evaluates back to it.

    ``repr`` and ``pprint`` write a NaN as ``nan`` and an infinity as ``inf``, names that the generated
    script does not define: every non-finite float is written as ``float('nan')``, ``float('inf')`` or
    ``-float('inf')`` instead. A non-empty top-level dict is written one key per line, for the reader.
    """
    if isinstance(value, dict) and value:
        return "{\n" + "".join(f"    {_inline(key)}: {_inline(item)},\n" for key, item in value.items()) + "}"
    return _inline(value)


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inline(key)}: {_inline(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(f"{_inline(item)}, " for item in value).rstrip(" ") + ")"
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, numbers.Integral):  # numpy's integers too, which repr as np.int64(3)
        return repr(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    raise TypeError(f"python_literal writes dicts, lists, tuples, text, numbers, booleans and None, not "
                    f"{type(value).__name__}")


_TRAINING = '''

# ---------------------------------------------------------------------------------------------
# Training, written out by `nn-designer export --to torchrun`: the loop of designer.training.train.
#
#     python {stem}.py                                # one process (CPU, or the first GPU)
#     torchrun --nproc_per_node=4 {stem}.py            # four processes, gradients averaged (DDP)
#     python {stem}.py --epochs 10 --device cpu
#
# One JSON object per epoch goes to stdout; the trained weights, named as in the .nnd file,
# to {stem}.trained.safetensors beside this file.
import argparse
import json
import math
import os
import sys

import torch.distributed as dist
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "{stem}.data.safetensors")
START = os.path.join(HERE, "{stem}.safetensors")
TRAINED = os.path.join(HERE, "{stem}.trained.safetensors")

#: the project's training settings, and the loss that nn-designer chose for this design and data
#: (threshold: class 1 above it for one output unit; None where the largest unit is the class)
SETTINGS = {settings}
#: name in the .nnd file -> its shape there
FILE_SHAPES = {file_shapes}
#: the weights that l1/l2 pull towards zero (connection and recurrent weights: no biases, no normalisation)
PENALIZED = {penalized}


{to_file}


class Objective(nn.Module):
    """What the loss is computed on (the logits, or the outputs), as the module DDP wraps."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.logits(x) if SETTINGS["on_logits"] else self.model(x)


def targets(y):
    if not SETTINGS["classification"]:
        return y.float().reshape(len(y), -1)
    if SETTINGS["loss"] == "cross_entropy":
        return y.long()
    if SETTINGS["one_hot"]:
        return F.one_hot(y.long(), SETTINGS["classes"]).float()
    return y.float().reshape(-1, 1)


def loss_of(outputs, t):
    if SETTINGS["loss"] == "cross_entropy":
        return F.cross_entropy(outputs, t, label_smoothing=SETTINGS["label_smoothing"])
    if SETTINGS["loss"] == "bce":
        return F.binary_cross_entropy_with_logits(outputs, t)
    if SETTINGS["loss"] == "mae":
        return F.l1_loss(outputs, t)
    if SETTINGS["loss"] == "huber":
        return F.huber_loss(outputs, t, delta=SETTINGS["huber_delta"])
    return F.mse_loss(outputs, t)


def correct(outputs, t):
    if SETTINGS["loss"] == "cross_entropy":
        return (outputs.argmax(1) == t).sum()
    if SETTINGS["one_hot"]:
        return (outputs.argmax(1) == t.argmax(1)).sum()
    return ((outputs > SETTINGS["threshold"]) == (t > 0.5)).sum()


def make_optimizer(parameters):
    lr, decay = SETTINGS["learning_rate"], SETTINGS["weight_decay"]
    if SETTINGS["optimizer"] == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)
    if SETTINGS["optimizer"] == "adamw":  # decoupled weight decay
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)
    if SETTINGS["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, momentum=SETTINGS["momentum"], weight_decay=decay)
    return torch.optim.SGD(parameters, lr=lr, momentum=SETTINGS["momentum"], nesterov=SETTINGS["nesterov"],
                           weight_decay=decay)


def make_schedule(optimizer, epochs, batches):
    """The learning-rate schedule (None for none); one_cycle steps after every batch, the others every epoch."""
    schedules = torch.optim.lr_scheduler
    if SETTINGS["schedule"] == "step":
        return schedules.StepLR(optimizer, step_size=SETTINGS["step_size"], gamma=SETTINGS["gamma"])
    if SETTINGS["schedule"] == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=SETTINGS["min_learning_rate"])
    if SETTINGS["schedule"] == "one_cycle":
        return schedules.OneCycleLR(optimizer, max_lr=SETTINGS["learning_rate"], total_steps=epochs * batches,
                                    cycle_momentum=False)
    if SETTINGS["schedule"] == "plateau":
        return schedules.ReduceLROnPlateau(optimizer, factor=SETTINGS["gamma"], patience=SETTINGS["patience"],
                                           min_lr=SETTINGS["min_learning_rate"])
    return None


def gradients_finite(parameters):
    sums = torch.stack([p.grad.sum() for p in parameters if p.grad is not None])
    return bool(torch.isfinite(sums).all())


def penalty(weights):
    total = None
    if SETTINGS["l1"] > 0:
        total = SETTINGS["l1"] * sum(w.abs().sum() for w in weights)
    if SETTINGS["l2"] > 0:
        term = SETTINGS["l2"] * sum(w.square().sum() for w in weights)
        total = term if total is None else total + term
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the exported design (see the top of this file).")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")

    model = load(START, device)
    data = load_file(DATA)
    x, t = data["x_train"].to(device), targets(data["y_train"]).to(device)
    xv, tv = data["x_val"].to(device), targets(data["y_val"]).to(device)
    net = judge = Objective(model)
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[local] if use_cuda else None)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(parameters)
    penalized = [getattr(model, WEIGHTS[name][0]) for name in PENALIZED]
    generator = torch.Generator().manual_seed(SETTINGS["seed"])  # the same permutation in every process
    size = SETTINGS["batch_size"]
    n = len(x)
    count = n // world  # equal shares: every process takes as many steps
    schedule = make_schedule(optimizer, args.epochs, max(1, -(-count // size)))
    status = "completed"
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(n, generator=generator)
        mine = order[rank::world][:count].to(device)
        net.train()  # dropout on, batch normalisation on the batch's statistics
        loss_sum = 0.0
        hits = torch.zeros((), device=device)
        finite = True
        rate = optimizer.param_groups[0]["lr"]
        for start in range(0, count, size):
            index = mine[start:start + size]
            xb, tb = x[index], t[index]
            outputs = net(xb)
            loss = loss_of(outputs, tb)
            extra = penalty(penalized)
            optimizer.zero_grad(set_to_none=True)
            (loss if extra is None else loss + extra).backward()
            value = loss.item()
            # DDP averaged the gradients, so a NaN in any process shows in every process's
            # gradients: all of them stop at the same batch, before the update, without talking.
            if not math.isfinite(value) or (world > 1 and not gradients_finite(parameters)):
                finite = False
                break
            rate = optimizer.param_groups[0]["lr"]  # the rate this batch uses
            optimizer.step()
            if SETTINGS["schedule"] == "one_cycle":
                schedule.step()
            loss_sum += value * len(index)
            if SETTINGS["classification"]:
                hits += correct(outputs.detach(), tb)
        totals = torch.stack([torch.tensor(loss_sum, dtype=torch.float64, device=device), hits.double(),
                              torch.tensor(float(count), dtype=torch.float64, device=device),
                              torch.tensor(0.0 if finite else 1.0, dtype=torch.float64, device=device)])
        if world > 1:
            dist.all_reduce(totals)
        if totals[3].item() > 0:
            status = "diverged"
            if rank == 0:
                print(f"the loss became NaN or infinite in epoch {{epoch}}; lower the learning rate",
                      file=sys.stderr)
            break
        record = {{"epoch": epoch, "train_loss": totals[0].item() / totals[2].item()}}
        model.eval()  # left so after the last epoch
        with torch.no_grad():
            val_loss, val_hits = torch.zeros((), device=device), torch.zeros((), device=device)
            for start in range(0, len(xv), 8192):
                out = judge(xv[start:start + 8192])
                val_loss += loss_of(out, tv[start:start + 8192]) * len(out)
                if SETTINGS["classification"]:
                    val_hits += correct(out, tv[start:start + 8192])
        record["val_loss"] = val_loss.item() / len(xv) if len(xv) else None
        if SETTINGS["classification"]:
            record["train_accuracy"] = totals[1].item() / totals[2].item()
            record["val_accuracy"] = val_hits.item() / len(xv) if len(xv) else None
        if SETTINGS["schedule"] != "none":
            record["learning_rate"] = float(rate)  # the rate of the epoch's last batch, as the schedule moves it
        if SETTINGS["schedule"] == "plateau":
            # on the validation loss (the training loss without validation data), rank 0's in every process
            metric = torch.tensor(record["train_loss"] if record["val_loss"] is None else record["val_loss"],
                                  dtype=torch.float64, device=device)
            if world > 1:
                dist.broadcast(metric, 0)
            schedule.step(metric.item())
        elif schedule is not None and SETTINGS["schedule"] != "one_cycle":
            schedule.step()
        if rank == 0:
            print(json.dumps(record), flush=True)
    if rank == 0 and status == "completed":
        trained = {{}}
        for name, (attr, window_size) in WEIGHTS.items():
            tensor = getattr(model, attr).detach().to("cpu")
            if window_size:
                tensor = local_weight_to_file(tensor, window_size, FILE_SHAPES[name])
            trained[name] = tensor.reshape(FILE_SHAPES[name]).contiguous()
        save_file(trained, TRAINED, metadata={{"format": "nnd-weights", "version": "1"}})
        print(f"saved {{TRAINED}}", file=sys.stderr)
    if world > 1:
        # every rank waits for rank 0's save before tearing down: a rank that left first aborted now and
        # then in gloo's teardown ("terminate called without an active exception", exit -6)
        dist.barrier()
        dist.destroy_process_group()
    return 0 if status == "completed" else 3


if __name__ == "__main__":
    sys.exit(main())
'''

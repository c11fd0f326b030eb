"""A standalone training script for a project, ready for ``torchrun`` on a bigger machine.

:func:`script_files` gives the script and the files it reads, under the names the caller chooses
(:data:`JOB_FILES` in a job folder, see :mod:`designer.training.jobs`; :func:`torchrun_files` names them after
one ``OUT.py`` as ``export --to torchrun -o OUT.py`` always has):

- the script: the model's source (:func:`designer.compiler.export_source`) followed by the training
  loop of :func:`designer.training.train` written out: the same loss, optimizer, learning-rate
  schedule, penalties, seeded shuffling and batches, training and evaluation modes, so one process
  reproduces ``nn-designer train``'s losses. Under ``torchrun`` each of N processes takes every N-th
  sample of each epoch's permutation and its batches of ``batch_size`` (the effective batch is
  ``batch_size x N``); DistributedDataParallel averages the gradients, in a fixed order. It imports
  only torch and safetensors.
- the data: the project's training and validation tensors, as loaded here;
- the starting weights (the project's, or fresh ones from its seed).

The script prints one JSON object per epoch (as ``nn-designer train --json``, with the epoch's
``learning_rate`` when a schedule moves it). Rank 0 saves a checkpoint after every epoch (``--checkpoint-every``),
and inside epochs every ``--checkpoint-minutes`` or ``--checkpoint-batches``, atomically, keeping the one before; a
restarted script resumes from the newest that reads back whole (inside an epoch: that epoch's order again, the
batches done skipped), bit for bit as if it had never stopped. At the end it saves the trained weights
under the ``.nnd`` names and, in a job folder, ``result.nnd``: the project with those weights and the run
in its history (the ``origin`` says it came from a job).
"""
from __future__ import annotations

import inspect
import math
import numbers
import uuid

import numpy as np
from safetensors.numpy import save as save_numpy

from designer.compiler import export_source, runtime

from .projects import prepare_project

WEIGHTS_METADATA = {"format": "nnd-weights", "version": "1"}

#: the files of a job folder (see designer.training.jobs): what the script reads and writes, beside it
JOB_FILES = {
    "script": "train.py", "data": "data.safetensors", "start": "start.safetensors",
    "trained": "trained.safetensors", "checkpoints": "checkpoints", "project": "project.nnd",
    "result": "result.nnd",
}


def torchrun_files(project, stem: str) -> dict[str, bytes]:
    """``{file name: contents}`` of the script, its data and its starting weights, named after ``stem``.

    The script alone, without a project beside it: it writes ``STEM.trained.safetensors`` and keeps its
    checkpoints in ``STEM.checkpoints/``, but writes no ``result.nnd``.
    """
    names = {"script": f"{stem}.py", "data": f"{stem}.data.safetensors", "start": f"{stem}.safetensors",
             "trained": f"{stem}.trained.safetensors", "checkpoints": f"{stem}.checkpoints", "project": None,
             "result": None}
    return script_files(project, names, usage=_usage(f"{stem}.py"))


def script_files(project, names: dict, *, job_id: str | None = None, usage: str = "") -> dict[str, bytes]:
    """``{file name: contents}`` of the script, its data and its starting weights, under ``names``.

    ``names`` maps ``script``, ``data``, ``start``, ``trained``, ``checkpoints``, ``project`` and ``result``
    to file names beside the script (``project`` and ``result`` None: no ``result.nnd``); the project file
    itself is the caller's to write. ``job_id`` tells this export's checkpoints from another's (a fresh one
    when None). Raises the engine's user errors when the project cannot train (data, design, settings).
    """
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
    files = {key: names[key] for key in ("data", "start", "trained", "checkpoints", "project", "result")}
    job = {"id": job_id or uuid.uuid4().hex, "initial_weights": prepared.initial_weights}
    file_shapes = {spec.name: list(spec.file_shape) for spec in specs}
    penalized = [spec.name for spec in specs if is_penalized(spec.name)]
    source = export_source(project.graph, project.name)
    filled = {
        "@USAGE@": usage.rstrip() or _usage(names["script"]).rstrip(),
        "@FILES@": python_literal(files), "@JOB@": python_literal(job), "@SETTINGS@": python_literal(settings),
        "@TRAINING@": python_literal(config.to_dict()), "@FILE_SHAPES@": python_literal(file_shapes),
        "@PENALIZED@": python_literal(penalized),
        "@TO_FILE@": inspect.getsource(runtime.local_weight_to_file).rstrip(),
        "@SHUFFLE@": _shuffle_source(),
    }
    training = _TRAINING
    for marker, text in filled.items():
        training = training.replace(marker, text)
    weights = {name: np.ascontiguousarray(value) for name, value in module.named_weights().items()}
    return {
        names["script"]: (source + training).encode("utf-8"),
        names["data"]: save_numpy({k: np.ascontiguousarray(v) for k, v in data.items()}),
        names["start"]: save_numpy(weights, metadata=dict(WEIGHTS_METADATA)),
    }


def _usage(script: str) -> str:
    return (f"#     python {script}                                # one process (CPU, or the first GPU)\n"
            f"#     torchrun --nproc-per-node=4 {script}           # four processes, gradients averaged (DDP)\n"
            f"#     torchrun --nproc-per-node=4 --max-restarts=3 {script}   # restarted after a fault: resumes\n"
            f"#     python {script} --epochs 10 --device cpu\n")


def _shuffle_source() -> str:
    """The training loop's epoch order (its sizes and its two functions) as source for the script."""
    from . import loop

    sizes = "\n".join(f"{name} = {getattr(loop, name)!r}" for name in ("LOCAL_SHUFFLE_FROM", "BLOCK_BYTES",
                                                                       "WINDOW_BYTES"))
    functions = "\n\n\n".join(inspect.getsource(f).rstrip() for f in (loop.shuffle_window, loop.epoch_order))
    return f"{sizes}\n\n\n{functions}"


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


#: the training part of the script; each @NAME@ is filled in by script_files (a raw string: what is
#: written here is what the script holds)
_TRAINING = r'''

# ---------------------------------------------------------------------------------------------
# Training, written out by `nn-designer export --to torchrun`: the loop of designer.training.train,
# with checkpoints, so that a restarted job carries on from the last one.
#
@USAGE@
#
# One JSON object per epoch goes to stdout, messages to stderr. Rank 0 saves a checkpoint after
# every epoch (--checkpoint-every K), and inside an epoch when M minutes have passed since the last
# (--checkpoint-minutes M) or every K batches (--checkpoint-batches K), atomically, keeping the one
# before; started again (torchrun --max-restarts, or the same command), the script resumes from the
# newest checkpoint that reads back whole (inside an epoch: the epoch's order again, the batches done
# skipped) and ends with exactly the weights of a run that never stopped (the same seed and number
# of processes). At the end the trained weights, named as in the .nnd
# file, go beside this file, and in a job folder result.nnd: the project with them and the run.
import argparse
import hashlib
import io
import json
import math
import os
import re
import sys
import threading
import time
import zipfile
from datetime import datetime, timezone

import torch.distributed as dist
from safetensors.torch import load as tensors_from_bytes
from safetensors.torch import save as tensors_to_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
#: the files beside this script (project and result None: exported as a lone script, no result.nnd)
FILES = @FILES@
#: this export: checkpoints of another export are never resumed from
JOB = @JOB@

#: the project's training settings, and the loss that nn-designer chose for this design and data
#: (threshold: class 1 above it for one output unit; None where the largest unit is the class)
SETTINGS = @SETTINGS@
#: the project's training block, as the run in result.nnd records it (with --epochs as given)
TRAINING = @TRAINING@
#: name in the .nnd file -> its shape there
FILE_SHAPES = @FILE_SHAPES@
#: the weights that l1/l2 pull towards zero (connection and recurrent weights: no biases, no normalisation)
PENALIZED = @PENALIZED@


def _here(name):
    return None if name is None else os.path.join(HERE, name)


DATA, START, TRAINED, CHECKPOINTS, PROJECT, RESULT = (
    _here(FILES[key]) for key in ("data", "start", "trained", "checkpoints", "project", "result"))
#: a checkpoint file: these bytes, the SHA-256 of the rest, then a safetensors file of the state (checkpoint_bytes)
MAGIC = b"NND-CKPT-2\n"
#: epoch-000002.ckpt: after epoch 2; epoch-000002-batch-000033.ckpt: after epoch 2 and 33 batches of epoch 3
CHECKPOINT_NAME = re.compile(r"epoch-(\d+)(?:-batch-(\d+))?\.ckpt")
#: checkpoints kept: the newest, and the one before in case the newest is damaged
KEEP = 2
#: --checkpoint-minutes under torchrun: rank 0's "checkpoint after this batch" (send), carried by the batch's
#: gradient exchange (ordered_mean) to every process (got: rank 0's flag, a tensor read after backward)
SIGNAL = {"on": False, "send": 0.0, "got": None}


@TO_FILE@


# How an epoch orders the training rows: nn-designer train's own rule (designer.training.loop), so that one
# process repeats its batches; beyond LOCAL_SHUFFLE_FROM bytes of rows, blocks mixed within windows.
@SHUFFLE@


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


def ordered_mean(state, bucket):
    """DDP's gradient averaging, summed rank by rank in a fixed order.

    DDP packs gradients into buckets, and repacks them after its first step; an all-reduce's sums depend
    on where a value sits in its bucket. Gathered and summed in rank order, every gradient is the same sum
    however it is packed, so a resumed run (which starts with the first packing again) ends with exactly
    the weights of one that never stopped.

    With ``SIGNAL["on"]`` the first bucket (DDP keeps it small) carries one value more, rank 0's
    ``SIGNAL["send"]``: every process learns in the same batch whether rank 0 wants a checkpoint after it,
    without a collective of its own.
    """
    world = dist.get_world_size()
    buffer = bucket.buffer()
    size = buffer.numel()
    signal = SIGNAL["on"] and bucket.index() == 0
    sent = torch.cat([buffer.reshape(-1), buffer.new_full((1,), SIGNAL["send"])]) if signal else buffer
    parts = [torch.empty_like(sent) for _ in range(world)]
    work = dist.all_gather(parts, sent, async_op=True)

    def combine(future):
        future.wait()
        if signal:
            SIGNAL["got"] = parts[0][size:]
            total = parts[0][:size].reshape(buffer.shape).clone()
            for part in parts[1:]:
                total += part[:size].reshape(buffer.shape)
            return total.div_(world)
        total = parts[0].clone()
        for part in parts[1:]:
            total += part
        return total.div_(world)

    return work.get_future().then(combine)


def start_process_group(backend, rank, world):
    """The process group, on store keys of this start's own.

    torchrun restarts its workers on the same store, where the keys of the start before (the killed processes'
    addresses) would be read as this start's, and the connections refused (pytorch/pytorch#167288). Each
    process counts its starts in the store: the processes of one start agree on the number, and it prefixes
    every key.
    """
    store, _, _ = next(dist.rendezvous("env://", rank=rank, world_size=world))
    start = store.add(f"nnd/{JOB['id']}/starts/{rank}", 1)
    dist.init_process_group(backend, store=dist.PrefixStore(f"nnd/{JOB['id']}/start-{start}", store), rank=rank,
                            world_size=world)


# ---------------------------------------------------------------- files
def write_atomically(path, parts):
    """Write ``parts`` to ``path``: a temporary file beside it, fsynced, then renamed over it."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            for part in parts:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
    try:  # the rename itself survives a crash once the folder is synced (not possible everywhere)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError:
        pass


def checkpoint_files():
    """``[((epochs, batches), path)]`` of the checkpoints there, oldest first (temporaries are not among them):
    after ``epochs`` epochs and ``batches`` batches of the next."""
    try:
        names = os.listdir(CHECKPOINTS)
    except OSError:
        return []
    found = [((int(m.group(1)), int(m.group(2) or 0)), os.path.join(CHECKPOINTS, name))
             for name in names if (m := CHECKPOINT_NAME.fullmatch(name))]
    return sorted(found)


def checkpoint_name(epoch, batch=0):
    """The file name of the checkpoint after ``epoch`` epochs and ``batch`` batches of the next."""
    return f"epoch-{epoch:06d}.ckpt" if not batch else f"epoch-{epoch:06d}-batch-{batch:06d}.ckpt"


#: the thread writing the last checkpoint, and what went wrong there
WRITING = {"thread": None, "error": None}


def save_checkpoint(state):
    """Serialise ``state`` now (training goes on changing the weights), write it on a thread of its own.

    The write (a temporary file, fsynced, renamed into place) takes milliseconds that training need not wait
    for; the next checkpoint and the end of the run wait for it (:func:`finish_checkpoint`).
    """
    payload = checkpoint_bytes(state)
    parts = [MAGIC, hashlib.sha256(payload).digest(), payload]
    finish_checkpoint()
    os.makedirs(CHECKPOINTS, exist_ok=True)
    path = os.path.join(CHECKPOINTS, checkpoint_name(state["epoch"], state.get("batch", 0)))
    WRITING["thread"] = threading.Thread(target=_write_checkpoint, args=(path, parts), name="checkpoint")
    WRITING["thread"].start()


def _write_checkpoint(path, parts):
    try:
        write_atomically(path, parts)
    except BaseException as exc:  # noqa: BLE001 - raised in the main thread by finish_checkpoint
        WRITING["error"] = exc
        return
    for _, old in checkpoint_files()[:-KEEP]:
        try:
            os.remove(old)
        except OSError:
            pass


def finish_checkpoint():
    """Wait for the checkpoint being written; raise what went wrong writing it (a full disk ...)."""
    thread, WRITING["thread"] = WRITING["thread"], None
    if thread is not None:
        thread.join()
    error, WRITING["error"] = WRITING["error"], None
    if error is not None:
        raise error


def read_checkpoint(path):
    """The checkpoint's payload (see checkpoint_bytes); ValueError when it is not whole or not this job's."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith(MAGIC):
        raise ValueError("not a checkpoint of this script")
    digest, payload = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if len(digest) < 32 or hashlib.sha256(payload).digest() != digest:
        raise ValueError("damaged or half-written (its checksum does not match)")
    if checkpoint_metadata(payload).get("job") != JOB["id"]:
        raise ValueError("it belongs to another export of the design")
    return payload


def checkpoint_bytes(state):
    """``state`` (tensors, numbers, text and None in dicts, lists and tuples) as a safetensors file: its tensors,
    and in its metadata the rest as JSON ("state", each tensor there as {"tensor": its name}) and the job's id.

    Not pickle: reading a checkpoint runs no code, whoever wrote the file. Floats go through JSON exactly (as
    Python writes them back), dictionary keys keep their kinds (the optimizer's state is keyed by integers),
    tuples stay tuples, and tensors come back on the CPU.
    """
    tensors = {}

    def encoded(value):
        if isinstance(value, torch.Tensor):
            name = str(len(tensors))
            tensors[name] = value.detach().to("cpu", copy=True).contiguous()
            return {"tensor": name}
        if isinstance(value, dict):
            return {"dict": [[encoded(key), encoded(item)] for key, item in value.items()]}
        if isinstance(value, (list, tuple)):
            return {"tuple" if isinstance(value, tuple) else "list": [encoded(item) for item in value]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"a checkpoint cannot hold a {type(value).__name__}")

    text = json.dumps(encoded(state))
    return tensors_to_bytes(tensors, metadata={"state": text, "job": str(state["job"])})


def checkpoint_metadata(payload):
    """The metadata of a checkpoint's safetensors file, from its header alone (no tensor is read)."""
    size = int.from_bytes(payload[:8], "little")
    return json.loads(payload[8:8 + size]).get("__metadata__") or {}


def parse_checkpoint(payload):
    """The state :func:`checkpoint_bytes` wrote."""
    tensors = tensors_from_bytes(payload)

    def decoded(value):
        if not isinstance(value, dict):
            return value
        if "tensor" in value:
            return tensors[value["tensor"]]
        if "dict" in value:
            return {decoded(key): decoded(item) for key, item in value["dict"]}
        if "tuple" in value:
            return tuple(decoded(item) for item in value["tuple"])
        return [decoded(item) for item in value["list"]]

    return decoded(json.loads(checkpoint_metadata(payload)["state"]))


def newest_checkpoint():
    """``(path, payload)`` of the newest checkpoint that reads back whole, or ``(None, None)``.

    Damaged ones (a half-written file, a bit gone wrong on disk) are skipped for the one before, saying so.
    """
    for _, path in reversed(checkpoint_files()):
        try:
            return path, read_checkpoint(path)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the one before may serve
            print(f"skipping checkpoint {os.path.relpath(path, HERE)}: {exc}", file=sys.stderr)
    return None, None


def weights_bytes(model):
    """The model's weights as a safetensors file, named and shaped as in the .nnd file (sorted header)."""
    trained = {}
    for name, (attr, window_size) in WEIGHTS.items():
        tensor = getattr(model, attr).detach().to("cpu")
        if window_size:
            tensor = local_weight_to_file(tensor, window_size, FILE_SHAPES[name])
        trained[name] = tensor.reshape(FILE_SHAPES[name]).contiguous()
    data = tensors_to_bytes(trained, metadata={"format": "nnd-weights", "version": "1"})
    # the header's keys sorted, as NN Designer writes them: the same weights give the same bytes
    size = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8:8 + size]), sort_keys=True, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data[8 + size:]


def plain(value):
    """``value`` with every non-finite number as None, as history.json holds it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def write_result(weights, run):
    """``result.nnd``: ``project.nnd`` with ``weights`` and ``run`` added to its history (docs/file-format.md).

    Every entry of project.nnd is kept as it is, but its weights (replaced) and history (one run more).
    """
    with zipfile.ZipFile(PROJECT) as source:
        kept = {info.filename: source.read(info) for info in source.infolist()
                if not info.filename.endswith("/")}
    history = json.loads(kept.pop("history.json").decode("utf-8")) if "history.json" in kept else {"runs": []}
    runs = history.get("runs", [])
    numbers = [int(m.group(1)) for old in runs
               if isinstance(old, dict) and (m := re.fullmatch(r"run-(\d+)", str(old.get("id", "")))) is not None]
    run = {"id": f"run-{max(numbers, default=0) + 1}", **run}
    entries = [("mimetype", kept.pop("mimetype"), zipfile.ZIP_STORED),
               ("project.json", kept.pop("project.json"), zipfile.ZIP_DEFLATED)]
    kept.pop("weights.safetensors", None)
    entries.append(("weights.safetensors", weights, zipfile.ZIP_STORED))
    history_json = json.dumps({"runs": runs + [plain(run)]}, ensure_ascii=False, allow_nan=False) + "\n"
    entries.append(("history.json", history_json.encode("utf-8"), zipfile.ZIP_DEFLATED))
    entries += [(name, data, zipfile.ZIP_DEFLATED) for name, data in kept.items()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    write_atomically(RESULT, [buffer.getvalue()])
    return run["id"]


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- training
def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the exported design (see the top of this file).")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"], help="train N epochs in all")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA (one process per GPU, nccl) when there is a GPU, else the CPU (gloo)")
    parser.add_argument("--checkpoint-every", type=int, default=1, metavar="K",
                        help="save a checkpoint every K epochs (0: none but the last); default 1")
    parser.add_argument("--checkpoint-minutes", type=float, default=0.0, metavar="M",
                        help="instead: save one when M minutes have passed since the last, inside an epoch too")
    parser.add_argument("--checkpoint-batches", type=int, default=0, metavar="K",
                        help="also save one every K batches (counted over the whole run), inside epochs; "
                             "default 0: none")
    parser.add_argument("--fresh", action="store_true",
                        help="start from epoch 1, removing the checkpoints of earlier runs")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.checkpoint_every < 0 or args.checkpoint_minutes < 0 or args.checkpoint_batches < 0:
        parser.error("--epochs must be at least 1, --checkpoint-every, --checkpoint-minutes and "
                     "--checkpoint-batches at least 0")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    nodes = int(os.environ.get("GROUP_WORLD_SIZE", "1"))
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        print("--device cuda: this machine has no CUDA device (or this torch has no CUDA); use --device cpu",
              file=sys.stderr)
        return 2
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    backend = ("nccl" if use_cuda else "gloo") if world > 1 else None
    if world > 1:
        start_process_group(backend, rank, world)
    # dropout draws from the global generator: its own stream per process, the same on every start
    torch.manual_seed(SETTINGS["seed"] + rank)

    model = load(START, device)
    data = load_file(DATA)
    x, t = data["x_train"].to(device), targets(data["y_train"]).to(device)
    xv, tv = data["x_val"].to(device), targets(data["y_val"]).to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(parameters)
    penalized = [getattr(model, WEIGHTS[name][0]) for name in PENALIZED]
    generator = torch.Generator().manual_seed(SETTINGS["seed"])  # the same permutation in every process
    size = SETTINGS["batch_size"]
    n = len(x)
    row_bytes = max(1, x[:1].numel() * x.element_size())
    count = n // world  # equal shares: every process takes as many steps
    per_epoch = len(range(0, count, size))  # batches of an epoch, in every process
    schedule = make_schedule(optimizer, args.epochs, max(1, per_epoch))
    # the held tensors (below): their names, for a checkpoint inside an epoch to keep the epoch's start
    held_names = [name for name, tensor in model.state_dict(keep_vars=True).items() if tensor.is_floating_point()]

    result_path = RESULT
    if result_path is not None and not os.path.isfile(PROJECT):
        result_path = None
        if rank == 0:
            print(f"{FILES['project']} is missing beside this script: the run will end without "
                  f"{FILES['result']} (the trained weights still go to {FILES['trained']})", file=sys.stderr)

    # ---- resume: rank 0 picks the newest whole checkpoint and hands it to every process
    payload, path = None, None
    if rank == 0:
        if args.fresh:
            for _, old in checkpoint_files():
                os.remove(old)
        else:
            path, payload = newest_checkpoint()
    if world > 1:
        shared = [payload]
        dist.broadcast_object_list(shared, src=0)
        payload = shared[0]
    curves = {"epochs": [], "train_loss": [], "val_loss": [], "train_accuracy": [], "val_accuracy": [],
              "learning_rate": []}
    first, started, seconds, resumed = 1, now(), 0.0, 0
    inside = None  # resumed inside an epoch: {"batch", "start", "rate", "loss_sum", "hits"}
    if payload is not None:
        state = parse_checkpoint(payload)
        batch = state.get("batch", 0)
        if state["epoch"] + (1 if batch else 0) > args.epochs:
            if rank == 0:
                where = f"inside epoch {state['epoch'] + 1}" if batch else f"after epoch {state['epoch']}"
                least = state["epoch"] + (1 if batch else 0)
                print(f"the checkpoint is {where}, beyond --epochs {args.epochs}: run with --epochs {least} or "
                      f"more, or start again with --fresh", file=sys.stderr)
            return 2
        if batch and state["world"] != world:
            if rank == 0:
                print(f"the checkpoint {os.path.relpath(path, HERE)} was made inside epoch {state['epoch'] + 1} by "
                      f"{state['world']} processes, whose batches this run of {world} cannot carry on: run it "
                      f"with {state['world']} processes, or start again with --fresh", file=sys.stderr)
            return 2
        if (state["epochs"] != args.epochs and SETTINGS["schedule"] in ("cosine", "one_cycle")
                and state["epoch"] < args.epochs):
            if rank == 0:
                print(f"the checkpoint was made for a run of {state['epochs']} epochs, and the "
                      f"{SETTINGS['schedule']} schedule depends on the run's length: run with --epochs "
                      f"{state['epochs']}, or start again with --fresh", file=sys.stderr)
            return 2
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        if state["world"] == world:
            rng = state["rng"][rank]
            torch.set_rng_state(rng["cpu"])
            if use_cuda and rng.get("cuda") is not None:
                torch.cuda.set_rng_state(rng["cuda"], device)
        elif rank == 0:
            print(f"the checkpoint was made by {state['world']} processes and this run has {world}: it carries "
                  f"on, but no longer as the first run would have", file=sys.stderr)
        curves, first = state["curves"], state["epoch"] + 1
        started, seconds, resumed = state["started"], state["seconds"], state["resumed"] + 1
        if batch:
            own = state["rng"][rank]
            inside = {"batch": batch, "start": state["start"], "rate": state["rate"], "loss_sum": own["loss_sum"],
                      "hits": own["hits"]}
        if rank == 0:
            done = f"epoch {state['epoch']} of {args.epochs} done"
            if batch:
                done += f", and {batch} of the {per_epoch} batches of epoch {state['epoch'] + 1}"
            print(f"resuming from {os.path.relpath(path, HERE)} ({done})", file=sys.stderr)

    net = judge = Objective(model)
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[local] if use_cuda else None)
        net.register_comm_hook(None, ordered_mean)
    # what a diverged epoch goes back to: the parameters and the running statistics of batch normalisation
    held = [tensor for tensor in model.state_dict(keep_vars=True).values() if tensor.is_floating_point()]
    status, message = "completed", ""
    clock = time.perf_counter()
    # --checkpoint-minutes on rank 0's clock (NND_JOB_CLOCK_SCALE, for tests only, makes its minutes pass faster)
    minutes = args.checkpoint_minutes > 0
    interval = 60 * args.checkpoint_minutes / float(os.environ.get("NND_JOB_CLOCK_SCALE") or 1)
    SIGNAL["on"] = minutes and world > 1
    every_batches = args.checkpoint_batches
    last_saved = clock
    steps = (first - 1) * per_epoch + (inside["batch"] if inside else 0)  # batches of the run done

    def save(epoch, batch, generator_state, extra, progress):
        """A checkpoint after ``epoch`` epochs and ``batch`` batches of the next (every process calls it)."""
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state(device) if use_cuda else None,
               **progress}
        rngs = [rng]
        if world > 1:
            rngs = [None] * world
            dist.all_gather_object(rngs, rng)
        if rank == 0:
            save_checkpoint({
                "job": JOB["id"], "epoch": epoch, "batch": batch, "epochs": args.epochs, "world": world,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict() if schedule is not None else None,
                "generator": generator_state, "rng": rngs, "curves": curves, "started": started,
                "seconds": seconds + time.perf_counter() - clock, "resumed": resumed, **extra,
            })

    for epoch in range(first, args.epochs + 1):
        begin = generator.get_state()  # a checkpoint inside this epoch makes its order again from here
        order = epoch_order(n, row_bytes, generator)
        mine = order[rank::world][:count].to(device)
        net.train()  # dropout on, batch normalisation on the batch's statistics
        finite = True
        if inside is not None:  # resumed inside this epoch: its start, and its sums so far, from the checkpoint
            snapshot = [inside["start"][name].to(device) for name in held_names]
            loss_sum, rate, skip = inside["loss_sum"], inside["rate"], inside["batch"]
            hits = torch.tensor(inside["hits"], device=device)
            inside = None
        else:
            snapshot = [tensor.detach().clone() for tensor in held]
            loss_sum, rate, skip = 0.0, optimizer.param_groups[0]["lr"], 0
            hits = torch.zeros((), device=device)
        end_due = False  # a checkpoint inside the epoch that fell on its last batch: saved at its end
        for start in range(skip * size, count, size):
            index = mine[start:start + size]
            xb, tb = x[index], t[index]
            if minutes:  # rank 0 decides, before the gradients go out
                SIGNAL["send"] = 1.0 if rank == 0 and time.perf_counter() - last_saved >= interval else 0.0
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
            steps += 1
            due = bool(every_batches) and steps % every_batches == 0
            if minutes:
                if world > 1:  # rank 0's flag, come with this batch's gradients
                    got, SIGNAL["got"] = SIGNAL["got"], None
                    due = due or (got is not None and got.item() > 0)
                else:
                    due = due or SIGNAL["send"] > 0
            if due:
                batch = start // size + 1
                if batch == per_epoch:
                    end_due = True
                    continue
                save(epoch - 1, batch, begin,
                     {"start": dict(zip(held_names, snapshot)), "rate": float(rate)},
                     {"loss_sum": loss_sum, "hits": float(hits.item())})
                last_saved = time.perf_counter()
        if finite:  # a saturating activation can keep the loss finite over infinite weights
            with torch.no_grad():
                finite = bool(torch.isfinite(torch.stack([tensor.sum() for tensor in held])).all())
        due = minutes and time.perf_counter() - last_saved >= interval
        totals = torch.tensor([loss_sum, 0.0, float(count), 0.0 if finite else 1.0,
                               1.0 if due and rank == 0 else 0.0], dtype=torch.float64, device=device)
        totals[1] = hits.double()
        if world > 1:
            dist.all_reduce(totals)
        if totals[3].item() > 0:
            status = "diverged"
            message = (f"the loss became NaN or infinite in epoch {epoch}; lower the learning rate "
                       f"(now {SETTINGS['learning_rate']:g}) and train again")
            with torch.no_grad():
                if not bool(torch.isfinite(torch.stack([tensor.sum() for tensor in held])).all()):
                    for tensor, saved in zip(held, snapshot):
                        tensor.copy_(saved)
                    message += f" (the weights are those from the start of epoch {epoch})"
            if rank == 0:
                print(message, file=sys.stderr)
            break
        record = {"epoch": epoch, "train_loss": totals[0].item() / totals[2].item()}
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
        curves["epochs"].append(epoch)
        curves["train_loss"].append(record["train_loss"])
        curves["learning_rate"].append(float(rate))
        if record["val_loss"] is not None:
            curves["val_loss"].append(record["val_loss"])
        if SETTINGS["classification"]:
            curves["train_accuracy"].append(record["train_accuracy"])
            if record["val_accuracy"] is not None:
                curves["val_accuracy"].append(record["val_accuracy"])
        if rank == 0:
            print(json.dumps(record), flush=True)
        every = args.checkpoint_every if not minutes else 0
        if totals[4].item() > 0 or end_due or (every and epoch % every == 0) or epoch == args.epochs:
            save(epoch, 0, generator.get_state(), {}, {})
            last_saved = time.perf_counter()
    if rank == 0:
        finish_checkpoint()
    seconds += time.perf_counter() - clock
    if rank == 0:
        weights = weights_bytes(model)
        done = len(curves["epochs"])
        summary = f"{status} after {done} epoch{'s' if done != 1 else ''}"
        if status == "completed":
            write_atomically(TRAINED, [weights])
            summary += f"; saved {TRAINED}"
        if result_path is not None:
            training = dict(TRAINING, epochs=args.epochs)
            origin = {"kind": "job", "job": JOB["id"], "processes": world, "nodes": nodes, "device": device.type}
            if use_cuda:
                origin["device_name"] = torch.cuda.get_device_name(device)
            if backend:
                origin["backend"] = backend
            if resumed:
                origin["resumed"] = resumed
            run = {"started": started, "training": training, "status": status, **curves, "changes": []}
            if message:
                run["message"] = message
            run.update({"loss": SETTINGS["loss"], "device": device.type, "seconds": round(seconds, 3),
                        "initial_weights": JOB["initial_weights"], "origin": origin})
            run_id = write_result(weights, run)
            summary += f"; saved {RESULT} ({run_id})"
        print(summary, file=sys.stderr)
    code = 0 if status == "completed" else 3
    if world > 1:
        # Every rank waits for rank 0's save, then leaves at once: tearing the process group down aborted a
        # process now and then in gloo's teardown ("terminate called without an active exception", exit -6,
        # once its peer had gone), and torchrun took the finished run for a failure. Nothing is left to do.
        dist.barrier()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
'''

"""Training a whole project: load its data, compile its design, train, and keep what it learned.

:func:`train_project` does it all; the window uses the two halves, :func:`prepare_project` (on the
worker thread: data, checks, compiling) and :func:`record_run` (weights and history into the project).
"""
from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from designer.compiler import CompileError, compile_graph
from designer.data import load_dataset
from designer.graph import owner_of

from .config import TrainingConfig, TrainingError
from .control import Control
from .loop import BatchStats, EpochStats, Run, check_fits, train
from .objectives import choose_objective


@dataclass
class Prepared:
    """Everything a run needs, checked: the compiled module (on the CPU), the data and the settings.

    ``initial_weights`` is ``"stored"`` when the project's weights fit the design and were loaded,
    ``"partly stored"`` when some layers or connections had none that fit (they start afresh),
    ``"fresh"`` otherwise; ``weights_note`` says why stored weights were not used.
    """

    module: object
    dataset: object
    config: TrainingConfig
    initial_weights: str
    weights_note: str = ""


def prepare_project(project, *, epochs: int | None = None, device: str | None = None,
                    seed: int | None = None, dataset=None, check_only: bool = False) -> Prepared:
    """Load and check everything for training ``project``; raises the user-facing error types.

    ``epochs``, ``device`` and ``seed`` override the project's training block for this run;
    ``dataset`` is the project's data when the caller has loaded it already (it is loaded otherwise).
    ``check_only`` builds the module without memory for its weights (PyTorch's ``meta`` device): every
    check runs, on the stored weights too, but the module cannot train. The window checks after each edit
    this way, and a design of a hundred million parameters costs no gigabyte.
    """
    config = TrainingConfig.from_dict(project.training).replace(epochs=epochs, device=device, seed=seed)
    if dataset is None:
        base_dir = Path(project.path).resolve().parent if project.path else None
        dataset = load_dataset(project.dataset, base_dir)
    check_input_layer(project.graph, dataset)

    def compile_it():
        with torch.device("meta") if check_only else contextlib.nullcontext():
            return compile_graph(project.graph, seed=config.seed)

    module = compile_it()
    initial, note = "fresh", ""
    weights, stale = project.fitting_weights()
    if weights:
        try:
            missing = module.load_named_weights(weights, allow_missing=True)
            initial = "stored"
            if missing:
                initial, note = "partly stored", _fresh_note(missing, stale)
        except CompileError as exc:
            # The design changed since they were saved: start afresh, and say why.
            module = compile_it()
            note = f"the stored weights cannot be used ({exc}); training starts from fresh weights"
    check_fits(module, dataset)
    normalised = [layer.id for layer in project.graph.layers.values() if layer.kind == "neurons" and layer.norm == "batch"]
    if normalised and config.batch_size < 2:
        raise TrainingError(f"training: batch_size 1 cannot train batch normalisation (layer {normalised[0]!r} "
                            f"normalises each batch by its own mean and variance); use batches of 2 or more, or "
                            f"layer normalisation", layer_id=normalised[0])
    outputs = project.graph.flow().outputs
    # a loss that cannot fit fails now, naming the output layer, rather than at the first batch
    choose_objective(config.loss, module, dataset, outputs[0] if outputs else None,
                     label_smoothing=config.label_smoothing, huber_delta=config.huber_delta)
    return Prepared(module, dataset, config, initial, note)


def _fresh_note(missing: list[str], stale: set[str]) -> str:
    """Which layers and connections start afresh while the rest continue, and why."""
    owners = list(dict.fromkeys(owner_of(name) for name in missing))
    changed = [owner for owner in owners if owner in stale]
    named = ", ".join(owners[:6]) + (f" and {len(owners) - 6} more" if len(owners) > 6 else "")
    why = ("they changed since they were trained (activation, shape or connectivity)" if changed == owners
           else "the stored weights have none for them")
    return f"{named} start from fresh weights, since {why}; the rest continue from the stored weights"


def check_input_layer(graph, dataset) -> None:
    """Raise :class:`TrainingError` when the input layer's shape is not what the data gives."""
    inputs = [layer for layer in graph.layers.values() if layer.kind == "input"]
    if not inputs:
        return  # validation reports the missing input layer
    layer = inputs[0]
    given = tuple(dataset.input_shape)
    if tuple(layer.shape) != given and math.prod(layer.shape) != math.prod(given):
        per = "per time step" if dataset.is_sequence else "per sample"
        raise TrainingError(f"layer {layer.id}: the input layer has shape {list(layer.shape)} but the dataset "
                            f"{dataset.name!r} gives {list(given)} {per}; set its shape to {list(given)}",
                            layer_id=layer.id)


def record_run(project, module, run: Run) -> None:
    """Store the module's weights and the run (numbered ``run-N``) into the project."""
    run.id = next_run_id(project.history)
    project.store_weights(module.named_weights())
    project.history.append(run.to_dict())


def next_run_id(history: list[dict]) -> str:
    numbers = [int(m.group(1)) for run in history
               if isinstance(run, dict) and (m := re.fullmatch(r"run-(\d+)", str(run.get("id", ""))))]
    return f"run-{max(numbers, default=0) + 1}"


def train_project(project, *, epochs: int | None = None, device: str | None = None, seed: int | None = None,
                  control: Control | None = None, on_batch: Callable[[BatchStats], None] | None = None,
                  on_epoch: Callable[[EpochStats], None] | None = None, gradient_norms: bool = False) -> Run:
    """Train ``project`` as its training block says (with the overrides given) and record the run.

    The weights are stored into ``project.weights`` and the run appended to ``project.history``,
    whatever its status; nothing is written to disk (save the project for that). ``gradient_norms``:
    each epoch's :class:`EpochStats` says each layer's gradient norm (see :func:`train`).
    """
    prepared = prepare_project(project, epochs=epochs, device=device, seed=seed)
    run = train(prepared.module, prepared.dataset, prepared.config, control=control, on_batch=on_batch,
                on_epoch=on_epoch, gradient_norms=gradient_norms, graph=project.graph)
    run.initial_weights = prepared.initial_weights
    record_run(project, prepared.module, run)
    return run

"""Running a compiled design's ``trace`` for the neuron-level views: no gradients, evaluation mode, numpy out.

Every function here leaves the module as it found it (training or evaluation mode, weights untouched), so the
training worker can call them between two batches of the module it trains.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

import numpy as np
import torch

Traced = dict[str, dict[str, np.ndarray]]


def module_device(module: torch.nn.Module) -> torch.device:
    """Where the module's tensors live (the CPU for a module without any)."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def evaluating(module: torch.nn.Module) -> Iterator[None]:
    """Evaluation mode (dropout off, batch norm on its running statistics) and no gradients, for a while."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


def as_array(value: Any) -> np.ndarray:
    """A tensor (on any device) or array as a numpy array; a tensor is copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def trace(module: torch.nn.Module, x: Any, layers: Iterable[str] | None = None,
          limit: int | None = None) -> Traced:
    """``module.trace(x)`` as numpy float32: ``{"values": {layer: array}, "sums": {layer: array}}``.

    ``x`` goes to the module's device. ``layers`` keeps only those layers (all by default); ``limit`` keeps
    only the first ``limit`` neurons (the last axis) of each, before anything is copied off the device.
    """
    device = module_device(module)
    x = torch.as_tensor(x, dtype=torch.float32).to(device)
    keep = None if layers is None else set(layers)
    with evaluating(module):
        traced = module.trace(x)
    out: Traced = {}
    for key in ("values", "sums"):
        out[key] = {}
        for lid, tensor in traced[key].items():
            if keep is not None and lid not in keep:
                continue
            if limit is not None:
                tensor = tensor[..., :limit]
            out[key][lid] = np.ascontiguousarray(as_array(tensor), dtype=np.float32)
    return out


def traced_arrays(traced: dict[str, dict[str, Any]]) -> Traced:
    """A trace (``module.trace``'s tensors, or arrays already) as numpy arrays, without copying arrays."""
    return {key: {lid: as_array(value) for lid, value in traced.get(key, {}).items()} for key in ("values", "sums")}

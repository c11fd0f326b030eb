"""The compiled design as a ``torch.nn.Module``: its tensors, its generated forward pass, named weights."""
from __future__ import annotations

import itertools
import linecache
import weakref
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from designer.graph import Graph, Problem
from designer.words import count

from . import runtime
from .errors import CompileError
from .program import Program, WeightSpec, build_program

_counter = itertools.count(1)


class DesignModule(nn.Module):
    """A design compiled to PyTorch.

    ``forward(x)`` takes ``[batch, ...]`` with the input layer's number of elements per sample
    (``[batch, time, ...]`` per time step for sequence designs) and returns the output layer's
    values ``[batch, output_units]`` (for sequences, at the last step); ``logits(x)`` returns them
    before the output activation. Both are generated Python code: ``module.source`` shows it.

    Parameters are attributes named after the ids (``h_bias``, ``x_h_weight``); files and
    :meth:`named_weights` use the design's names (``h.bias``, ``x-h.weight``).
    """

    input_shape: tuple[int, ...]
    output_units: int
    output_activation: str
    is_sequence: bool
    source: str

    def __init__(self, program: Program) -> None:
        super().__init__()
        self._program = program
        self.input_shape = program.input_shape
        self.output_units = program.output_units
        self.output_activation = program.output_activation
        self.is_sequence = program.is_sequence
        self.source = program.source
        for spec in program.weights:
            self.register_parameter(spec.attr, nn.Parameter(torch.empty(spec.shape)))
        for mask in program.masks:
            # not saved in state_dict: masks follow from the design, not from training
            self.register_buffer(mask.attr, runtime.disabled_mask(mask.shape, mask.zeros), persistent=False)

    def extra_repr(self) -> str:
        kind = "sequences of " if self.is_sequence else ""
        return (f"{kind}{list(self.input_shape)} -> {self.output_units} ({self.output_activation}); "
                f"layers {' -> '.join(self._program.layers)}; "
                f"{count(sum(p.numel() for p in self.parameters()), 'parameter')}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # replaced by the generated code
        raise NotImplementedError

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # replaced by the generated code
        raise NotImplementedError

    # ------------------------------------------------------------------ weights
    @torch.no_grad()
    def reset_parameters(self, seed: int | None = None) -> None:
        """Fresh initial weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as nn.Linear (gated layers as nn.LSTM).

        ``seed`` makes them reproducible; without it torch's global generator is used.
        """
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        for spec in self._program.weights:
            param = getattr(self, spec.attr)
            values = torch.empty(spec.shape, dtype=torch.float32).uniform_(-spec.bound, spec.bound,
                                                                          generator=generator)
            param.copy_(values)
        self._hold_disabled()

    @torch.no_grad()
    def _hold_disabled(self) -> None:
        for spec in self._program.weights:
            if spec.mask is not None and spec.mask_on_param:
                getattr(self, spec.attr).mul_(getattr(self, spec.mask.attr))

    def weight_specs(self) -> list[WeightSpec]:
        """What each named weight is: name, shape in files, owner (layer or connection id)."""
        return list(self._program.weights)

    def named_weights(self) -> dict[str, np.ndarray]:
        """Copies of every trainable tensor, by its name in ``weights.safetensors``.

        ``<layer>.bias``, ``<connection>.weight``, and for lstm/gru layers ``<layer>.weight_hh``
        (and ``<layer>.bias_hh`` for gru); layouts in :mod:`designer.compiler`.
        """
        out = {}
        for spec in self._program.weights:
            tensor = getattr(self, spec.attr).detach()
            if spec.window_size:
                tensor = runtime.local_weight_to_file(tensor, spec.window_size, spec.file_shape)
            # C-contiguous: safetensors writes only contiguous tensors
            out[spec.name] = tensor.to("cpu", memory_format=torch.contiguous_format, copy=True).numpy()
        return out

    @torch.no_grad()
    def load_named_weights(self, weights: Mapping[str, Any], *, allow_missing: bool = False) -> list[str]:
        """Load tensors by their file names (numpy arrays or tensors); names the module lacks are ignored.

        Checks everything before changing anything; raises :class:`CompileError` naming a missing,
        mis-shaped or non-finite tensor. With ``allow_missing`` a missing tensor keeps its fresh
        initial values instead; the names of those are returned. Disabled links are set to zero
        whatever the tensors hold.
        """
        checked = []
        missing = []
        for spec in self._program.weights:
            if spec.name not in weights and allow_missing:
                missing.append(spec.name)
                continue
            if spec.name not in weights:
                raise _weight_error(spec, f"the weights have no tensor {spec.name!r} for {spec.what()}; "
                                          f"train the design again or re-initialise it")
            value = weights[spec.name]
            tensor = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
            if tuple(tensor.shape) != tuple(spec.file_shape):
                raise _weight_error(spec, f"tensor {spec.name!r} has shape {list(tensor.shape)} but {spec.what()} "
                                          f"needs {list(spec.file_shape)}; the design changed since the weights "
                                          f"were saved: train it again")
            if not tensor.is_floating_point():
                raise _weight_error(spec, f"tensor {spec.name!r} holds {tensor.dtype}, not floating-point numbers")
            if not bool(torch.isfinite(tensor).all()):
                # a run that diverges keeps the last finite weights, so only a damaged or hand-made file gets here
                raise _weight_error(spec, f"tensor {spec.name!r} holds NaN or infinite values, which no training "
                                          f"can start from")
            checked.append((spec, tensor))
        for spec, tensor in checked:
            if spec.window_size:
                tensor = runtime.local_weight_from_file(tensor, spec.window_size, spec.shape)
            getattr(self, spec.attr).copy_(tensor)
        self._hold_disabled()
        return missing


def _weight_error(spec: WeightSpec, message: str) -> CompileError:
    problem = Problem("error", message, spec.owner if spec.owner_kind == "layer" else None,
                      spec.owner if spec.owner_kind == "connection" else None)
    return CompileError(message, [problem])


def module_class(program: Program) -> type[DesignModule]:
    """A subclass of :class:`DesignModule` whose ``forward`` and ``logits`` are the program's code."""
    filename = f"<nn-designer design {next(_counter)}>"
    code = "class Compiled(DesignModule):\n" + program.source
    # register the text so that tracebacks and debuggers show the generated lines
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    namespace: dict[str, Any] = {"torch": torch, "F": torch.nn.functional, "DesignModule": DesignModule}
    namespace.update({name: getattr(runtime, name) for name in program.helpers})
    exec(compile(code, filename, "exec"), namespace)
    cls = namespace["Compiled"]
    cls.__name__ = cls.__qualname__ = "DesignModule"
    cls.__module__ = __name__
    weakref.finalize(cls, linecache.cache.pop, filename, None)  # forget the text with the class
    return cls


def compile_graph(graph: Graph, weights: Mapping[str, Any] | None = None,
                  seed: int | None = None) -> DesignModule:
    """Compile ``graph`` into a module; load ``weights`` (file names -> arrays) if given, else initialise.

    Raises :class:`CompileError` listing every validation error (with its layer or connection id),
    or naming a missing or mis-shaped weight.
    """
    program = build_program(graph)
    module = module_class(program)(program)
    module.reset_parameters(seed)
    if weights is not None:
        module.load_named_weights(weights)
    return module

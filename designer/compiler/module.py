"""The compiled design as a ``torch.nn.Module``: its tensors, its generated forward pass, named weights."""
from __future__ import annotations

import itertools
import linecache
import math
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
            if spec.trainable:
                self.register_parameter(spec.attr, nn.Parameter(torch.empty(spec.shape)))
            else:  # batch norm's running statistics: saved with the weights, updated while training, not trained
                self.register_buffer(spec.attr, torch.empty(spec.shape))
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

    def trace(self, x: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:  # replaced by the generated code
        """Every layer's values, and each ``neurons`` layer's weighted sums, for the inputs ``x``.

        ``{"values": {layer id: tensor}, "sums": {layer id: tensor}}``, over the layers that take part.
        A value is what the layer passes on (after its activation; before dropout, which a trace in
        evaluation mode does not apply); a sum is ``sum_i w_i x_i + b`` before normalisation and
        activation. Feed-forward designs give ``[batch, units]``; sequence designs ``[batch, steps,
        units]``, with ``steps`` the time steps for layers that run at every step and 1 for layers that
        run after the last one. The same computation as ``forward``: its output is ``values[output]``.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ weights
    @torch.no_grad()
    def reset_parameters(self, seed: int | None = None) -> None:
        """Fresh initial weights, each as its connection or layer asks (see :func:`initial_values`).

        By default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as nn.Linear (gated layers as nn.LSTM);
        normalisation starts as the identity (scale 1, shift 0, running mean 0 and variance 1).
        ``seed`` makes them reproducible; without it torch's global generator is used.
        """
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        for spec in self._program.weights:
            getattr(self, spec.attr).copy_(initial_values(spec, generator))
        self._hold_disabled()

    @torch.no_grad()
    def _hold_disabled(self) -> None:
        for spec in self._program.weights:
            if spec.mask is not None and spec.mask_on_param:
                getattr(self, spec.attr).mul_(getattr(self, spec.mask.attr))

    @property
    def batch_statistics(self) -> bool:
        """Whether a layer normalises by batch statistics (batch norm), which need two samples or more per batch."""
        return any(not spec.trainable for spec in self._program.weights)

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


#: the gain of He initialisation: torch.nn.init's for ReLU
_HE_GAIN = math.sqrt(2.0)


def initial_values(spec: WeightSpec, generator: torch.Generator | None = None) -> torch.Tensor:
    """The values ``spec`` starts from, in the layout the module holds (``spec.shape``).

    ``default``: uniform in ``[-bound, bound]``. The others follow ``torch.nn.init`` on the weight
    as one neuron-by-input matrix (``fan_in`` inputs per neuron, ``fan_out`` as PyTorch counts it
    for a linear or convolution weight): ``xavier_uniform`` U(-a, a) with a = sqrt(6 / (fan_in +
    fan_out)); ``xavier_normal`` N(0, 2 / (fan_in + fan_out)); ``he_uniform`` U(-b, b) with b =
    sqrt(6 / fan_in); ``he_normal`` N(0, 2 / fan_in); ``orthogonal`` the rows (one per neuron, or
    per gate row) orthonormal; ``zeros``; ``constant`` (``init_value``).
    """
    if spec.fill is not None:
        return torch.full(spec.shape, float(spec.fill))
    if spec.init == "default":
        return torch.empty(spec.shape, dtype=torch.float32).uniform_(-spec.bound, spec.bound, generator=generator)
    values = torch.empty(spec.file_shape, dtype=torch.float32)
    fan_in, fan_out = max(spec.fan_in, 1), max(spec.fan_out, 1)
    if spec.init == "xavier_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        nn.init.uniform_(values, -bound, bound, generator=generator)
    elif spec.init == "xavier_normal":
        nn.init.normal_(values, 0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
    elif spec.init == "he_uniform":
        bound = _HE_GAIN * math.sqrt(3.0 / fan_in)
        nn.init.uniform_(values, -bound, bound, generator=generator)
    elif spec.init == "he_normal":
        nn.init.normal_(values, 0.0, _HE_GAIN / math.sqrt(fan_in), generator=generator)
    elif spec.init == "orthogonal":
        matrix = torch.empty(max(spec.rows, 1), values.numel() // max(spec.rows, 1))
        nn.init.orthogonal_(matrix, generator=generator)
        values = matrix.reshape(spec.file_shape)
    elif spec.init == "zeros":
        values.zero_()
    elif spec.init == "constant":
        values.fill_(float(spec.init_value))
    else:  # validation refuses unknown names before compiling; a program built by hand may still hold one
        raise CompileError(f"{spec.what()}: unknown initialisation {spec.init!r}")
    if spec.window_size:
        values = runtime.local_weight_from_file(values, spec.window_size, spec.shape)
    return values.reshape(spec.shape)


def _weight_error(spec: WeightSpec, message: str) -> CompileError:
    problem = Problem("error", message, spec.owner if spec.owner_kind == "layer" else None,
                      spec.owner if spec.owner_kind == "connection" else None)
    return CompileError(message, [problem])


def module_class(program: Program) -> type[DesignModule]:
    """A subclass of :class:`DesignModule` whose ``forward`` and ``logits`` are the program's code."""
    filename = f"<nn-designer design {next(_counter)}>"
    code = "class Compiled(DesignModule):\n" + program.source + "\n" + program.trace_source
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

    The module comes in evaluation mode (``module.training`` is False), as a trained model is used;
    :func:`designer.training.train` puts it in training mode while it trains.

    Raises :class:`CompileError` listing every validation error (with its layer or connection id),
    or naming a missing or mis-shaped weight.
    """
    program = build_program(graph)
    module = module_class(program)(program)
    module.reset_parameters(seed)
    if weights is not None:
        module.load_named_weights(weights)
    # ready to predict: dropout off, batch norm on its running statistics; training switches to .train()
    return module.eval()

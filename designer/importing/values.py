"""What an ONNX tensor stands for while a graph is read: a constant, a shape, zeros, or a layer's values or sums.

A graph is read node by node, and every tensor it names gets one of these values:

- :class:`Const`: a constant array (an initializer, a ``Constant`` node, or something computed from them).
- :class:`Ints`: a shape or part of one, whose entries may be symbolic (the batch size, a sequence's length):
  what ``Shape``, ``Gather``, ``Concat`` ... compute to feed a ``Reshape``.
- :class:`Zeros`: zeros of a shape that depends on the batch (the initial state of a recurrent layer).
- :class:`Tensor`: values that depend on the input: either a layer's values (an :class:`Act`, whose
  ``layer`` is a :class:`LayerDraft`) or a pending weighted sum (a :class:`Sum`: the terms, bias,
  normalisation and activation of a layer not yet made). ``axes`` says how the tensor lays out the batch,
  the time steps and the layer's units; ``time`` which step (or every step) of a sequence it holds.
- :class:`Poison`: the output of a node that could not be read; nodes that use it are skipped, so that one
  unsupported node is reported once, not once per node after it.

Sums are immutable: an operation that extends one (a bias, an activation) makes a new one, so a sum used by
two nodes cannot be changed behind the back of the other.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: the time of a value outside sequences; ``ALL`` is every step of a sequence; an ``int`` one step;
#: ``LAST`` the last step of a sequence whose length is not fixed
NO_TIME = None
ALL = "all"
LAST = "last"


@dataclass(frozen=True)
class Dim:
    """A whole number that may hold symbols: ``Dim(3)``, ``Dim(1, ("batch",))`` for the batch size,
    ``Dim(20, ("batch",))`` for 20 times it. Products and exact quotients stay in this form."""

    coef: int
    syms: tuple[str, ...] = ()

    @property
    def static(self) -> bool:
        return not self.syms

    def __mul__(self, other: "Dim") -> "Dim":
        return Dim(self.coef * other.coef, tuple(sorted(self.syms + other.syms)))

    def div(self, other: "Dim") -> "Dim | None":
        """``self / other`` when it divides exactly, else None."""
        if other.coef == 0 or self.coef % other.coef:
            return None
        rest = list(self.syms)
        for s in other.syms:
            if s not in rest:
                return None
            rest.remove(s)
        return Dim(self.coef // other.coef, tuple(rest))

    def __str__(self) -> str:
        parts = ([str(self.coef)] if self.coef != 1 or not self.syms else []) + list(self.syms)
        return "*".join(parts)


ONE = Dim(1)


def prod(dims) -> Dim:
    out = ONE
    for d in dims:
        out = out * d
    return out


@dataclass(frozen=True)
class Axis:
    """One axis of a tensor: ``kind`` is ``B`` (the batch), ``T`` (time steps), ``BT``/``TB`` (the two merged,
    in that order), ``F`` (part of a layer's units) or ``1`` (a size-1 axis that holds no data of its own)."""

    kind: str
    size: Dim

    @property
    def batchy(self) -> bool:
        return self.kind in ("B", "T", "BT", "TB")


class Value:
    """Base of what a tensor name stands for."""


@dataclass
class Const(Value):
    array: np.ndarray


@dataclass
class Ints(Value):
    """A 0-D or 1-D integer tensor whose entries may be symbolic."""

    dims: list[Dim]
    scalar: bool = False

    def static(self) -> np.ndarray | None:
        if all(d.static for d in self.dims):
            values = np.array([d.coef for d in self.dims], dtype=np.int64)
            return values.reshape(()) if self.scalar else values
        return None


@dataclass
class Zeros(Value):
    """Zeros whose shape depends on the input (a recurrent layer's initial state); ``dims`` where known."""

    dims: list[Dim] | None


@dataclass
class Poison(Value):
    """The output of a node that was refused (already reported)."""


@dataclass(eq=False)
class LayerDraft:
    """A layer of the design being made; its connections are :class:`ConnectionDraft` in ``incoming``."""

    kind: str  # input, neurons, lstm, gru
    shape: tuple[int, ...]
    stem: str  # what its id is made from
    shape_fixed: bool = False
    activation: str = "linear"
    slope: float = 0.01
    bias: np.ndarray | None = None  # [units] (neurons); [gates * units] (lstm, gru)
    bias_hh: np.ndarray | None = None  # gru
    weight_hh: np.ndarray | None = None  # lstm, gru
    norm: str = "none"
    norm_arrays: dict[str, np.ndarray] = field(default_factory=dict)  # norm_weight, norm_bias, running_*
    incoming: list["ConnectionDraft"] = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # an unrolled LSTM: the cell state's expression at each step
    time: Any = NO_TIME  # NO_TIME, ALL, LAST or "steps" (made from one instance per time step)
    steps: set = field(default_factory=set)  # the steps it was made at (a layer found in an unrolled loop)
    recurrence_known: bool = False  # an unrolled layer: its recurrent connections are known (from step 1)
    node: str = ""  # the ONNX node it came from, for messages
    id: str = ""

    @property
    def units(self) -> int:
        return math.prod(self.shape)


@dataclass(eq=False)
class ConnectionDraft:
    source: LayerDraft
    target: LayerDraft
    kind: str = "dense"  # dense or local
    window: tuple[int, ...] = ()
    stride: int = 1
    padding: str = "valid"
    shared: bool = False
    pool: str = ""
    weight: np.ndarray | None = None  # in the design's file layout
    recurrent: bool = False
    id: str = ""


@dataclass(frozen=True, eq=False)
class Term:
    """What one source adds to a pending sum: through weights (dense or local) or by pooling."""

    source: LayerDraft
    source_time: Any
    kind: str = "dense"  # dense or local
    window: tuple[int, ...] = ()
    stride: int = 1
    padding: str = "valid"
    pool: str = ""
    weight: np.ndarray | None = None  # dense [target_units, source_units]; local [out, in, *window]

    def at(self, time) -> "Term":
        return replace(self, source_time=time)

    def scaled(self, factor: float) -> "Term":
        return replace(self, weight=self.weight * np.float32(factor))


@dataclass(frozen=True, eq=False)
class Sum:
    """The weighted sum of a layer not made yet, with what comes after it (normalisation, activation)."""

    terms: tuple[Term, ...]
    units: int
    shape: tuple[int, ...]  # the layer's shape if made now
    shape_fixed: bool = False  # a grid made by a local connection
    bias: np.ndarray | None = None  # [units]
    norm: str = "none"
    norm_arrays: tuple[tuple[str, np.ndarray], ...] = ()
    activation: str | None = None
    slope: float = 0.01
    node: str = ""  # the node that made its first term, for messages and ids
    stem: str = ""  # a name for the layer (from a weight's name)


@dataclass(frozen=True, eq=False)
class Expr:
    """An elementwise computation on parts of a pending sum and on states: the inside of a gated cell (LSTM,
    GRU) that an exporter wrote out step by step. ``op`` is ``chunk`` (args: the sum, the part's index, the
    number of parts), ``sigmoid``, ``tanh``, ``add``, ``sub``, ``mul`` (args: the operands), ``zeros`` (no
    args: a zero state) or ``value`` (args: a layer and the time of its value)."""

    op: str
    args: tuple
    units: int


@dataclass(frozen=True, eq=False)
class Act:
    """A layer's values (after its activation)."""

    layer: LayerDraft


@dataclass
class Tensor(Value):
    """Values that depend on the input: a layer's values or a pending sum, laid out on ``axes``."""

    src: Any  # Act or Sum
    axes: tuple[Axis, ...]
    time: Any = NO_TIME
    pad: tuple[tuple[int, int], ...] | None = None  # explicit padding of the grid axes (a Pad node) ...
    pad_value: float = 0.0  # ... and the value it pads with

    @property
    def units(self) -> int:
        return self.src.layer.units if isinstance(self.src, Act) else self.src.units  # Sum and Expr have units

    @property
    def feature_axes(self) -> list[Axis]:
        return [a for a in self.axes if not a.batchy]

    def with_axes(self, axes, **changes) -> "Tensor":
        return Tensor(self.src, tuple(axes), changes.get("time", self.time), changes.get("pad", self.pad),
                      changes.get("pad_value", self.pad_value))

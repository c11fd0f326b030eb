"""The parts of a design: layers of neurons, connections between them and how they connect.

Plain data, as they appear in ``project.json`` (see the file spec); unknown keys read from a
file are kept in ``extra`` so that a re-save loses nothing a newer version wrote.
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

LAYER_KINDS = ("input", "neurons", "lstm", "gru")
ACTIVATIONS = ("step", "sign", "linear", "sigmoid", "hard_sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu",
               "softplus", "silu", "softmax")
CONNECTIVITY_KINDS = ("dense", "local")
PADDINGS = ("valid", "same")
#: what a local connection does with its window: a weighted sum (no ``pool`` field), or the window's max or mean
POOLS = ("max", "mean")
#: normalisation of a neurons layer's sums, before its activation
NORMS = ("none", "batch", "layer")
#: how a connection's weights (and a gated layer's recurrent weights) start; ``default`` is nn.Linear's
INITS = ("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal", "zeros", "constant")
#: the negative slope of ``leaky_relu`` when the file gives none (PyTorch's default)
DEFAULT_SLOPE = 0.01
#: the layer kinds that can drop out their values while training
DROPOUT_KINDS = ("neurons", "lstm", "gru")
#: the keys of a layer's fields that not every kind writes
_LAYER_FIELD_KEYS = ("activation", "bias", "slope", "dropout", "norm", "init", "init_value")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

#: gates per unit of the gated recurrent layers (PyTorch's order: LSTM i,f,g,o; GRU r,z,n)
GATES = {"lstm": 4, "gru": 3}


class GraphError(ValueError):
    """An operation the design cannot take (unknown id, duplicate id, malformed field).

    The message names the layer or connection and what to change.
    """


def _text(d: dict[str, Any], key: str, default: str, where: str) -> str:
    """A text field of a layer or connection as read from a file; another type is refused, not coerced."""
    value = d.get(key, default)
    if not isinstance(value, str):
        raise GraphError(f"{where}: {key!r} must be text, got {_json(value)}")
    return value


def _flag(d: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A true/false field as read from a file (``"no"`` would be true under ``bool()``: refused instead)."""
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise GraphError(f"{where}: {key!r} must be true or false, got {_json(value)}")
    return value


def _json(value: Any) -> str:
    """``value`` as the file wrote it (``null``, ``"abc"``, ``[1, 2]``), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _number(d: dict[str, Any], key: str, default: float, where: str) -> float:
    """A finite number field as read from a file; its range is checked by validation (a person can type it)."""
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GraphError(f"{where}: {key!r} must be a number, got {_json(value)}")
    return float(value)


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or len(value) > 3:
        raise GraphError(f"{where}: shape must be a list of 1 to 3 positive integers, got {_json(value)}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise GraphError(f"{where}: shape must be a list of 1 to 3 positive integers, got {_json(value)}")
        out.append(int(v))
    return tuple(out)


@dataclass
class Layer:
    """A group of neurons; ``shape`` is ``(units,)``, ``(height, width)`` or ``(channels, height, width)``."""

    id: str
    kind: str = "neurons"
    shape: tuple[int, ...] = (1,)
    activation: str = "linear"
    bias: bool = True
    label: str = ""
    position: tuple[float, float] = (0.0, 0.0)
    slope: float = DEFAULT_SLOPE  # leaky_relu's negative slope
    dropout: float = 0.0  # the probability that a value is dropped while training (neurons, lstm, gru)
    norm: str = "none"  # "batch" or "layer" normalisation of the sums, before the activation (neurons)
    init: str = "default"  # how an lstm/gru layer's recurrent weights start
    init_value: float = 0.0  # the value of init "constant"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shape = _shape(self.shape, f"layer {self.id!r}")
        self.position = (float(self.position[0]), float(self.position[1]))

    @property
    def units(self) -> int:
        return math.prod(self.shape)

    @property
    def name(self) -> str:
        """What the user calls it: the label, or the id."""
        return self.label or self.id

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.extra)
        if self.kind in LAYER_KINDS:
            # read from a newer kind and then changed to a known one: its fields are this kind's now, written
            # below only where they apply (a leftover "dropout" must not come back over the field's value)
            for key in _LAYER_FIELD_KEYS:
                d.pop(key, None)
        d["id"] = self.id
        d["kind"] = self.kind
        d["shape"] = list(self.shape)
        if self.kind == "neurons":
            d["activation"] = self.activation
            if self.activation == "leaky_relu":
                d["slope"] = self.slope
            d["bias"] = self.bias
            if self.norm != "none":
                d["norm"] = self.norm
        elif self.kind in GATES:
            d["bias"] = self.bias
            if self.init != "default":
                d["init"] = self.init
                if self.init == "constant":
                    d["init_value"] = self.init_value
        if self.kind in DROPOUT_KINDS and self.dropout:
            d["dropout"] = self.dropout
        if self.label:
            d["label"] = self.label
        d["position"] = [self.position[0], self.position[1]]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Layer":
        if not isinstance(d, dict):
            raise GraphError(f"a layer must be a JSON object, got {d!r}")
        known = {"id", "kind", "shape", "activation", "bias", "label", "position", "slope", "dropout", "norm",
                 "init", "init_value"}
        if d.get("kind", "neurons") not in LAYER_KINDS:
            # A kind from a newer version: to_dict writes these only for the kinds it knows, so keep them
            # as read to lose nothing on a re-save.
            known = {"id", "kind", "shape", "label", "position"}
        if "id" not in d:
            raise GraphError(f"a layer has no 'id': {d!r}")
        if not isinstance(d["id"], str):
            raise GraphError(f"a layer's 'id' must be text, got {_json(d['id'])}")
        where = f"layer {d['id']!r}"
        position = d.get("position", (0, 0))
        if not (isinstance(position, (list, tuple)) and len(position) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                        for v in position)):
            raise GraphError(f"{where}: position must be [x, y], got {_json(position)}")
        return cls(
            id=d["id"],
            kind=_text(d, "kind", "neurons", where),
            shape=d.get("shape", [1]),
            activation=_text(d, "activation", "linear", where) if "activation" in known else "linear",
            bias=_flag(d, "bias", True, where) if "bias" in known else True,
            label=_text(d, "label", "", where),
            position=tuple(position),
            slope=_number(d, "slope", DEFAULT_SLOPE, where) if "slope" in known else DEFAULT_SLOPE,
            dropout=_number(d, "dropout", 0.0, where) if "dropout" in known else 0.0,
            norm=_text(d, "norm", "none", where) if "norm" in known else "none",
            init=_text(d, "init", "default", where) if "init" in known else "default",
            init_value=_number(d, "init_value", 0.0, where) if "init_value" in known else 0.0,
            extra={k: copy.deepcopy(v) for k, v in d.items() if k not in known},
        )


def _window(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise GraphError(f"window must be a whole number or a list of whole numbers, got {_json(value)}")


@dataclass
class Connectivity:
    """How a connection's source neurons reach its target neurons."""

    kind: str = "dense"
    window: tuple[int, ...] = (3,)
    stride: int = 1
    padding: str = "valid"
    shared: bool = False
    pool: str = ""  # "max" or "mean": the window's maximum or mean, no weights; "" a weighted sum
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.window = _window(self.window)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def is_pool(self) -> bool:
        """A local connection that pools its window (max or mean) instead of weighing it."""
        return self.kind == "local" and bool(self.pool)

    def window_for(self, spatial_dims: int) -> tuple[int, ...]:
        """The window over ``spatial_dims`` grid dimensions: ``3`` means ``(3, 3)`` on a 2-D grid."""
        if len(self.window) == spatial_dims:
            return self.window
        if len(self.window) == 1:
            return self.window * spatial_dims
        # One axis given per dimension is required; a mismatch is reported by validation.
        return self.window

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.extra)
        if self.kind in CONNECTIVITY_KINDS:  # as for layers: a newer kind's leftovers give way to the fields
            for key in ("window", "stride", "padding", "shared", "pool"):
                d.pop(key, None)
        d["kind"] = self.kind
        if self.kind == "local":
            d["window"] = self.window[0] if len(self.window) == 1 else list(self.window)
            d["stride"] = self.stride
            d["padding"] = self.padding
            if self.pool:
                d["pool"] = self.pool
            else:
                d["shared"] = self.shared
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "connection") -> "Connectivity":
        """Read a ``connectivity`` object; ``where`` ("connection 'x-h'") starts every message."""
        if not isinstance(d, dict):
            raise GraphError(f"{where}: connectivity must be a JSON object, got {_json(d)}")
        kind = _text(d, "kind", "dense", f"{where}: connectivity")
        if kind not in CONNECTIVITY_KINDS:
            # A kind from a newer version: keep its fields as read, to_dict writes them for 'local' only.
            return cls(kind=kind, extra={k: copy.deepcopy(v) for k, v in d.items() if k != "kind"})
        known = {"kind", "window", "stride", "padding", "shared", "pool"}
        stride = d.get("stride", 1)
        if isinstance(stride, bool) or not isinstance(stride, int):
            raise GraphError(f"{where}: stride must be a whole number, got {_json(stride)}")
        try:
            window = _window(d.get("window", 3))
        except GraphError as exc:
            raise GraphError(f"{where}: {exc}") from None
        return cls(
            kind=kind,
            window=window,
            stride=stride,
            padding=_text(d, "padding", "valid", f"{where}: connectivity"),
            shared=_flag(d, "shared", False, f"{where}: connectivity"),
            pool=_text(d, "pool", "", f"{where}: connectivity"),
            extra={k: copy.deepcopy(v) for k, v in d.items() if k not in known},
        )


@dataclass
class Connection:
    """The bundle of weights from ``source``'s neurons to the ``target`` neurons they reach.

    ``disabled`` holds ``(target_index, source_index)`` pairs of single links switched off
    (flat indices over the layers' shapes); their weights are held at zero.
    """

    id: str
    source: str
    target: str
    connectivity: Connectivity = field(default_factory=Connectivity)
    disabled: list[tuple[int, int]] = field(default_factory=list)
    init: str = "default"  # how the weights start: one of INITS
    init_value: float = 0.0  # the value of init "constant"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.extra)
        d["id"] = self.id
        d["source"] = self.source
        d["target"] = self.target
        d["connectivity"] = self.connectivity.to_dict()
        if self.disabled:
            d["disabled"] = [[t, s] for t, s in sorted(self.disabled)]
        if self.init != "default":
            d["init"] = self.init
            if self.init == "constant":
                d["init_value"] = self.init_value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Connection":
        if not isinstance(d, dict):
            raise GraphError(f"a connection must be a JSON object, got {d!r}")
        for key in ("id", "source", "target"):
            if key not in d:
                raise GraphError(f"a connection has no {key!r}: {d!r}")
        if not isinstance(d["id"], str):
            raise GraphError(f"a connection's 'id' must be text, got {_json(d['id'])}")
        where = f"connection {d['id']!r}"
        for key in ("source", "target"):
            if not isinstance(d[key], str):
                raise GraphError(f"{where}: {key!r} must be a layer id, got {_json(d[key])}")
        disabled = d.get("disabled", [])
        pairs: list[tuple[int, int]] = []
        if not isinstance(disabled, list):
            raise GraphError(f"{where}: 'disabled' must be a list of [target, source] pairs, got {_json(disabled)}")
        for pair in disabled:
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
                raise GraphError(f"{where}: 'disabled' must be a list of [target, source] pairs, got {_json(pair)}")
            pairs.append((int(pair[0]), int(pair[1])))
        known = {"id", "source", "target", "connectivity", "disabled", "init", "init_value"}
        return cls(
            id=d["id"],
            source=d["source"],
            target=d["target"],
            connectivity=Connectivity.from_dict(d.get("connectivity", {"kind": "dense"}), where),
            disabled=pairs,
            init=_text(d, "init", "default", where),
            init_value=_number(d, "init_value", 0.0, where),
            extra={k: copy.deepcopy(v) for k, v in d.items() if k not in known},
        )

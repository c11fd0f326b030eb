"""From ONNX nodes to layer and connection drafts, by what each node computes.

The graph is read once, node by node in its (topological) order, keeping for every tensor what it stands
for (:mod:`designer.importing.values`). Linear operators (``Gemm``, ``MatMul``, ``Conv``, pooling) make
*pending sums*; adding a bias or another sum, normalising and applying an activation extend them; anything
that needs a layer's values (the next weighted operator, the graph's output) turns a pending sum into a
layer. So ``Gemm -> BatchNormalization -> Relu`` becomes one layer with batch norm and ReLU, whether the
exporter wrote a ``Gemm``, a ``MatMul`` and an ``Add``, or folded the bias into a ``Conv``; names play no
part.

Sequences: a design with a recurrent connection or an ``lstm``/``gru`` layer runs over ``[batch, time,
features]`` and outputs the last step. ``RNN``/``LSTM``/``GRU`` operators become those layers. A time loop
that the exporter unrolled (one copy of the cell per step, as ``torch.onnx.export(dynamo=True)`` writes
``nn.RNN`` and NN Designer's own export writes a recurrent connection) is folded back: the sums made at
step ``t`` that match the layer made at step ``t - 1`` (same function, same weights, the same sources at
``t`` and, recurrently, at ``t - 1``) are that layer again. An LSTM or GRU cell written out in elementary
operators (a sum split into gates, then ``Sigmoid``, ``Tanh``, ``Mul``, ``Add``, as NN Designer's own export
writes ``lstm`` and ``gru`` layers) is followed as an expression (:class:`~designer.importing.values.Expr`)
and recognised as PyTorch's cell when its output is used, then folded over the steps the same way.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from .errors import NeedsTime, Unsupported
from .nodes import FUSED, Node
from .values import (ALL, LAST, NO_TIME, ONE, Act, Axis, ConnectionDraft, Const, Dim, Expr, Ints, LayerDraft,
                     Poison, Sum, Tensor, Term, Value, Zeros, prod)

BATCH = "batch"
TIME = "time"
#: constants computed while reading may hold at most this many values (a ConstantOfShape of a huge shape ...)
MAX_CONSTANT_VALUES = 200_000_000
#: the activations ONNX has as operators, as the design calls them
SIMPLE_ACTIVATIONS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softplus": "softplus", "Gelu": "gelu",
                      "Elu": "elu", "LeakyRelu": "leaky_relu", "HardSigmoid": "hard_sigmoid", "Softmax": "softmax"}
#: ONNX operators with no counterpart, and what the design has instead
NO_COUNTERPART = {
    "LogSoftmax": "the design's output can be softmax (a layer's activation), not its logarithm: export the model "
                  "with softmax, or with no activation on its output (training applies cross-entropy to the sums)",
    "Selu": "no activation of the design computes SELU; elu is the closest",
    "Celu": "no activation of the design computes CELU; elu is the closest",
    "Mish": "no activation of the design computes Mish; silu is the closest",
    "HardSwish": "no activation of the design computes hard swish; silu is the closest",
    "PRelu": "the design's leaky_relu has one fixed slope, not a learned one per channel (PReLU)",
    "ThresholdedRelu": "no activation of the design computes a thresholded ReLU",
    "Softsign": "no activation of the design computes softsign; tanh is the closest",
    "Clip": "the design has no clipping activation (ReLU6, hardtanh); relu or tanh are the closest",
    "ReduceMean": "a mean over a tensor's axes: layer normalisation written out in elementary operators (an export "
                  "with opset below 17) or global pooling by hand; export with opset_version=17 or later",
    "ConvTranspose": "the design's local connections shrink or keep a grid; it has no transposed convolution",
    "Resize": "the design does not resize grids (upsampling)",
    "Upsample": "the design does not resize grids (upsampling)",
    "Attention": "the design has no attention",
    "Einsum": "the design has no general tensor products",
    "TopK": "the design has no sorting or selection",
    "ArgMax": "the design's output is the layer's values; the class is chosen outside the model",
    "NonZero": "the design has no data-dependent shapes",
    "Loop": "the design runs a fixed network per time step; a loop in the graph cannot be read (export with the "
            "loop unrolled, or as an RNN/LSTM/GRU operator)",
    "Scan": "the design runs a fixed network per time step; a scan in the graph cannot be read",
    "If": "the design computes the same network for every input; it has no branches",
}


def stem_of(name: str) -> str:
    """A layer name made from a weight's or a node's name: ``fc.weight`` -> ``fc``, ``/rnn/LSTM`` -> ``rnn``,
    ``h_bias`` -> ``h`` (NN Designer's export); ``""`` for names that say nothing (``val_13``, ``onnx::Gemm_12``)."""
    if not name or "::" in name:
        return ""
    if name.startswith("/"):  # TorchScript node names: /encoder/fc/Gemm
        parts = [p for p in name.split("/") if p]
        if len(parts) < 2:
            return ""
        stem = ".".join(parts[:-1])
    else:
        # "_weight" is left out: NN Designer's own export names a connection's weights "<source>_<target>_weight"
        for suffix in (".weight", ".bias", "_bias"):
            if name.endswith(suffix) and len(name) > len(suffix):
                stem = name[: -len(suffix)]
                break
        else:
            return ""
        if stem.startswith(("val_", "node_")) or "::" in stem:
            return ""
    stem = "".join(ch if ch.isalnum() and ch.isascii() or ch in "_.-" else "_" for ch in stem)
    return stem[-40:].strip("._-")


def _float32(value: float) -> float:
    """A float32 attribute as the shortest decimal that reads back to it (0.30000001192092896 -> 0.3)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


class Mapper:
    """Reads a graph's nodes into :class:`LayerDraft` s; errors collect in ``problems``, one line per node."""

    def __init__(self, *, opset: int, input_name: str, input_dims: list, sequence: bool, static_batch: int | None,
                 constant: Callable[[str], np.ndarray | None], initializer_names: set[str]) -> None:
        self.opset = opset
        self.sequence = sequence
        #: reading as feed-forward an input that could be [batch, time, features]: time-like steps restart as sequence
        self.may_be_sequence = not sequence and len(input_dims) >= 3
        self.constant_of = constant
        self.initializer_names = initializer_names
        self.values: dict[str, Value] = {}
        self.problems: list[str] = []
        self.drafts: list[LayerDraft] = []
        self.materialised: dict[tuple[int, Any], LayerDraft] = {}  # by id() of a sum or cell and its time ...
        self._alive: list[Any] = []  # ... kept alive here, so that no id() is reused while reading
        self.dropouts = 0
        self.users: dict[str, list[Node]] = {}
        batch = Dim(static_batch) if static_batch is not None else Dim(1, (BATCH,))
        self.batch = batch
        dims = list(input_dims)
        if sequence:
            time = dims[1]
            self.steps: int | None = time if isinstance(time, int) else None
            time_dim = Dim(time) if isinstance(time, int) else Dim(1, (TIME,))
            features = dims[2:]
            axes = [Axis("B", batch), Axis("T", time_dim)]
            time_of_input = ALL
        else:
            self.steps = None
            features = dims[1:]
            axes = [Axis("B", batch)]
            time_of_input = NO_TIME
        axes += [_feature(n) for n in features]
        shape = tuple(features) or (1,)
        stem = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.-") else "_" for ch in input_name)[:40]
        self.input = LayerDraft("input", shape, stem.strip("._-") or "x", node=input_name)
        self.drafts.append(self.input)
        self.values[input_name] = Tensor(Act(self.input), tuple(axes), time_of_input)

    # ================================================================== reading
    def run(self, nodes: list[Node], output: str) -> Tensor | None:
        for node in nodes:
            for name in node.inputs:
                if name:
                    self.users.setdefault(name, []).append(node)
        for node in nodes:
            inputs = [self.values.get(name) if name else None for name in node.inputs]
            if any(isinstance(v, Poison) for v in inputs):
                self._poison(node)
                continue
            missing = [name for name, v in zip(node.inputs, inputs) if name and v is None]
            if missing:
                self._refuse(node, f"uses {missing[0]!r}, which no node, input or initializer defines (a damaged "
                                   f"file, or nodes out of order)")
                continue
            try:
                results = self._dispatch(node)
            except NeedsTime:
                raise
            except Unsupported as exc:
                self._refuse(node, str(exc))
                continue
            except (ValueError, IndexError, KeyError, TypeError) as exc:  # attributes or tensors that do not fit
                self._refuse(node, f"cannot be read: its inputs or attributes do not fit together "
                                   f"({type(exc).__name__}: {str(exc)[:160]})")
                continue
            for name, value in zip(node.outputs, results):
                if name:
                    self.values[name] = value
            for name in node.outputs[len(results):]:
                if name:
                    self.values[name] = Poison()
        value = self.values.get(output)
        if isinstance(value, Poison) or value is None:
            return None
        if not isinstance(value, Tensor):
            self.problems.append(f"the output {output!r} does not depend on the input (a constant); a design "
                                 f"computes its output from its input")
            return None
        return value

    def _refuse(self, node: Node, why: str) -> None:
        self.problems.append(f"{node.label}: {why}")
        self._poison(node)

    def _poison(self, node: Node) -> None:
        for name in node.outputs:
            if name:
                self.values[name] = Poison()

    @staticmethod
    def _zeros_const(value: Value | None) -> Value | None:
        """A constant of zeros (an initial state whose shape the exporter fixed) read as :class:`Zeros`."""
        if isinstance(value, Const) and value.array.dtype.kind == "f" and value.array.ndim >= 2 \
                and not np.any(value.array):
            return Zeros([Dim(int(n)) for n in value.array.shape])
        return value

    def _dispatch(self, node: Node) -> list[Value]:
        if node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"an operator of the domain {node.domain!r}, which the designer does not know (only "
                              f"the standard ONNX operators can be read)")
        if node.subgraphs:
            raise Unsupported(NO_COUNTERPART.get(node.op, "holds a subgraph; the design computes one fixed network"))
        inputs = [self.values.get(name) if name else None for name in node.inputs]
        handler = getattr(self, f"op_{node.op}", None)
        present = [v for v in inputs if v is not None]
        if present and all(isinstance(v, Const) for v in present) and node.op != FUSED:
            folded = self._fold(node, [v.array if v is not None else None for v in inputs])
            if folded is not None:
                return [Const(a) for a in folded]
        if handler is None:
            if node.op in NO_COUNTERPART:
                raise Unsupported(NO_COUNTERPART[node.op])
            raise Unsupported(f"the designer has no counterpart for {node.op} (see docs/command.md, 'What import "
                              f"reads', for the operators it maps)")
        return handler(node, inputs)

    # ================================================================== helpers
    def _const(self, value: Value | None, what: str) -> np.ndarray:
        if isinstance(value, Const):
            return value.array
        if isinstance(value, Ints):
            static = value.static()
            if static is not None:
                return static
        raise Unsupported(f"its {what} must be a constant (it depends on the input)")

    def _ints(self, value: Value | None, what: str) -> list[int]:
        array = self._const(value, what)
        if array.dtype.kind not in "iu":
            raise Unsupported(f"its {what} must be whole numbers")
        return [int(v) for v in array.reshape(-1)]

    def _tensor(self, value: Value | None, what: str = "input") -> Tensor:
        if isinstance(value, Tensor):
            return value
        raise Unsupported(f"its {what} does not depend on the model's input (a constant), which the designer "
                          f"cannot compute with")

    def _plain(self, tensor: Tensor) -> Tensor:
        if tensor.pad is not None:
            raise Unsupported("it uses a padded grid (a Pad node) for something other than a convolution or "
                              "pooling, which the designer cannot express")
        return tensor

    def _act(self, tensor: Tensor) -> Tensor:
        """``tensor`` as a layer's values: a pending sum becomes a layer."""
        if isinstance(tensor.src, Act):
            return tensor
        if isinstance(tensor.src, Expr):
            layer = self._gated_cell(tensor)
        else:
            layer = self.materialise(tensor.src)
        return Tensor(Act(layer), tensor.axes, tensor.time, tensor.pad, tensor.pad_value)

    def _axis(self, axis: int, rank: int) -> int:
        if not -rank <= axis < rank:
            raise Unsupported(f"axis {axis} is outside a tensor of {rank} dimensions")
        return axis % rank

    def _no_more_outputs(self, node: Node, keep: int, why: str) -> None:
        for name in node.outputs[keep:]:
            if name and self.users.get(name):
                raise Unsupported(why)

    # ================================================================== constants
    def _fold(self, node: Node, arrays: list[np.ndarray | None]) -> list[np.ndarray] | None:
        """The outputs of ``node`` computed with numpy when its inputs are constants; None where not supported."""
        folder = _CONSTANT_OPS.get(node.op)
        if folder is None:
            return None
        try:
            out = folder(arrays, node.attrs, self.opset)
        except Unsupported:
            raise
        except Exception as exc:  # numpy refusing shapes that do not fit: the file is wrong
            raise Unsupported(f"its constant inputs do not fit together ({exc})") from None
        for array in out:
            if array.size > MAX_CONSTANT_VALUES:
                raise Unsupported(f"computes a constant of {array.size:,} values, more than a design may hold")
        return out

    def op_Constant(self, node: Node, inputs) -> list[Value]:
        from onnx import numpy_helper

        attrs = node.attrs
        if "value" in attrs:
            tensor = attrs["value"]
            if tensor.data_location == 1:
                raise Unsupported("a Constant stored as external data")
            count = math.prod(tensor.dims)
            if count > MAX_CONSTANT_VALUES:
                raise Unsupported(f"declares {count:,} values, more than a design may hold")
            return [Const(numpy_helper.to_array(tensor))]
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                           ("value_ints", np.int64)):
            if key in attrs:
                return [Const(np.array(attrs[key], dtype=dtype))]
        raise Unsupported("a constant the designer cannot read (sparse or text)")

    def op_Shape(self, node: Node, inputs) -> list[Value]:
        value = inputs[0]
        if isinstance(value, Zeros) and value.dims is not None:
            dims = list(value.dims)
        elif isinstance(value, Tensor):
            dims = [a.size for a in value.axes]
        else:
            raise Unsupported("the shape of a value whose shape is not known")
        rank = len(dims)
        start = node.attrs.get("start", 0)
        end = node.attrs.get("end", rank)
        start, end = (min(max(v + rank if v < 0 else v, 0), rank) for v in (start, end))
        return [self._ints_value(dims[start:end])]

    def _ints_value(self, dims: list[Dim], scalar: bool = False) -> Value:
        ints = Ints(dims, scalar)
        static = ints.static()
        return Const(static) if static is not None else ints

    def _as_ints(self, value: Value | None) -> Ints | None:
        if isinstance(value, Ints):
            return value
        if isinstance(value, Const) and value.array.dtype.kind in "iu" and value.array.ndim <= 1:
            return Ints([Dim(int(v)) for v in value.array.reshape(-1)], value.array.ndim == 0)
        return None

    def op_Size(self, node: Node, inputs) -> list[Value]:
        tensor = self._tensor(inputs[0])
        return [self._ints_value([prod(a.size for a in tensor.axes)], scalar=True)]

    def op_ConstantOfShape(self, node: Node, inputs) -> list[Value]:
        shape = self._as_ints(inputs[0])
        if shape is None:
            raise Unsupported("its shape is not whole numbers")
        fill = node.attrs.get("value")
        from onnx import numpy_helper

        value = numpy_helper.to_array(fill).reshape(-1) if fill is not None else np.zeros(1, np.float32)
        if float(value[0]) != 0.0:
            raise Unsupported("fills a tensor whose shape depends on the batch with a value other than zero")
        return [Zeros(list(shape.dims))]

    def op_Expand(self, node: Node, inputs) -> list[Value]:
        data, shape = inputs
        ints = self._as_ints(shape)
        if isinstance(data, Const) and ints is not None and not np.any(data.array):
            return [Zeros(list(ints.dims))]
        if isinstance(data, Zeros) and ints is not None:
            return [Zeros(list(ints.dims))]
        raise Unsupported("repeats values over new axes (broadcasting a layer's values), which a design cannot "
                          "express")

    # ------------------------------------------------------------------ ops on shapes (Ints)
    def _shape_op(self, node: Node, inputs) -> list[Value] | None:
        """Gather, Slice, Concat, Unsqueeze, Squeeze, arithmetic ... on shapes holding symbols; None if not one."""
        op = node.op
        if op in ("Concat", "Mul", "Div", "Add", "Sub"):
            if not any(isinstance(v, Ints) for v in inputs) or any(isinstance(v, (Tensor, Zeros)) for v in inputs):
                return None
        elif not isinstance(inputs[0], Ints):
            return None
        if op in ("Cast", "Identity"):
            return [inputs[0]]
        if op == "Gather":
            data = inputs[0]
            if not isinstance(data, Ints) or data.scalar:
                raise Unsupported("gathers from a shape in a way the designer does not follow")
            indices = self._const(inputs[1], "indices")
            picked = [data.dims[int(i)] for i in indices.reshape(-1)]
            return [self._ints_value(picked, scalar=indices.ndim == 0)]
        if op == "Slice":
            data = inputs[0]
            starts = self._ints(inputs[1], "starts")
            ends = self._ints(inputs[2], "ends")
            steps = self._ints(inputs[4], "steps") if len(inputs) > 4 and inputs[4] is not None else [1]
            n = len(data.dims)
            start, end, step = starts[0], ends[0], steps[0]
            return [self._ints_value(data.dims[slice(*slice(start, end, step).indices(n))])]
        if op == "Concat":
            dims: list[Dim] = []
            for value in inputs:
                ints = self._as_ints(value)
                if ints is None:
                    raise Unsupported("joins a shape with something that is not one")
                dims += ints.dims
            return [self._ints_value(dims)]
        if op == "Unsqueeze":
            data = inputs[0]
            return [self._ints_value(list(data.dims), scalar=False)]
        if op == "Squeeze":
            data = inputs[0]
            if len(data.dims) != 1:
                raise Unsupported("squeezes a shape of several entries")
            return [self._ints_value(list(data.dims), scalar=True)]
        if op == "Reshape":
            data = inputs[0]
            return [self._ints_value(list(data.dims), scalar=False)]
        if op == "ReduceProd":
            data = inputs[0]
            return [self._ints_value([prod(data.dims)], scalar=not node.attrs.get("keepdims", 1))]
        if op in ("Mul", "Div", "Add", "Sub"):
            a, b = (self._as_ints(v) for v in inputs)
            if a is None or b is None:
                raise Unsupported("computes with a shape and something that is not one")
            if len(a.dims) == 1 and len(b.dims) > 1:
                a = Ints(a.dims * len(b.dims), a.scalar)
            if len(b.dims) == 1 and len(a.dims) > 1:
                b = Ints(b.dims * len(a.dims), b.scalar)
            if len(a.dims) != len(b.dims):
                raise Unsupported("computes with shapes of different lengths")
            out = []
            for x, y in zip(a.dims, b.dims):
                if op == "Mul":
                    out.append(x * y)
                elif op == "Div":
                    q = x.div(y)
                    if q is None:
                        raise Unsupported(f"divides the size {x} by {y}, which does not divide it")
                    out.append(q)
                elif x.static and y.static:
                    out.append(Dim(x.coef + y.coef if op == "Add" else x.coef - y.coef))
                elif y == Dim(0):
                    out.append(x)
                else:
                    raise Unsupported("adds to a size that depends on the batch")
            return [self._ints_value(out, scalar=a.scalar and b.scalar)]
        raise Unsupported(f"computes {op} on a shape that depends on the batch, which the designer does not follow")

    # ================================================================== layouts
    def op_Identity(self, node: Node, inputs) -> list[Value]:
        return [inputs[0]]

    def op_Cast(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        if isinstance(inputs[0], Tensor) and node.attrs.get("to") not in (1, 10, 11, 16):
            raise Unsupported("turns a layer's values into whole numbers or booleans")
        return [inputs[0]]

    def op_Dropout(self, node: Node, inputs) -> list[Value]:
        if len(inputs) > 2 and inputs[2] is not None:
            training = self._const(inputs[2], "training_mode")
            if bool(training.reshape(-1)[0]):
                raise Unsupported("drops values at inference (training_mode set); export the model in eval mode")
        self._no_more_outputs(node, 1, "uses the dropout mask, which a design does not expose")
        self.dropouts += 1
        return [inputs[0]]

    def op_Reshape(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        value = inputs[0]
        target = self._as_ints(inputs[1])
        if target is None:
            raise Unsupported("its target shape is not known while reading (it depends on the data)")
        if isinstance(value, Zeros):
            return [Zeros(None)]
        tensor = self._plain(self._tensor(value))
        return [self._reshape(tensor, list(target.dims), allow_zero=bool(node.attrs.get("allowzero", 0)))]

    def op_Flatten(self, node: Node, inputs) -> list[Value]:
        tensor = self._plain(self._tensor(inputs[0]))
        rank = len(tensor.axes)
        axis = node.attrs.get("axis", 1)
        axis = axis + rank if axis < 0 else axis
        before = prod(a.size for a in tensor.axes[:axis])
        after = prod(a.size for a in tensor.axes[axis:])
        return [self._reshape(tensor, [before, after], allow_zero=True)]

    def _reshape(self, tensor: Tensor, target: list[Dim], allow_zero: bool) -> Tensor:
        """``tensor`` viewed with the ``target`` shape: refused if that would move values (a permutation), or
        mix the batch or time steps with the layer's units."""
        sizes = [a.size for a in tensor.axes]
        total = prod(sizes)
        dims = []
        for i, d in enumerate(target):
            if d == Dim(0) and not allow_zero:
                if i >= len(sizes):
                    raise Unsupported("its target shape copies a dimension the input does not have")
                d = sizes[i]
            dims.append(d)
        unknown = [i for i, d in enumerate(dims) if d == Dim(-1)]
        if len(unknown) > 1:
            raise Unsupported("its target shape has two -1 entries")
        if unknown:
            known = prod(d for i, d in enumerate(dims) if i != unknown[0])
            inferred = total.div(known)
            if inferred is None:
                raise Unsupported(f"cannot infer its -1 entry: {total} values do not divide by {known}")
            dims[unknown[0]] = inferred
        if prod(dims) != total:
            raise Unsupported(f"views {total} values as {' x '.join(map(str, dims))}, which does not hold them")
        # the data in order: batch and time (in the order the axes hold them), then the units
        atoms: list[tuple[str, Dim]] = []
        for axis in tensor.axes:
            if axis.kind in ("B", "T"):
                atoms.append((axis.kind, axis.size))
            elif axis.kind in ("BT", "TB"):
                b = self.batch
                t = axis.size.div(b)
                atoms += [("B", b), ("T", t)] if axis.kind == "BT" else [("T", t), ("B", b)]
            elif axis.kind == "F":
                if atoms and atoms[-1][0] == "F":
                    atoms[-1] = ("F", atoms[-1][1] * axis.size)
                else:
                    atoms.append(("F", axis.size))
        axes: list[Axis] = []
        k = 0
        remaining: Dim | None = None  # of the feature atom being split
        for d in dims:
            if d == ONE:
                if k < len(atoms) and atoms[k][0] != "F" and atoms[k][1] == ONE:  # a batch (or time) of one
                    axes.append(Axis(atoms[k][0], ONE))
                    k += 1
                else:
                    axes.append(Axis("1", ONE))
                continue
            if k < len(atoms) and atoms[k][0] == "F":
                left = remaining if remaining is not None else atoms[k][1]
                if not d.static:
                    raise Unsupported("mixes the batch or the time steps into a layer's units")
                rest = left.div(d)
                if rest is None:
                    raise Unsupported(f"splits {left} units into {d}, which does not divide them")
                axes.append(Axis("F", d))
                remaining = rest
                if rest == ONE:
                    k += 1
                    remaining = None
                continue
            group = []
            size = ONE
            while k < len(atoms) and atoms[k][0] != "F" and size != d:
                group.append(atoms[k][0])
                size = size * atoms[k][1]
                k += 1
            if size != d or not group:
                if self.may_be_sequence:
                    raise NeedsTime()
                raise Unsupported("mixes the batch or the time steps into a layer's units (a reshape that moves "
                                  "values between samples)")
            axes.append(Axis("".join(group), d))
        if k != len(atoms) or remaining is not None:
            raise Unsupported("does not keep the batch, time steps and units apart")
        return tensor.with_axes(self._check_axes(axes))

    def _check_axes(self, axes: list[Axis]) -> list[Axis]:
        seen_feature = False
        for axis in axes:
            if axis.kind == "F":
                seen_feature = True
            elif axis.batchy and seen_feature:
                if self.may_be_sequence:
                    raise NeedsTime()
                raise Unsupported("moves the batch or the time steps behind a layer's units")
        return axes

    def op_Transpose(self, node: Node, inputs) -> list[Value]:
        value = inputs[0]
        if isinstance(value, Zeros):
            return [Zeros(None)]
        tensor = self._plain(self._tensor(value))
        rank = len(tensor.axes)
        perm = node.attrs.get("perm", list(range(rank))[::-1])
        if sorted(perm) != list(range(rank)):
            raise Unsupported(f"its permutation {perm} does not fit a tensor of {rank} dimensions")
        axes = [tensor.axes[p] for p in perm]
        features = [p for p in perm if tensor.axes[p].kind == "F"]
        if features != sorted(features):
            if self.may_be_sequence and any(tensor.axes[p].kind == "F" for p in perm[:1]):
                raise NeedsTime()
            raise Unsupported(f"permutes a layer's values (perm {perm}, channels moved?): the design keeps a layer's "
                              f"units in order (channel, row, column)")
        return [tensor.with_axes(self._check_axes(axes))]

    def op_Squeeze(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        value = inputs[0]
        if len(inputs) > 1 and inputs[1] is not None:
            axes = self._ints(inputs[1], "axes")
        else:
            axes = node.attrs.get("axes")
        if isinstance(value, Zeros):
            if value.dims is None or axes is None:
                return [Zeros(None)]
            drop = {self._axis(a, len(value.dims)) for a in axes}
            return [Zeros([d for i, d in enumerate(value.dims) if i not in drop])]
        tensor = self._tensor(value)
        rank = len(tensor.axes)
        if axes is None:
            axes = [i for i, a in enumerate(tensor.axes) if a.size == ONE and not a.batchy]
        axes = {self._axis(a, rank) for a in axes}
        for a in axes:
            if tensor.axes[a].kind != "1":
                raise Unsupported(f"squeezes axis {a}, which is not of size 1")
        return [tensor.with_axes([x for i, x in enumerate(tensor.axes) if i not in axes])]

    def op_Unsqueeze(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        value = inputs[0]
        if len(inputs) > 1 and inputs[1] is not None:
            where = self._ints(inputs[1], "axes")
        else:
            where = node.attrs.get("axes", [])
        if isinstance(value, Zeros):
            if value.dims is None:
                return [Zeros(None)]
            dims = list(value.dims)
            rank = len(dims) + len(where)
            for a in sorted(self._axis(a, rank) for a in where):
                dims.insert(a, ONE)
            return [Zeros(dims)]
        tensor = self._tensor(value)
        axes = list(tensor.axes)
        rank = len(axes) + len(where)
        for a in sorted(self._axis(a, rank) for a in where):
            axes.insert(a, Axis("1", ONE))
        return [tensor.with_axes(axes)]

    # ------------------------------------------------------------------ time steps
    def _time_axis(self, tensor: Tensor, axis: int, op: str) -> str:
        """What axis ``axis`` of ``tensor`` is to an op that takes part of it: 'time', 'one' (size 1)."""
        kind = tensor.axes[axis].kind
        if kind == "T":
            return "time"
        if kind == "1":
            return "one"
        if kind == "F":
            if self.may_be_sequence:
                raise NeedsTime()
            raise Unsupported(f"takes part of a layer's units ({op} on axis {axis}); a connection always reads "
                              f"a whole layer")
        raise Unsupported(f"takes part of the batch ({op} on axis {axis})")

    def _step(self, index: int) -> int | str:
        if self.steps is None:
            if index == -1:
                return LAST
            raise Unsupported(f"takes step {index} of sequences whose length is not fixed")
        step = index + self.steps if index < 0 else index
        if not 0 <= step < self.steps:
            raise Unsupported(f"takes step {index} of sequences of {self.steps} steps")
        return step

    def _at_step(self, tensor: Tensor, step, axis: int, keep_axis: bool) -> Tensor:
        if tensor.time != ALL:
            raise Unsupported("takes one time step of a value that holds one step already")
        src = tensor.src
        if isinstance(src, Sum):
            src = replace(src, terms=tuple(t.at(step) for t in src.terms))
        axes = list(tensor.axes)
        if keep_axis:
            axes[axis] = Axis("1", ONE)
        else:
            del axes[axis]
        return Tensor(src, tuple(axes), step)

    def op_Gather(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        tensor = self._plain(self._tensor(inputs[0]))
        indices = self._const(inputs[1], "indices")
        axis = self._axis(node.attrs.get("axis", 0), len(tensor.axes))
        if indices.size != 1:
            raise Unsupported("gathers several entries; the designer reads whole layers")
        index = int(indices.reshape(-1)[0])
        kind = self._time_axis(tensor, axis, "Gather")
        keep = indices.ndim > 0
        if kind == "one":
            if index not in (0, -1):
                raise Unsupported(f"gathers entry {index} of an axis of size 1")
            axes = list(tensor.axes)
            if not keep:
                del axes[axis]
            return [tensor.with_axes(axes)]
        return [self._at_step(tensor, self._step(index), axis, keep)]

    def op_Slice(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        value = inputs[0]
        if isinstance(value, Zeros):
            return [self._slice_zeros(value, inputs)]
        tensor = self._plain(self._tensor(value))
        if self.opset < 10:
            starts, ends = node.attrs.get("starts", []), node.attrs.get("ends", [])
            axes, steps = node.attrs.get("axes", list(range(len(starts)))), [1] * len(starts)
        else:
            starts = self._ints(inputs[1], "starts")
            ends = self._ints(inputs[2], "ends")
            axes = self._ints(inputs[3], "axes") if len(inputs) > 3 and inputs[3] is not None else \
                list(range(len(starts)))
            steps = self._ints(inputs[4], "steps") if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
        result = tensor
        for start, end, axis, step in zip(starts, ends, axes, steps):
            axis = self._axis(axis, len(tensor.axes))
            size = tensor.axes[axis].size
            if size.static:
                picked = range(size.coef)[slice(start, end, step)]
                if len(picked) == size.coef and step == 1:
                    continue  # the whole axis
            kind = self._time_axis(tensor, axis, "Slice")
            if kind == "one":
                continue
            if step != 1:
                raise Unsupported("takes every n-th time step")
            if self.steps is None:
                if start == -1 and end >= 2 ** 31 - 1:
                    result = self._at_step(result, LAST, axis, True)
                    continue
                raise Unsupported("takes a range of time steps of sequences whose length is not fixed")
            picked = range(self.steps)[slice(start, end)]
            if len(picked) != 1:
                raise Unsupported(f"takes {len(picked)} of the {self.steps} time steps; a design reads every step "
                                  f"and outputs the last")
            result = self._at_step(result, picked[0], axis, True)
        return [result]

    def _slice_zeros(self, value: Zeros, inputs) -> Zeros:
        if value.dims is None or self.opset < 10:
            return Zeros(None)
        dims = list(value.dims)
        starts = self._ints(inputs[1], "starts")
        ends = self._ints(inputs[2], "ends")
        axes = self._ints(inputs[3], "axes") if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
        steps = self._ints(inputs[4], "steps") if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
        for start, end, axis, step in zip(starts, ends, axes, steps):
            axis = self._axis(axis, len(dims))
            if dims[axis].static:
                dims[axis] = Dim(len(range(dims[axis].coef)[slice(start, end, step)]))
            elif not (start == 0 and end >= 2 ** 31 - 1 and step == 1):
                return Zeros(None)
        return Zeros(dims)

    def op_Split(self, node: Node, inputs) -> list[Value]:
        tensor = self._plain(self._tensor(inputs[0]))
        axis = self._axis(node.attrs.get("axis", 0), len(tensor.axes))
        if isinstance(tensor.src, Sum) and tensor.axes[axis].kind == "F" and len(tensor.feature_axes) == 1:
            return self._gates(node, inputs, tensor, axis)
        if self._time_axis(tensor, axis, "Split") != "time" or self.steps is None:
            raise Unsupported("splits a value the designer cannot split")
        count = len(node.outputs)
        if count != self.steps:
            raise Unsupported(f"splits {self.steps} time steps into {count} parts; a design reads one step at a time")
        return [self._at_step(tensor, t, axis, True) for t in range(count)]

    def _gates(self, node: Node, inputs, tensor: Tensor, axis: int) -> list[Value]:
        """A sum split into the equal parts of a gated cell's gates (4 for an LSTM, 3 for a GRU)."""
        parts = len(node.outputs)
        units = tensor.units
        sizes = (self._ints(inputs[1], "split") if len(inputs) > 1 and inputs[1] is not None
                 else node.attrs.get("split", [units // parts] * parts))
        if parts not in (3, 4) or len(set(sizes)) != 1 or sum(sizes) != units:
            raise Unsupported(f"splits a layer's sums into parts {list(sizes)}; a connection reads whole layers (only "
                              f"the equal gates of an LSTM or GRU cell are read)")
        sum_ = tensor.src
        if sum_.activation is not None or sum_.norm != "none":
            raise Unsupported("splits a layer's values into gates after an activation or normalisation")
        axes = list(tensor.axes)
        axes[axis] = _feature(sizes[0])
        return [Tensor(Expr("chunk", (sum_, i, parts), sizes[0]), tuple(axes), tensor.time) for i in range(parts)]

    def _cell_operand(self, value: Value | None) -> tuple[Expr, Tensor | None]:
        if isinstance(value, Zeros):
            return Expr("zeros", (), 0), None
        if isinstance(value, Tensor):
            value = self._plain(value)
            if isinstance(value.src, Expr):
                return value.src, value
            if isinstance(value.src, Act):
                return Expr("value", (value.src.layer, value.time), value.units), value
        raise Unsupported("combines a gate of a cell with something that is not a gate or a state (only PyTorch's "
                          "LSTM and GRU cells can be read)")

    def _cell_op(self, op: str, inputs) -> Tensor:
        """An elementwise step inside a gated cell: sigmoid, tanh, add, sub or mul of gates and states."""
        operands = [self._cell_operand(v) for v in inputs]
        tensors = [t for _, t in operands if t is not None]
        units = {e.units for e, _ in operands if e.op != "zeros"}
        if len(units) > 1:
            raise Unsupported(f"combines gates of {sorted(units)} units")
        axes = tensors[0].axes
        for t in tensors[1:]:
            axes = tuple(_broadcast_axes(axes, t.axes))
        times = [t.time for t in tensors if isinstance(t.time, int)]
        time = max(times) if times else tensors[0].time
        return Tensor(Expr(op, tuple(e for e, _ in operands), units.pop()), axes, time)

    @staticmethod
    def _in_cell(inputs) -> bool:
        return any(isinstance(v, Tensor) and isinstance(v.src, Expr) for v in inputs)

    def _gated_cell(self, tensor: Tensor) -> LayerDraft:
        """The LSTM or GRU layer whose output at one step ``tensor`` is (the unrolled cell of a time loop)."""
        key = (id(tensor.src), tensor.time)
        if key in self.materialised:
            return self.materialised[key]
        time = tensor.time
        found = _match_lstm(tensor.src) or _match_gru(tensor.src)
        if found is None or not isinstance(time, int):
            raise Unsupported("computes gates (Split, Sigmoid, Tanh, Mul) that are neither PyTorch's LSTM cell nor "
                              "its GRU cell")
        kind, inputs, hidden, state, cell = found
        forward = [t for t in inputs.terms if t.source_time == time]
        recurrent = [t for t in inputs.terms if t.source_time != time]
        if hidden is not None:  # a GRU: the hidden state's sum (recurrent weights, bias_hh) is apart
            recurrent += list(hidden.terms)
        if len(forward) + len(recurrent) != len(inputs.terms) + (len(hidden.terms) if hidden is not None else 0) \
                or any(t.source_time != time - 1 for t in recurrent) or len(recurrent) > 1:
            raise Unsupported(f"its {kind.upper()} cell reads values of other time steps than the one before")
        if any(t.kind != "dense" for t in forward):
            raise Unsupported(f"an {kind.upper()} layer takes dense connections only")
        units = inputs.units // (4 if kind == "lstm" else 3)
        bias_hh = hidden.bias if hidden is not None else None
        layer = None
        for draft in self.drafts:  # the same cell at the step before: one layer
            if (draft.kind != kind or draft.time != "steps" or (time - 1) not in draft.steps or time in draft.steps
                    or draft.units != units or not _same_terms(draft.incoming, forward)
                    or not _same_array(draft.bias, inputs.bias) or not _same_array(draft.bias_hh, bias_hh)):
                continue
            if kind == "lstm" and draft.cells.get(time - 1) is not state:
                continue
            if kind == "gru" and not ((state.op == "value" and state.args == (draft, time - 1))
                                      or self.materialised.get((id(state), time - 1)) is draft):
                continue
            if [t.source for t in recurrent] != [draft] or (
                    draft.weight_hh is not None and not _same_array(draft.weight_hh, recurrent[0].weight)):
                continue
            layer = draft
            break
        if layer is None:
            if recurrent or state.op != "zeros":
                raise Unsupported(f"its {kind.upper()} cell starts from a state that is not zeros, or its steps "
                                  f"differ (weights or sources); a design's {kind} layer starts from zeros")
            layer = LayerDraft(kind, (units,), inputs.stem, shape_fixed=True, bias=inputs.bias, bias_hh=bias_hh,
                               time="steps", node=inputs.node)
            layer.incoming = [self._connection(t, layer, False) for t in forward]
            self.drafts.append(layer)
        if recurrent and layer.weight_hh is None:
            layer.weight_hh = recurrent[0].weight
        layer.steps.add(time)
        if cell is not None:
            layer.cells[time] = cell
        self.materialised[key] = layer
        self._register(tensor.src, layer)
        return layer

    def op_Concat(self, node: Node, inputs) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        tensors = [self._plain(self._tensor(v)) for v in inputs]
        rank = len(tensors[0].axes)
        axis = self._axis(node.attrs.get("axis", 0), rank)
        steps = [t.time for t in tensors]
        if (self.steps is not None and steps == list(range(self.steps))
                and all(t.axes[axis].kind == "1" for t in tensors)):
            acts = [self._act(t) for t in tensors]
            layers = {id(t.src.layer) for t in acts}
            if len(layers) == 1:
                axes = list(acts[0].axes)
                axes[axis] = Axis("T", Dim(self.steps))
                return [Tensor(acts[0].src, tuple(axes), ALL)]
        raise Unsupported("joins several values into one (torch.cat); a design has no concatenation: give each "
                          "source its own connection into the next layer")

    def op_Pad(self, node: Node, inputs) -> list[Value]:
        tensor = self._act(self._tensor(inputs[0]))
        mode = node.attrs.get("mode", "constant")
        if mode != "constant":
            raise Unsupported(f"pads with mode {mode!r}; the designer pads with zeros ('same' padding)")
        if self.opset < 11:
            pads = list(node.attrs.get("pads", []))
            fill = float(node.attrs.get("value", 0.0))
        else:
            pads = self._ints(inputs[1], "pads")
            fill = float(self._const(inputs[2], "value").reshape(-1)[0]) if len(inputs) > 2 and inputs[2] is not None \
                else 0.0
        rank = len(tensor.axes)
        if len(inputs) > 3 and inputs[3] is not None:
            axes = [self._axis(a, rank) for a in self._ints(inputs[3], "axes")]
        else:
            axes = list(range(rank))
        full = [0] * (2 * rank)
        for i, a in enumerate(axes):
            full[a] = pads[i]
            full[a + rank] = pads[i + len(axes)]
        if len(tensor.axes) not in (3, 4) or any(full[a] or full[a + rank] for a in range(2)):
            raise Unsupported(f"pads {full}: the designer pads only the grid of a layer (its rows and columns)")
        if any(p < 0 for p in full):
            raise Unsupported(f"crops a grid (pads {full})")
        pad = tuple((full[a], full[a + rank]) for a in range(2, rank))
        if tensor.pad is not None:
            if tensor.pad_value != fill:
                raise Unsupported("pads twice with different values")
            pad = tuple((a + c, b + d) for (a, b), (c, d) in zip(tensor.pad, pad))
        return [Tensor(tensor.src, tensor.axes, tensor.time, pad, fill)]

    # ================================================================== sums
    def _times(self, terms) -> Any:
        """The time of a sum of ``terms`` (None for a sum of nothing: it fits any time)."""
        times = {t.source_time for t in terms}
        if not times:
            return None
        if times == {NO_TIME}:
            return NO_TIME
        if ALL in times or LAST in times:
            if len(times) == 1:
                return next(iter(times))
            raise Unsupported("adds values of different time steps")
        if NO_TIME in times:
            raise Unsupported("adds values of different time steps")
        latest = max(times)
        if not times <= {latest, latest - 1}:
            raise Unsupported(f"adds values of time steps {sorted(times)}; a design reads the step before at most")
        return latest

    def _sum_tensor(self, sum_: Sum, axes, time=None) -> Tensor:
        t = self._times(sum_.terms)
        return Tensor(sum_, tuple(axes), t if t is not None else time)

    def _pending(self, tensor: Tensor, what: str) -> Sum:
        """``tensor``'s pending sum, to extend with ``what``; refused for a layer's values."""
        src = tensor.src
        if isinstance(src, Expr):
            raise Unsupported(f"applies {what} inside a gated cell (gates split from one sum); only PyTorch's LSTM and "
                              f"GRU cells can be read")
        if isinstance(src, Act):
            layer = src.layer
            if layer.kind == "input":
                raise Unsupported(f"applies {what} straight to the input; in a design, every layer computes a "
                                  f"weighted sum of its sources first")
            done = "its activation" if layer.kind == "neurons" else "its gates"
            which = layer.activation if layer.kind == "neurons" else layer.kind
            raise Unsupported(f"applies {what} to a layer's values after {done} ({which}); a design's layer "
                              f"computes sum -> normalisation -> activation, once")
        if src.activation is not None:
            raise Unsupported(f"applies {what} after the activation {src.activation}; a design's layer computes "
                              f"sum -> normalisation -> activation, once")
        return src

    def _bias(self, tensor: Tensor, array: np.ndarray, sign: float = 1.0, name: str = "") -> Tensor:
        sum_ = self._pending(tensor, "a bias")
        if sum_.norm != "none":
            raise Unsupported("adds a bias after the normalisation; a design adds its bias before normalising")
        bias = self._per_unit(tensor, array, "bias")
        if sign != 1.0:
            bias = -bias
        total = bias if sum_.bias is None else sum_.bias + bias
        stem = (stem_of(name) if name in self.initializer_names else "") or sum_.stem
        extra = np.ndim(array) - len(tensor.axes)  # broadcasting adds leading axes of size 1
        axes = (Axis("1", ONE),) * extra + tuple(tensor.axes) if extra > 0 else tensor.axes
        return Tensor(replace(sum_, bias=total.astype(np.float32), stem=stem), axes, tensor.time)

    def _per_unit(self, tensor: Tensor, array: np.ndarray, what: str) -> np.ndarray:
        """A constant broadcast over ``tensor``: one value per unit, flat; refused if it varies over the batch."""
        array = np.asarray(array, dtype=np.float32)
        axes = tensor.axes
        while array.ndim > len(axes) and array.shape[0] == 1:
            array = array[0]
        if array.ndim > len(axes):
            raise Unsupported(f"its {what} has more dimensions than the values it is added to")
        shape = [1] * (len(axes) - array.ndim) + list(array.shape)
        for i, (axis, n) in enumerate(zip(axes, shape)):  # the same for every sample (a batch size baked in)
            j = i - (len(axes) - array.ndim)
            if axis.batchy and n != 1 and j >= 0 and np.all(array == np.take(array, [0], axis=j)):
                array = np.take(array, [0], axis=j)
                shape[i] = 1
        for axis, n in zip(axes, shape):
            if n != 1 and (axis.batchy or not axis.size.static or n != axis.size.coef):
                raise Unsupported(f"its {what} of shape {list(array.shape)} varies over the batch or does not fit "
                                  f"the layer")
        feature_shape = [n for axis, n in zip(axes, shape) if not axis.batchy]
        full = [axis.size.coef for axis in axes if not axis.batchy]
        per_unit = np.broadcast_to(array.reshape(feature_shape), full).reshape(-1)
        if per_unit.size != tensor.units:
            raise Unsupported(f"its {what} does not fit the layer's {tensor.units} units")
        return np.array(per_unit, dtype=np.float32)

    def _merge(self, a: Tensor, b: Tensor, sign: float = 1.0) -> Tensor:
        for side in (a, b):
            done = side.src.layer.activation if isinstance(side.src, Act) and side.src.layer.kind == "neurons" else \
                getattr(side.src, "activation", None)
            if isinstance(side.src, Act) and side.src.layer.kind != "neurons":
                done = side.src.layer.kind
            if done is not None:
                raise Unsupported(f"adds a branch's values after its activation ({done}); in a design, connections "
                                  f"add up before a layer's activation, so a residual of values (x + f(x)) cannot be "
                                  f"expressed")
        sa, sb = self._pending(a, "a sum of two branches"), self._pending(b, "a sum of two branches")
        if sa.norm != "none" or sb.norm != "none":
            raise Unsupported("adds a branch after a normalisation; in a design, connections add up before it")
        if sa.units != sb.units:
            raise Unsupported(f"adds values of {sa.units} and {sb.units} units")
        if sa.shape_fixed and sb.shape_fixed and not _fits(sa.shape, sb.shape):
            raise Unsupported(f"adds grids of shapes {list(sa.shape)} and {list(sb.shape)}")
        shape, fixed = (sa.shape, True) if sa.shape_fixed else (sb.shape, sb.shape_fixed)
        terms_b = sb.terms
        bias_b = sb.bias
        if sign != 1.0:
            if any(t.weight is None for t in terms_b):
                raise Unsupported("subtracts a pooling, which has no weights to turn negative")
            terms_b = tuple(t.scaled(sign) for t in terms_b)
            bias_b = None if bias_b is None else -bias_b
        bias = sa.bias if bias_b is None else (bias_b if sa.bias is None else sa.bias + bias_b)
        merged = replace(sa, terms=sa.terms + terms_b, shape=shape, shape_fixed=fixed, bias=bias,
                         stem=sa.stem or sb.stem, node=sa.node or sb.node)
        axes = _broadcast_axes(a.axes, b.axes)
        times = [t for t in (a.time, b.time) if t is not None]
        return self._sum_tensor(merged, axes, times[0] if times else None)

    def op_Add(self, node: Node, inputs, sign: float = 1.0) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        a, b = inputs
        if self._in_cell(inputs):
            return [self._cell_op("add" if sign == 1.0 else "sub", inputs)]
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            a, b = self._zeros_const(a), self._zeros_const(b)
        if isinstance(a, Zeros) and isinstance(b, Tensor):
            return [b] if sign == 1.0 else [self._scale(b, -1.0)]
        if isinstance(b, Zeros):
            return [a]
        if isinstance(a, Const) and isinstance(b, Tensor):
            if sign != 1.0:
                b = self._scale(b, -1.0)
            return [self._bias(b, a.array, name=node.inputs[0])]
        if isinstance(a, Tensor) and isinstance(b, Const):
            return [self._bias(a, b.array, sign, name=node.inputs[1])]
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            return [self._merge(a, b, sign)]
        raise Unsupported("adds values the designer cannot follow")

    def op_Sub(self, node: Node, inputs) -> list[Value]:
        return self.op_Add(node, inputs, sign=-1.0)

    def _scale(self, tensor: Tensor, factor: float) -> Tensor:
        sum_ = self._pending(tensor, "a scaling")
        if sum_.norm != "none":
            raise Unsupported("scales a layer's sums after the normalisation")
        if any(t.weight is None for t in sum_.terms):
            raise Unsupported("scales a pooling, which has no weights to scale")
        scaled = replace(sum_, terms=tuple(t.scaled(factor) for t in sum_.terms),
                         bias=None if sum_.bias is None else sum_.bias * np.float32(factor))
        return Tensor(scaled, tensor.axes, tensor.time)

    def op_Mul(self, node: Node, inputs, divide: bool = False) -> list[Value]:
        shaped = self._shape_op(node, inputs)
        if shaped is not None:
            return shaped
        a, b = inputs
        if self._in_cell(inputs) and not divide:
            return [self._cell_op("mul", inputs)]
        if isinstance(a, Const) and isinstance(b, Tensor) and not divide:
            a, b = b, a
        if isinstance(a, Tensor) and isinstance(b, Const):
            if b.array.size != 1:
                raise Unsupported("multiplies a layer's sums by a different number per unit; a design scales with "
                                  "its weights only")
            factor = float(b.array.reshape(-1)[0])
            if divide:
                if factor == 0.0:
                    raise Unsupported("divides by zero")
                factor = 1.0 / factor
            return [self._scale(a, factor)]
        if isinstance(a, Zeros) or isinstance(b, Zeros):
            raise Unsupported("multiplies by zeros")
        raise Unsupported("multiplies two values that both depend on the input (a gate or attention); a design's "
                          "layers only add their weighted sources")

    def op_Div(self, node: Node, inputs) -> list[Value]:
        return self.op_Mul(node, inputs, divide=True)

    def op_Neg(self, node: Node, inputs) -> list[Value]:
        return [self._scale(self._tensor(inputs[0]), -1.0)]

    # ------------------------------------------------------------------ weighted operators
    def _rows(self, tensor: Tensor, what: str) -> tuple[Tensor, list[Axis]]:
        """``tensor`` as a layer's values laid out ``[leading axes..., units]``: the leading axes it keeps."""
        tensor = self._act(self._plain(tensor))
        axes = list(tensor.axes)
        units = tensor.units
        if not axes or axes[-1].size != Dim(units) or any(a.kind == "F" for a in axes[:-1]):
            raise Unsupported(f"{what} over the last axis of a grid (size {axes[-1].size if axes else '?'}), not "
                              f"over all {units} units of the layer it reads")
        return tensor, axes[:-1]

    def op_Gemm(self, node: Node, inputs) -> list[Value]:
        a, b = self._zeros_const(inputs[0]), inputs[1]
        c = inputs[2] if len(inputs) > 2 else None
        alpha = float(node.attrs.get("alpha", 1.0))
        beta = float(node.attrs.get("beta", 1.0))
        if node.attrs.get("transA", 0):
            raise Unsupported("multiplies with its first input transposed (transA=1)")
        if not isinstance(b, Const):
            raise Unsupported("multiplies two values that both depend on the input; a design's weights are "
                              "parameters")
        weight = b.array if node.attrs.get("transB", 0) else b.array.T
        if weight.ndim != 2:
            raise Unsupported("its weight is not a matrix")
        weight = np.asarray(weight, dtype=np.float32)
        if alpha != 1.0:
            weight = weight * np.float32(alpha)
        out = weight.shape[0]
        stem = stem_of(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] in self.initializer_names else ""
        stem = stem or stem_of(node.inputs[1]) or stem_of(node.name)
        if isinstance(a, Zeros):
            lead = [Axis("B", self.batch)]
            sum_ = Sum((), out, (out,), node=node.name, stem=stem)
            result = Tensor(sum_, (*lead, _feature(out)), None)
        else:
            tensor, lead = self._rows(self._tensor(a), "multiplies")
            if len(lead) != 1:
                raise Unsupported("multiplies a tensor of more than two dimensions")
            if weight.shape[1] != tensor.units:
                raise Unsupported(f"its weight takes {weight.shape[1]} inputs but the layer has {tensor.units} units")
            term = Term(tensor.src.layer, tensor.time, "dense", weight=np.ascontiguousarray(weight))
            sum_ = Sum((term,), out, (out,), node=node.name, stem=stem)
            result = self._sum_tensor(sum_, (*lead, _feature(out)))
        if c is None or isinstance(c, Zeros):
            return [result]
        if isinstance(c, Const):
            return [self._bias(result, c.array * np.float32(beta))]
        if isinstance(c, Tensor):
            if beta != 1.0:
                c = self._scale(c, beta)
            return [self._merge(result, c)]
        raise Unsupported("its third input is neither a bias nor a sum")

    def op_MatMul(self, node: Node, inputs) -> list[Value]:
        a, b = self._zeros_const(inputs[0]), inputs[1]
        if not isinstance(b, Const):
            raise Unsupported("multiplies two values that both depend on the input (attention?); a design's "
                              "weights are parameters")
        if b.array.ndim != 2:
            raise Unsupported(f"its weight has {b.array.ndim} dimensions, not 2")
        weight = np.ascontiguousarray(np.asarray(b.array, dtype=np.float32).T)
        out = weight.shape[0]
        stem = stem_of(node.inputs[1]) or stem_of(node.name)
        if isinstance(a, Zeros):
            dims = a.dims
            lead = [Axis("B", self.batch)] if dims is None else [_axis_of(d, self.batch) for d in dims[:-1]]
            return [Tensor(Sum((), out, (out,), node=node.name, stem=stem), (*lead, _feature(out)), None)]
        tensor, lead = self._rows(self._tensor(a), "multiplies")
        if weight.shape[1] != tensor.units:
            raise Unsupported(f"its weight takes {weight.shape[1]} inputs but the layer has {tensor.units} units")
        term = Term(tensor.src.layer, tensor.time, "dense", weight=weight)
        return [self._sum_tensor(Sum((term,), out, (out,), node=node.name, stem=stem), (*lead, _feature(out)))]

    def _grid(self, tensor: Tensor, spatial: int, what: str) -> tuple[list[Axis], int, tuple[int, ...]]:
        """``(leading axes, channels, grid)`` of a ``[N, C, *grid]`` tensor."""
        axes = list(tensor.axes)
        if len(axes) != spatial + 2 or not axes[0].batchy or any(a.batchy for a in axes[1:]):
            raise Unsupported(f"{what} on a tensor laid out {[a.kind for a in axes]}, not [batch, channels, "
                              f"{', '.join(['length'] if spatial == 1 else ['height', 'width'])}]")
        return axes[:1], axes[1].size.coef, tuple(a.size.coef for a in axes[2:])

    def _padding(self, node: Node, tensor: Tensor, grid: tuple[int, ...], window: tuple[int, ...], stride: int,
                 what: str) -> tuple[str, tuple[int, ...]]:
        """``('valid' | 'same', output grid)`` for the node's padding (and a Pad node's before it)."""
        dims = len(grid)
        auto = node.attrs.get("auto_pad", "NOTSET")
        pads = list(node.attrs.get("pads", [0] * (2 * dims)))
        before, after = pads[:dims], pads[dims:]
        if tensor.pad is not None:
            before = [b + p[0] for b, p in zip(before, tensor.pad)]
            after = [a + p[1] for a, p in zip(after, tensor.pad)]
        same_out = [-(-n // stride) for n in grid]
        same_total = [max((o - 1) * stride + k - n, 0) for o, k, n in zip(same_out, window, grid)]
        same = ([t // 2 for t in same_total], [t - t // 2 for t in same_total])
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if tensor.pad is not None and any(any(p) for p in tensor.pad):
                raise Unsupported("pads twice (a Pad node and auto_pad)")
            if auto == "SAME_LOWER" and any(t % 2 for t in same_total):
                raise Unsupported("auto_pad SAME_LOWER puts the odd padding before the grid; the design's 'same' "
                                  "puts it after")
            return "same", tuple(same_out)
        if auto == "VALID" or (not any(before) and not any(after)):
            if any(k > n for k, n in zip(window, grid)):
                raise Unsupported(f"its window {list(window)} does not fit the grid {list(grid)}")
            return "valid", tuple((n - k) // stride + 1 for n, k in zip(grid, window))
        if (list(before), list(after)) == same:
            return "same", tuple(same_out)
        raise Unsupported(f"pads {list(before)} before and {list(after)} after the grid {list(grid)} ({what}, "
                          f"stride {stride}); a design pads 'valid' (nothing) or 'same' ({same[0]} before and "
                          f"{same[1]} after here)")

    def _stride(self, node: Node, dims: int) -> int:
        strides = list(node.attrs.get("strides", [1] * dims))
        if len(set(strides)) != 1:
            raise Unsupported(f"strides {strides} differ between dimensions; a design's stride is the same on every "
                              f"dimension")
        return int(strides[0])

    def _source_shape(self, layer: LayerDraft, view: tuple[int, ...], what: str) -> None:
        """Make ``layer`` have the grid ``view`` a local connection reads, or refuse if its shape is fixed."""
        if _fits(layer.shape, view):
            layer.shape_fixed = True
            return
        if layer.shape_fixed:
            raise Unsupported(f"{what} reads the layer of shape {list(layer.shape)} as a grid {list(view)}")
        if math.prod(view) != layer.units:
            raise Unsupported(f"{what} reads {math.prod(view)} units from a layer of {layer.units}")
        if layer.kind in ("lstm", "gru"):
            raise Unsupported(f"{what} reads an {layer.kind.upper()} layer as a grid; those take dense connections")
        layer.shape = tuple(view)
        layer.shape_fixed = True

    def op_Conv(self, node: Node, inputs) -> list[Value]:
        x, w = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) > 2 else None
        if not isinstance(w, Const):
            raise Unsupported("its kernel depends on the input")
        kernel = np.asarray(w.array, dtype=np.float32)
        spatial = kernel.ndim - 2
        if spatial not in (1, 2):
            raise Unsupported(f"a {spatial}-D convolution; a design's grids have 1 or 2 dimensions")
        if node.attrs.get("group", 1) != 1:
            raise Unsupported(f"groups={node.attrs['group']} (a grouped or depthwise convolution); every target "
                              f"neuron of a local connection sees all source channels: use groups=1")
        dilations = list(node.attrs.get("dilations", [1] * spatial))
        if any(d != 1 for d in dilations):
            raise Unsupported(f"dilations {dilations}; a design's windows are contiguous (dilation 1)")
        tensor = self._act(self._tensor(x))
        if tensor.pad is not None and tensor.pad_value != 0.0:
            raise Unsupported(f"convolves a grid padded with {tensor.pad_value}; a design pads with zeros")
        lead, channels, grid = self._grid(tensor, spatial, "convolves")
        out_channels = kernel.shape[0]
        if kernel.shape[1] != channels:
            raise Unsupported(f"its kernel takes {kernel.shape[1]} channels but the grid has {channels}")
        window = tuple(int(k) for k in kernel.shape[2:])
        stride = self._stride(node, spatial)
        padding, out_grid = self._padding(node, tensor, grid, window, stride, "convolution")
        layer = tensor.src.layer
        if spatial == 2:
            self._source_shape(layer, (channels, *grid), "the convolution")
            design_window, weight, shape = window, kernel, (out_channels, *out_grid)
        elif channels == 1 and out_channels == 1:
            self._source_shape(layer, grid, "the convolution")
            design_window, weight, shape = window, kernel, out_grid
        else:
            # a 1-D convolution over several channels: a 2-D window as tall as the channels on a [channels, length]
            # grid (one channel), giving [out_channels, 1, length']
            if padding == "same" and channels > 1:
                raise Unsupported("a 1-D convolution over several channels with 'same' padding; a design reads it as "
                                  "a 2-D window over [channels, length], which 'same' would pad across channels")
            self._source_shape(layer, (channels, grid[0]), "the convolution")
            design_window = (channels, window[0])
            weight = kernel.reshape(out_channels, 1, channels, window[0])
            shape = (out_channels, 1, out_grid[0])
        units = math.prod(shape)
        term = Term(layer, tensor.time, "local", design_window, stride, padding, weight=np.ascontiguousarray(weight))
        stem = stem_of(node.inputs[2]) if b is not None and node.inputs[2] in self.initializer_names else ""
        stem = stem or stem_of(node.inputs[1]) or stem_of(node.name)
        sum_ = Sum((term,), units, tuple(shape), True, node=node.name, stem=stem)
        axes = (*lead, *[_feature(n) for n in (out_channels, *out_grid)])
        result = self._sum_tensor(sum_, axes)
        if b is None:
            return [result]
        if not isinstance(b, Const) or b.array.size != out_channels:
            raise Unsupported("its bias is not one constant per output channel")
        positions = math.prod(out_grid)
        bias = np.repeat(np.asarray(b.array, dtype=np.float32).reshape(-1), positions)
        return [Tensor(replace(sum_, bias=bias), result.axes, result.time)]

    def _pool(self, node: Node, inputs, pool: str, global_: bool = False) -> list[Value]:
        tensor = self._act(self._tensor(inputs[0]))
        rank = len(tensor.axes)
        spatial = rank - 2
        if spatial not in (1, 2):
            raise Unsupported(f"pools a {spatial}-D grid; a design's grids have 1 or 2 dimensions")
        self._no_more_outputs(node, 1, "uses the positions of the maxima (Indices), which a design does not expose")
        lead, channels, grid = self._grid(tensor, spatial, "pools")
        if pool == "max" and tensor.pad is not None and tensor.pad_value > -3.0e38:
            raise Unsupported(f"takes the maximum over a grid padded with {tensor.pad_value}; a design's max pooling "
                              f"pads with minus infinity (padding that never wins)")
        if pool == "mean" and tensor.pad is not None and tensor.pad_value != 0.0:
            raise Unsupported(f"averages a grid padded with {tensor.pad_value}; a design pads with zeros")
        if global_:
            window, stride, padding, out_grid = grid, 1, "valid", tuple(1 for _ in grid)
        else:
            window = tuple(int(k) for k in node.attrs.get("kernel_shape", []))
            if len(window) != spatial:
                raise Unsupported("its kernel_shape does not fit the grid")
            dilations = list(node.attrs.get("dilations", [1] * spatial))
            if any(d != 1 for d in dilations):
                raise Unsupported(f"dilations {dilations}; a design's windows are contiguous")
            stride = self._stride(node, spatial)
            padding, out_grid = self._padding(node, tensor, grid, window, stride, f"{pool} pooling")
            pads = list(node.attrs.get("pads", [0] * (2 * spatial)))
            if pool == "mean" and any(pads) and not node.attrs.get("count_include_pad", 0):
                raise Unsupported("averages only the real values at the grid's edges (count_include_pad=0); a "
                                  "design's mean pooling counts the padded zeros: export with count_include_pad=True "
                                  "or without padding")
            if node.attrs.get("ceil_mode", 0):
                ceil_grid = tuple(-(-(n + sum(p) - k) // stride) + 1
                                  for n, k, p in zip(grid, window, zip(pads[:spatial], pads[spatial:])))
                if padding == "same":
                    ceil_grid = tuple(-(-(n + t - k) // stride) + 1 for n, k, t in
                                      zip(grid, window, [max((o - 1) * stride + k - n, 0)
                                                         for o, k, n in zip(out_grid, window, grid)]))
                if ceil_grid != out_grid:
                    raise Unsupported(f"rounds its output grid up (ceil_mode=1: {list(ceil_grid)} instead of "
                                      f"{list(out_grid)}); a design's windows stay inside the grid: export with "
                                      f"ceil_mode=False")
        layer = tensor.src.layer
        if spatial == 2:
            self._source_shape(layer, (channels, *grid), f"the {pool} pooling")
            design_window = window
            shape = (channels, *out_grid) if channels > 1 else out_grid
        elif channels == 1:
            self._source_shape(layer, grid, f"the {pool} pooling")
            design_window, shape = window, out_grid
        else:
            if stride != 1 and not global_:
                raise Unsupported("a 1-D pooling with a stride over several channels; a design reads it as a 2-D "
                                  "window over [channels, length], whose stride would skip channels")
            self._source_shape(layer, (channels, grid[0]), f"the {pool} pooling")
            design_window = (1, window[0])
            shape = (channels, out_grid[0])
        term = Term(layer, tensor.time, "local", tuple(design_window), stride, padding, pool=pool)
        stem = stem_of(node.name)
        sum_ = Sum((term,), math.prod(shape), tuple(shape), True, node=node.name, stem=stem)
        axes = (*lead, *[_feature(n) for n in (channels, *out_grid)])
        return [self._sum_tensor(sum_, axes)]

    def op_MaxPool(self, node: Node, inputs) -> list[Value]:
        if node.attrs.get("storage_order", 0) and len(node.outputs) > 1:
            raise Unsupported("stores the maxima's positions column-major")
        return self._pool(node, inputs, "max")

    def op_AveragePool(self, node: Node, inputs) -> list[Value]:
        return self._pool(node, inputs, "mean")

    def op_GlobalAveragePool(self, node: Node, inputs) -> list[Value]:
        return self._pool(node, inputs, "mean", global_=True)

    def op_GlobalMaxPool(self, node: Node, inputs) -> list[Value]:
        return self._pool(node, inputs, "max", global_=True)

    # ------------------------------------------------------------------ normalisation
    def op_BatchNormalization(self, node: Node, inputs) -> list[Value]:
        tensor = self._tensor(inputs[0])
        sum_ = self._pending(tensor, "batch normalisation")
        if sum_.norm != "none":
            raise Unsupported("normalises twice")
        if node.attrs.get("training_mode", 0):
            raise Unsupported("normalises by each batch's statistics (training_mode=1); export the model in eval "
                              "mode")
        self._no_more_outputs(node, 1, "uses the batch statistics (outputs of training mode)")
        epsilon = float(node.attrs.get("epsilon", 1e-5))
        if abs(epsilon - 1e-5) > 1e-9:
            raise Unsupported(f"epsilon {epsilon:g}; a design's batch normalisation uses 1e-5 (PyTorch's default)")
        arrays = [np.asarray(self._const(v, name), dtype=np.float32).reshape(-1)
                  for v, name in zip(inputs[1:5], ("scale", "bias", "mean", "variance"))]
        axes = list(tensor.axes)
        lead = 0
        while lead < len(axes) and axes[lead].batchy:
            lead += 1
        if lead == len(axes):
            raise Unsupported("normalises a tensor with no units")
        channels = axes[lead].size.coef
        grid = tuple(a.size.coef for a in axes[lead + 1:])
        if any(a.batchy for a in axes[lead:]) or lead != 1:
            raise Unsupported("normalises a tensor laid out other than [batch, channels, ...]")
        if any(a.size != channels for a in arrays):
            raise Unsupported(f"its statistics have {arrays[0].size} entries for {channels} channels")
        if np.any(arrays[3] < 0):
            raise Unsupported("its running variance holds negative values (a damaged model)")
        if not grid:
            view = (channels,)
        elif len(grid) == 2:
            view = (channels, *grid)
        elif channels == 1:
            view = (1, *grid)
        else:
            raise Unsupported("normalises each channel of a 1-D sequence of channels (BatchNorm1d on [batch, "
                              "channels, length]); a design normalises per unit, or per channel of a 2-D grid")
        if sum_.shape_fixed and not _fits(sum_.shape, view) or math.prod(view) != sum_.units:
            raise Unsupported(f"normalises per {'unit' if not grid else 'channel'} a layer whose grid is "
                              f"{list(sum_.shape)}; a design normalises a [units] layer per unit and a grid per "
                              f"channel")
        shape = sum_.shape if sum_.shape_fixed else view
        if len(shape) == 2 and len(view) == 3:
            shape = view
        norm = (("norm_weight", arrays[0]), ("norm_bias", arrays[1]), ("running_mean", arrays[2]),
                ("running_var", arrays[3]))
        return [Tensor(replace(sum_, norm="batch", norm_arrays=norm, shape=shape, shape_fixed=True), tensor.axes,
                       tensor.time)]

    def op_LayerNormalization(self, node: Node, inputs) -> list[Value]:
        tensor = self._tensor(inputs[0])
        sum_ = self._pending(tensor, "layer normalisation")
        if sum_.norm != "none":
            raise Unsupported("normalises twice")
        self._no_more_outputs(node, 1, "uses the mean or deviation it computes, which a design does not expose")
        epsilon = float(node.attrs.get("epsilon", 1e-5))
        if abs(epsilon - 1e-5) > 1e-9:
            raise Unsupported(f"epsilon {epsilon:g}; a design's layer normalisation uses 1e-5 (PyTorch's default)")
        rank = len(tensor.axes)
        axis = self._axis(node.attrs.get("axis", -1), rank)
        if any(a.kind == "F" for a in tensor.axes[:axis]) or any(a.batchy for a in tensor.axes[axis:]):
            raise Unsupported(f"normalises over axes {axis} to {rank - 1}, not over all the layer's units; a design's "
                              f"layer normalisation covers the whole layer")
        scale = self._per_unit(tensor, self._const(inputs[1], "scale"), "scale")
        shift = (self._per_unit(tensor, self._const(inputs[2], "bias"), "bias") if len(inputs) > 2 and
                 inputs[2] is not None else np.zeros(sum_.units, np.float32))
        norm = (("norm_weight", scale), ("norm_bias", shift))
        return [Tensor(replace(sum_, norm="layer", norm_arrays=norm), tensor.axes, tensor.time)]

    # ------------------------------------------------------------------ activations
    def _activate(self, tensor: Tensor, activation: str, op: str, slope: float = 0.01) -> Tensor:
        sum_ = self._pending(tensor, op)
        return Tensor(replace(sum_, activation=activation, slope=slope), tensor.axes, tensor.time)

    def op_Activation(self, node: Node, inputs) -> list[Value]:
        return [self._activate(self._tensor(inputs[0]), node.attrs["activation"], node.attrs["activation"])]

    def _simple(self, node: Node, inputs) -> list[Value]:
        tensor = self._tensor(inputs[0])
        if isinstance(tensor.src, Expr):
            if node.op not in ("Sigmoid", "Tanh"):
                raise Unsupported(f"applies {node.op} inside a gated cell; PyTorch's LSTM and GRU cells use Sigmoid "
                                  f"and Tanh")
            return [self._cell_op(node.op.lower(), [tensor])]
        activation = SIMPLE_ACTIVATIONS[node.op]
        slope = 0.01
        attrs = node.attrs
        if node.op == "LeakyRelu":
            slope = _float32(attrs.get("alpha", 0.01))
        elif node.op == "Elu" and abs(float(attrs.get("alpha", 1.0)) - 1.0) > 1e-6:
            raise Unsupported(f"alpha {attrs['alpha']:g}; the design's elu has alpha 1")
        elif node.op == "Gelu" and attrs.get("approximate", "none") != "none":
            raise Unsupported("the tanh approximation of GELU; the design's gelu is exact (approximate='none')")
        elif node.op == "HardSigmoid":
            alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
            if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
                raise Unsupported(f"alpha {alpha:g} and beta {beta:g}; the design's hard_sigmoid is PyTorch's "
                                  f"(alpha 1/6, beta 0.5)")
        elif node.op == "Softmax":
            self._softmax_axis(tensor, attrs)
        return [self._activate(tensor, activation, node.op, slope)]

    def _softmax_axis(self, tensor: Tensor, attrs) -> None:
        rank = len(tensor.axes)
        default = -1 if self.opset >= 13 else 1
        axis = self._axis(attrs.get("axis", default), rank)
        axes = tensor.axes
        if self.opset >= 13:
            ok = all(a.kind != "F" for i, a in enumerate(axes) if i != axis) and not axes[axis].batchy
        else:
            ok = all(not a.batchy for a in axes[axis:]) and all(a.kind != "F" for a in axes[:axis])
        if not ok:
            raise Unsupported(f"softmax over axis {axis} of a tensor laid out {[a.kind for a in axes]}, not over all "
                              f"the layer's units; a design's softmax runs over the whole layer")

    op_Relu = op_Tanh = op_Sigmoid = op_Softplus = op_Gelu = op_Elu = op_LeakyRelu = op_HardSigmoid = _simple
    op_Softmax = _simple

    # ------------------------------------------------------------------ recurrent operators
    def _recurrent(self, node: Node, inputs, kind: str) -> list[Value]:
        if not self.sequence:
            raise NeedsTime()  # refused by the caller when the input cannot be [batch, time, features]
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        attrs = node.attrs
        direction = attrs.get("direction", "forward")
        if direction != "forward":
            raise Unsupported(f"direction {direction!r}; a design's recurrent layers run forward in time only")
        if attrs.get("clip") is not None:
            raise Unsupported("clips its cell values (clip); a design's recurrent layers do not")
        if kind == "lstm" and attrs.get("input_forget", 0):
            raise Unsupported("couples the input and forget gates (input_forget=1)")
        if kind == "gru" and not attrs.get("linear_before_reset", 0):
            raise Unsupported("linear_before_reset=0; the design's GRU is PyTorch's, which applies the reset gate "
                              "after the hidden weights (linear_before_reset=1)")
        layout = attrs.get("layout", 0)
        defaults = {"rnn": ["Tanh"], "lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"]}[kind]
        activations = list(attrs.get("activations", defaults))
        activation = "tanh"
        if kind == "rnn":
            mapping = {"Tanh": "tanh", "Relu": "relu", "Sigmoid": "sigmoid"}
            if len(activations) != 1 or activations[0] not in mapping:
                raise Unsupported(f"activations {activations}")
            activation = mapping[activations[0]]
        elif activations != defaults:
            raise Unsupported(f"activations {activations}; the design's {kind.upper()} uses {defaults}")
        if attrs.get("activation_alpha") or attrs.get("activation_beta"):
            raise Unsupported("activation_alpha or activation_beta")
        extra = inputs[4:]
        if extra and extra[0] is not None:
            raise Unsupported("takes sequence lengths per sample (sequence_lens); a design reads whole sequences")
        for state in extra[1:3]:
            if state is not None and not isinstance(state, Zeros) and not (
                    isinstance(state, Const) and not np.any(state.array)):
                raise Unsupported("starts from a given state (initial_h/initial_c); a design's recurrent layers "
                                  "start from zeros")
        if kind == "lstm" and len(extra) > 3 and extra[3] is not None:
            raise Unsupported("has peephole weights (P); the design's LSTM is PyTorch's, without them")
        w = np.asarray(self._const(inputs[1], "W"), dtype=np.float32)
        r = np.asarray(self._const(inputs[2], "R"), dtype=np.float32)
        if w.ndim != 3 or r.ndim != 3 or w.shape[0] != 1:
            raise Unsupported("its weights are not laid out [1, gates * hidden, inputs]")
        hidden = int(attrs.get("hidden_size", r.shape[-1]))
        if w.shape[1] != gates * hidden or r.shape[1:] != (gates * hidden, hidden):
            raise Unsupported(f"its weights do not fit hidden_size {hidden}")
        b = inputs[3] if len(inputs) > 3 else None
        bias = np.asarray(self._const(b, "B"), dtype=np.float32).reshape(-1) if b is not None else None
        if bias is not None and bias.size != 2 * gates * hidden:
            raise Unsupported(f"its bias B holds {bias.size} values, not {2 * gates * hidden}")
        tensor = self._act(self._plain(self._tensor(inputs[0])))
        if tensor.time != ALL:
            raise Unsupported("runs over a value that is not a sequence of every step")
        axes = list(tensor.axes)
        order = ("T", "B") if layout == 0 else ("B", "T")
        if len(axes) != 3 or (axes[0].kind, axes[1].kind) != order:
            raise Unsupported(f"reads a tensor laid out {[a.kind for a in axes]}, not [{', '.join(order)}, inputs]")
        source = tensor.src.layer
        if w.shape[2] != source.units:
            raise Unsupported(f"its weights take {w.shape[2]} inputs but the layer it reads has {source.units} units")
        if kind == "lstm":
            order_ = [0, 2, 3, 1]  # ONNX i, o, f, c -> PyTorch i, f, g, o
        elif kind == "gru":
            order_ = [1, 0, 2]  # ONNX z, r, h -> PyTorch r, z, n
        else:
            order_ = [0]

        def gates_first(array: np.ndarray) -> np.ndarray:
            blocks = np.split(array, gates, axis=0)
            return np.ascontiguousarray(np.concatenate([blocks[i] for i in order_], axis=0))

        stem = stem_of(node.name) or ""
        layer = LayerDraft("neurons" if kind == "rnn" else kind, (hidden,), stem, shape_fixed=True, time=ALL,
                           node=node.name)
        weight_in = gates_first(w[0])
        recurrent = gates_first(r[0])
        if kind == "rnn":
            layer.activation = activation
            layer.bias = bias[:hidden] + bias[hidden:] if bias is not None else None
            layer.incoming.append(ConnectionDraft(source, layer, weight=weight_in))
            layer.incoming.append(ConnectionDraft(layer, layer, weight=recurrent, recurrent=True))
        else:
            g = gates * hidden
            layer.weight_hh = recurrent
            if bias is not None:
                if kind == "lstm":
                    layer.bias = gates_first(bias[:g] + bias[g:])
                else:
                    layer.bias, layer.bias_hh = gates_first(bias[:g]), gates_first(bias[g:])
            layer.incoming.append(ConnectionDraft(source, layer, weight=weight_in))
        self.drafts.append(layer)
        act = Act(layer)
        one, batch, units = Axis("1", ONE), Axis("B", self.batch), _feature(hidden)
        steps = axes[0] if layout == 0 else axes[1]
        time_axis = Axis("T", steps.size)
        y = Tensor(act, (time_axis, one, batch, units) if layout == 0 else (batch, time_axis, one, units), ALL)
        last = self._step(-1)
        y_h = Tensor(act, (one, batch, units) if layout == 0 else (batch, one, units), last)
        if kind == "lstm":
            self._no_more_outputs(node, 2, "uses the LSTM's cell state (Y_c), which a design does not expose")
        return [y, y_h]

    def op_RNN(self, node: Node, inputs) -> list[Value]:
        return self._recurrent(node, inputs, "rnn")

    def op_LSTM(self, node: Node, inputs) -> list[Value]:
        return self._recurrent(node, inputs, "lstm")

    def op_GRU(self, node: Node, inputs) -> list[Value]:
        return self._recurrent(node, inputs, "gru")

    # ================================================================== layers
    def materialise(self, sum_: Sum) -> LayerDraft:
        """The layer a pending sum makes (once per sum); in an unrolled loop, the layer it repeats."""
        time = self._times(sum_.terms)
        key = (id(sum_), time)
        if key in self.materialised:
            return self.materialised[key]
        if not sum_.terms:
            raise Unsupported("makes a layer that receives nothing (a constant); a design's layers are reached "
                              "from the input")
        layer = None
        if isinstance(time, int):
            layer = self._repeat_of(sum_, time)
        if layer is None:
            layer = LayerDraft("neurons", sum_.shape, sum_.stem, shape_fixed=sum_.shape_fixed,
                               activation=sum_.activation or "linear", slope=sum_.slope, bias=sum_.bias,
                               norm=sum_.norm, norm_arrays=dict(sum_.norm_arrays),
                               time="steps" if isinstance(time, int) else time, node=sum_.node)
            if isinstance(time, int):
                layer.steps.add(time)
            for term in sum_.terms:
                recurrent = isinstance(time, int) and term.source_time == time - 1
                layer.incoming.append(self._connection(term, layer, recurrent))
            layer.recurrence_known = not isinstance(time, int) or time > 0
            self.drafts.append(layer)
            self._register(sum_, layer)
        self.materialised[key] = layer
        return layer

    def _register(self, key_object: Any, layer: LayerDraft) -> None:
        self._alive.append(key_object)

    def _connection(self, term: Term, target: LayerDraft, recurrent: bool) -> ConnectionDraft:
        return ConnectionDraft(term.source, target, term.kind, term.window, term.stride, term.padding,
                               shared=term.kind == "local" and not term.pool, pool=term.pool, weight=term.weight,
                               recurrent=recurrent)

    def _repeat_of(self, sum_: Sum, time: int) -> LayerDraft | None:
        """The layer made at step ``time - 1`` that this sum computes again at ``time``, if there is one."""
        if time == 0:
            return None
        for layer in self.drafts:
            if layer.time != "steps" or (time - 1) not in layer.steps or time in layer.steps:
                continue
            if not self._same_function(layer, sum_):
                continue
            forward = [t for t in sum_.terms if t.source_time == time]
            recurrent = [t for t in sum_.terms if t.source_time == time - 1]
            known_forward = [c for c in layer.incoming if not c.recurrent]
            known_recurrent = [c for c in layer.incoming if c.recurrent]
            if not _same_terms(known_forward, forward):
                continue
            if layer.recurrence_known:
                if not _same_terms(known_recurrent, recurrent):
                    continue
            else:
                for term in recurrent:
                    layer.incoming.append(self._connection(term, layer, True))
                layer.recurrence_known = True
            layer.steps.add(time)
            self._register(sum_, layer)
            return layer
        return None

    @staticmethod
    def _same_function(layer: LayerDraft, sum_: Sum) -> bool:
        if (layer.activation != (sum_.activation or "linear") or layer.norm != sum_.norm
                or layer.units != sum_.units or (layer.activation == "leaky_relu" and layer.slope != sum_.slope)):
            return False
        if (layer.bias is None) != (sum_.bias is None):
            return False
        if layer.bias is not None and not np.allclose(layer.bias, sum_.bias, rtol=1e-6, atol=0):
            return False
        mine = dict(sum_.norm_arrays)
        return all(np.array_equal(layer.norm_arrays[k], mine.get(k)) for k in layer.norm_arrays)


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=0))


def _pairs(expr: Expr, op: str):
    """The operand orders of a commutative ``op`` node (none if ``expr`` is not one)."""
    if expr.op != op or len(expr.args) != 2:
        return []
    a, b = expr.args
    return [(a, b), (b, a)]


def _chunk(expr: Expr, index: int, parts: int) -> Sum | None:
    if expr.op == "chunk" and expr.args[1] == index and expr.args[2] == parts:
        return expr.args[0]
    return None


def _of(expr: Expr, op: str) -> Expr | None:
    return expr.args[0] if expr.op == op else None


def _match_lstm(h: Expr):
    """``h = sigmoid(o) * tanh(c)``, ``c = sigmoid(f) * c_before + sigmoid(i) * tanh(g)`` over the four gates of one
    sum (PyTorch's order i, f, g, o): ``("lstm", sum, None, c_before, c)`` or None."""
    for gate, squashed in _pairs(h, "mul"):
        out = _of(gate, "sigmoid")
        cell = _of(squashed, "tanh")
        if out is None or cell is None:
            continue
        sum_ = _chunk(out, 3, 4)
        if sum_ is None:
            continue
        for kept, added in _pairs(cell, "add"):
            for forget, before in _pairs(kept, "mul"):
                f = _of(forget, "sigmoid")
                if f is None or _chunk(f, 1, 4) is not sum_:
                    continue
                for in_gate, candidate in _pairs(added, "mul"):
                    i, g = _of(in_gate, "sigmoid"), _of(candidate, "tanh")
                    if i is not None and g is not None and _chunk(i, 0, 4) is sum_ and _chunk(g, 2, 4) is sum_:
                        return "lstm", sum_, None, before, cell
    return None


def _match_gru(h: Expr):
    """``h = n + z * (h_before - n)``, ``n = tanh(x_n + r * h_n)``, ``r = sigmoid(x_r + h_r)``,
    ``z = sigmoid(x_z + h_z)`` (PyTorch's GRU, gates r, z, n of the inputs' sum and the hidden state's):
    ``("gru", inputs' sum, hidden's sum, h_before, None)`` or None."""
    for n, update in _pairs(h, "add"):
        if _of(n, "tanh") is None:
            continue
        for z, difference in _pairs(update, "mul"):
            if difference.op != "sub" or difference.args[1] is not n or _of(z, "sigmoid") is None:
                continue
            before = difference.args[0]  # zeros, or the value at the step before (checked by the caller)
            for x_n, reset_h in _pairs(_of(n, "tanh"), "add"):
                x = _chunk(x_n, 2, 3)
                if x is None:
                    continue
                for r, h_n in _pairs(reset_h, "mul"):
                    hidden = _chunk(h_n, 2, 3)
                    gate = _of(r, "sigmoid")
                    if hidden is None or gate is None or hidden is x:
                        continue
                    wanted = {(0, "r"), (1, "z")}
                    ok = True
                    for index, which in wanted:
                        total = gate if which == "r" else _of(z, "sigmoid")
                        pair = [(a, b) for a, b in _pairs(total, "add") if _chunk(a, index, 3) is x
                                and _chunk(b, index, 3) is hidden]
                        ok = ok and bool(pair)
                    if ok:
                        return "gru", x, hidden, before, None
    return None


def _same_terms(connections: list[ConnectionDraft], terms: list[Term]) -> bool:
    if len(connections) != len(terms):
        return False
    left = list(terms)
    for conn in connections:
        for term in left:
            if (term.source is conn.source and term.kind == conn.kind and term.window == conn.window
                    and term.stride == conn.stride and term.padding == conn.padding and term.pool == conn.pool
                    and ((term.weight is None and conn.weight is None) or (
                        term.weight is not None and conn.weight is not None and term.weight.shape == conn.weight.shape
                        and np.array_equal(term.weight, conn.weight)))):
                left.remove(term)
                break
        else:
            return False
    return True


def _fits(shape: tuple[int, ...], view: tuple[int, ...]) -> bool:
    """Whether a layer of ``shape`` is the grid ``view`` (a [h, w] grid is one channel of [1, h, w])."""
    shape, view = tuple(shape), tuple(view)
    if shape == view:
        return True
    if len(view) == 3 and view[0] == 1 and shape == view[1:]:
        return True
    return len(shape) == 3 and shape[0] == 1 and shape[1:] == view


def _feature(n: int) -> Axis:
    return Axis("1", ONE) if n == 1 else Axis("F", Dim(int(n)))


def _axis_of(d: Dim, batch: Dim) -> Axis:
    if d == batch:
        return Axis("B", d)
    if d == ONE:
        return Axis("1", ONE)
    return Axis("F", d)


def _broadcast_axes(a: tuple[Axis, ...], b: tuple[Axis, ...]) -> list[Axis]:
    """The layout of ``a + b`` (both a layer's sums of the same units, maybe with extra size-1 axes)."""
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    out = list(longer)
    offset = len(longer) - len(shorter)
    for i, axis in enumerate(shorter):
        mine = out[offset + i]
        if mine.kind == "1" and axis.kind != "1":
            out[offset + i] = axis
        elif axis.kind != "1" and (axis.kind != mine.kind or axis.size != mine.size):
            if {axis.kind, mine.kind} <= {"F"} and axis.size == mine.size:
                continue
            raise Unsupported(f"adds values laid out {[x.kind for x in a]} and {[x.kind for x in b]}")
    return out


# ---------------------------------------------------------------------- constant folding
def _attr_or_input(arrays, attrs, index: int, key: str, default=None):
    if len(arrays) > index and arrays[index] is not None:
        return [int(v) for v in np.asarray(arrays[index]).reshape(-1)]
    return attrs.get(key, default)


def _fold_slice(arrays, attrs, opset):
    data = arrays[0]
    if opset < 10:
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = [int(v) for v in arrays[1].reshape(-1)]
        ends = [int(v) for v in arrays[2].reshape(-1)]
        axes = _attr_or_input(arrays, {}, 3, "", list(range(len(starts))))
        steps = _attr_or_input(arrays, {}, 4, "", [1] * len(starts))
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[a % data.ndim] = slice(s, e, st)
    return [data[tuple(index)]]


def _fold_squeeze(arrays, attrs, opset):
    axes = _attr_or_input(arrays, attrs, 1, "axes")
    data = arrays[0]
    return [np.squeeze(data, axis=tuple(a % data.ndim for a in axes)) if axes is not None else np.squeeze(data)]


def _fold_unsqueeze(arrays, attrs, opset):
    axes = _attr_or_input(arrays, attrs, 1, "axes", [])
    data = arrays[0]
    rank = data.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        data = np.expand_dims(data, a)
    return [data]


def _fold_reshape(arrays, attrs, opset):
    data, shape = arrays[0], [int(v) for v in arrays[1].reshape(-1)]
    if not attrs.get("allowzero", 0):
        shape = [data.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [data.reshape(shape)]


def _fold_gather(arrays, attrs, opset):
    return [np.take(arrays[0], arrays[1].astype(np.int64), axis=attrs.get("axis", 0))]


def _fold_split(arrays, attrs, opset):
    data = arrays[0]
    axis = attrs.get("axis", 0)
    sizes = _attr_or_input(arrays, attrs, 1, "split")
    if sizes is None:
        raise Unsupported("splits constants into parts the reader does not follow")
    return list(np.split(data, np.cumsum(sizes)[:-1], axis=axis))


def _fold_cast(arrays, attrs, opset):
    from onnx import helper

    return [arrays[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))]


def _fold_constant_of_shape(arrays, attrs, opset):
    from onnx import numpy_helper

    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
    shape = [int(v) for v in arrays[0].reshape(-1)]
    if math.prod(shape) > MAX_CONSTANT_VALUES:
        raise Unsupported(f"makes a constant of shape {shape}, more values than a design may hold")
    return [np.full(shape, value.reshape(-1)[0], dtype=value.dtype)]


def _fold_expand(arrays, attrs, opset):
    shape = [int(v) for v in arrays[1].reshape(-1)]
    out = np.broadcast_shapes(arrays[0].shape, tuple(shape))
    if math.prod(out) > MAX_CONSTANT_VALUES:
        raise Unsupported(f"makes a constant of shape {list(out)}, more values than a design may hold")
    return [np.array(np.broadcast_to(arrays[0], out))]


def _fold_range(arrays, attrs, opset):
    start, limit, delta = (a.reshape(-1)[0] for a in arrays)
    if delta == 0 or abs((limit - start) / delta) > MAX_CONSTANT_VALUES:
        raise Unsupported("makes a range of too many values")
    return [np.arange(start, limit, delta, dtype=arrays[0].dtype)]


def _binary(function):
    def fold(arrays, attrs, opset):
        a, b = arrays
        out = function(a, b)
        return [out.astype(a.dtype) if a.dtype.kind == "f" or out.dtype.kind != "b" else out]
    return fold


def _int_div(a, b):
    return a // b if a.dtype.kind in "iu" else a / b


_CONSTANT_OPS: dict[str, Callable] = {
    "Identity": lambda arrays, attrs, opset: [arrays[0]],
    "Cast": _fold_cast,
    "Reshape": _fold_reshape,
    "Flatten": lambda arrays, attrs, opset: [arrays[0].reshape(
        math.prod(arrays[0].shape[:attrs.get("axis", 1)]), -1)],
    "Transpose": lambda arrays, attrs, opset: [np.transpose(arrays[0], attrs.get("perm"))],
    "Squeeze": _fold_squeeze,
    "Unsqueeze": _fold_unsqueeze,
    "Concat": lambda arrays, attrs, opset: [np.concatenate([a for a in arrays if a is not None], attrs.get("axis", 0))],
    "Gather": _fold_gather,
    "Slice": _fold_slice,
    "Split": _fold_split,
    "Shape": lambda arrays, attrs, opset: [np.array(arrays[0].shape[attrs.get("start", 0):attrs.get("end")],
                                                    dtype=np.int64)],
    "Size": lambda arrays, attrs, opset: [np.array(arrays[0].size, dtype=np.int64)],
    "ConstantOfShape": _fold_constant_of_shape,
    "Expand": _fold_expand,
    "Range": _fold_range,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_int_div),
    "Pow": _binary(np.power),
    "Equal": _binary(np.equal),
    "Less": _binary(np.less),
    "Greater": _binary(np.greater),
    "Max": lambda arrays, attrs, opset: [np.maximum.reduce(arrays)],
    "Min": lambda arrays, attrs, opset: [np.minimum.reduce(arrays)],
    "Neg": lambda arrays, attrs, opset: [-arrays[0]],
    "Sqrt": lambda arrays, attrs, opset: [np.sqrt(arrays[0])],
    "Reciprocal": lambda arrays, attrs, opset: [1 / arrays[0]],
    "Abs": lambda arrays, attrs, opset: [np.abs(arrays[0])],
    "Where": lambda arrays, attrs, opset: [np.where(*arrays)],
    "MatMul": lambda arrays, attrs, opset: [np.matmul(arrays[0], arrays[1])],
    "ReduceProd": lambda arrays, attrs, opset: [np.prod(arrays[0], keepdims=bool(attrs.get("keepdims", 1)))],
}

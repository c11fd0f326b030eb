"""Follow one sample through the network: a neuron's sum written out, term by term.

:func:`explain` takes the numbers a compiled design computed for some inputs (``module.trace(x)``) and the
weights by file name (``module.named_weights()``), and writes out what one neuron did for one sample:
every incoming link's ``weight × input``, the bias, the sum ``z``, the normalised sum, the activation and
the value. The sum it adds up is the trace's own ``sums`` (to float rounding): the same arithmetic, in the
open.

- dense and local connections (shared or not): one term per link, from the weights and the source
  layer's traced values; disabled links are no links and give no term; taps on the padding read zeros
  and give none either;
- pooling: the window's inputs; ``max`` says which one won, ``mean`` is ``sum_i x_i / window`` (padding
  counted as zeros, as the model computes it), written as terms of weight ``1 / window``;
- sequence designs: at a time step; a recurrent connection reads its source's value at the step before
  (zeros at the first step), and a layer that runs once, after the last step, reads the last step;
- ``lstm``/``gru`` units: their value only (gates and cell state are no single weighted sum); the
  explanation says so.

The trace must come from the module in evaluation mode (:func:`designer.insight.tracing.trace` does that):
batch normalisation is explained with its running statistics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from designer.compiler.program import NORM_EPS
from designer.graph import GATES, Connection, Graph, GraphError, local_geometry, local_out_channels, norm_features

from .tracing import as_array

#: the terms :meth:`Explanation.lines` writes out before "… N more"
TOP_TERMS = 8


@dataclass(frozen=True)
class Term:
    """One link's share of a sum: ``weight × input_value = product``.

    ``source_index`` is the flat index of the source neuron. Max pooling has no weight (NaN): its
    product is the input itself, and only the winner's counts. ``previous_step``: a recurrent link,
    reading the source's value at the step before.
    """

    source_layer: str
    source_index: int
    weight: float
    input_value: float
    product: float
    previous_step: bool = False


@dataclass(frozen=True)
class Incoming:
    """What one incoming connection adds to the sum: its terms, largest ``|product|`` first, and their total.

    ``kind``: ``"dense"``, ``"local"``, ``"max"`` or ``"mean"`` (pooling). ``winner``: the source index that
    won a max pooling.
    """

    connection: str
    source_layer: str
    kind: str
    terms: tuple[Term, ...]
    total: float
    previous_step: bool = False
    winner: int | None = None


@dataclass(frozen=True)
class Explanation:
    """Neuron ``neuron`` of ``layer`` on sample ``sample`` (at ``step`` in a sequence design).

    ``z = sum of every connection's total + bias``; ``normalised`` is ``z`` after batch or layer
    normalisation (None without); ``value = activation(normalised or z)``, as the trace has it. For
    lstm/gru units only ``value`` is known (``z`` is None) and ``note`` says why.
    """

    layer: str
    neuron: int
    sample: int
    step: int | None
    kind: str
    activation: str
    incoming: tuple[Incoming, ...]
    bias: float | None
    z: float | None
    norm: str
    normalised: float | None
    value: float
    note: str = ""

    @property
    def terms(self) -> list[Term]:
        """Every weighted term of every connection, largest ``|product|`` first (max pooling's: the winner)."""
        out = []
        for inc in self.incoming:
            if inc.kind == "max":
                out += [t for t in inc.terms if t.source_index == inc.winner][:1]
            else:
                out += inc.terms
        return sorted(out, key=lambda t: -abs(t.product))

    def lines(self, top: int = TOP_TERMS) -> list[str]:
        """The sum written out: the ``top`` largest terms, "… N more", ``sum + b = z``, ``f(z) = a``.

        ``["h[3], sample 12", "0.42 × 1.3 (x[0])", "+ -0.2 × 0.51 (x[1])", "sum + b = 0.32 + 0.1 = 0.42 = z",
        "tanh(0.42) = 0.397 = a"]``
        """
        head = f"{self.layer}[{self.neuron}], sample {self.sample}" + (
            f", step {self.step}" if self.step is not None else "")
        if self.z is None:
            return [head, f"{self.note} value {_num(self.value)} = a"]
        items: list[tuple[float, str]] = []  # (what it adds, its text)
        for inc in self.incoming:
            if inc.kind == "max":
                inputs = ", ".join(_num(t.input_value) for t in inc.terms[:6]) + (", …" if len(inc.terms) > 6 else "")
                items.append((inc.total, f"max({inputs}) = {_num(inc.total)} "
                                         f"({self._name(inc.source_layer, inc.winner, inc.previous_step)} won)"))
                continue
            for t in inc.terms:
                items.append((t.product, f"{_num(t.weight)} × {_num(t.input_value)} "
                                         f"({self._name(t.source_layer, t.source_index, t.previous_step)})"))
        items.sort(key=lambda item: -abs(item[0]))
        lines = [head]
        for i, (_, text) in enumerate(items[:top]):
            lines.append(text if i == 0 else f"+ {text}")
        rest = items[top:]
        if rest:
            lines.append(f"… {len(rest)} more ({_signed(math.fsum(v for v, _ in rest))})")
        total = math.fsum(inc.total for inc in self.incoming)
        bias = self.bias if self.bias is not None else 0.0
        if not items:
            lines.append("no inputs")
        lines.append(f"sum + b = {_num(total)} + {_num(bias)} = {_num(self.z)} = z" if self.bias is not None
                     else f"sum = {_num(self.z)} = z (no bias)")
        z_name = "z"
        if self.normalised is not None:
            lines.append(f"{self.norm} norm(z) = {_num(self.normalised)}")
            z_name = _num(self.normalised)
        else:
            z_name = _num(self.z)
        picked = f"[{self.neuron}]" if self.activation == "softmax" else ""
        lines.append(f"{self.activation}({z_name}){picked} = {_num(self.value)} = a")
        return lines

    @staticmethod
    def _name(layer: str, index: int | None, previous: bool) -> str:
        return f"{layer}[{index}]" + (" at the step before" if previous else "")


def explain(graph: Graph, weights: Mapping[str, Any], traced: Mapping[str, Mapping[str, Any]], sample: int,
            layer_id: str, neuron: int, step: int | None = None) -> Explanation:
    """What neuron ``neuron`` (flat index) of ``layer_id`` computed for sample ``sample`` of ``traced``.

    ``traced`` is ``module.trace(x)`` (tensors or numpy arrays); ``weights`` the weights by file name.
    ``step``: the time step in a sequence design (default the last; ignored for layers that run once,
    after the last step). Raises :class:`GraphError` for a layer that is not traced, an input layer or
    an index out of range.
    """
    layer = graph.layer(layer_id)
    values, sums = traced["values"], traced.get("sums", {})
    if layer_id not in values:
        raise GraphError(f"layer {layer_id!r} takes no part in the computation: it has nothing to explain")
    if layer.kind == "input":
        raise GraphError(f"layer {layer_id!r} is the input: its values are the sample itself")
    own = as_array(values[layer_id])
    if not 0 <= sample < own.shape[0]:
        raise GraphError(f"sample {sample} is out of range: the trace holds {own.shape[0]} samples")
    if not 0 <= neuron < layer.units:
        raise GraphError(f"neuron {neuron} is out of range: layer {layer_id!r} has {layer.units}")
    sequence = own.ndim == 3
    t = _step(graph, values, own, step) if sequence else None
    value = float(own[sample, t if t is not None else 0, neuron] if sequence else own[sample, neuron])
    if layer.kind in GATES:
        note = (f"an {layer.kind} unit's value comes from its gates and its cell state, not from one weighted sum;"
                if layer.kind == "lstm" else
                "a gru unit's value comes from its gates and its value at the step before, not from one weighted sum;")
        return Explanation(layer_id, neuron, sample, t, layer.kind, "", (), None, None, "none", None, value,
                           note)
    recurrent = graph.flow().recurrent
    incoming = []
    for conn in graph.incoming(layer_id):
        if conn.source not in values:
            continue
        source_values = as_array(values[conn.source])
        previous = conn.id in recurrent
        x = _source_row(source_values, sample, t, previous, sequence)
        incoming.append(_incoming(graph, conn, weights, x, neuron, previous))
    bias = None
    if layer.bias and f"{layer_id}.bias" in weights:
        bias = float(as_array(weights[f"{layer_id}.bias"])[neuron])
    z = math.fsum([inc.total for inc in incoming] + [bias or 0.0])
    normalised = None
    if norm_features(layer):
        layer_sums = as_array(sums[layer_id]) if layer_id in sums else None
        row = None
        if layer_sums is not None:
            row = layer_sums[sample, t if t is not None else 0] if sequence else layer_sums[sample]
        normalised = _normalised(layer, weights, neuron, z, row)
    return Explanation(layer_id, neuron, sample, t, layer.kind, layer.activation, tuple(incoming), bias, z,
                       layer.norm, normalised, value)


def sample_values(traced: Mapping[str, Mapping[str, Any]], sample: int,
                  step: int | None = None) -> dict[str, np.ndarray]:
    """Every layer's values for one sample (at ``step`` in a sequence design, default the last; a layer that
    runs once gives its one value): ``{layer id: float32 [units]}``, for showing on every neuron."""
    out = {}
    for lid, v in traced["values"].items():
        v = as_array(v)
        if v.ndim == 3:
            at = v.shape[1] - 1 if step is None or v.shape[1] == 1 else step
            out[lid] = np.array(v[sample, at], dtype=np.float32)
        else:
            out[lid] = np.array(v[sample], dtype=np.float32)
    return out


# ---------------------------------------------------------------------------------------------- pieces
def _step(graph: Graph, values, own: np.ndarray, step: int | None) -> int | None:
    """The time step to explain in a sequence design; None for a layer that runs once, after the last step."""
    inputs = [lid for lid in values if lid in graph.layers and graph.layers[lid].kind == "input"]
    steps = as_array(values[inputs[0]]).shape[1] if inputs else own.shape[1]
    if own.shape[1] != steps:
        return None
    if step is None:
        return steps - 1
    if not 0 <= step < steps:
        raise GraphError(f"step {step} is out of range: the sequence has {steps} steps")
    return int(step)


def _source_row(source: np.ndarray, sample: int, t: int | None, previous: bool, sequence: bool) -> np.ndarray:
    """What a connection reads for ``sample``: the source's value (at the step, the step before, or the last)."""
    if not sequence:
        return source[sample].astype(np.float64)
    if previous:  # a recurrent link: the value of the step before, zeros at the first
        if t is None or t == 0:
            return np.zeros(source.shape[2])
        return source[sample, min(t - 1, source.shape[1] - 1)].astype(np.float64)
    if t is None or source.shape[1] == 1:  # the target runs once (the last step), or the source does
        return source[sample, -1].astype(np.float64)
    return source[sample, t].astype(np.float64)


def _incoming(graph: Graph, conn: Connection, weights, x: np.ndarray, neuron: int, previous: bool) -> Incoming:
    source, target = graph.layers[conn.source], graph.layers[conn.target]
    disabled = {s for t, s in conn.disabled if t == neuron}
    if conn.connectivity.kind != "local":
        w = as_array(weights[f"{conn.id}.weight"])[neuron].astype(np.float64)
        index = np.array([s for s in range(source.units) if s not in disabled], dtype=np.int64)
        return _weighted(conn, "dense", index, w[index], x[index], previous)
    geo = local_geometry(source.shape, conn.connectivity)
    in_size = math.prod(geo.in_spatial)
    out_c = local_out_channels(target.shape, geo, conn.connectivity.pool)
    channel, position = divmod(neuron, geo.positions)
    pos = np.unravel_index(position, geo.out_spatial)
    places, taps = [], []  # source places on the grid (flat, per channel) and their window offsets
    for k, off in enumerate(np.ndindex(*geo.window)):
        src = [int(p) * geo.stride + o - b for p, o, b in zip(pos, off, geo.pad_before)]
        if all(0 <= c < n for c, n in zip(src, geo.in_spatial)):
            places.append(int(np.ravel_multi_index(src, geo.in_spatial)))
            taps.append(k)
    if conn.connectivity.pool:
        index = np.array([channel * in_size + p for p in places], dtype=np.int64)
        inputs = x[index]
        if conn.connectivity.pool == "max":
            best = int(np.argmax(inputs))
            terms = tuple(sorted((Term(conn.source, int(s), math.nan, float(v), float(v), previous)
                                  for s, v in zip(index, inputs)), key=lambda term: -term.product))
            return Incoming(conn.id, conn.source, "max", terms, float(inputs[best]), previous, int(index[best]))
        share = 1.0 / geo.window_size  # padding counts as zeros, as the model computes the mean
        return _weighted(conn, "mean", index, np.full(len(index), share), inputs, previous)
    w = as_array(weights[f"{conn.id}.weight"])
    if conn.connectivity.shared:  # [out_c, in_c, *window]
        kernel = w.reshape(out_c, geo.in_channels, geo.window_size)[channel]
    else:  # [*target_shape, in_c, *window]: this neuron's own
        kernel = w.reshape(target.units, geo.in_channels, geo.window_size)[neuron]
    index, weight = [], []
    for ci in range(geo.in_channels):
        for place, k in zip(places, taps):
            s = ci * in_size + place
            if s not in disabled:
                index.append(s)
                weight.append(float(kernel[ci, k]))
    index_array = np.array(index, dtype=np.int64)
    return _weighted(conn, "local", index_array, np.array(weight, dtype=np.float64), x[index_array], previous)


def _weighted(conn: Connection, kind: str, index: np.ndarray, w: np.ndarray, x: np.ndarray,
              previous: bool) -> Incoming:
    products = w * x
    order = np.argsort(-np.abs(products), kind="stable")
    terms = tuple(Term(conn.source, int(index[i]), float(w[i]), float(x[i]), float(products[i]), previous)
                  for i in order)
    return Incoming(conn.id, conn.source, kind, terms, math.fsum(products.tolist()), previous)


def _normalised(layer, weights, neuron: int, z: float, row: np.ndarray | None) -> float | None:
    """``z`` batch-normalised (running statistics) or layer-normalised (over the sample's sums, ``row``)."""
    lid = layer.id
    scale = as_array(weights[f"{lid}.norm_weight"]).reshape(-1)
    shift = as_array(weights[f"{lid}.norm_bias"]).reshape(-1)
    if layer.norm == "layer":
        if row is None:
            return None
        sums = np.asarray(row, dtype=np.float64).reshape(-1)
        mean, var = sums.mean(), sums.var()
        return float((z - mean) / math.sqrt(var + NORM_EPS) * scale[neuron] + shift[neuron])
    features = norm_features(layer)[0]
    feature = neuron if len(layer.shape) == 1 else (neuron * features) // layer.units
    mean = float(as_array(weights[f"{lid}.running_mean"]).reshape(-1)[feature])
    var = float(as_array(weights[f"{lid}.running_var"]).reshape(-1)[feature])
    return float((z - mean) / math.sqrt(var + NORM_EPS) * scale[feature] + shift[feature])


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.3g}"


def _signed(value: float) -> str:
    return f"+{_num(value)}" if value >= 0 else _num(value)

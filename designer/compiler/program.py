"""From a design to a program: the tensors a module holds and the Python source of its forward pass.

Everything that can be decided from the design is decided here, once, at compile time: which layers
take part, in what order they run, which connection is a matrix product, a convolution or a locally
connected window, where a sequence's time loop begins and ends, and which work can be hoisted out of
it. The result is plain source code (``forward`` and ``logits``) that a :class:`DesignModule` runs
and :func:`export_source` writes out, so there is no interpretation of the graph per call.
"""
from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field

import torch

from designer.graph import (GATES, Connection, Graph, GraphError, Layer, LocalGeometry, Problem, errors,
                            local_geometry, local_out_channels, norm_features, validate)

from .errors import CompileError

#: what each activation is in generated code; ``{}`` is the pre-activation value
ACTIVATION_CODE = {
    "linear": "{}",
    "sigmoid": "torch.sigmoid({})",
    "tanh": "torch.tanh({})",
    "relu": "torch.relu({})",
    "leaky_relu": "F.leaky_relu({}, {slope!r})",
    "elu": "F.elu({})",
    "gelu": "F.gelu({})",
    "softplus": "F.softplus({})",
    "silu": "F.silu({})",
    "hard_sigmoid": "F.hardsigmoid({})",
    "softmax": "torch.softmax({}, 1)",
    "step": "step({})",
    "sign": "sign({})",
}
#: the activations that call a helper of :mod:`designer.compiler.runtime`
ACTIVATION_HELPERS = {"step": "step", "sign": "sign"}
#: batch normalisation as nn.BatchNorm*d: running statistics' momentum, and the epsilon of both norms
NORM_MOMENTUM = 0.1
NORM_EPS = 1e-5

#: names the generated code uses itself, and attributes a module already has
_RESERVED = {"x", "B", "T", "t", "self", "torch", "F", "nn", "step", "sign", "SignFunction", "local_unshared",
             "shared_as_local",
             "StepFunction", "LocalUnshared", "window_slices", "MASKED", "local_weight_from_file",
             "local_weight_to_file", "disabled_mask", "load", "load_file", "Model", "WEIGHTS", "input_shape",
             "output_units", "output_activation", "is_sequence", "named_weights", "load_named_weights", "logits",
             "source", "weight_specs"} | set(dir(torch.nn.Module))


@dataclass
class Mask:
    """Zeros at the flat ``zeros`` indices of a tensor of ``shape``: the disabled links of one connection."""

    attr: str
    shape: tuple[int, ...]
    zeros: list[int]


@dataclass
class WeightSpec:
    """One trainable tensor: its name in files, its attribute, shapes and how it starts."""

    name: str  # as in weights.safetensors: "<layer>.bias", "<connection>.weight", ...
    attr: str  # attribute of the module
    shape: tuple[int, ...]  # as held and computed with
    file_shape: tuple[int, ...]  # as in named_weights() and files
    bound: float  # initial values uniform in [-bound, bound]
    owner: str  # the layer or connection id
    owner_kind: str  # "layer" or "connection"
    window_size: int = 0  # > 0: an unshared local weight, held per window offset (see runtime)
    mask: Mask | None = None  # disabled links
    mask_on_param: bool = False  # the mask has the parameter's shape: zero those entries themselves
    init: str = "default"  # "default" (uniform in [-bound, bound]) or one of designer.graph.INITS
    init_value: float = 0.0  # init "constant"
    fan_in: int = 0  # inputs per neuron, for the Xavier and He initialisations
    fan_out: int = 0
    rows: int = 0  # rows of the matrix (file layout viewed as [rows, -1]) an orthogonal start makes orthogonal
    trainable: bool = True  # False: a buffer such as batch norm's running statistics (saved, not trained)
    fill: float | None = None  # starts at this value (normalisation's scale 1, shift 0, running mean 0, var 1)

    def what(self) -> str:
        return f"{self.owner_kind} {self.owner!r}"


@dataclass
class Program:
    """A compiled design: its tensors and the source of ``forward`` and ``logits``."""

    weights: list[WeightSpec]
    masks: list[Mask]
    source: str  # the two methods, as Python source (indented for a class body)
    helpers: list[str]  # names from runtime the source calls
    input_shape: tuple[int, ...]
    output_units: int
    output_activation: str
    is_sequence: bool
    layers: list[str] = field(default_factory=list)  # the layers that take part, in the order they run
    trace_source: str = ""  # the ``trace`` method: every layer's values and sums (see DesignModule.trace)


class _Names:
    """Unique Python identifiers made from ids; ids may hold '-' and '.', and two ids may sanitise alike."""

    def __init__(self) -> None:
        self.used = set(_RESERVED)

    def new(self, base: str) -> str:
        base = re.sub(r"\W", "_", base, flags=re.ASCII)
        if not base or base[0].isdigit():
            base = "n" + base
        name, n = base, 2
        while name in self.used or keyword.iskeyword(name):
            name = f"{base}_{n}"
            n += 1
        self.used.add(name)
        return name


def _participating(graph: Graph, flow) -> set[str]:
    """Layers reached from the input that also lead to the output."""
    if not flow.outputs:
        return set()
    into: dict[str, list[str]] = {lid: [] for lid in graph.layers}
    for conn in graph.connections.values():
        into[conn.target].append(conn.source)
    leads = {flow.outputs[0]}
    todo = [flow.outputs[0]]
    while todo:
        node = todo.pop()
        for src in into[node]:
            if src not in leads:
                leads.add(src)
                todo.append(src)
    return leads & flow.reachable


def _grid_view(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``[channels, *grid]`` of a layer shape, as a local connection sees it."""
    return tuple(shape) if len(shape) == 3 else (1, *shape)


class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.names = _Names()
        self.weights: list[WeightSpec] = []
        self.masks: list[Mask] = []
        self.helpers: set[str] = set()
        self.conn_weight: dict[str, WeightSpec] = {}
        self.layer_bias: dict[str, WeightSpec] = {}
        self.layer_extra: dict[str, dict[str, WeightSpec]] = {}
        self.geometry: dict[str, LocalGeometry] = {}
        self.alias: dict[str, str] = {}  # weight attr -> the local name the forward code uses

    # ------------------------------------------------------------------ tensors
    def _fan_in(self, layer: Layer) -> int:
        total = 0
        for conn in self.graph.incoming(layer.id):
            source = self.graph.layers[conn.source]
            if conn.connectivity.is_pool:  # no weights; its window still feeds each neuron
                total += local_geometry(source.shape, conn.connectivity).window_size
            elif conn.connectivity.kind == "local":
                geo = local_geometry(source.shape, conn.connectivity)
                total += geo.in_channels * geo.window_size
            else:
                total += source.units
        return total

    def _bound(self, layer: Layer) -> float:
        # nn.Linear's default (Kaiming-uniform with a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in));
        # gated layers follow nn.LSTM/nn.GRU: U(-1/sqrt(units), 1/sqrt(units)) for all their tensors.
        if layer.kind in GATES:
            return 1.0 / math.sqrt(layer.units)
        return 1.0 / math.sqrt(max(self._fan_in(layer), 1))

    def plan_tensors(self) -> None:
        graph = self.graph
        for layer in graph.layers.values():
            bound = self._bound(layer)
            if layer.kind == "neurons" and layer.bias:
                self._add(WeightSpec(f"{layer.id}.bias", self.names.new(f"{layer.id}_bias"), (layer.units,),
                                     (layer.units,), bound, layer.id, "layer"), layer_bias=layer.id)
            if layer.kind == "neurons" and norm_features(layer):
                self._plan_norm(layer)
            elif layer.kind in GATES:
                g = GATES[layer.kind] * layer.units
                extra = self.layer_extra.setdefault(layer.id, {})
                extra["weight_hh"] = self._add(WeightSpec(
                    f"{layer.id}.weight_hh", self.names.new(f"{layer.id}_weight_hh"), (g, layer.units),
                    (g, layer.units), bound, layer.id, "layer", init=layer.init, init_value=layer.init_value,
                    fan_in=layer.units, fan_out=g, rows=g))
                if layer.bias:
                    self._add(WeightSpec(f"{layer.id}.bias", self.names.new(f"{layer.id}_bias"), (g,), (g,),
                                         bound, layer.id, "layer"), layer_bias=layer.id)
                    if layer.kind == "gru":
                        extra["bias_hh"] = self._add(WeightSpec(
                            f"{layer.id}.bias_hh", self.names.new(f"{layer.id}_bias_hh"), (g,), (g,), bound,
                            layer.id, "layer"))
        for conn in graph.connections.values():
            self._plan_connection(conn)

    def _plan_norm(self, layer: Layer) -> None:
        """Scale and shift (``nn.BatchNorm``/``nn.LayerNorm``'s weight and bias), and batch norm's statistics."""
        features = norm_features(layer)
        extra = self.layer_extra.setdefault(layer.id, {})
        for key, fill, trainable in (("norm_weight", 1.0, True), ("norm_bias", 0.0, True),
                                     ("running_mean", 0.0, False), ("running_var", 1.0, False)):
            if not trainable and layer.norm != "batch":
                continue
            extra[key] = self._add(WeightSpec(f"{layer.id}.{key}", self.names.new(f"{layer.id}_{key}"), features,
                                              features, 0.0, layer.id, "layer", trainable=trainable, fill=fill))

    def _add(self, spec: WeightSpec, layer_bias: str | None = None) -> WeightSpec:
        self.weights.append(spec)
        if layer_bias is not None:
            self.layer_bias[layer_bias] = spec
        return spec

    def _plan_connection(self, conn: Connection) -> None:
        source, target = self.graph.layers[conn.source], self.graph.layers[conn.target]
        if conn.connectivity.is_pool:  # the window's max or mean: nothing to learn
            self.geometry[conn.id] = local_geometry(source.shape, conn.connectivity)
            return
        bound = self._bound(target)
        attr = self.names.new(f"{conn.id}_weight")
        name = f"{conn.id}.weight"
        start = {"init": conn.init, "init_value": conn.init_value}
        if conn.connectivity.kind != "local":
            rows = GATES.get(target.kind, 1) * target.units
            spec = WeightSpec(name, attr, (rows, source.units), (rows, source.units), bound, conn.id, "connection",
                              fan_in=source.units, fan_out=rows, rows=rows, **start)
            if conn.disabled:
                zeros = sorted({(g * target.units + t) * source.units + s
                                for t, s in conn.disabled for g in range(GATES.get(target.kind, 1))})
                spec.mask = self._mask(conn, spec.shape, zeros)
                spec.mask_on_param = True
            self.conn_weight[conn.id] = self._add(spec)
            return
        geo = local_geometry(source.shape, conn.connectivity)
        self.geometry[conn.id] = geo
        out_c = local_out_channels(target.shape, geo, conn.connectivity.pool)
        in_c = geo.in_channels
        per_offset = (geo.window_size, out_c, *geo.out_spatial, in_c)
        zeros = sorted({self._local_entry(conn, geo, out_c, t, s) for t, s in conn.disabled})
        fans = {"fan_in": in_c * geo.window_size, "fan_out": out_c * geo.window_size}
        if conn.connectivity.shared:
            shape = (out_c, in_c, *geo.window)
            spec = WeightSpec(name, attr, shape, shape, bound, conn.id, "connection", rows=out_c, **fans, **start)
            if zeros:
                spec.mask = self._mask(conn, per_offset, zeros)
        else:
            spec = WeightSpec(name, attr, per_offset, (*target.shape, in_c, *geo.window), bound, conn.id,
                              "connection", window_size=geo.window_size, rows=target.units, **fans, **start)
            if zeros:
                spec.mask = self._mask(conn, per_offset, zeros)
                spec.mask_on_param = True
        self.conn_weight[conn.id] = self._add(spec)

    def _mask(self, conn: Connection, shape: tuple[int, ...], zeros: list[int]) -> Mask:
        mask = Mask(self.names.new(f"{conn.id}_mask"), tuple(shape), list(zeros))
        self.masks.append(mask)
        return mask

    @staticmethod
    def _local_entry(conn: Connection, geo: LocalGeometry, out_c: int, t: int, s: int) -> int:
        """The flat index, in the per-offset layout, of the weight of link (target t, source s)."""
        positions = geo.positions
        in_size = math.prod(geo.in_spatial)
        co, p = divmod(t, positions)
        ci, flat = divmod(s, in_size)
        pos = _unravel(p, geo.out_spatial)
        src = _unravel(flat, geo.in_spatial)
        offset = [c - (q * geo.stride - b) for c, q, b in zip(src, pos, geo.pad_before)]
        if co >= out_c or ci >= geo.in_channels or any(o < 0 or o >= k for o, k in zip(offset, geo.window)):
            raise CompileError.from_problems([_problem(
                f"disabled link [{t}, {s}] is not inside the window; remove it from the disabled links",
                connection=conn.id)])
        k = _ravel(offset, geo.window)
        index = (k, co, *pos, ci)
        return _ravel(index, (geo.window_size, out_c, *geo.out_spatial, geo.in_channels))


def _unravel(flat: int, shape: tuple[int, ...]) -> list[int]:
    out = []
    for n in reversed(shape):
        flat, r = divmod(flat, n)
        out.append(r)
    return out[::-1]


def _ravel(index, shape) -> int:
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return flat


def _problem(message: str, layer: str | None = None, connection: str | None = None) -> Problem:
    return Problem("error", message, layer, connection)


def build_program(graph: Graph) -> Program:
    """Validate ``graph`` and turn it into a :class:`Program`; raises :class:`CompileError`."""
    problems = errors(validate(graph))
    if problems:
        raise CompileError.from_problems(problems)
    try:
        program = _Codegen(graph).build()
        program.trace_source = _Codegen(graph, trace=True).build().source
        return program
    except GraphError as exc:  # validation passed, so this is a fault of ours; still say what it concerns
        raise CompileError(f"the design cannot be compiled: {exc}") from exc


class _Codegen(_Builder):
    """Writes ``forward`` and ``logits``; with ``trace``, a ``trace`` method instead (same computation, with
    every layer's weighted sums and values kept for the window's neuron-level views)."""

    def __init__(self, graph: Graph, trace: bool = False) -> None:
        super().__init__(graph)
        self.trace = trace
        self.traced: dict[str, tuple[str, str | None, str]] = {}  # layer -> (value, sum, how it is laid out)

    def build(self) -> Program:
        graph = self.graph
        flow = graph.flow()
        self.plan_tensors()
        take_part = _participating(graph, flow)
        self.order = [lid for lid in flow.order if lid in take_part]
        self.input_id = flow.inputs[0]
        self.output_id = flow.outputs[0]
        self.recurrent = {cid for cid in flow.recurrent
                          if graph.connections[cid].source in take_part and graph.connections[cid].target in take_part}
        self.incoming = {lid: [c for c in graph.incoming(lid) if c.source in take_part] for lid in self.order}
        is_sequence = bool(self.recurrent) or any(graph.layers[lid].kind in GATES for lid in self.order)
        self.in_sequence = is_sequence
        self.post_layers: set[str] = set()
        self.value = {lid: self.names.new(f"v_{lid}") for lid in self.order}
        self.feed = dict(self.value)  # what later layers read: the value, after dropout where a layer has it
        self.lines: list[str] = []
        self.final_activation: str | None = None
        self._aliases()
        if is_sequence:
            self._sequence()
        else:
            self._feed_forward()
        output = graph.layers[self.output_id]
        activation = output.activation if output.kind == "neurons" else "tanh"
        if self.trace:
            return Program(self.weights, self.masks, self._trace_source(), sorted(self.helpers),
                           tuple(graph.layers[self.input_id].shape), output.units, activation, is_sequence,
                           list(self.order))
        body = "\n".join("        " + line for line in self.lines)
        logits_lines = [line for line in self.lines if line is not self.final_activation]
        logits_body = "\n".join("        " + line for line in logits_lines)
        out_value = self.value[self.output_id]
        out_logits = self.logit_name if output.kind == "neurons" else out_value
        source = (
            "    def forward(self, x):\n"
            f"{body}\n"
            f"        return {out_value}\n"
            "\n"
            "    def logits(self, x):\n"
            f"{logits_body}\n"
            f"        return {out_logits}\n")
        return Program(self.weights, self.masks, source, sorted(self.helpers), tuple(graph.layers[self.input_id].shape),
                       output.units, activation, is_sequence, list(self.order))

    # ------------------------------------------------------------------ pieces of code
    def _aliases(self) -> None:
        """Bind the weights the forward pass uses to local names (masked where links are disabled)."""
        used = {c.id for lid in self.order for c in self.incoming[lid]}
        for spec in self.weights:
            if spec.owner_kind == "connection" and spec.owner not in used:
                continue
            if spec.owner_kind == "layer" and spec.owner not in self.value:
                continue
            local = spec.attr
            if spec.mask is not None and spec.mask_on_param:
                self.lines.append(f"{local} = self.{spec.attr} * self.{spec.mask.attr}")
            elif spec.mask is not None:
                geo = self.geometry[spec.owner]
                self.helpers.add("shared_as_local")
                self.lines.append(f"{local} = shared_as_local(self.{spec.attr}, {tuple(geo.out_spatial)}) "
                                  f"* self.{spec.mask.attr}")
            else:
                self.lines.append(f"{local} = self.{spec.attr}")
            self.alias[spec.attr] = local

    def _term(self, conn: Connection, source_value: str, bias: str | None = None) -> str:
        """Code for what ``conn`` adds to its target's sum, from ``source_value`` (``[batch, units]``)."""
        spec = self.conn_weight.get(conn.id)  # None for a pooling connection
        weight = self.alias[spec.attr] if spec is not None else ""
        if conn.connectivity.kind != "local":
            return f"F.linear({source_value}, {weight}, {bias})" if bias else f"F.linear({source_value}, {weight})"
        geo = self.geometry[conn.id]
        source = self.graph.layers[conn.source]
        grid = ", ".join(str(n) for n in _grid_view(source.shape))
        x = f"{source_value}.view(-1, {grid})"
        dims = len(geo.in_spatial)
        symmetric = geo.pad_before == geo.pad_after
        padded = any(geo.pad_before) or any(geo.pad_after)
        if spec is None:
            code = self._pool(conn, geo, x, dims, padded, symmetric)
            return f"{code} + {bias}" if bias else code
        convolution = conn.connectivity.shared and spec.mask is None
        if padded and not (convolution and symmetric):
            pads: list[int] = []  # F.pad lists the last dimension first
            for before, after in zip(reversed(geo.pad_before), reversed(geo.pad_after)):
                pads += [before, after]
            x = f"F.pad({x}, {tuple(pads)})"
        if convolution:
            padding = f", {tuple(geo.pad_before)}" if padded and symmetric else ""
            code = f"F.conv{dims}d({x}, {weight}, None, {geo.stride}{padding}).flatten(1)"
        else:
            self.helpers.add("local_unshared")
            code = f"local_unshared({x}, {weight}, {tuple(geo.window)}, {geo.stride}).flatten(1)"
        return f"{code} + {bias}" if bias else code

    def _pool(self, conn: Connection, geo: LocalGeometry, x: str, dims: int, padded: bool, symmetric: bool) -> str:
        """Code for a pooling connection: each channel's window maximum or mean (``F.max_pool*d``/``avg_pool*d``).

        ``same`` padding pads with -inf for the maximum (a padded place never wins) and with zeros for the
        mean (counted, as ``nn.AvgPool*d`` does by default); asymmetric padding goes through ``F.pad``.
        """
        function = "max_pool" if conn.connectivity.pool == "max" else "avg_pool"
        padding = ""
        if padded and symmetric:
            padding = f", {tuple(geo.pad_before)}"
        elif padded:
            pads: list[int] = []
            for before, after in zip(reversed(geo.pad_before), reversed(geo.pad_after)):
                pads += [before, after]
            fill = ", value=float('-inf')" if function == "max_pool" else ""
            x = f"F.pad({x}, {tuple(pads)}{fill})"
        return f"F.{function}{dims}d({x}, {tuple(geo.window)}, {geo.stride}{padding}).flatten(1)"

    def _sum(self, layer: Layer, terms: list[tuple[Connection, str]], pre: str | None,
             bias_included: bool, in_loop: bool = False) -> str:
        """The weighted sum of a layer: every incoming term, plus the bias unless already included.

        Inside the time loop, dense terms are chained into ``torch.addmm`` on the running sum: one
        fused operation per connection and step, where ``a + F.linear(...)`` would be two.
        """
        bias = None
        if not bias_included and layer.id in self.layer_bias:
            bias = self.alias[self.layer_bias[layer.id].attr]
        running = pre
        parts = []
        for conn, value in terms:
            dense = conn.connectivity.kind != "local"
            if dense and in_loop and running is not None:
                running = f"torch.addmm({running}, {value}, {self._transposed(conn)})"
            elif dense and bias:
                term = self._term(conn, value, bias)
                bias = None
                if running is None:
                    running = term
                else:
                    parts.append(term)
            elif running is None and dense:
                running = self._term(conn, value)
            else:
                parts.append(self._term(conn, value))
        if running is not None:
            parts.insert(0, running)
        if bias:
            parts.append(bias)
        return " + ".join(parts)

    def _transposed(self, conn_or_attr) -> str:
        """A name for a weight's transpose, taken once before the time loop (``torch.addmm`` wants it)."""
        attr = self.conn_weight[conn_or_attr.id].attr if isinstance(conn_or_attr, Connection) else conn_or_attr
        if attr not in self.transposed:
            name = self.names.new(f"{self.alias[attr]}_t")
            self.transposed[attr] = name
            self.loop_setup.append(f"{name} = {self.alias[attr]}.t()")
        return self.transposed[attr]

    def _neurons(self, lid: str, expr: str, indent: str = "") -> None:
        layer = self.graph.layers[lid]
        act = ACTIVATION_CODE[layer.activation]
        if layer.activation in ACTIVATION_HELPERS:
            self.helpers.add(ACTIVATION_HELPERS[layer.activation])
        slope = layer.slope
        if self.trace:  # keep the weighted sum (before normalisation) and the value
            total = self.names.new(f"sum_{lid}")
            self.lines.append(f"{indent}{total} = {expr}")
            expr = self._norm(layer, total) if norm_features(layer) else total
            self.lines.append(f"{indent}{self.value[lid]} = {act.format(expr, slope=slope)}")
            self._record(lid, total, indent)
            self._dropout(layer, indent)
            return
        if norm_features(layer):
            expr = self._norm(layer, expr)
        if lid == self.output_id:
            self.logit_name = self.names.new(f"z_{lid}")
            self.lines.append(f"{indent}{self.logit_name} = {expr}")
            line = f"{indent}{self.value[lid]} = {act.format(self.logit_name, slope=slope)}"
            self.lines.append(line)
            if not indent:  # run once, after everything else: logits() can leave it out
                self.final_activation = line
        else:
            self.lines.append(f"{indent}{self.value[lid]} = {act.format(expr, slope=slope)}")
        self._dropout(layer, indent)

    def _norm(self, layer: Layer, expr: str) -> str:
        """``expr`` (the sums, ``[batch, units]``) batch- or layer-normalised, as ``nn.BatchNorm*d``/``nn.LayerNorm``."""
        extra = self.layer_extra[layer.id]
        weight, bias = (self.alias[extra[key].attr] for key in ("norm_weight", "norm_bias"))
        if layer.norm == "layer":
            shape = tuple(layer.shape)
            x = expr if len(shape) == 1 else f"({expr}).view(-1, {', '.join(map(str, shape))})"
            code = f"F.layer_norm({x}, {shape}, {weight}, {bias}, {NORM_EPS})"
        else:
            mean, var = (self.alias[extra[key].attr] for key in ("running_mean", "running_var"))
            x = expr if len(layer.shape) == 1 else f"({expr}).view(-1, {', '.join(map(str, _grid_view(layer.shape)))})"
            code = f"F.batch_norm({x}, {mean}, {var}, {weight}, {bias}, self.training, {NORM_MOMENTUM}, {NORM_EPS})"
        return code if len(layer.shape) == 1 else f"{code}.flatten(1)"

    def _record(self, lid: str, total: str | None, indent: str) -> None:
        """In a trace, keep layer ``lid``'s value (and weighted sum): per step inside the time loop."""
        if not self.trace:
            return
        if not indent:
            self.traced[lid] = (self.value[lid], total, self._layout(lid))
            return
        names = []
        for what in (self.value[lid], total):
            if what is None:
                names.append(None)
                continue
            keep = self.names.new(f"kept_{what}")
            self.loop_setup.append(f"{keep} = []")
            self.lines.append(f"{indent}{keep}.append({what})")
            names.append(keep)
        self.traced[lid] = (names[0], names[1], "loop")

    def _layout(self, lid: str) -> str:
        """How a value outside the time loop is laid out: for every step at once, or once (after the last step)."""
        return "steps" if self.in_sequence and lid not in self.post_layers else "once"

    def _trace_source(self) -> str:
        """``def trace(self, x)``: the forward pass, returning ``{"values": ..., "sums": ...}`` by layer id."""
        out = []
        for lid in self.order:
            value, total, how = self.traced.get(lid, (self.value[lid], None, self._layout(lid)))
            for key, name in (("values", value), ("sums", total)):
                if name is None:
                    continue
                if how == "loop":
                    code = f"torch.stack({name}, 1)"
                elif how == "steps":
                    code = f"{name}.view(B, T, -1)"
                elif self.in_sequence:  # after the last step only
                    code = f"{name}.unsqueeze(1)"
                else:
                    code = name
                out.append(f"        {key}[{lid!r}] = {code}")
        body = "\n".join("        " + line for line in self.lines)
        return ("    def trace(self, x):\n"
                f"{body}\n"
                "        values, sums = {}, {}\n"
                + "\n".join(out) + "\n"
                "        return {'values': values, 'sums': sums}\n")

    def _dropout(self, layer: Layer, indent: str) -> None:
        """A layer with dropout: what later layers read is its value with some dropped, while training only.

        The layer's own value (``self.value``) stays whole: a recurrent connection or an lstm/gru state
        carries it to the next step undropped, as ``nn.LSTM``'s dropout does.
        """
        if not layer.dropout:
            return
        dropped = self.names.new(f"d_{layer.id}")
        self.lines.append(f"{indent}{dropped} = F.dropout({self.value[layer.id]}, {layer.dropout!r}, self.training)")
        self.feed[layer.id] = dropped

    # ------------------------------------------------------------------ feed-forward designs
    def _feed_forward(self) -> None:
        units = self.graph.layers[self.input_id].units
        self.lines.append(f"{self.value[self.input_id]} = x.reshape(x.shape[0], {units})")
        for lid in self.order:
            if lid == self.input_id:
                continue
            layer = self.graph.layers[lid]
            terms = [(c, self.feed[c.source]) for c in self.incoming[lid]]
            self._neurons(lid, self._sum(layer, terms, None, False))

    # ------------------------------------------------------------------ sequences
    def _sequence(self) -> None:
        graph = self.graph
        layers = graph.layers
        order = self.order
        forward_in = {lid: [c for c in self.incoming[lid] if c.id not in self.recurrent] for lid in order}
        # layers whose value depends on earlier steps
        depends: set[str] = set()
        for lid in order:
            if (layers[lid].kind in GATES or any(c.id in self.recurrent for c in self.incoming[lid])
                    or any(c.source in depends for c in forward_in[lid])):
                depends.add(lid)
        # of those, the ones later steps need: run every step; the rest run once, after the last step
        each_step: set[str] = set()
        for lid in reversed(order):
            if lid not in depends:
                continue
            if (layers[lid].kind in GATES or any(graph.connections[c].source == lid for c in self.recurrent)
                    or any(c.source == lid and c.target in each_step
                           for c in graph.outgoing(lid) if c.id not in self.recurrent)):
                each_step.add(lid)
        pre = [lid for lid in order if lid not in depends]
        loop = [lid for lid in order if lid in each_step]
        post = [lid for lid in order if lid in depends and lid not in each_step]
        self.post_layers = set(post)
        if self.output_id in pre:
            raise CompileError("the design's output does not depend on anything recurrent; internal error")
        lines = self.lines
        units = layers[self.input_id].units
        lines.append("B, T = x.shape[0], x.shape[1]")
        lines.append("# layers that do not depend on earlier steps run on all steps at once: [batch * time, units]")
        lines.append(f"{self.value[self.input_id]} = x.reshape(B * T, {units})")
        for lid in pre:
            if lid == self.input_id:
                continue
            terms = [(c, self.feed[c.source]) for c in self.incoming[lid]]
            self._neurons(lid, self._sum(layers[lid], terms, None, False))
        # what feeds the loop from those layers is computed for all steps before it
        hoisted: dict[str, str] = {}
        for lid in loop:
            from_pre = [c for c in forward_in[lid] if c.source not in depends]
            if not from_pre:
                continue
            name = self.names.new(f"pre_{lid}")
            terms = [(c, self.feed[c.source]) for c in from_pre]
            expr = self._sum(layers[lid], terms, None, False)  # with the layer's bias, added once here
            # unbind: one [batch, units] view per step, and one stack (not T scatters) in the backward pass
            lines.append(f"{name} = ({expr}).view(B, T, -1).unbind(1)")
            hoisted[lid] = name
        state = {}
        for lid in loop:
            if layers[lid].kind in GATES or any(graph.connections[c].source == lid for c in self.recurrent):
                state[lid] = self.names.new(f"s_{lid}")
                lines.append(f"{state[lid]} = x.new_zeros(B, {layers[lid].units})  # the value at the step before")
        cells = {}
        for lid in loop:
            if layers[lid].kind == "lstm":
                cells[lid] = self.names.new(f"c_{lid}")
                lines.append(f"{cells[lid]} = x.new_zeros(B, {layers[lid].units})  # the cell state")
        self.transposed: dict[str, str] = {}
        self.loop_setup: list[str] = []
        self.lines = body = []
        ind = "    "
        for lid in loop:
            layer = layers[lid]
            terms = []
            for c in self.incoming[lid]:
                if c.id in self.recurrent:
                    terms.append((c, state[c.source]))
                elif c.source in depends:
                    terms.append((c, self.feed[c.source]))
            pre_term = f"{hoisted[lid]}[t]" if lid in hoisted else None
            bias_done = lid in hoisted
            if layer.kind == "neurons":
                self._neurons(lid, self._sum(layer, terms, pre_term, bias_done, in_loop=True), ind)
            else:
                self._gated(layer, terms, pre_term, bias_done, state[lid], cells.get(lid), ind)
        for lid, name in state.items():
            body.append(f"{ind}{name} = {self.value[lid]}")
        self.lines = lines
        lines += self.loop_setup
        lines.append("for t in range(T):")
        lines += body
        last: dict[str, str] = {}
        for lid in post:
            terms = []
            for c in self.incoming[lid]:
                if c.source in depends:
                    terms.append((c, self.feed[c.source]))
                else:
                    if c.source not in last:
                        last[c.source] = self.names.new(f"last_{c.source}")
                        lines.append(f"{last[c.source]} = {self.feed[c.source]}.view(B, T, -1)[:, -1]")
                    terms.append((c, last[c.source]))
            self._neurons(lid, self._sum(layers[lid], terms, None, False))

    def _gated(self, layer: Layer, terms, pre_term, bias_done: bool, h: str, c: str | None, ind: str) -> None:
        lines = self.lines
        extra = self.layer_extra[layer.id]
        w_hh = self.alias[extra["weight_hh"].attr]
        v = self.value[layer.id]
        gates = self.names.new(f"gates_{layer.id}")
        if layer.kind == "lstm":
            inputs = self._sum(layer, terms, pre_term, bias_done, in_loop=True)
            w_hh_t = self._transposed(extra["weight_hh"].attr)
            lines.append(f"{ind}{gates} = torch.addmm({inputs}, {h}, {w_hh_t}).chunk(4, 1)  # i, f, g, o")
            lines.append(f"{ind}{c} = torch.sigmoid({gates}[1]) * {c} + torch.sigmoid({gates}[0]) * "
                         f"torch.tanh({gates}[2])")
            lines.append(f"{ind}{v} = torch.sigmoid({gates}[3]) * torch.tanh({c})")
            self._record(layer.id, None, ind)
            self._dropout(layer, ind)
            return
        hidden = self.names.new(f"hidden_{layer.id}")
        reset, update, new = (self.names.new(f"{n}_{layer.id}") for n in ("r", "z", "n"))
        inputs = self._sum(layer, terms, pre_term, bias_done, in_loop=True)
        bias_hh = extra.get("bias_hh")
        hh = f"F.linear({h}, {w_hh}, {self.alias[bias_hh.attr]})" if bias_hh else f"F.linear({h}, {w_hh})"
        lines.append(f"{ind}{gates} = ({inputs}).chunk(3, 1)  # r, z, n from the inputs")
        lines.append(f"{ind}{hidden} = {hh}.chunk(3, 1)  # r, z, n from the step before")
        lines.append(f"{ind}{reset} = torch.sigmoid({gates}[0] + {hidden}[0])")
        lines.append(f"{ind}{update} = torch.sigmoid({gates}[1] + {hidden}[1])")
        lines.append(f"{ind}{new} = torch.tanh({gates}[2] + {reset} * {hidden}[2])")
        lines.append(f"{ind}{v} = {new} + {update} * ({h} - {new})")
        self._record(layer.id, None, ind)
        self._dropout(layer, ind)

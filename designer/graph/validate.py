"""Validation: every problem of a design, each naming the layer or connection it concerns.

Errors stop a design from compiling; warnings (an unreachable layer) do not.
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import (ACTIVATIONS, CONNECTIVITY_KINDS, DROPOUT_KINDS, GATES, ID_PATTERN, INITS, LAYER_KINDS, NORMS,
                    POOLS, GraphError)
from .shapes import (connection_weight_count, layer_parameter_count, local_geometry, local_links,
                     local_out_channels)

#: beyond these a design is refused rather than left to exhaust the machine's memory
MAX_LAYER_UNITS = 10_000_000
MAX_CONNECTION_WEIGHTS = 200_000_000
#: the whole design: 1 GiB of float32 weights, three to four times that to train (gradients, optimizer state)
MAX_PARAMETERS = 250_000_000
#: links listed for checking disabled links of local connections, at most
_MAX_LINKS_TO_LIST = 2_000_000


@dataclass(frozen=True)
class Problem:
    """One thing that stops a project from training (an error) or deserves a look (a warning).

    ``layer_id`` or ``connection_id`` names the culprit where there is one; otherwise ``part`` says
    what it concerns: the ``design`` as a whole, the ``dataset``, the ``training`` settings or the
    stored ``weights``. ``str()`` is the line ``nn-designer check`` prints.
    """

    severity: str  # "error" or "warning"
    message: str
    layer_id: str | None = None
    connection_id: str | None = None
    part: str = "design"

    @property
    def item_id(self) -> str | None:
        return self.layer_id or self.connection_id

    @property
    def where(self) -> str:
        """``layer h``, ``connection x-h``, or the part (``dataset`` ...)."""
        if self.layer_id:
            return f"layer {self.layer_id}"
        return f"connection {self.connection_id}" if self.connection_id else self.part

    def __str__(self) -> str:
        if not self.item_id and self.message.startswith(self.part):  # "dataset field 'samples' ..."
            return f"{self.severity}: {self.message}"
        return f"{self.severity}: {self.where}: {self.message}"


def validate(graph, input_shape: tuple[int, ...] | None = None) -> list[Problem]:
    """Every problem of ``graph``; ``input_shape`` is what the dataset delivers per sample, if known."""
    problems: list[Problem] = []

    def error(message, layer=None, conn=None):
        problems.append(Problem("error", message, layer, conn))

    layers = graph.layers
    for layer in layers.values():
        if not ID_PATTERN.match(layer.id):
            error("the id must be 1 to 64 letters, digits, '_', '.' or '-'", layer=layer.id)
        if layer.kind not in LAYER_KINDS:
            error(f"unknown kind {layer.kind!r}; use one of {', '.join(LAYER_KINDS)}", layer=layer.id)
            continue
        if layer.kind == "neurons" and layer.activation not in ACTIVATIONS:
            error(f"unknown activation {layer.activation!r}; use one of {', '.join(ACTIVATIONS)}", layer=layer.id)
        if layer.kind == "neurons" and layer.norm not in NORMS:
            error(f"unknown normalisation {layer.norm!r}; use one of {', '.join(NORMS)}", layer=layer.id)
        if layer.kind in DROPOUT_KINDS and not 0.0 <= layer.dropout < 1.0:
            error(f"dropout {layer.dropout:g} is not a probability: use a number from 0 up to (not including) 1, "
                  f"like 0.5", layer=layer.id)
        if layer.kind in GATES and layer.init not in INITS:
            error(f"unknown initialisation {layer.init!r}; use one of {', '.join(INITS)}", layer=layer.id)
        if layer.kind in GATES and len(layer.shape) != 1:
            error(f"{'an' if layer.kind == 'lstm' else 'a'} {layer.kind.upper()} layer is a column of units: its "
                  f"shape must be [units], "
                  f"not {list(layer.shape)}", layer=layer.id)
        if layer.units > MAX_LAYER_UNITS:
            error(f"{layer.units:,} neurons is more than the {MAX_LAYER_UNITS:,} a layer may have", layer=layer.id)

    inputs = [lid for lid, layer in layers.items() if layer.kind == "input"]
    if not inputs:
        problems.append(Problem("error", "the design has no input layer; add one from the palette"))
    for extra in inputs[1:]:
        error(f"a design takes one input layer (the dataset gives one input), and {inputs[0]!r} is the first",
              layer=extra)
    if input_shape is not None and inputs:
        first = layers[inputs[0]]
        if tuple(first.shape) != tuple(input_shape) and first.units != _prod(input_shape):
            error(f"the input shape {list(first.shape)} does not match the data, which gives "
                  f"{list(input_shape)} per sample; set its shape to {list(input_shape)}", layer=first.id)

    connections_ok = True
    for conn in graph.connections.values():
        if not ID_PATTERN.match(conn.id):
            error("the id must be 1 to 64 letters, digits, '_', '.' or '-'", conn=conn.id)
        missing = [end for end in (conn.source, conn.target) if end not in layers]
        if missing:
            error(f"connects to a layer that does not exist: {', '.join(map(repr, missing))}", conn=conn.id)
            connections_ok = False
            continue
        source, target = layers[conn.source], layers[conn.target]
        kind = conn.connectivity.kind
        if conn.init not in INITS:
            error(f"unknown initialisation {conn.init!r}; use one of {', '.join(INITS)}", conn=conn.id)
        if kind not in CONNECTIVITY_KINDS:
            error(f"unknown connectivity {kind!r}; use 'dense' or 'local'", conn=conn.id)
            continue
        if target.kind == "input":
            error(f"input layer {target.id!r} cannot receive connections (the data feeds it)", conn=conn.id)
            continue
        if source.kind not in LAYER_KINDS or target.kind not in LAYER_KINDS:
            continue
        if kind == "local":
            if target.kind in GATES or source.kind in GATES:
                error(f"local connections join grids of neurons; {target.kind if target.kind in GATES else source.kind}"
                      " layers take dense connections only", conn=conn.id)
                continue
            pool = conn.connectivity.pool
            if pool and pool not in POOLS:
                error(f"unknown pooling {pool!r}; use 'max' or 'mean', or no pooling for a weighted sum",
                      conn=conn.id)
                continue
            if pool and conn.disabled:
                error(f"{pool} pooling has no weights, so no single link can be switched off; switch the "
                      f"links back on or make it a weighted sum", conn=conn.id)
                continue
            try:
                geo = local_geometry(source.shape, conn.connectivity)
                local_out_channels(target.shape, geo, pool)
            except GraphError as exc:
                error(f"{exc} (source {source.id!r} {list(source.shape)}, target {target.id!r} "
                      f"{list(target.shape)})", conn=conn.id)
                continue
        try:
            weights = connection_weight_count(source, target, conn)
        except GraphError:
            weights = 0
        if weights > MAX_CONNECTION_WEIGHTS:
            error(f"would hold {weights:,} weights, more than the {MAX_CONNECTION_WEIGHTS:,} allowed; "
                  f"use a local connection or smaller layers", conn=conn.id)
            continue
        if conn.disabled:
            _check_disabled(conn, source, target, error)

    if not connections_ok:
        return problems
    total = parameter_count(graph)
    if total > MAX_PARAMETERS and not any(p.severity == "error" for p in problems):
        problems.append(Problem("error", f"the design would hold {total:,} trainable parameters, more than the "
                                         f"{MAX_PARAMETERS:,} allowed; make its layers smaller or use local "
                                         f"connections"))
    flow = graph.flow()
    if inputs:
        outputs = flow.outputs
        if not outputs:
            problems.append(Problem("error", "the design has no output: connect a layer after the input"))
        elif len(outputs) > 1:
            for lid in outputs:
                error(f"the design has {len(outputs)} outputs ({', '.join(outputs)}); connect them so that "
                      f"one layer is the output", layer=lid)
        for lid, layer in layers.items():
            if lid not in flow.reachable:
                problems.append(Problem("warning", "not reached from the input: it takes no part in training",
                                        layer_id=lid))
        if len(outputs) == 1 and layers[outputs[0]].kind in DROPOUT_KINDS and layers[outputs[0]].dropout:
            error("dropout on the output layer would drop the predictions themselves; set it to 0 here and "
                  "use dropout on a hidden layer", layer=outputs[0])
        sequence = bool(flow.recurrent) or any(layers[lid].kind in GATES for lid in flow.reachable)
        if sequence:
            for lid in flow.reachable:
                if layers[lid].kind == "neurons" and layers[lid].norm == "batch":
                    error("batch normalisation needs a feed-forward design (its statistics would mix the time "
                          "steps of a sequence); use layer normalisation here", layer=lid)
    return problems


def _check_disabled(conn, source, target, error) -> None:
    for t, s in conn.disabled:
        if not (0 <= t < target.units and 0 <= s < source.units):
            error(f"disabled link [{t}, {s}] is outside the layers ({target.units} target and "
                  f"{source.units} source neurons)", conn=conn.id)
            return
    if conn.connectivity.kind == "local":
        geo = local_geometry(source.shape, conn.connectivity)
        if target.units * geo.window_size * geo.in_channels > _MAX_LINKS_TO_LIST:
            return
        links = set(local_links(source.shape, target.shape, conn.connectivity))
        for pair in conn.disabled:
            if tuple(pair) not in links:
                error(f"disabled link {list(pair)} is not inside the window", conn=conn.id)
                return


def _prod(shape) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def parameter_count(graph) -> int:
    """Trainable parameters of the layers and connections that take part (valid parts only)."""
    total = 0
    for layer in graph.layers.values():
        total += layer_parameter_count(layer)
    for conn in graph.connections.values():
        source, target = graph.layers.get(conn.source), graph.layers.get(conn.target)
        if source is None or target is None:
            continue
        try:
            total += connection_weight_count(source, target, conn)
        except GraphError:
            pass
    return total

"""The design: layers and connections by stable string id, changed only through operations.

Every operation emits an event (see :mod:`designer.graph.events`) so that views follow the
model; undo commands call these operations and nothing else.
"""
from __future__ import annotations

import dataclasses

import copy
from typing import Any, Iterable

from .events import GraphEvents
from .model import ID_PATTERN, Connection, Connectivity, GraphError, Layer
from .topology import Flow, analyse

_LAYER_FIELDS = {"kind", "shape", "activation", "bias", "label", "position", "slope", "dropout", "norm", "init",
                 "init_value"}


class Graph:
    """Layers and connections, in the order they were drawn."""

    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}
        self.connections: dict[str, Connection] = {}
        self.events = GraphEvents()
        self._flow: Flow | None = None

    # ---------------------------------------------------------------- queries
    def layer(self, layer_id: str) -> Layer:
        try:
            return self.layers[layer_id]
        except KeyError:
            raise GraphError(f"there is no layer {layer_id!r}") from None

    def connection(self, connection_id: str) -> Connection:
        try:
            return self.connections[connection_id]
        except KeyError:
            raise GraphError(f"there is no connection {connection_id!r}") from None

    def incoming(self, layer_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.target == layer_id]

    def outgoing(self, layer_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.source == layer_id]

    def attached(self, layer_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if layer_id in (c.source, c.target)]

    def flow(self) -> Flow:
        """Order, recurrent connections, inputs and outputs; cached until the next change."""
        if self._flow is None:
            self._flow = analyse(self)
        return self._flow

    def new_id(self, stem: str) -> str:
        """An id not yet used by a layer or connection: ``stem``, ``stem2``, ``stem3`` ..."""
        stem = "".join(ch if ID_PATTERN.match(ch) else "-" for ch in stem)[:56] or "item"
        if stem not in self.layers and stem not in self.connections:
            return stem
        n = 2
        while f"{stem}{n}" in self.layers or f"{stem}{n}" in self.connections:
            n += 1
        return f"{stem}{n}"

    def parameter_count(self) -> int:
        from .validate import parameter_count
        return parameter_count(self)

    # ---------------------------------------------------------------- operations
    def _changed(self) -> None:
        self._flow = None
        self.events.changed.emit()

    def add_layer(self, layer: Layer, index: int | None = None) -> Layer:
        """Add a layer, last in drawing order or at ``index`` (undo of a delete puts it back where it was)."""
        if not ID_PATTERN.match(layer.id):
            raise GraphError(f"layer id {layer.id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
        if layer.id in self.layers or layer.id in self.connections:
            raise GraphError(f"the id {layer.id!r} is already used")
        self.layers = _inserted(self.layers, layer.id, layer, index)
        self._flow = None
        self.events.layer_added.emit(layer)
        self._changed()
        return layer

    def remove_layer(self, layer_id: str) -> tuple[Layer, list[Connection]]:
        """Remove a layer and the connections attached to it; returns both for undo."""
        layer = self.layer(layer_id)
        removed = self.attached(layer_id)
        for conn in removed:
            del self.connections[conn.id]
            self._flow = None
            self.events.connection_removed.emit(conn)
        del self.layers[layer_id]
        self._flow = None
        self.events.layer_removed.emit(layer)
        self._changed()
        return layer, removed

    def update_layer(self, layer_id: str, **changes: Any) -> dict[str, Any]:
        """Change fields of a layer; returns the previous values (pass them back to undo)."""
        layer = self.layer(layer_id)
        unknown = set(changes) - _LAYER_FIELDS
        if unknown:
            raise GraphError(f"a layer has no field {sorted(unknown)[0]!r}")
        # checked as a file would be read (types, shape) ...
        Layer.from_dict({**layer.to_dict(),
                         **{k: (list(v) if isinstance(v, tuple) else v) for k, v in changes.items()}})
        # ... but the values kept are the ones given: the file form leaves out what a kind does not use (an input
        # layer's activation and bias), and undoing a kind change must find them as they were
        probe = dataclasses.replace(layer, **changes)
        old = {}
        for name in changes:
            old[name] = getattr(layer, name)
            setattr(layer, name, getattr(probe, name))
        changed = {n for n in changes if old[n] != getattr(layer, n)}
        if changed:
            self._flow = None
            self.events.layer_changed.emit(layer, changed)
            if changed != {"position"}:
                self._changed()
        return old

    def move_layer(self, layer_id: str, position: tuple[float, float]) -> tuple[float, float]:
        return self.update_layer(layer_id, position=tuple(position))["position"]

    def add_connection(self, connection: Connection, index: int | None = None) -> Connection:
        """Add a connection, last in drawing order or at ``index``."""
        if not ID_PATTERN.match(connection.id):
            raise GraphError(f"connection id {connection.id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
        if connection.id in self.connections or connection.id in self.layers:
            raise GraphError(f"the id {connection.id!r} is already used")
        for end in (connection.source, connection.target):
            self.layer(end)
        self.connections = _inserted(self.connections, connection.id, connection, index)
        self._flow = None
        self.events.connection_added.emit(connection)
        self._changed()
        return connection

    def connect(self, source: str, target: str, connectivity: Connectivity | None = None,
                connection_id: str | None = None) -> Connection:
        """Add a connection from ``source`` to ``target`` (dense unless told otherwise)."""
        conn = Connection(id=connection_id or self.new_id(f"{source}-{target}"), source=source, target=target,
                          connectivity=connectivity or Connectivity())
        return self.add_connection(conn)

    def remove_connection(self, connection_id: str) -> Connection:
        conn = self.connection(connection_id)
        del self.connections[connection_id]
        self._flow = None
        self.events.connection_removed.emit(conn)
        self._changed()
        return conn

    def update_connection(self, connection_id: str, connectivity: Connectivity | None = None,
                          disabled: Iterable[tuple[int, int]] | None = None,
                          init: tuple[str, float] | None = None) -> tuple[Connectivity, list]:
        """Replace a connection's connectivity, disabled links and/or ``(init, init_value)``.

        Returns the previous connectivity and disabled links.
        """
        conn = self.connection(connection_id)
        old = (copy.deepcopy(conn.connectivity), list(conn.disabled))
        changed = set()
        if init is not None:
            kind, value = init
            if not isinstance(kind, str):
                raise GraphError(f"connection {connection_id!r}: init must be text, got {kind!r}")
            value = float(value)
            if (kind, value) != (conn.init, conn.init_value):
                conn.init, conn.init_value = kind, value
                changed.add("init")
        if connectivity is not None and connectivity != conn.connectivity:
            conn.connectivity = copy.deepcopy(connectivity)
            changed.add("connectivity")
        if disabled is not None:
            new = sorted({(int(t), int(s)) for t, s in disabled})
            if new != sorted(conn.disabled):
                conn.disabled = new
                changed.add("disabled")
        if changed:
            self._flow = None
            self.events.connection_changed.emit(conn, changed)
            self._changed()
        return old

    def set_link_enabled(self, connection_id: str, target_index: int, source_index: int, enabled: bool) -> None:
        conn = self.connection(connection_id)
        links = set(conn.disabled)
        if enabled:
            links.discard((target_index, source_index))
        else:
            links.add((target_index, source_index))
        self.update_connection(connection_id, disabled=links)

    def replace(self, other: "Graph") -> None:
        """Take over another graph's layers and connections (opening a file); emits ``reset``."""
        self.layers = other.layers
        self.connections = other.connections
        self._flow = None
        self.events.reset.emit()
        self._changed()

    # ---------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {"layers": [layer.to_dict() for layer in self.layers.values()],
                "connections": [conn.to_dict() for conn in self.connections.values()]}

    @classmethod
    def from_dict(cls, d: Any) -> "Graph":
        """Build a graph from ``project.json``'s ``graph`` object.

        Structural faults (not an object, a duplicate id) raise :class:`GraphError`; everything
        a user could draw (an unknown kind, a connection to a missing layer) is loaded and left
        to :func:`~designer.graph.validate` to report by id.
        """
        if not isinstance(d, dict):
            raise GraphError("'graph' must be a JSON object with 'layers' and 'connections'")
        layers = d.get("layers", [])
        connections = d.get("connections", [])
        if not isinstance(layers, list) or not isinstance(connections, list):
            raise GraphError("'graph.layers' and 'graph.connections' must be lists")
        graph = cls()
        for index, item in enumerate(layers):
            layer = _read(Layer, item, f"graph.layers[{index}]")
            if layer.id in graph.layers:
                raise GraphError(f"two layers have the id {layer.id!r}")
            graph.layers[layer.id] = layer
        for index, item in enumerate(connections):
            conn = _read(Connection, item, f"graph.connections[{index}]")
            if conn.id in graph.connections or conn.id in graph.layers:
                raise GraphError(f"the id {conn.id!r} is used twice")
            graph.connections[conn.id] = conn
        return graph

    def copy(self) -> "Graph":
        return Graph.from_dict(copy.deepcopy(self.to_dict()))


def _read(cls, item: Any, where: str):
    """``cls.from_dict(item)``; a message that cannot name the item by its id says where it is in the list."""
    try:
        return cls.from_dict(item)
    except GraphError as exc:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            raise  # the message names the item by its id
        raise GraphError(f"{where}: {exc}") from None


def _inserted(items: dict, key: str, value, index: int | None) -> dict:
    """``items`` with ``key`` added at ``index`` of its order (the end when ``index`` is None)."""
    if index is None or index >= len(items):
        items[key] = value
        return items
    pairs = list(items.items())
    pairs.insert(max(index, 0), (key, value))
    return dict(pairs)

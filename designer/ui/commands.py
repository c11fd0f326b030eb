"""Undo commands: every edit a person makes to the design, as a step of the undo stack.

As in Orange's canvas, a command changes only the model (:class:`~designer.graph.Graph`
operations); the canvas, the inspector and the problems panel follow the graph's events, so
undo and redo need no view code. Each command checks its arguments when it is built, so a
bad edit raises :class:`~designer.graph.GraphError` in the caller (exceptions raised inside
``redo`` would be swallowed by Qt) and the stack never holds a command that cannot run.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Iterable, Mapping

from PySide6.QtGui import QUndoCommand

from designer.graph import Connection, Connectivity, Graph, GraphError, Layer
from designer.graph.model import ID_PATTERN
from designer.words import count

__all__ = [
    "AddConnectionCommand", "AddLayerCommand", "MoveLayersCommand", "RemoveItemsCommand",
    "ToggleLinkCommand", "UpdateConnectionCommand", "UpdateLayerCommand",
]

#: ``QUndoCommand.id()`` of moves: successive moves of one drag merge into one undo step
MOVE_COMMAND_ID = 0x4E4E44

_LAYER_FIELDS = ("kind", "shape", "activation", "bias", "label", "position", "slope", "dropout", "norm", "init",
                 "init_value")
#: the layer fields that hold a number: kept as a float, as a file reads them back (a 1 read back is 1.0)
_NUMBER_FIELDS = ("slope", "dropout", "init_value")

Position = tuple[float, float]


def _layer_copy(layer: Layer) -> Layer:
    # the object itself, not a trip through to_dict(): the file form leaves out fields a kind does not
    # use (an input layer's activation and bias), and undoing a delete then brought the layer back changed
    return copy.deepcopy(layer)


def _connection_copy(connection: Connection) -> Connection:
    return copy.deepcopy(connection)


class AddLayerCommand(QUndoCommand):
    """Add a layer (from the palette, a paste, a script)."""

    def __init__(self, graph: Graph, layer: Layer, parent: QUndoCommand | None = None) -> None:
        super().__init__(parent)
        if not ID_PATTERN.match(layer.id):
            raise GraphError(f"layer id {layer.id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
        if layer.id in graph.layers or layer.id in graph.connections:
            raise GraphError(f"the id {layer.id!r} is already used; choose another (graph.new_id gives a free one)")
        self.graph = graph
        self.layer_id = layer.id
        self._layer = _layer_copy(layer)
        self.setText(f"Add layer {layer.name}")

    def redo(self) -> None:
        self.graph.add_layer(_layer_copy(self._layer))

    def undo(self) -> None:
        self.graph.remove_layer(self.layer_id)


class RemoveItemsCommand(QUndoCommand):
    """Delete layers (with every connection attached to them) and connections; undo restores them all."""

    def __init__(self, graph: Graph, layer_ids: Iterable[str], connection_ids: Iterable[str] = (),
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.layer_ids = list(dict.fromkeys(layer_ids))
        self.connection_ids = list(dict.fromkeys(connection_ids))
        for layer_id in self.layer_ids:
            graph.layer(layer_id)  # raises GraphError naming an unknown id
        for connection_id in self.connection_ids:
            graph.connection(connection_id)
        self._layers: list[tuple[int, Layer]] = []
        self._connections: list[tuple[int, Connection]] = []
        items = len(self.layer_ids) + len(self.connection_ids)
        if items == 1 and self.layer_ids:
            self.setText(f"Delete layer {graph.layer(self.layer_ids[0]).name}")
        elif items == 1:
            self.setText(f"Delete connection {self.connection_ids[0]}")
        else:
            self.setText(f"Delete {count(items, 'item')}")

    def redo(self) -> None:
        graph = self.graph
        doomed_layers = set(self.layer_ids)
        doomed = set(self.connection_ids) | {c.id for c in graph.connections.values()
                                             if c.source in doomed_layers or c.target in doomed_layers}
        # Remember them with their places in drawing order, so that undo puts them back as they were
        # (the order decides which connection of a cycle is the recurrent one).
        self._connections = [(i, _connection_copy(c)) for i, c in enumerate(graph.connections.values())
                             if c.id in doomed]
        self._layers = [(i, _layer_copy(layer)) for i, layer in enumerate(graph.layers.values())
                        if layer.id in doomed_layers]
        for connection_id in self.connection_ids:
            if connection_id in graph.connections:
                graph.remove_connection(connection_id)
        for layer_id in self.layer_ids:
            graph.remove_layer(layer_id)

    def undo(self) -> None:
        for index, layer in self._layers:
            self.graph.add_layer(_layer_copy(layer), index)
        for index, connection in self._connections:
            self.graph.add_connection(_connection_copy(connection), index)


class MoveLayersCommand(QUndoCommand):
    """Move layers; the moves of one mouse drag (same ``drag_id``) merge into a single undo step."""

    def __init__(self, graph: Graph, moves: Mapping[str, tuple[Position, Position]], drag_id: Any = None,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.drag_id = drag_id
        #: set before undoing a cancelled drag: the undo then drops the step, leaving nothing to redo
        self.discard_on_undo = False
        self.moves: dict[str, tuple[Position, Position]] = {}
        for layer_id, (old, new) in moves.items():
            graph.layer(layer_id)
            self.moves[layer_id] = ((float(old[0]), float(old[1])), (float(new[0]), float(new[1])))
        self._update_text()

    def _update_text(self) -> None:
        if len(self.moves) == 1:
            self.setText(f"Move layer {self.graph.layer(next(iter(self.moves))).name}"
                         if next(iter(self.moves)) in self.graph.layers else "Move layer")
        else:
            self.setText(f"Move {count(len(self.moves), 'layer')}")

    def id(self) -> int:  # noqa: A003 - Qt's name
        return MOVE_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if (not isinstance(other, MoveLayersCommand) or self.drag_id is None or other.drag_id != self.drag_id
                or set(other.moves) != set(self.moves)):
            return False
        self.moves = {layer_id: (self.moves[layer_id][0], other.moves[layer_id][1]) for layer_id in self.moves}
        if all(old == new for old, new in self.moves.values()):
            self.setObsolete(True)  # dragged back to where it started: nothing to undo
        return True

    def redo(self) -> None:
        for layer_id, (_old, new) in self.moves.items():
            self.graph.move_layer(layer_id, new)

    def undo(self) -> None:
        for layer_id, (old, _new) in self.moves.items():
            self.graph.move_layer(layer_id, old)
        if self.discard_on_undo:
            self.setObsolete(True)  # QUndoStack deletes a command that turns obsolete in its undo


class AddConnectionCommand(QUndoCommand):
    """Connect two layers (or a layer to itself: a recurrent loop)."""

    def __init__(self, graph: Graph, connection: Connection, parent: QUndoCommand | None = None) -> None:
        super().__init__(parent)
        if not ID_PATTERN.match(connection.id):
            raise GraphError(f"connection id {connection.id!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
        if connection.id in graph.connections or connection.id in graph.layers:
            raise GraphError(f"the id {connection.id!r} is already used; choose another "
                             f"(graph.new_id gives a free one)")
        source, target = graph.layer(connection.source), graph.layer(connection.target)
        self.graph = graph
        self.connection_id = connection.id
        self._connection = _connection_copy(connection)
        self.setText(f"Connect {source.name} to {target.name}")

    def redo(self) -> None:
        self.graph.add_connection(_connection_copy(self._connection))

    def undo(self) -> None:
        self.graph.remove_connection(self.connection_id)


class UpdateLayerCommand(QUndoCommand):
    """Change fields of a layer (kind, shape, activation, bias, label, position, slope, dropout, norm, init ...)."""

    def __init__(self, graph: Graph, layer_id: str, parent: QUndoCommand | None = None, **changes: Any) -> None:
        super().__init__(parent)
        layer = graph.layer(layer_id)
        unknown = set(changes) - set(_LAYER_FIELDS)
        if unknown:
            raise GraphError(f"a layer has no field {sorted(unknown)[0]!r}; "
                             f"the fields are {', '.join(_LAYER_FIELDS)}")
        for name in _NUMBER_FIELDS:
            value = changes.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                changes[name] = float(value)
        # Build the changed layer now, so that a bad value (a shape of 0) fails here, in the caller; the values kept
        # are those given (the file form would drop an activation or bias the new kind does not use)
        Layer.from_dict({**layer.to_dict(),
                         **{k: (list(v) if isinstance(v, tuple) else v) for k, v in changes.items()}})
        probe = dataclasses.replace(layer, **changes)
        self.graph = graph
        self.layer_id = layer_id
        self.new = {name: getattr(probe, name) for name in changes}
        self.old = {name: copy.deepcopy(getattr(layer, name)) for name in changes}
        self.setText(f"Change {layer.name}: {', '.join(changes)}")

    def redo(self) -> None:
        self.graph.update_layer(self.layer_id, **self.new)

    def undo(self) -> None:
        self.graph.update_layer(self.layer_id, **self.old)


class UpdateConnectionCommand(QUndoCommand):
    """Change a connection's connectivity (dense or local, window, stride, pooling ...), its disabled links
    and/or how its weights start (``init``: ``(kind, value)``, the value used by ``constant``)."""

    def __init__(self, graph: Graph, connection_id: str, connectivity: Connectivity | None = None,
                 disabled: Iterable[tuple[int, int]] | None = None, parent: QUndoCommand | None = None,
                 init: tuple[str, float] | None = None) -> None:
        super().__init__(parent)
        connection = graph.connection(connection_id)
        if init is not None:
            kind, value = init
            if not isinstance(kind, str):
                raise GraphError(f"connection {connection_id!r}: init must be text, got {kind!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise GraphError(f"connection {connection_id!r}: the init value must be a number, got {value!r}")
            init = (kind, float(value))
        self.graph = graph
        self.connection_id = connection_id
        self.new_connectivity = copy.deepcopy(connectivity) if connectivity is not None else None
        self.new_disabled = sorted({(int(t), int(s)) for t, s in disabled}) if disabled is not None else None
        self.new_init = init
        self.old_connectivity = copy.deepcopy(connection.connectivity)
        self.old_disabled = list(connection.disabled)
        self.old_init = (connection.init, connection.init_value)
        names = [name for name, value in (("connectivity", connectivity), ("disabled links", disabled),
                                          ("initialisation", init)) if value is not None]
        self.setText(f"Change {connection_id}: {', '.join(names) or 'nothing'}")

    def redo(self) -> None:
        self.graph.update_connection(self.connection_id, connectivity=self.new_connectivity,
                                     disabled=self.new_disabled, init=self.new_init)

    def undo(self) -> None:
        self.graph.update_connection(self.connection_id, connectivity=self.old_connectivity,
                                     disabled=self.old_disabled,
                                     init=self.old_init if self.new_init is not None else None)


class ToggleLinkCommand(QUndoCommand):
    """Switch one neuron-to-neuron link of a connection off (or back on)."""

    def __init__(self, graph: Graph, connection_id: str, target_index: int, source_index: int,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(parent)
        connection = graph.connection(connection_id)
        source, target = graph.layer(connection.source), graph.layer(connection.target)
        if not (0 <= target_index < target.units and 0 <= source_index < source.units):
            raise GraphError(f"connection {connection_id!r} has no link from {source.name}[{source_index}] to "
                             f"{target.name}[{target_index}]: {source.name} has {source.units} and "
                             f"{target.name} {target.units} neurons")
        self.graph = graph
        self.connection_id = connection_id
        self.target_index = int(target_index)
        self.source_index = int(source_index)
        self.was_enabled = (self.target_index, self.source_index) not in set(map(tuple, connection.disabled))
        verb = "Disable" if self.was_enabled else "Enable"
        self.setText(f"{verb} link {source.name}[{source_index}] → {target.name}[{target_index}]")

    def redo(self) -> None:
        self.graph.set_link_enabled(self.connection_id, self.target_index, self.source_index, not self.was_enabled)

    def undo(self) -> None:
        self.graph.set_link_enabled(self.connection_id, self.target_index, self.source_index, self.was_enabled)

"""The canvas scene: one item per layer and per connection, kept in step with the graph's events.

The scene never changes the graph: it observes ``graph.events`` and creates, updates and removes
items by their stable string ids (as Orange's canvas scene follows its scheme). Edits go through
undo commands that the view pushes; their graph operations come back here as events.

The selected neuron (:meth:`CanvasScene.set_selected_neuron`) is ringed on its card, and the windows
its local connections read are outlined on their sources' cards, kept right through edits.

Neuron pictures (:meth:`CanvasScene.set_pictures_mode`, :meth:`CanvasScene.set_pictures`) and a followed
sample's values (:meth:`CanvasScene.set_sample_values`) are kept here too, so that a card made later (an
undo, a new layer) shows them as well.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsScene

from designer.graph import Connection, Graph, Layer
from designer.ui.neuron_weights import neuron_windows

from .connection_item import ConnectionItem
from .layer_item import LayerItem

SCENE_EXTENT = 100_000.0  # a large fixed scene: panning is never stopped by an edge


class CanvasScene(QGraphicsScene):
    """Items for ``graph``'s layers (``layer_items``) and connections (``connection_items``), by id."""

    def __init__(self, graph: Graph, parent=None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.layer_items: dict[str, LayerItem] = {}
        self.connection_items: dict[str, ConnectionItem] = {}
        self._attached: dict[str, set[str]] = {}  # layer id -> ids of its connections
        self._problem_ids: set[str] = set()
        self._weights: dict[str, np.ndarray] | None = None
        self._neuron: tuple[str, int] | None = None  # the selected neuron: (layer id, index)
        self.pictures_mode = False
        self._pictures: dict | None = None  # the last NeuronPictures payload (see set_pictures)
        self._sample: dict[str, object] | None = None  # a followed sample's values by layer id
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few items that move often
        self.setSceneRect(QRectF(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT))
        events = graph.events
        self._subscriptions: list[tuple[object, Callable]] = [
            (events.layer_added, self._layer_added), (events.layer_removed, self._layer_removed),
            (events.layer_changed, self._layer_changed), (events.connection_added, self._connection_added),
            (events.connection_removed, self._connection_removed),
            (events.connection_changed, self._connection_changed), (events.reset, self.rebuild),
            (events.changed, self._flow_changed),
        ]
        for event, callback in self._subscriptions:
            event.connect(callback)
        self.rebuild()

    def detach(self) -> None:
        """Stop following the graph (the view is going away)."""
        for event, callback in self._subscriptions:
            event.disconnect(callback)
        self._subscriptions = []

    # ------------------------------------------------------------------ whole graph
    def rebuild(self) -> None:
        """Drop every item and draw the graph afresh (a file was opened)."""
        for item in list(self.connection_items.values()) + list(self.layer_items.values()):
            self.removeItem(item)
        self.layer_items.clear()
        self.connection_items.clear()
        self._attached.clear()
        self._pictures = self._sample = None  # another design: what its neurons computed is not known yet
        flow = self.graph.flow()
        outputs = set(flow.outputs)
        for layer in self.graph.layers.values():
            self._add_layer_item(layer, layer.id in outputs)
        for connection in self.graph.connections.values():
            self._add_connection_item(connection, connection.id in flow.recurrent)
        self.set_selected_neuron(None)  # another design: the neuron that was selected is gone

    def _flow_changed(self) -> None:
        """After any structural change: which connections loop back and which layer is the output."""
        flow = self.graph.flow()
        outputs = set(flow.outputs)
        for layer_id, item in self.layer_items.items():
            item.set_output(layer_id in outputs)
        for connection_id, item in self.connection_items.items():
            recurrent = connection_id in flow.recurrent
            if recurrent != item.recurrent:
                self._rebuild_connection(connection_id)
        self._show_neuron()  # a window, a stride, a shape or a connection may have changed

    # ------------------------------------------------------------------ layers
    def _add_layer_item(self, layer: Layer, is_output: bool = False) -> LayerItem:
        item = LayerItem(layer, is_output)
        item.set_state(problem=layer.id in self._problem_ids)
        if self._weights is not None:
            item.set_biases(self._weights.get(f"{layer.id}.bias"))
        if self.pictures_mode:
            item.set_pictures_mode(True)
            item.set_pictures(self._pictures)
        if self._sample is not None:
            item.set_sample_values(self._sample.get(layer.id))
        self.addItem(item)
        self.layer_items[layer.id] = item
        self._attached.setdefault(layer.id, set())
        return item

    def _layer_added(self, layer: Layer) -> None:
        self._add_layer_item(layer)
        # a connection read from a file may name a layer that only now exists
        recurrent = self.graph.flow().recurrent
        for connection in self.graph.connections.values():
            if connection.id not in self.connection_items and layer.id in (connection.source, connection.target):
                self._add_connection_item(connection, connection.id in recurrent)

    def _layer_removed(self, layer: Layer) -> None:
        item = self.layer_items.pop(layer.id, None)
        self._attached.pop(layer.id, None)
        if item is not None:
            self.removeItem(item)

    def _layer_changed(self, layer: Layer, names: set[str]) -> None:
        item = self.layer_items.get(layer.id)
        if item is None:
            return
        if names == {"position"}:
            item.setPos(*layer.position)
            for connection_id in self._attached.get(layer.id, ()):
                self.connection_items[connection_id].update_geometry()
            return
        item.update_layer(layer)
        for connection_id in list(self._attached.get(layer.id, ())):
            self._rebuild_connection(connection_id)

    # ------------------------------------------------------------------ connections
    def _add_connection_item(self, connection: Connection, recurrent: bool) -> ConnectionItem | None:
        source = self.layer_items.get(connection.source)
        target = self.layer_items.get(connection.target)
        if source is None or target is None:
            return None  # a dangling connection from a file: validation names it
        item = ConnectionItem(connection, source, target, recurrent)
        item.set_state(problem=connection.id in self._problem_ids)
        if self._weights is not None:
            item.set_weights(self._weights.get(f"{connection.id}.weight"))
        self.addItem(item)
        self.connection_items[connection.id] = item
        self._attached.setdefault(connection.source, set()).add(connection.id)
        self._attached.setdefault(connection.target, set()).add(connection.id)
        return item

    def _connection_added(self, connection: Connection) -> None:
        self._add_connection_item(connection, connection.id in self.graph.flow().recurrent)

    def _connection_removed(self, connection: Connection) -> None:
        item = self.connection_items.pop(connection.id, None)
        for layer_id in (connection.source, connection.target):
            self._attached.get(layer_id, set()).discard(connection.id)
        if item is not None:
            self.removeItem(item)

    def _connection_changed(self, connection: Connection, names: set[str]) -> None:
        self._rebuild_connection(connection.id)

    def _rebuild_connection(self, connection_id: str) -> None:
        item = self.connection_items.get(connection_id)
        connection = self.graph.connections.get(connection_id)
        if item is None or connection is None:
            return
        item.rebuild(connection, self.layer_items[connection.source], self.layer_items[connection.target],
                     connection_id in self.graph.flow().recurrent)

    # ------------------------------------------------------------------ decorations
    def set_problem_ids(self, ids: set[str]) -> None:
        self._problem_ids = set(ids)
        for item_id, item in {**self.layer_items, **self.connection_items}.items():
            item.set_state(problem=item_id in self._problem_ids)

    def set_weights(self, weights: dict[str, np.ndarray] | None) -> None:
        self._weights = None if weights is None else dict(weights)
        for connection_id, item in self.connection_items.items():
            item.set_weights(None if weights is None else weights.get(f"{connection_id}.weight"))
        for layer_id, layer_item in self.layer_items.items():
            layer_item.set_biases(None if weights is None else weights.get(f"{layer_id}.bias"))

    def set_pictures_mode(self, on: bool) -> None:
        """Neuron pictures on (square slots, each neuron's picture) or off (the plain circles)."""
        on = bool(on)
        if on == self.pictures_mode:
            return
        self.pictures_mode = on
        moved = []
        for layer_id, item in self.layer_items.items():
            if item.set_pictures_mode(on):
                moved.append(layer_id)
            if on:
                item.set_pictures(self._pictures)
        # links end on the neurons, which moved: draw them again on the new slots
        for connection_id in {c for lid in moved for c in self._attached.get(lid, ())}:
            self._rebuild_connection(connection_id)
        self._show_neuron()

    def set_pictures(self, payload: dict | None) -> int:
        """The neurons' pictures (a NeuronPictures payload, see LayerItem.set_pictures), or None for none.

        Kept while pictures are off, to be drawn when they are switched on. Returns how many cards repainted.
        """
        self._pictures = payload
        if not self.pictures_mode:
            return 0
        return sum(bool(item.set_pictures(payload)) for item in self.layer_items.values())

    def pictures(self) -> dict | None:
        return self._pictures

    def set_sample_values(self, values: dict | None, ranges: dict | None = None) -> None:
        """Every neuron's value for a followed sample (``{layer id: [units]}``), or None to show none.

        ``ranges``: ``{layer id: (low, high)}`` for the fill colours (default: the activation's range, or the
        layer's largest ``|value|``).
        """
        self._sample = None if values is None else dict(values)
        for layer_id, item in self.layer_items.items():
            value = None if values is None else values.get(layer_id)
            item.set_sample_values(value, (ranges or {}).get(layer_id))

    def set_selected_neuron(self, layer_id: str | None, index: int | None = None) -> None:
        """Ring neuron ``index`` of ``layer_id`` and outline the windows it reads; None for no neuron."""
        self._neuron = None if layer_id is None or index is None else (layer_id, int(index))
        self._show_neuron()

    def selected_neuron(self) -> tuple[str, int] | None:
        return self._neuron

    def _show_neuron(self) -> None:
        if self._neuron is not None and self._neuron[0] not in self.graph.layers:
            self._neuron = None  # its layer was removed
        windows: dict[str, list] = {}
        if self._neuron is not None:
            for window in neuron_windows(self.graph, *self._neuron):
                windows.setdefault(window.source_id, []).append(window)
        for layer_id, item in self.layer_items.items():
            ringed = self._neuron[1] if self._neuron is not None and self._neuron[0] == layer_id else None
            item.set_state(selected_neuron=ringed)
            item.set_windows(windows.get(layer_id, ()))

    def item_for(self, item_id: str) -> LayerItem | ConnectionItem | None:
        return self.layer_items.get(item_id) or self.connection_items.get(item_id)

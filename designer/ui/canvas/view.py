"""The canvas view: where a person draws the network with the mouse, and the window's handle on it.

Every edit becomes an undo command pushed on the shared undo stack (the scene follows the
graph's events): dropping a palette item adds a layer, dragging from a layer's output port to a
layer connects them, dragging layers moves them (one undo step per drag, snapped to the grid),
clicking a link switches it off or on, Delete removes the selection. Wheel zooms around the
cursor; the middle button or space + drag pans. ``set_read_only`` locks all of that while a
network trains, and says so in a banner.

It also shows what the neurons compute: their pictures (``set_pictures_mode``, ``set_neuron_pictures``) and
their values for a followed sample (``set_sample_values``); Escape with nothing selected says the person is
done following it (``escape_pressed``).
"""
from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent, QMouseEvent,
                           QPainter, QPainterPath, QPen, QUndoStack, QWheelEvent)
from PySide6.QtWidgets import QFrame, QGraphicsPathItem, QGraphicsView, QLabel, QWidget

from designer.graph import Connection, Graph, GraphError, Layer
from designer.ui import style
from designer.ui.data_fit import DEFAULT_LAYERS, new_layer_fields, pooling_connection
from designer.ui.commands import (AddConnectionCommand, AddLayerCommand, MoveLayersCommand, RemoveItemsCommand,
                                  ToggleLinkCommand, UpdateLayerCommand)

from .connection_item import ConnectionItem
from .layer_item import LayerItem
from .scene import CanvasScene

PALETTE_MIME = "application/x-nnd-palette-item"
GRID = 20.0
MIN_ZOOM, MAX_ZOOM = 0.08, 4.0

#: what each palette item becomes: id stem and layer fields
_drag_ids = itertools.count(1)


def snap(value: float) -> float:
    return round(value / GRID) * GRID


class CanvasView(QGraphicsView):
    """The drawing surface of a design (objectName ``canvas``)."""

    selection_changed = Signal()
    neuron_selected = Signal(str, int)
    #: neuron pictures were switched on or off
    pictures_mode_changed = Signal(bool)
    #: Escape with nothing selected (the window then stops following a sample)
    escape_pressed = Signal()

    def __init__(self, graph: Graph, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        self.graph = graph
        self.undo_stack = undo_stack
        #: ``(id stem, Layer fields)`` of a layer dropped from the palette; the window makes it follow the data
        self.layer_defaults: Callable[[str], tuple[str, dict]] = lambda kind: new_layer_fields(kind, None)
        #: layers dropped from the palette's "Max pooling": the first connection drawn into one pools
        self.pooling_layers: set[str] = set()
        graph.events.reset.connect(self.pooling_layers.clear)
        self.canvas_scene = CanvasScene(graph)
        super().__init__(self.canvas_scene, parent)
        self.canvas_scene.setParent(self)
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setBackgroundBrush(style.CANVAS_BACKGROUND)
        self._read_only = False
        self._problem_ids: set[str] = set()
        self._ghost: LayerItem | None = None  # where a palette item would land
        self._selected_neuron: tuple[str, int] | None = None
        self._press: QPointF | None = None
        self._moving: dict[str, tuple[float, float]] | None = None  # layer id -> position at press
        self._move_anchor = ""
        self._drag_id = 0
        self._connect_from: LayerItem | None = None
        self._drop_target: LayerItem | None = None
        self._rubber_line = QGraphicsPathItem()
        self._rubber_line.setPen(QPen(style.ACCENT, 1.8, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap))
        self._rubber_line.setZValue(10)
        self._rubber_line.setVisible(False)
        self.canvas_scene.addItem(self._rubber_line)
        self._panning: QPoint | None = None
        self._space_held = False
        self._banner = QLabel("Training — editing is locked", self)
        self._banner.setObjectName("canvas_banner")
        self._banner.setStyleSheet(
            f"QLabel {{ background: {style.BANNER_BACKGROUND.name()}; color: {style.BANNER.name()};"
            f" border: 1px solid {style.BANNER.lighter(170).name()}; border-radius: 11px;"
            f" padding: 3px 12px; font-weight: 600; }}")
        self._banner.hide()
        self.canvas_scene.selectionChanged.connect(self._scene_selection_changed)
        # The graph outlives this view (the window keeps one graph for its life): when the view goes,
        # unsubscribe with plain Python objects only, since the scene's C++ side may be gone already.
        graph.events.layer_removed.connect(self._forget_neuron)
        subscriptions = list(self.canvas_scene._subscriptions) + [(graph.events.layer_removed, self._forget_neuron)]
        self.destroyed.connect(lambda *_: [event.disconnect(callback) for event, callback in subscriptions])
        self._fitted = False  # fit once the view has its real size (see showEvent)

    # ------------------------------------------------------------------ public API
    def selected_ids(self) -> list[str]:
        """Ids of the selected layers, then connections, in drawing order."""
        scene = self.canvas_scene
        chosen = {item.item_id for item in scene.selectedItems() if hasattr(item, "item_id")}
        return ([lid for lid in scene.layer_items if lid in chosen]
                + [cid for cid in scene.connection_items if cid in chosen])

    def select_all(self) -> None:
        """Select every layer and connection."""
        scene = self.canvas_scene
        scene.blockSignals(True)  # one selection_changed, not one per item
        try:
            for item in list(scene.layer_items.values()) + list(scene.connection_items.values()):
                item.setSelected(True)
        finally:
            scene.blockSignals(False)
        self._scene_selection_changed()

    def select(self, item_id: str) -> None:
        """Select a layer or connection alone and bring it into view."""
        item = self.canvas_scene.item_for(item_id)
        if item is None:
            return
        self.canvas_scene.clearSelection()
        item.setSelected(True)
        self.centerOn(item.sceneBoundingRect().center())

    def selected_neuron(self) -> tuple[str, int] | None:
        """``(layer_id, index)`` of the neuron last clicked, while its layer exists."""
        return self._selected_neuron

    def set_problem_ids(self, ids: set[str]) -> None:
        """Outline the layers and connections with these ids in red (the culprits of problems)."""
        self._problem_ids = set(ids)
        self.canvas_scene.set_problem_ids(self._problem_ids)

    def set_weights(self, weights: dict[str, np.ndarray] | None) -> None:
        """Colour links by the sign of their weights and size them by magnitude; None for the neutral style."""
        self.canvas_scene.set_weights(weights)

    def set_pictures_mode(self, on: bool) -> None:
        """Each neuron of a hidden or output layer drawn as a picture of what it computes (or as a circle)."""
        on = bool(on)
        if on == self.canvas_scene.pictures_mode:
            return
        self.canvas_scene.set_pictures_mode(on)
        self.pictures_mode_changed.emit(on)

    def pictures_on(self) -> bool:
        return self.canvas_scene.pictures_mode

    def set_neuron_pictures(self, payload: dict | None) -> int:
        """The neurons' pictures, as the training controller sends them (None: none); cards repainted."""
        return self.canvas_scene.set_pictures(payload)

    def set_sample_values(self, values: dict | None, ranges: dict | None = None) -> None:
        """Every neuron's value for a followed sample (``{layer id: [units]}``), or None."""
        self.canvas_scene.set_sample_values(values, ranges)

    def set_read_only(self, read_only: bool) -> None:
        """Lock (or unlock) every edit, with a banner saying so; selection, zoom and pan still work."""
        self._read_only = bool(read_only)
        self._cancel_gestures()
        self._banner.setVisible(self._read_only)
        self._place_banner()

    def is_read_only(self) -> bool:
        return self._read_only

    def drop_preview(self) -> LayerItem | None:
        """The faint card showing where a palette item being dragged would land, if any."""
        return self._ghost

    def connection_preview(self) -> QGraphicsPathItem:
        """The dashed line that follows the mouse while a connection is being drawn."""
        return self._rubber_line

    def fit(self) -> None:
        """Zoom and scroll so the whole design is in view (at most at 150 %)."""
        items = list(self.canvas_scene.layer_items.values()) + list(self.canvas_scene.connection_items.values())
        if not items:
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        scale = self.transform().m11()
        clamped = min(max(scale, MIN_ZOOM), 1.5)
        if clamped != scale:
            self.scale(clamped / scale, clamped / scale)
        self.centerOn(rect.center())

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        """Zoom to ``factor`` (1.0 = 100 %) around the view's centre."""
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.setTransformationAnchor(anchor)

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selected layers by (dx, dy); repeated nudges merge into one undo step."""
        layers = [self.graph.layer(i) for i in self.selected_ids() if i in self.graph.layers]
        if self._read_only or not layers:
            return
        moves = {layer.id: (tuple(layer.position), (layer.position[0] + dx, layer.position[1] + dy))
                 for layer in layers}
        self.undo_stack.push(MoveLayersCommand(self.graph, moves, ("nudge", tuple(sorted(moves)))))

    def delete_selected(self) -> None:
        """Delete the selected layers (with their connections) and connections, as one undo step."""
        if self._read_only:
            return
        ids = self.selected_ids()
        layer_ids = [i for i in ids if i in self.graph.layers]
        connection_ids = [i for i in ids if i in self.graph.connections]
        if layer_ids or connection_ids:
            self.undo_stack.push(RemoveItemsCommand(self.graph, layer_ids, connection_ids))

    # ------------------------------------------------------------------ picking
    def _layer_at(self, view_pos: QPoint) -> LayerItem | None:
        for item in self.items(view_pos):
            if isinstance(item, LayerItem) and self.canvas_scene.layer_items.get(item.item_id) is item:
                return item
        return None

    def _pick(self, view_pos: QPoint) -> tuple[str, object, object]:
        """What is under the cursor, most specific first: port, neuron, link, layer card, connection."""
        scene_pos = self.mapToScene(view_pos)
        tolerance = 4.0 / max(self.zoom(), 0.05)
        items = self.items(view_pos)
        layers = [item for item in items if isinstance(item, LayerItem)
                  and self.canvas_scene.layer_items.get(item.item_id) is item]
        for layer in layers:
            local = layer.mapFromScene(scene_pos)
            if layer.port_contains(local):
                return "port", layer, None
            index = layer.neuron_at(local)
            if index is not None:
                return "neuron", layer, index
            if layer.header_contains(local):
                return "layer", layer, None  # its name is drawn above the links: a press there is on the card
        for item in self.canvas_scene.connection_items.values():
            if item.shows_links() and item.boundingRect().contains(scene_pos):
                link = item.link_at(scene_pos, tolerance)
                if link is not None:
                    return "link", item, link
        if layers:
            return "layer", layers[0], None
        for item in items:
            if isinstance(item, ConnectionItem):
                return "connection", item, None
        return "", None, None

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space_held):
            self._panning = pos
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        what, item, detail = self._pick(pos)
        additive = bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        if what == "port" and not self._read_only:
            self._connect_from = item
            self._update_rubber_line(self.mapToScene(pos))
            self._rubber_line.setVisible(True)
            event.accept()
            return
        if what in ("port", "neuron", "layer"):
            self._choose(item, additive)
            if what == "neuron":
                self._set_selected_neuron(item.item_id, detail)
            if not self._read_only and item.isSelected():
                self._press = self.mapToScene(pos)
                self._moving = {i.item_id: tuple(self.graph.layer(i.item_id).position)
                                for i in self.canvas_scene.selectedItems() if isinstance(i, LayerItem)}
                self._move_anchor = item.item_id
                self._drag_id = next(_drag_ids)
            event.accept()
            return
        if what == "link":
            self._choose(item, additive)
            if not self._read_only and not additive:  # Ctrl/Shift-click selects the connection only
                self.undo_stack.push(ToggleLinkCommand(self.graph, item.item_id, detail.target, detail.source))
            event.accept()
            return
        if what == "connection":
            self._choose(item, additive)
            event.accept()
            return
        if not additive:
            self.canvas_scene.clearSelection()
        super().mousePressEvent(event)  # rubber band

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if self._panning is not None:
            delta = pos - self._panning
            self._panning = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        if self._connect_from is not None:
            scene_pos = self.mapToScene(pos)
            target = self._layer_at(pos)
            self._set_drop_target(target, refused=target is not None and not self._can_connect(target))
            self._update_rubber_line(scene_pos, target)
            event.accept()
            return
        if self._moving is not None and self._press is not None:
            self._move_to(self.mapToScene(pos))
            event.accept()
            return
        if not self._space_held and event.buttons() == Qt.MouseButton.NoButton:
            self._show_affordance(pos)
        super().mouseMoveEvent(event)

    def _show_affordance(self, pos: QPoint) -> None:
        """A cursor that says what pressing here would do: connect, move, or switch a link."""
        what = self._pick(pos)[0]
        shapes = {"port": Qt.CursorShape.CrossCursor, "link": Qt.CursorShape.PointingHandCursor}
        if not self._read_only and what in shapes:
            self.viewport().setCursor(shapes[what])
        elif not self._read_only and what in ("layer", "neuron"):
            self.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            self.viewport().unsetCursor()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if self._panning is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._panning = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        if self._connect_from is not None:
            source = self._connect_from
            target = self._layer_at(pos)
            self._cancel_gestures()
            # onto itself: a self-loop (recurrent); onto empty canvas or an input layer: nothing
            if target is not None and self._can_connect(target):
                self._connect(source.item_id, target.item_id)
            event.accept()
            return
        if self._moving is not None:
            self._move_to(self.mapToScene(pos))
            self._moving = None
            self._press = None
            event.accept()
            return
        super().mouseReleaseEvent(event)
        event.accept()  # a release after a rubber band or a plain click is handled here, never elsewhere

    def _choose(self, item, additive: bool) -> None:
        if additive:
            item.setSelected(not item.isSelected())
        elif not item.isSelected():
            self.canvas_scene.clearSelection()
            item.setSelected(True)

    def _move_to(self, scene_pos: QPointF) -> None:
        assert self._moving is not None and self._press is not None
        delta = scene_pos - self._press
        ax, ay = self._moving[self._move_anchor]
        # snap the layer under the mouse to the grid; the others keep their offsets to it
        dx, dy = snap(ax + delta.x()) - ax, snap(ay + delta.y()) - ay
        moves = {}
        for layer_id, (x, y) in self._moving.items():
            layer = self.graph.layers.get(layer_id)
            if layer is None:
                continue
            new = (x + dx, y + dy)
            if tuple(layer.position) != new:
                moves[layer_id] = (tuple(layer.position), new)
        if moves and len(moves) == len(self._moving):
            self.undo_stack.push(MoveLayersCommand(self.graph, moves, self._drag_id))
        elif moves:  # some already in place: move the rest, still the same drag
            self.undo_stack.push(MoveLayersCommand(self.graph, moves, (self._drag_id, tuple(sorted(moves)))))

    def _undo_this_drag(self) -> None:
        index = self.undo_stack.index()
        top = self.undo_stack.command(index - 1) if index > 0 else None
        if isinstance(top, MoveLayersCommand) and top.drag_id == self._drag_id:
            top.discard_on_undo = True  # a cancelled drag leaves nothing to redo
            self.undo_stack.undo()

    @staticmethod
    def _can_connect(target: LayerItem) -> bool:
        return target.layer.kind != "input"  # the data feeds an input layer, nothing else may

    def _connect(self, source_id: str, target_id: str) -> None:
        connection = Connection(id=self.graph.new_id(f"{source_id}-{target_id}"), source=source_id, target=target_id)
        pooling = None
        if target_id in self.pooling_layers and not self.graph.incoming(target_id):
            pooling = pooling_connection(self.graph, source_id, target_id)
        try:
            if pooling is None:
                self.undo_stack.push(AddConnectionCommand(self.graph, connection))
                return
            # into a pooling layer: max pooling, and the layer takes the grid it makes (one undo step)
            connection.connectivity, shape = pooling
            commands = [AddConnectionCommand(self.graph, connection)]
            if shape != self.graph.layer(target_id).shape:
                commands.append(UpdateLayerCommand(self.graph, target_id, shape=shape))
        except GraphError:
            return  # the layers went away meanwhile; nothing to connect
        self.undo_stack.beginMacro(f"{commands[0].text()} (max pooling)")
        for command in commands:
            self.undo_stack.push(command)
        self.undo_stack.endMacro()

    def _update_rubber_line(self, scene_pos: QPointF, target: LayerItem | None = None) -> None:
        source = self._connect_from
        if source is None:
            return
        start = source.mapToScene(source.port_center())
        end = target.mapToScene(target.input_center()) if target is not None and target is not source else scene_pos
        path = QPainterPath(start)
        dx = max(40.0, abs(end.x() - start.x()) * 0.5)
        path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
        self._rubber_line.setPath(path)

    def _set_drop_target(self, target: LayerItem | None, refused: bool = False) -> None:
        if target is not self._drop_target and self._drop_target is not None and _alive(self._drop_target):
            self._drop_target.set_state(drop_target=False, problem=self._drop_target.item_id in self._problem_ids)
        self._drop_target = target
        if target is not None:
            # a refused target shows red while the mouse is over it
            target.set_state(drop_target=not refused, problem=refused or target.item_id in self._problem_ids)
        if refused:
            self.viewport().setCursor(Qt.CursorShape.ForbiddenCursor)
        elif self.viewport().cursor().shape() == Qt.CursorShape.ForbiddenCursor:
            self.viewport().unsetCursor()

    def _cancel_gestures(self) -> None:
        if self._connect_from is not None and _alive(self._connect_from):
            self._connect_from.set_state(port_hovered=False)  # hover events resume with the next move
        self._connect_from = None
        self._set_drop_target(None)
        self._rubber_line.setVisible(False)
        self._moving = None
        self._press = None

    def _set_selected_neuron(self, layer_id: str, index: int) -> None:
        self._selected_neuron = (layer_id, index)
        # the scene rings it, and outlines the windows it reads on the layers that feed it locally
        self.canvas_scene.set_selected_neuron(layer_id, index)
        self.neuron_selected.emit(layer_id, index)

    def _forget_neuron(self, layer) -> None:
        if self._selected_neuron is not None and self._selected_neuron[0] == layer.id:
            self._selected_neuron = None
            self.canvas_scene.set_selected_neuron(None)

    def _scene_selection_changed(self) -> None:
        if self._selected_neuron is not None:
            layer_id = self._selected_neuron[0]
            item = self.canvas_scene.layer_items.get(layer_id)
            if item is None or not item.isSelected():
                self._selected_neuron = None
                self.canvas_scene.set_selected_neuron(None)
        self.selection_changed.emit()

    # ------------------------------------------------------------------ wheel and keys
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if not delta:
            return
        factor = math.pow(1.0015, delta)
        current = self.zoom()
        factor = min(max(current * factor, MIN_ZOOM), MAX_ZOOM) / current
        self.zoom_around(event.position(), factor)
        event.accept()

    def zoom_around(self, view_pos: QPointF, factor: float) -> None:
        """Scale by ``factor`` keeping the scene point under ``view_pos`` where it is on screen."""
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        scene_point = self.mapToScene(view_pos.toPoint())
        self.scale(factor, factor)
        moved = self.mapFromScene(scene_point) - view_pos.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.setTransformationAnchor(anchor)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
            event.accept()
            return
        arrows = {Qt.Key.Key_Left: (-GRID, 0.0), Qt.Key.Key_Right: (GRID, 0.0),
                  Qt.Key.Key_Up: (0.0, -GRID), Qt.Key.Key_Down: (0.0, GRID)}
        if event.key() in arrows and self.selected_ids():
            self.nudge(*arrows[event.key()])
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            busy = self._moving is not None or self._connect_from is not None
            if self._moving is not None:
                self._undo_this_drag()  # Escape puts dragged layers back where the drag began
            self._cancel_gestures()
            if not busy and not self.canvas_scene.selectedItems():
                self.escape_pressed.emit()  # a second Escape: stop following a sample
            self.canvas_scene.clearSelection()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._panning = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------------ palette drops
    def _palette_kind(self, event) -> str | None:
        mime = event.mimeData()
        if self._read_only or mime is None or not mime.hasFormat(PALETTE_MIME):
            return None
        kind = bytes(mime.data(PALETTE_MIME).data()).decode("utf-8", "replace").strip()
        return kind if kind in DEFAULT_LAYERS else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._palette_kind(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()  # a file, say: the main window takes it

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        kind = self._palette_kind(event)
        if kind is None:
            event.ignore()
            return
        pos = event.position().toPoint()
        target = self._layer_at(pos) if kind == "neuron" else None
        if target is not None and self._takes_a_neuron(target):
            self._set_drop_target(target)
            self._show_ghost(None)
        else:
            self._set_drop_target(None)
            self._show_ghost(kind, self.mapToScene(pos))
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._set_drop_target(None)
        self._show_ghost(None)
        event.accept()

    def _show_ghost(self, kind: str | None, scene_pos: QPointF | None = None) -> None:
        """A faint card where the dragged palette item will land (snapped), or none."""
        if kind is None or scene_pos is None:
            if self._ghost is not None:
                self.canvas_scene.removeItem(self._ghost)
                self._ghost = None
            return
        stem, fields = self.layer_defaults(kind)
        layer = Layer(id=stem, position=(snap(scene_pos.x()), snap(scene_pos.y())), **fields)
        if self._ghost is None or self._ghost.layer.kind != layer.kind or self._ghost.layer.shape != layer.shape:
            self._show_ghost(None)
            self._ghost = LayerItem(layer)
            self._ghost.setOpacity(0.45)
            self._ghost.setAcceptHoverEvents(False)
            self._ghost.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self._ghost.setFlag(LayerItem.GraphicsItemFlag.ItemIsSelectable, False)
            self._ghost.setZValue(5)
            self.canvas_scene.addItem(self._ghost)
        self._ghost.setPos(*layer.position)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        kind = self._palette_kind(event)
        self._set_drop_target(None)
        self._show_ghost(None)
        if kind is None:
            event.ignore()
            return
        event.acceptProposedAction()
        pos = event.position().toPoint()
        if kind == "neuron":
            target = self._layer_at(pos)
            if target is not None and self._takes_a_neuron(target):
                layer = self.graph.layer(target.item_id)
                self.undo_stack.push(UpdateLayerCommand(self.graph, layer.id, shape=[layer.shape[0] + 1]))
                return
        scene_pos = self.mapToScene(pos)
        stem, fields = self.layer_defaults(kind)
        layer = Layer(id=self.graph.new_id(stem), position=(snap(scene_pos.x()), snap(scene_pos.y())), **fields)
        self.undo_stack.push(AddLayerCommand(self.graph, layer))
        if kind == "pool":
            self.pooling_layers.add(layer.id)
        self.canvas_scene.clearSelection()
        item = self.canvas_scene.layer_items.get(layer.id)
        if item is not None:
            item.setSelected(True)

    def _takes_a_neuron(self, item: LayerItem) -> bool:
        layer = item.layer
        return layer.kind == "neurons" and len(layer.shape) == 1

    # ------------------------------------------------------------------ painting and geometry
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.fillRect(rect, style.CANVAS_BACKGROUND)
        scale = self.zoom()
        step = GRID if scale >= 0.6 else GRID * 5
        if step * scale < 8:
            return
        # A dot grid drawn as one dashed line per row: a few dozen calls instead of thousands of points.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._draw_dots(painter, rect, step, scale, style.GRID_DOT, 1.5)
        if step == GRID:
            self._draw_dots(painter, rect, GRID * 5, scale, style.GRID_DOT_MAJOR, 2.0)

    @staticmethod
    def _draw_dots(painter: QPainter, rect: QRectF, step: float, scale: float, colour, size: float) -> None:
        pen = QPen(colour, size)
        pen.setCosmetic(True)  # size in screen pixels at any zoom
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        pen.setDashPattern([1.0, step * scale / size - 1.0])
        painter.setPen(pen)
        left = math.floor(rect.left() / step) * step - size / (2 * scale)
        right = rect.right() + step
        y = math.floor(rect.top() / step) * step
        while y <= rect.bottom() + step:
            painter.drawLine(QPointF(left, y), QPointF(right, y))
            y += step

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_banner()

    def _place_banner(self) -> None:
        self._banner.adjustSize()
        self._banner.move((self.width() - self._banner.width()) // 2, 12)
        self._banner.raise_()


def _alive(obj) -> bool:
    try:
        import shiboken6
        return shiboken6.isValid(obj)
    except Exception:  # pragma: no cover - shiboken is part of PySide6
        return True


__all__ = ["CanvasView", "PALETTE_MIME", "GRID", "snap"]

"""The selected neuron's incoming weights and bias, as trained (updated live while training).

Part of the inspector's neuron page: the canvas says which neuron was clicked
(``neuron_selected(layer_id, index)``); weights come from the latest ``named_weights()`` copy:
``<connection>.weight`` is ``[target_units, source_units]`` for dense connections, so the neuron's
row is its incoming weights. A local connection gives each neuron a window on its source
(:func:`local_window`, which the canvas outlines too): its weights are the kernel of its output
channel (shared, ``[out_channels, in_channels, *window]``) or its own (unshared,
``[*target_shape, in_channels, *window]``), one per source channel and window tap. A pooling
connection's window reads its own channel only and has no weights: it takes the maximum or the mean.
"""
from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from designer.graph import Connection, Graph, GraphError
from designer.graph.shapes import local_geometry, local_out_channels

MAX_ROWS = 400
NOT_TRAINED = "Not trained yet: train the network (F5) to see this neuron's incoming weights and bias."
POSITIVE = QColor("#B54708")  # the canvas draws positive weights orange, negative blue
NEGATIVE = QColor("#175CD3")


@dataclass(frozen=True)
class LocalWindow:
    """The window one neuron of a local connection's target reads on the connection's source.

    ``origin`` is the source grid position of the window's first tap (negative where it starts on
    the padding); ``spans`` are, per grid dimension, the ``[start, stop)`` positions of the source
    grid that the window covers. The window reads ``channels`` source channels from ``first_channel`` on
    at those positions: every channel, or for pooling (``pool``: "max", "mean") the neuron's own.
    """

    connection_id: str
    source_id: str
    source_shape: tuple[int, ...]
    channels: int
    size: tuple[int, ...]
    origin: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    out_channel: int
    first_channel: int = 0  # pooling reads its own channel only: ``out_channel``
    pool: str = ""  # "max" or "mean": no weights, the window's maximum or mean

    @property
    def weights(self) -> int:
        """The neuron's weights on this connection: every channel times every tap of the window (none for pooling)."""
        return 0 if self.pool else self.channels * math.prod(self.size)

    def taps(self) -> list[tuple[int, tuple[int, ...], int | None]]:
        """``(channel, tap, source index)`` in the weights' order; the index is None on the padding."""
        grid = self.source_shape[1:] if len(self.source_shape) == 3 else self.source_shape
        plane = math.prod(grid)
        out = []
        for channel in range(self.first_channel, self.first_channel + self.channels):
            for tap in itertools.product(*[range(k) for k in self.size]):
                position = [o + t for o, t in zip(self.origin, tap)]
                inside = all(0 <= p < n for p, n in zip(position, grid))
                out.append((channel, tap, channel * plane + int(np.ravel_multi_index(position, grid))
                            if inside else None))
        return out

    def positions(self) -> frozenset[int]:
        """Flat indices of the source neurons the window reads (as :func:`designer.graph.local_links`)."""
        return frozenset(index for _c, _t, index in self.taps() if index is not None)

    def describe(self) -> str:
        """``6 channels × 3×3 = 54 weights``, ``3×3 = 9 weights``: what the neuron weighs, and why so many."""
        window = "×".join(str(k) for k in self.size)
        if self.pool:
            on = f" on channel {self.first_channel}" if len(self.source_shape) == 3 and self.source_shape[0] > 1 else ""
            return f"{window}{on}, pooled to its {'maximum' if self.pool == 'max' else self.pool}"
        what = f"{self.channels} channels × {window}" if self.channels > 1 else window
        count = f"{self.weights:,} weight{'s' if self.weights != 1 else ''}"
        return count if what == str(self.weights) else f"{what} = {count}"


def local_window(graph: Graph, connection: Connection, index: int) -> LocalWindow | None:
    """The window neuron ``index`` of a local connection's target reads; None for other connections,
    a window that does not fit (the Problems list names it) or an index outside the target."""
    source = graph.layers.get(connection.source)
    target = graph.layers.get(connection.target)
    if connection.connectivity.kind != "local" or source is None or target is None:
        return None
    try:
        geo = local_geometry(source.shape, connection.connectivity)
        out_channels = local_out_channels(target.shape, geo, connection.connectivity.pool)
    except GraphError:
        return None
    if not 0 <= index < out_channels * geo.positions:
        return None
    out_channel, position = divmod(index, geo.positions)
    grid_position = np.unravel_index(position, geo.out_spatial)
    origin = tuple(int(p) * geo.stride - b for p, b in zip(grid_position, geo.pad_before))
    spans = tuple((max(o, 0), min(o + k, n)) for o, k, n in zip(origin, geo.window, geo.in_spatial))
    pool = connection.connectivity.pool
    if pool:  # each channel pooled on its own
        return LocalWindow(connection.id, source.id, tuple(source.shape), 1, tuple(geo.window), origin, spans,
                           out_channel, first_channel=out_channel, pool=pool)
    return LocalWindow(connection.id, source.id, tuple(source.shape), geo.in_channels, tuple(geo.window),
                       origin, spans, out_channel)


def neuron_windows(graph: Graph, layer_id: str, index: int) -> list[LocalWindow]:
    """The windows of every local connection into neuron ``index`` of ``layer_id``."""
    windows = (local_window(graph, c, index) for c in graph.incoming(layer_id))
    return [w for w in windows if w is not None]


def _window_weights(window: LocalWindow, w: np.ndarray, shared: bool, target_units: int,
                    index: int) -> np.ndarray | None:
    """The neuron's weights ``[channels * window taps]`` from a local connection's stored tensor."""
    per_neuron = window.weights
    if shared:
        if w.size % per_neuron or window.out_channel >= w.size // per_neuron:
            return None
        return w.reshape(-1, per_neuron)[window.out_channel]
    if w.size != target_units * per_neuron:
        return None
    return w.reshape(target_units, per_neuron)[index]


def incoming_weights(graph: Graph, weights: dict[str, np.ndarray], layer_id: str,
                     index: int) -> tuple[float | None, list[tuple[str, float]], list[str]]:
    """``(bias, [(source neuron, weight)], notes)`` of neuron ``index`` of ``layer_id``.

    A local connection lists the weights of the neuron's window (and a note saying how many and
    why); connections whose weights are not one row per target neuron (gated layers) are named in
    ``notes`` instead.
    """
    layer = graph.layers.get(layer_id)
    if layer is None:
        return None, [], []
    bias = None
    b = weights.get(f"{layer_id}.bias")
    if b is not None:
        flat = np.ravel(b)
        if flat.size == layer.units and 0 <= index < flat.size:
            bias = float(flat[index])
        elif len(layer.shape) == 3 and flat.size == layer.shape[0]:  # one bias per channel
            bias = float(flat[index // (layer.shape[1] * layer.shape[2])])
    rows: list[tuple[str, float]] = []
    notes: list[str] = []
    for conn in graph.incoming(layer_id):
        w = weights.get(f"{conn.id}.weight")
        source = graph.layers.get(conn.source)
        if conn.connectivity.is_pool and source is not None:
            window = local_window(graph, conn, index)
            if window is not None:  # nothing learned: say what it computes
                notes.append(f"{conn.id}: no weights, {window.describe()} on {html.escape(source.name)} "
                             "(outlined on the canvas)")
            continue
        if w is None or source is None:
            continue
        window = local_window(graph, conn, index)
        if window is not None:
            values = _window_weights(window, np.asarray(w), conn.connectivity.shared, layer.units, index)
            # the title is rich text: a label may hold < or &
            note = (f"{conn.id}: {window.describe()} in its window on {html.escape(source.name)} "
                    "(outlined on the canvas)")
            if values is None:
                notes.append(note)
                continue
            padded = 0
            for (_channel, _tap, s), value in zip(window.taps(), values):
                if s is None:
                    padded += 1  # a tap on the padding multiplies zeros: no source neuron to name
                else:
                    rows.append((f"{source.name}[{s}]", float(value)))
            notes.append(note + (f"; {padded} on the padding, not listed" if padded else ""))
        elif w.ndim == 2 and w.shape[0] == layer.units and w.shape[1] == source.units:
            label = source.name
            for s, value in enumerate(w[index]):
                rows.append((f"{label}[{s}]", float(value)))
        else:
            # a gated layer's (one row per gate) or weights of another shape: nothing per neuron to list
            notes.append(f"{conn.id}: {w.size:,} weights, not one row per neuron (not listed)")
    return bias, rows, notes


class NeuronWeights(QWidget):
    """The bias and a small table: where each incoming weight comes from and its value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("neuron_weights")
        self.title = QLabel(NOT_TRAINED, self)
        self.title.setObjectName("neuron_weights_title")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["from", "weight"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(160)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        self.neuron: tuple[str, int] | None = None

    def show_neuron(self, graph: Graph, weights: dict[str, Any] | None, layer_id: str, index: int) -> None:
        self.neuron = (layer_id, index)
        self.refresh(graph, weights)

    def refresh(self, graph: Graph, weights: dict[str, Any] | None) -> None:
        if self.neuron is None:
            return
        layer_id, index = self.neuron
        layer = graph.layers.get(layer_id)
        if layer is None or not weights:
            if layer is None:
                self.neuron = None
            self.title.setText(NOT_TRAINED)
            self.table.setRowCount(0)
            self.table.hide()
            return
        bias, rows, notes = incoming_weights(graph, weights, layer_id, index)
        text = "<b>Trained</b>" + (f" · bias {bias:+.4g}" if bias is not None else "")
        if rows:
            text += f" · {len(rows):,} incoming weight{'s' if len(rows) != 1 else ''}"
        if notes:
            text += "<br>" + "<br>".join(notes)
        if len(rows) > MAX_ROWS:
            text += f"<br>(the first {MAX_ROWS} of {len(rows):,} weights)"
        self.title.setText(text)
        self.table.setVisible(bool(rows))
        shown = rows[:MAX_ROWS]
        self.table.setRowCount(len(shown))
        for r, (source, value) in enumerate(shown):
            self.table.setItem(r, 0, QTableWidgetItem(source))
            item = QTableWidgetItem(f"{value:+.4g}")
            item.setForeground(QBrush(POSITIVE if value >= 0 else NEGATIVE))
            self.table.setItem(r, 1, item)

    def values(self) -> list[tuple[str, str]]:
        """The table's rows as text, as the user reads them."""
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]

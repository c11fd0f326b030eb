"""The selected neuron's incoming weights and bias, as trained (updated live while training).

Part of the inspector's neuron page: the canvas says which neuron was clicked
(``neuron_selected(layer_id, index)``); weights come from the latest ``named_weights()`` copy: ``<connection>.weight`` is ``[target_units, source_units]``
for dense connections, so the neuron's row is its incoming weights.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from designer.graph import Graph

MAX_ROWS = 400
NOT_TRAINED = "Not trained yet: train the network (F5) to see this neuron's incoming weights and bias."
POSITIVE = QColor("#B54708")  # the canvas draws positive weights orange, negative blue
NEGATIVE = QColor("#175CD3")


def incoming_weights(graph: Graph, weights: dict[str, np.ndarray], layer_id: str,
                     index: int) -> tuple[float | None, list[tuple[str, float]], list[str]]:
    """``(bias, [(source neuron, weight)], notes)`` of neuron ``index`` of ``layer_id``.

    Connections whose weights are not one row per target neuron (local windows, gated layers)
    are named in ``notes`` instead.
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
        if w is None or source is None:
            continue
        if w.ndim == 2 and w.shape[0] == layer.units and w.shape[1] == source.units:
            label = source.name
            for s, value in enumerate(w[index]):
                rows.append((f"{label}[{s}]", float(value)))
        else:
            notes.append(f"{conn.id}: {w.size:,} weights in windows (shown on the canvas)")
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

"""The layer-health panel: for each layer, a sparkline per measure over the epochs of the run, and its value now.

The measures (:mod:`designer.insight.health`), one column each:

- *dead ReLU*: the share of the layer's ReLU neurons that output 0 on every validation sample (they pass no
  gradient back, so they cannot learn their way out);
- *saturated*: the share of its sigmoid or tanh neurons stuck on a flat end of their curve on nearly every sample;
- *gradient norm*: how strongly the loss pulls on what computes the layer, on a logarithmic scale shared by all
  the layers (a first layer far below the last: the gradient vanishes on its way back).

A value turns amber when it is worth watching and red when the Problems panel warns about it. The training
controller sends one ``health_changed`` payload per epoch (``{"epoch", "layers": {id: {"dead_share",
"saturated_share", "gradient_norm"}}, "problems"}``); this view keeps them for the run (:meth:`HealthView.add`)
and only draws.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

#: the measures, as the payload names them, with their column titles
MEASURES = ("dead_share", "saturated_share", "gradient_norm")
TITLES = {"dead_share": "dead ReLU", "saturated_share": "saturated", "gradient_norm": "gradient"}
EXPLANATIONS = {
    "dead_share": "Dead ReLU neurons: the share of the layer's ReLU neurons that output 0 on every validation "
                  "sample. A dead neuron passes no gradient back, so it cannot learn its way out. Many dead: "
                  "lower the learning rate or use leaky relu. (Only for relu layers.)",
    "saturated_share": "Saturated neurons: the share of the layer's sigmoid or tanh neurons stuck on a flat end of "
                       "their curve on at least 90% of the samples, where they barely learn. Many saturated: use "
                       "smaller initial weights (xavier) or normalisation. An output layer saturates when it is "
                       "sure of its answers; that is fine. (Only for sigmoid and tanh layers.)",
    "gradient_norm": "Gradient norm: how strongly the loss pulls on the weights that compute the layer (the mean "
                     "L2 norm of their gradients over the epoch's batches), on a logarithmic scale shared by "
                     "all layers. A first layer 1000 times below the last: the gradient vanishes on its way back "
                     "(use relu, he initial weights or fewer layers); 1000 times above: it explodes (lower the "
                     "learning rate).",
}
#: amber from here (red from the warnings' own thresholds, :mod:`designer.insight.health`, read when a measure
#: arrives: importing the engine here would import torch while the window starts, before the engine has loaded)
SHARE_WATCH = 0.25
#: pixels a sparkline needs beside its value; a narrower cell puts the value above it
SIDE_BY_SIDE = 56
RATIO_WATCH = 1e-2

OK = QColor("#2F6FEB")
WATCH = QColor("#D99A1E")
BAD = QColor("#D64545")
NOT_APPLICABLE = QColor("#98A2B3")
TEXT = QColor("#1D2433")

#: item data roles of a measure cell
SERIES_ROLE = Qt.ItemDataRole.UserRole + 1  # the series, float64 [epochs] with NaN where unknown
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2  # "ok", "watch", "bad" or "none"
RANGE_ROLE = Qt.ItemDataRole.UserRole + 3  # (low, high) of the sparkline's y axis
LAYER_ROLE = Qt.ItemDataRole.UserRole + 4
WARNING_ROLE = Qt.ItemDataRole.UserRole + 5  # where the warnings start, on the sparkline's scale (None: nowhere)

STATUS_COLOURS = {"ok": OK, "watch": WATCH, "bad": BAD, "none": NOT_APPLICABLE}
STATUS_WORDS = {"ok": "", "watch": " (worth watching)", "bad": " (see Problems)", "none": ""}


def value_text(measure: str, value: float | None) -> str:
    """A measure's value as the panel writes it: ``70%``, ``3.2e-05``, ``–`` when it does not apply."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if measure == "gradient_norm":
        return f"{value:.2g}" if math.isfinite(value) else "not a number"
    return f"{round(value * 100)}%"


class SparklineDelegate(QStyledItemDelegate):
    """Draws a measure cell: its sparkline on the left, its current value on the right."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        series = index.data(SERIES_ROLE)
        if series is None:
            super().paint(painter, option, index)
            return
        painter.save()
        style = option.widget.style() if option.widget is not None else None
        if style is not None:  # background and selection as the view draws them
            plain = QStyleOptionViewItem(option)
            self.initStyleOption(plain, index)
            plain.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, plain, painter, option.widget)
        status = index.data(STATUS_ROLE) or "none"
        colour = STATUS_COLOURS.get(status, OK)
        rect = option.rect.adjusted(5, 5, -5, -5)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        font = QFont(option.font)
        if status in ("watch", "bad"):
            font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        # the value takes what its text needs (at least a "100%"), the sparkline the rest; in a narrow column
        # the value goes above the sparkline, which then has the whole width
        metrics = painter.fontMetrics()
        text_width = max(metrics.horizontalAdvance(text), metrics.horizontalAdvance("100%")) + 2
        painter.setPen(colour if status != "ok" else TEXT)
        if rect.width() - text_width - 8 >= SIDE_BY_SIDE:
            text_rect = QRect(rect.right() - text_width, rect.top(), text_width, rect.height())
            painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            spark = QRectF(rect.left(), rect.top() + 1, rect.width() - text_width - 8, rect.height() - 2)
        else:
            line = metrics.height()
            painter.drawText(QRect(rect.left(), rect.top() - 2, rect.width(), line),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            spark = QRectF(rect.left(), rect.top() + line, rect.width(), max(rect.height() - line, 6))
        low, high = index.data(RANGE_ROLE) or (0.0, 1.0)
        warning = index.data(WARNING_ROLE)
        if warning is not None and np.isfinite(series).any():  # where the Problems panel starts warning
            y = spark.bottom() - (warning - low) / ((high - low) or 1.0) * spark.height()
            painter.setPen(QPen(QColor(214, 69, 69, 90), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(spark.left(), y), QPointF(spark.right(), y))
        self._draw_sparkline(painter, spark, np.asarray(series, dtype=np.float64), low, high, colour)
        painter.restore()

    @staticmethod
    def _draw_sparkline(painter: QPainter, rect: QRectF, series: np.ndarray, low: float, high: float,
                        colour: QColor) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        baseline = QColor("#EAECF0")
        painter.setPen(QPen(baseline, 1))
        painter.drawLine(QPointF(rect.left(), rect.bottom()), QPointF(rect.right(), rect.bottom()))
        finite = np.isfinite(series)
        if not finite.any():
            return
        span = high - low if high > low else 1.0
        n = len(series)
        step = rect.width() / max(n - 1, 1)

        def point(i: int) -> QPointF:
            y = min(max((series[i] - low) / span, 0.0), 1.0)
            return QPointF(rect.left() + (i * step if n > 1 else rect.width()), rect.bottom() - y * rect.height())

        path = QPainterPath()
        drawing = False
        for i in range(n):
            if not finite[i]:
                drawing = False
                continue
            if drawing:
                path.lineTo(point(i))
            else:
                path.moveTo(point(i))
                drawing = True
        painter.setPen(QPen(colour, 1.5))
        painter.drawPath(path)
        last = int(np.flatnonzero(finite)[-1])
        painter.setBrush(colour)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(point(last), 2.2, 2.2)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 (Qt's name)
        size = super().sizeHint(option, index)
        return QSize(max(size.width(), 72), max(size.height(), 36))


class HealthView(QWidget):
    """One row per layer, a sparkline per measure; a click on a row asks to select its layer."""

    #: a layer's row was clicked: select it on the canvas
    layer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("health_view")
        #: one entry per epoch of the run: ``{layer id: {measure: value or None}}``
        self.history: list[dict[str, dict[str, float | None]]] = []
        self.epochs: list[int] = []
        self.problems: list[Any] = []
        self.activations: dict[str, str] = {}
        self.outputs: set[str] = set()
        self.caption = QLabel(self)
        self.caption.setObjectName("health_caption")
        self.caption.setWordWrap(True)
        self.caption.setContentsMargins(8, 4, 8, 4)
        self.caption.setStyleSheet("color: #475467")
        self.table = QTableWidget(0, 1 + len(MEASURES), self)
        self.table.setObjectName("health_table")
        self.table.setAccessibleName("Layer health")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setItemDelegate(SparklineDelegate(self.table))
        for column, title in enumerate(["layer"] + [TITLES[m] for m in MEASURES]):
            header = QTableWidgetItem(title)
            header.setToolTip(EXPLANATIONS[MEASURES[column - 1]] if column else
                              "The hidden and output layers, from the input to the output. Click one to select it.")
            self.table.setHorizontalHeaderItem(column, header)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in range(1, 1 + len(MEASURES)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(38)  # room for a value above its sparkline
        header.setMinimumSectionSize(64)
        self.table.cellClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.clear()

    # ------------------------------------------------------------------ feeding
    def set_design(self, graph: Any) -> None:
        """What the layers are (their activation in the first column; outputs saturate by design)."""
        self.activations, self.outputs = {}, set()
        if graph is None:
            return
        for lid, layer in getattr(graph, "layers", {}).items():
            self.activations[lid] = layer.activation if layer.kind == "neurons" else layer.kind
        try:
            self.outputs = set(graph.flow().outputs)
        except Exception:  # noqa: BLE001 (a design that does not flow yet: no outputs known)
            self.outputs = set()

    def clear(self, hint: str | None = None) -> None:
        """No run measured (yet)."""
        self.history, self.epochs, self.problems = [], [], []
        self.table.setRowCount(0)
        self.caption.setText(hint or "Train the network to measure its layers after each epoch: dead ReLUs, "
                                     "saturated neurons and gradient norms. Hover a column to learn what it means.")

    def add(self, payload: Mapping[str, Any]) -> None:
        """One epoch's measurements (the controller's ``health_changed``). An epoch not after the last one
        starts a new run."""
        epoch = int(payload.get("epoch", len(self.epochs) + 1))
        if self.epochs and epoch <= self.epochs[-1]:
            self.history, self.epochs = [], []
        layers = {str(lid): {m: _number(values.get(m)) for m in MEASURES}
                  for lid, values in (payload.get("layers") or {}).items()}
        for lid, values in (payload.get("layers") or {}).items():
            if values.get("activation"):  # the controller says what the layer is
                self.activations[str(lid)] = str(values["activation"])
        self.history.append(layers)
        self.epochs.append(epoch)
        self.problems = list(payload.get("problems") or [])
        self._fill()

    def set_history(self, payloads: list[Mapping[str, Any]]) -> None:
        """A whole run's measurements at once."""
        self.clear()
        for payload in payloads:
            self.add(payload)

    # ------------------------------------------------------------------ what it shows
    def layers(self) -> list[str]:
        """The layers in their rows, in order (the order the measurements came in: input to output)."""
        seen: dict[str, None] = {}
        for epoch in self.history:
            for lid in epoch:
                seen.setdefault(lid, None)
        return list(seen)

    def series(self, layer_id: str, measure: str) -> np.ndarray:
        """One measure of one layer over the run's epochs, as its sparkline draws it (NaN: not measured)."""
        return np.array([_nan(epoch.get(layer_id, {}).get(measure)) for epoch in self.history], dtype=np.float64)

    def current(self, layer_id: str, measure: str) -> float | None:
        value = self.history[-1].get(layer_id, {}).get(measure) if self.history else None
        return value

    def status(self, layer_id: str, measure: str) -> str:
        """``ok``, ``watch`` (amber), ``bad`` (red: the Problems panel warns about it) or ``none`` (no value)."""
        from designer.insight.health import DEAD_WARNING, EXPLODING, SATURATED_WARNING, VANISHING

        value = self.current(layer_id, measure)
        if value is None:
            return "none"
        if self._warned(layer_id, measure):
            return "bad"
        if measure == "gradient_norm":
            if not math.isfinite(value):
                return "bad"
            reference = self._reference_norm()
            if reference and layer_id != self._reference_layer():
                ratio = value / reference
                if ratio < VANISHING or ratio > EXPLODING:
                    return "bad"
                if ratio < RATIO_WATCH or ratio > 1 / RATIO_WATCH:
                    return "watch"
            return "ok"
        threshold = DEAD_WARNING if measure == "dead_share" else SATURATED_WARNING
        if measure == "saturated_share" and layer_id in self.outputs:
            return "ok"  # an output sure of its answers
        if value >= threshold:
            return "bad"
        return "watch" if value >= SHARE_WATCH else "ok"

    def cell(self, layer_id: str, measure: str) -> QTableWidgetItem | None:
        rows = self.layers()
        if layer_id not in rows:
            return None
        return self.table.item(rows.index(layer_id), 1 + MEASURES.index(measure))

    def _warned(self, layer_id: str, measure: str) -> bool:
        return self.warning(layer_id, measure) is not None

    def warning(self, layer_id: str, measure: str) -> str | None:
        """The Problems panel's warning about this measure of this layer, if there is one."""
        words = {"dead_share": "never fire", "saturated_share": "saturated", "gradient_norm": "gradient"}[measure]
        for problem in self.problems:
            message = getattr(problem, "message", str(problem))
            if words not in message:
                continue
            if getattr(problem, "layer_id", None) == layer_id:
                return message
            if measure == "gradient_norm" and _in_range(message, layer_id, self.layers()):
                return message
        return None

    def _reference_layer(self) -> str | None:
        measured = [lid for lid in self.layers() if _finite(self.current(lid, "gradient_norm"))]
        return measured[-1] if measured else None

    def _reference_norm(self) -> float | None:
        lid = self._reference_layer()
        value = self.current(lid, "gradient_norm") if lid else None
        return value if value and value > 0 else None

    def _fill(self) -> None:
        from designer.insight.health import DEAD_WARNING, SATURATED_WARNING

        rows = self.layers()
        self.table.setRowCount(len(rows))
        ranges = {"dead_share": (0.0, 1.0), "saturated_share": (0.0, 1.0), "gradient_norm": self._log_range()}
        for row, lid in enumerate(rows):
            activation = self.activations.get(lid) or ""
            name = QTableWidgetItem(f"{lid} {activation}" if activation else lid)
            name.setData(LAYER_ROLE, lid)
            name.setToolTip(f"Layer {lid}" + (f" ({activation})" if activation else "") + ": click to select it")
            self.table.setItem(row, 0, name)
            for column, measure in enumerate(MEASURES, start=1):
                series = self.series(lid, measure)
                value = self.current(lid, measure)
                status = self.status(lid, measure)
                shown = series
                if measure == "gradient_norm":  # on the shared log scale; no gradient at all at its bottom
                    with np.errstate(divide="ignore", invalid="ignore"):
                        shown = np.where(series > 0, np.log10(np.where(series > 0, series, 1.0)),
                                         np.where(series == 0, ranges[measure][0], np.nan))
                item = QTableWidgetItem(value_text(measure, value))
                item.setData(SERIES_ROLE, shown)
                item.setData(STATUS_ROLE, status)
                item.setData(RANGE_ROLE, ranges[measure])
                item.setData(WARNING_ROLE, DEAD_WARNING if measure == "dead_share" else
                             SATURATED_WARNING if measure == "saturated_share" and lid not in self.outputs else None)
                item.setData(LAYER_ROLE, lid)
                item.setData(Qt.ItemDataRole.AccessibleTextRole,
                             f"{lid} {TITLES[measure]}: {value_text(measure, value)}")
                item.setToolTip(self._tooltip(lid, measure, series, value, status))
                self.table.setItem(row, column, item)
        last = self.epochs[-1] if self.epochs else None
        warned = len(self.problems)
        self.caption.setText(
            f"Epoch {last}: " + (f"{warned} warning{'s' if warned != 1 else ''} (red), listed under Problems."
                                 if warned else "no layer looks unwell.")
            + " Hover a column to learn what it measures.")

    def _log_range(self) -> tuple[float, float]:
        values = [v for epoch in self.history for layer in epoch.values()
                  for v in [layer.get("gradient_norm")] if _finite(v) and v > 0]
        if not values:
            return (0.0, 1.0)
        low, high = math.log10(min(values)), math.log10(max(values))
        return (low - 0.1, high + 0.1) if high - low > 1e-9 else (low - 1.0, high + 1.0)

    def _tooltip(self, lid: str, measure: str, series: np.ndarray, value: float | None, status: str) -> str:
        if value is None:
            return f"{lid}: no {TITLES[measure]} measure for this layer.\n\n{EXPLANATIONS[measure]}"
        finite = series[np.isfinite(series)]
        seen = ""
        if len(finite) > 1:
            seen = (f"\nOver {len(series)} epochs: from {value_text(measure, float(finite[0]))} to "
                    f"{value_text(measure, float(finite[-1]))}")
        warning = self.warning(lid, measure)
        warning = f"\nWarning: {warning}" if warning else ""
        return (f"{lid}, epoch {self.epochs[-1]}: {TITLES[measure]} {value_text(measure, value)}"
                f"{STATUS_WORDS[status]}{seen}{warning}\n\n{EXPLANATIONS[measure]}")

    def _clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.layer_activated.emit(item.data(LAYER_ROLE))


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _in_range(message: str, layer_id: str, order: list[str]) -> bool:
    """Whether a ``vanishing gradient in h1..h4`` message's range covers ``layer_id``."""
    words = message.split(":", 1)[0].split(" in ", 1)
    if len(words) != 2:
        return False
    span = words[1].strip()
    first, _sep, last = span.partition("..")
    last = last or first
    if first not in order or last not in order or layer_id not in order:
        return False
    return order.index(first) <= order.index(layer_id) <= order.index(last)

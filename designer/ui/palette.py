"""The palette: the kinds of layer a user drags onto the canvas, each with a drawn icon and a tooltip.

A drag carries ``QMimeData`` of the canvas's palette MIME type whose data is the item's kind
(``input``, ``neurons``, ``output``, ``neuron``, ``lstm``, ``gru``, ``pool``); :meth:`Palette.mimeData` builds
it, so tests drop exactly what a user's drag drops. "Max pooling" drops a layer that the first connection
drawn into it makes a max pooling of its source (see :func:`designer.ui.data_fit.pooling_connection`).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QMimeData, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from . import style
from .canvas import PALETTE_MIME


@dataclass(frozen=True)
class PaletteItem:
    kind: str
    title: str
    tooltip: str
    colour_kind: str  # whose colours the icon takes (the canvas draws a single neuron as a layer of one)


ITEMS: tuple[PaletteItem, ...] = (
    PaletteItem("input", "Input layer",
                "Where the data enters: one neuron per feature (or per pixel, on a grid).\n"
                "A design has exactly one.", "input"),
    PaletteItem("neurons", "Neuron layer",
                "A layer of neurons: each sums its weighted inputs, adds a bias and applies\n"
                "its activation (tanh, ReLU, sigmoid, softmax ...).", "neurons"),
    PaletteItem("output", "Output layer",
                "The layer whose neurons give the answer: one per class (one sigmoid neuron\n"
                "for two classes, softmax for more) or per value to predict; it takes\n"
                "what the chosen data needs.", "neurons"),
    PaletteItem("neuron", "Single neuron",
                "One neuron on its own: a perceptron, or a single output.\n"
                "Drop it on a layer to add a neuron to that layer.", "neurons"),
    PaletteItem("lstm", "LSTM",
                "A long short-term memory layer: gated units that remember across the\n"
                "time steps of a sequence.", "lstm"),
    PaletteItem("gru", "GRU",
                "A gated recurrent unit layer: a lighter recurrent memory than LSTM.", "gru"),
    PaletteItem("pool", "Max pooling",
                "Keeps the largest value of each 2×2 window of a grid, channel by channel: a\n"
                "smaller grid, and no weights. Connect a grid layer (an image, a convolution)\n"
                "to it. Mean pooling, the window and the stride are the connection's\n"
                "Operation, Window and Stride in the inspector (any local connection can pool).", "neurons"),
)
KINDS = tuple(item.kind for item in ITEMS)


def _neuron(p: QPainter, centre: QPointF, radius: float, colour: QColor) -> None:
    p.setPen(QPen(colour.darker(135), radius * 0.28))
    p.setBrush(colour.lighter(125))
    p.drawEllipse(centre, radius, radius)


def draw_icon(kind: str, size: int = 64) -> QPixmap:
    """The palette picture of ``kind``, drawn at ``size`` pixels (device-independent)."""
    colour = QColor(style.kind_colours(next(item.colour_kind for item in ITEMS if item.kind == kind))[1])
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 64.0, size / 64.0)
    # a soft rounded tile behind every icon, tinted by the kind
    tile = QColor(colour)
    tile.setAlpha(38)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(tile)
    p.drawRoundedRect(QRectF(2, 2, 60, 60), 13, 13)
    wire = QPen(colour.darker(120), 2.2)
    wire.setCapStyle(Qt.PenCapStyle.RoundCap)
    if kind in ("input", "neurons", "output"):
        ys = (17.0, 32.0, 47.0)
        x = {"input": 38.0, "neurons": 32.0, "output": 30.0}[kind]
        p.setPen(wire)
        if kind == "input":
            for y in ys:  # data arriving from the left
                p.drawLine(QPointF(9, y), QPointF(27, y))
                p.drawLine(QPointF(27, y), QPointF(23, y - 4))
                p.drawLine(QPointF(27, y), QPointF(23, y + 4))
        else:
            for y in ys:
                for y2 in ys:
                    p.drawLine(QPointF(10, y), QPointF(x, y2))
        for y in ys:
            _neuron(p, QPointF(x, y), 6.5, colour)
        if kind == "neurons":
            for y in ys:
                p.setPen(wire)
                p.drawLine(QPointF(x + 6.5, y), QPointF(55, y))
        elif kind == "output":  # the answer leaving to the right
            p.setPen(wire)
            for y in ys:
                p.drawLine(QPointF(x + 6.5, y), QPointF(55, y))
                p.drawLine(QPointF(55, y), QPointF(51, y - 4))
                p.drawLine(QPointF(55, y), QPointF(51, y + 4))
    elif kind == "neuron":
        p.setPen(wire)
        for y in (18.0, 32.0, 46.0):
            p.drawLine(QPointF(8, y), QPointF(30, 32))
        p.drawLine(QPointF(30, 32), QPointF(57, 32))
        _neuron(p, QPointF(32, 32), 12.0, colour)
        p.setPen(QPen(QColor("white"), 2.4))
        curve = QPainterPath(QPointF(25, 37))  # a sigmoid inside the cell
        curve.cubicTo(QPointF(32, 37), QPointF(32, 27), QPointF(39, 27))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(curve)
    elif kind == "pool":
        # a 4x4 grid whose top-left 2x2 window is outlined and its maximum passed on to one neuron
        p.setPen(QPen(colour.darker(135), 1.2))
        for r in range(4):
            for c in range(4):
                p.setBrush(colour.lighter(125) if (r < 2 and c < 2) else QColor(colour.lighter(150)))
                p.drawEllipse(QPointF(10 + 8 * c, 16 + 8 * r + 4), 3.0, 3.0)
        window = QPen(colour.darker(120), 1.8)
        p.setPen(window)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(5, 15, 18, 18), 3, 3)
        p.setPen(wire)
        p.drawLine(QPointF(23, 24), QPointF(44, 32))
        _neuron(p, QPointF(50, 33), 7.0, colour)
        p.setPen(QPen(QColor("white"), 1.6))
        p.drawLine(QPointF(47, 35.5), QPointF(50, 29.5))  # a caret: the maximum
        p.drawLine(QPointF(50, 29.5), QPointF(53, 35.5))
    else:  # lstm / gru: a cell whose output loops back into itself
        p.setPen(wire)
        p.setBrush(Qt.BrushStyle.NoBrush)
        loop = QPainterPath(QPointF(44, 24))
        loop.cubicTo(QPointF(58, 10), QPointF(32, 2), QPointF(30, 14))
        p.drawPath(loop)
        p.drawLine(QPointF(30, 14), QPointF(26, 10))
        p.drawLine(QPointF(30, 14), QPointF(33.5, 9.5))
        p.drawLine(QPointF(7, 40), QPointF(16, 40))
        p.drawLine(QPointF(48, 40), QPointF(57, 40))
        p.setPen(QPen(colour.darker(135), 2.0))
        p.setBrush(colour.lighter(125))
        p.drawRoundedRect(QRectF(16, 24, 32, 32), 7, 7)
        p.setPen(QColor("white"))
        font = p.font()
        font.setPixelSize(12 if kind == "lstm" else 13)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(16, 24, 32, 32), Qt.AlignmentFlag.AlignCenter, kind.upper())
    p.end()
    return pixmap


def palette_icon(kind: str) -> QIcon:
    icon = QIcon()
    for size in (24, 32, 48, 64):
        icon.addPixmap(draw_icon(kind, size))
    return icon


class _PaletteList(QListWidget):
    """The list users drag from; its drags carry :meth:`Palette.mimeData`."""

    def __init__(self, palette: "Palette") -> None:
        super().__init__(palette)
        self._palette = palette
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setIconSize(QSize(36, 36))
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def startDrag(self, supportedActions) -> None:  # noqa: N802 (Qt override)
        item = self.currentItem()
        if item is None:
            return
        kind = item.data(Qt.ItemDataRole.UserRole)
        drag = QDrag(self)
        drag.setMimeData(self._palette.mimeData(kind))
        pixmap = draw_icon(kind, 48)
        drag.setPixmap(pixmap)
        drag.setHotSpot(pixmap.rect().center())
        drag.exec(Qt.DropAction.CopyAction)


class Palette(QWidget):
    """The layer kinds a user can add; drag one onto the canvas (or double-click to add it)."""

    item_activated = Signal(str)  # a kind, double-clicked or Enter pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette_widget")
        self.setMinimumWidth(170)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.list = _PaletteList(self)
        self.list.setObjectName("palette_list")
        self.list.setAccessibleName("Layer kinds")
        for entry in ITEMS:
            item = QListWidgetItem(palette_icon(entry.kind), entry.title)
            item.setData(Qt.ItemDataRole.UserRole, entry.kind)
            item.setToolTip(f"<b>{entry.title}</b><br>{entry.tooltip.replace(chr(10), ' ')}"
                            "<br><i>Drag onto the canvas.</i>")
            item.setSizeHint(QSize(0, 44))
            self.list.addItem(item)
        # exactly as tall as its items: the palette never scrolls, and the dock below gets the rest
        rows = self.list.count()
        self.list.setFixedHeight(rows * (44 + 2 * self.list.spacing()) + 2 * self.list.frameWidth() + 4)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(lambda item: self.item_activated.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout.addWidget(self.list)
        hint = QLabel("Drag a layer onto the canvas, then drag from a layer's edge to another to connect them.")
        hint.setObjectName("palette_hint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        layout.addWidget(hint)
        layout.addStretch(1)
        self.setMinimumHeight(self.list.height() + hint.sizeHint().height() * 2 + 18)

    def mimeData(self, kind: str) -> QMimeData:  # noqa: N802 (named as Qt's own drag data hook)
        """The drag data of palette item ``kind`` (one of :data:`KINDS`)."""
        if kind not in KINDS:
            raise ValueError(f"the palette has no item {kind!r}; use one of {', '.join(KINDS)}")
        data = QMimeData()
        data.setData(PALETTE_MIME, kind.encode("ascii"))
        return data

    def item(self, kind: str) -> QListWidgetItem:
        return self.list.item(KINDS.index(kind))

"""Icons of the training actions, drawn with QPainter (media-player shapes every user knows).

Drawn rather than shipped so they scale to any DPI and need no resource files.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

GREEN = QColor("#12B76A")
DARK = QColor("#344054")
RED = QColor("#D92D20")


def _path(kind: str) -> tuple[QPainterPath, QColor, bool]:
    """The shape on a 24x24 grid, its colour, and whether it is stroked (not filled)."""
    p = QPainterPath()
    if kind == "train":
        p.moveTo(7, 4.5)
        p.lineTo(19.5, 12)
        p.lineTo(7, 19.5)
        p.closeSubpath()
        return p, GREEN, False
    if kind == "pause":
        p.addRoundedRect(QRectF(6, 5, 4, 14), 1, 1)
        p.addRoundedRect(QRectF(14, 5, 4, 14), 1, 1)
        return p, DARK, False
    if kind == "step":
        p.moveTo(5, 5)
        p.lineTo(14.5, 12)
        p.lineTo(5, 19)
        p.closeSubpath()
        p.addRoundedRect(QRectF(16, 5, 3.5, 14), 1, 1)
        return p, DARK, False
    if kind == "step-epoch":
        for x in (3.5, 10.5):
            p.moveTo(x, 5)
            p.lineTo(x + 7.5, 12)
            p.lineTo(x, 19)
            p.closeSubpath()
        p.addRoundedRect(QRectF(18.5, 5, 3, 14), 1, 1)
        return p, DARK, False
    if kind == "stop":
        p.addRoundedRect(QRectF(6, 6, 12, 12), 1.5, 1.5)
        return p, RED, False
    if kind == "reset":
        p.arcMoveTo(QRectF(5, 5, 14, 14), 100)
        p.arcTo(QRectF(5, 5, 14, 14), 100, 290)
        return p, DARK, True
    return p, DARK, False


def training_icon(kind: str) -> QIcon:
    """``train``, ``pause``, ``step``, ``step-epoch``, ``stop`` or ``reset``, at 16 to 64 px."""
    icon = QIcon()
    for size in (16, 20, 24, 32, 48, 64):
        for mode, alpha in ((QIcon.Mode.Normal, 255), (QIcon.Mode.Disabled, 90)):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(size / 24, size / 24)
            path, colour, stroked = _path(kind)
            colour = QColor(colour)
            colour.setAlpha(alpha)
            if stroked:
                painter.setPen(QPen(colour, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                painter.drawPath(path)
                # the arrow head at the arc's start
                painter.setBrush(colour)
                painter.setPen(Qt.PenStyle.NoPen)
                start = path.pointAtPercent(0)
                head = QPainterPath()
                head.moveTo(start + QPointF(-4.2, -1.5))
                head.lineTo(start + QPointF(2.2, -3.2))
                head.lineTo(start + QPointF(0.5, 3.2))
                head.closeSubpath()
                painter.drawPath(head)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawPath(path)
            painter.end()
            icon.addPixmap(pixmap, mode)
    return icon

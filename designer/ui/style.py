"""Colours and fonts shared by the user interface: one light theme, defined once.

Kinds of layer have a colour each (used by the canvas and, for consistency, by the palette);
weights are orange when positive and blue when negative, as in most network diagrams.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont

# Surfaces
CANVAS_BACKGROUND = QColor("#F6F7F9")
GRID_DOT = QColor("#D5D9E0")
GRID_DOT_MAJOR = QColor("#BFC5CF")
CARD = QColor("#FFFFFF")
CARD_BORDER = QColor("#D3D8E0")
CARD_BORDER_HOVER = QColor("#9AA4B2")
SHADOW = QColor(16, 24, 40, 34)

# Text
TEXT = QColor("#1D2433")
TEXT_MUTED = QColor("#667085")

# States
ACCENT = QColor("#2F6FEB")
ACCENT_SOFT = QColor(47, 111, 235, 28)
HOVER = QColor("#101828")
PROBLEM = QColor("#D92D20")
PROBLEM_SOFT = QColor(217, 45, 32, 18)
BANNER = QColor("#B54708")
BANNER_BACKGROUND = QColor("#FFFAEB")

# Layers, by kind: (fill of a neuron, its outline)
KIND_COLOURS = {
    "input": (QColor("#D1FADF"), QColor("#12B76A")),
    "neurons": (QColor("#D9E6FF"), QColor("#3E6FD8")),
    "lstm": (QColor("#EBE3FF"), QColor("#7A5AF8")),
    "gru": (QColor("#FCE7F6"), QColor("#C11574")),
    "output": (QColor("#FFE9D5"), QColor("#E8590C")),
}
UNKNOWN_KIND_COLOURS = (QColor("#EAECF0"), QColor("#98A2B3"))

# Connections
LINK = QColor(71, 84, 103, 150)
LINK_DISABLED = QColor(152, 162, 179, 120)
BAND = QColor(62, 111, 216, 38)
BAND_EDGE = QColor(62, 111, 216, 110)
BAND_LOCAL = QColor(18, 183, 106, 40)
BAND_LOCAL_EDGE = QColor(18, 150, 90, 130)
RECURRENT = QColor("#7A5AF8")
WEIGHT_POSITIVE = QColor("#F79009")
WEIGHT_NEGATIVE = QColor("#2E90FA")


def kind_colours(kind: str) -> tuple[QColor, QColor]:
    """``(fill, outline)`` of a layer's neurons."""
    return KIND_COLOURS.get(kind, UNKNOWN_KIND_COLOURS)


def ui_font(point_size: float = 9.0, bold: bool = False) -> QFont:
    """The interface font at a size; the platform's sans-serif, so text matches the rest of the desktop."""
    font = QFont()
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPointSizeF(point_size)
    if bold:
        font.setWeight(QFont.Weight.DemiBold)
    return font

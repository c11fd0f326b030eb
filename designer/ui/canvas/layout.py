"""Where a layer's neurons sit inside its card: a column for ``[units]``, grids for 2-D and 3-D shapes.

Big layers show a readable subset (the first few and last few neurons, with the count in the gap);
``complete`` tells whether every neuron has a place, which is when a connection may be drawn
neuron to neuron. Coordinates are local to the card, whose centre is the layer's position.
Plain Python, so it is cheap to recompute when a layer's shape changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

RADIUS = 7.0          # of a neuron in a column
PITCH = 22.0          # between neuron centres in a column
GRID_RADIUS = 5.5     # of a neuron in a grid
GRID_PITCH = 16.0
HEADER = 38.0         # title and subtitle above the neurons
PAD = 14.0
MIN_WIDTH = 84.0

COLUMN_ALL = 16       # a column of up to this many neurons is drawn whole (16: a common hidden size)
COLUMN_HEAD, COLUMN_TAIL = 5, 3
GRID_ALL = 10         # grid sides up to this are drawn whole
GRID_HEAD, GRID_TAIL = 4, 2
CHANNELS_ALL = 3      # up to this many channels are drawn one below the other, more as a stack


@dataclass
class Gap:
    """Where neurons are left out: a label such as ``784`` or ``⋯`` centred at ``(x, y)``."""

    x: float
    y: float
    text: str
    vertical: bool


@dataclass
class LayerLayout:
    shape: tuple[int, ...]
    radius: float
    neurons: dict[int, tuple[float, float]] = field(default_factory=dict)  # flat index -> centre
    gaps: list[Gap] = field(default_factory=list)
    area: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x, y, w, h of the neurons
    stacked: int = 0  # channel planes drawn behind the first one (a stack)
    complete: bool = True

    @property
    def units(self) -> int:
        return math.prod(self.shape)


def _axis(n: int, whole: int, head: int, tail: int) -> list[int | None]:
    """The indices shown along one axis, ``None`` where the gap goes."""
    if n <= whole:
        return list(range(n))
    return list(range(head)) + [None] + list(range(n - tail, n))


def _column(units: int) -> LayerLayout:
    slots = _axis(units, COLUMN_ALL, COLUMN_HEAD, COLUMN_TAIL)
    layout = LayerLayout((units,), RADIUS, complete=units <= COLUMN_ALL)
    y = 0.0
    for slot in slots:
        if slot is None:
            layout.gaps.append(Gap(0.0, y + PITCH * 0.5, f"{units:,}", True))
            y += PITCH * 2
        else:
            layout.neurons[slot] = (0.0, y)
            y += PITCH
    height = y - PITCH
    layout.neurons = {i: (x, py - height / 2) for i, (x, py) in layout.neurons.items()}
    for gap in layout.gaps:
        gap.y -= height / 2
    layout.area = (-RADIUS, -height / 2 - RADIUS, 2 * RADIUS, height + 2 * RADIUS)
    return layout


def _grid(shape: tuple[int, ...]) -> LayerLayout:
    if len(shape) == 2:
        channels, height, width = 1, shape[0], shape[1]
    else:
        channels, height, width = shape
    rows = _axis(height, GRID_ALL, GRID_HEAD, GRID_TAIL)
    cols = _axis(width, GRID_ALL, GRID_HEAD, GRID_TAIL)
    shown_channels = list(range(channels)) if channels <= CHANNELS_ALL else [0]
    layout = LayerLayout(tuple(shape), GRID_RADIUS,
                         complete=height <= GRID_ALL and width <= GRID_ALL and channels <= CHANNELS_ALL)
    layout.stacked = 0 if channels <= CHANNELS_ALL else min(channels - 1, 3)
    plane_w = GRID_PITCH * (len(cols) - 1)
    plane_h = GRID_PITCH * (len(rows) - 1)
    plane_gap = GRID_PITCH * 1.25
    total_h = plane_h * len(shown_channels) + plane_gap * (len(shown_channels) - 1)
    top = -total_h / 2
    left = -plane_w / 2
    for k, channel in enumerate(shown_channels):
        y0 = top + k * (plane_h + plane_gap)
        for r, row in enumerate(rows):
            for c, col in enumerate(cols):
                x, y = left + c * GRID_PITCH, y0 + r * GRID_PITCH
                if row is None or col is None:
                    # matrix notation: the left-out rows and columns as dots, in the cells they would fill
                    text = "⋱" if row is None and col is None else ("⋮" if row is None else "⋯")
                    layout.gaps.append(Gap(x, y, text, row is None))
                    continue
                layout.neurons[channel * height * width + row * width + col] = (x, y)
    r = GRID_RADIUS
    stack = layout.stacked * 5.0
    layout.area = (left - r, top - r - stack, plane_w + 2 * r + stack, total_h + 2 * r + stack)
    return layout


def layout_layer(shape: tuple[int, ...]) -> LayerLayout:
    """The layout of a layer of ``shape`` (1, 2 or 3 dimensions)."""
    shape = tuple(int(v) for v in shape)
    if len(shape) == 1:
        return _column(shape[0])
    return _grid(shape)

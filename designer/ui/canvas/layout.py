"""Where a layer's neurons sit inside its card: a column for ``[units]``, grids for 2-D and 3-D shapes.

Big layers show a readable subset (the first few and last few neurons, with the count in the gap);
``complete`` tells whether every neuron has a place, which is when a connection may be drawn
neuron to neuron. Coordinates are local to the card, whose centre is the layer's position.
Plain Python, so it is cheap to recompute when a layer's shape changes.

With neuron pictures on (``layout_layer(shape, pictures=True)``) each neuron's slot holds a picture of
what it computes, :data:`PICTURE` scene units square: the slots are wider apart, and a grid shows fewer
rows and columns (:data:`PICTURE_GRID_ALL`, then the first :data:`PICTURE_GRID_HEAD` and last
:data:`PICTURE_GRID_TAIL`), so that a card is no wider than about 150 units and cards 220 apart (the
examples' spacing) do not overlap. A column keeps its neurons (it grows downwards only); one of one or
two neurons (an output, mostly) gets pictures of :data:`PICTURE_BIG`. ``radius`` is then half the
picture's side. :func:`shown_neurons` gives the neurons with a slot, for the worker that
computes their pictures.
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

PICTURE = 30.0        # the side of a neuron's picture, with pictures on
PICTURE_PITCH = 35.0  # between picture centres in a column
PICTURE_GRID = 28.0   # the side of a picture on a grid
PICTURE_GRID_PITCH = 32.0
PICTURE_GRID_ALL = 4  # grid sides up to this are drawn whole, with pictures on
PICTURE_BIG = 56.0    # a column of at most BIG_PICTURE_UNITS neurons (a one-unit output) has bigger pictures
BIG_PICTURE_UNITS = 2
PICTURE_GRID_HEAD, PICTURE_GRID_TAIL = 2, 1


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
    pictures: bool = False  # slots sized for neuron pictures (squares of side 2 * radius)
    # a grid's axes: sides up to `whole` drawn whole, else the first `head` and last `tail`, `pitch` apart
    pitch: float = GRID_PITCH
    whole: int = GRID_ALL
    head: int = GRID_HEAD
    tail: int = GRID_TAIL

    @property
    def units(self) -> int:
        return math.prod(self.shape)


def _axis(n: int, whole: int, head: int, tail: int) -> list[int | None]:
    """The indices shown along one axis, ``None`` where the gap goes."""
    if n <= whole:
        return list(range(n))
    return list(range(head)) + [None] + list(range(n - tail, n))


def _column(units: int, pictures: bool = False) -> LayerLayout:
    radius, pitch = (PICTURE / 2, PICTURE_PITCH) if pictures else (RADIUS, PITCH)
    if pictures and units <= BIG_PICTURE_UNITS:  # an output of one or two units: what the network answers
        radius, pitch = PICTURE_BIG / 2, PICTURE_BIG + PICTURE_PITCH - PICTURE
    slots = _axis(units, COLUMN_ALL, COLUMN_HEAD, COLUMN_TAIL)
    layout = LayerLayout((units,), radius, complete=units <= COLUMN_ALL, pictures=pictures)
    y = 0.0
    for slot in slots:
        if slot is None:
            # between the last neuron before it and the first after: room for its dots and count
            gap = 36.0 if pictures else PITCH * 2
            layout.gaps.append(Gap(0.0, y - pitch + (pitch + gap) / 2, f"{units:,}", True))
            y += gap
        else:
            layout.neurons[slot] = (0.0, y)
            y += pitch
    height = y - pitch
    layout.neurons = {i: (x, py - height / 2) for i, (x, py) in layout.neurons.items()}
    for gap in layout.gaps:
        gap.y -= height / 2
    layout.area = (-radius, -height / 2 - radius, 2 * radius, height + 2 * radius)
    return layout


def _grid(shape: tuple[int, ...], pictures: bool = False) -> LayerLayout:
    if len(shape) == 2:
        channels, height, width = 1, shape[0], shape[1]
    else:
        channels, height, width = shape
    if pictures:
        radius, pitch, whole, head, tail = (PICTURE_GRID / 2, PICTURE_GRID_PITCH, PICTURE_GRID_ALL,
                                            PICTURE_GRID_HEAD, PICTURE_GRID_TAIL)
    else:
        radius, pitch, whole, head, tail = GRID_RADIUS, GRID_PITCH, GRID_ALL, GRID_HEAD, GRID_TAIL
    rows = _axis(height, whole, head, tail)
    cols = _axis(width, whole, head, tail)
    shown_channels = list(range(channels)) if channels <= CHANNELS_ALL else [0]
    layout = LayerLayout(tuple(shape), radius,
                         complete=height <= whole and width <= whole and channels <= CHANNELS_ALL,
                         pictures=pictures, pitch=pitch, whole=whole, head=head, tail=tail)
    layout.stacked = 0 if channels <= CHANNELS_ALL else min(channels - 1, 3)
    plane_w = pitch * (len(cols) - 1)
    plane_h = pitch * (len(rows) - 1)
    plane_gap = GRID_PITCH * 1.25 + (pitch - GRID_PITCH)
    total_h = plane_h * len(shown_channels) + plane_gap * (len(shown_channels) - 1)
    top = -total_h / 2
    left = -plane_w / 2
    for k, channel in enumerate(shown_channels):
        y0 = top + k * (plane_h + plane_gap)
        for r, row in enumerate(rows):
            for c, col in enumerate(cols):
                x, y = left + c * pitch, y0 + r * pitch
                if row is None or col is None:
                    # matrix notation: the left-out rows and columns as dots, in the cells they would fill
                    text = "⋱" if row is None and col is None else ("⋮" if row is None else "⋯")
                    layout.gaps.append(Gap(x, y, text, row is None))
                    continue
                layout.neurons[channel * height * width + row * width + col] = (x, y)
    r = radius
    stack = layout.stacked * 5.0
    layout.area = (left - r, top - r - stack, plane_w + 2 * r + stack, total_h + 2 * r + stack)
    return layout


def layout_layer(shape: tuple[int, ...], pictures: bool = False) -> LayerLayout:
    """The layout of a layer of ``shape`` (1, 2 or 3 dimensions); ``pictures``: slots for neuron pictures."""
    shape = tuple(int(v) for v in shape)
    if len(shape) == 1:
        return _column(shape[0], pictures)
    return _grid(shape, pictures)


def shown_neurons(shape: tuple[int, ...], pictures: bool = True) -> list[int]:
    """The flat indices of the neurons a card of ``shape`` draws (with pictures on, by default), in order."""
    return sorted(layout_layer(shape, pictures).neurons)

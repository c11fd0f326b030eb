"""A readable layout for a design that was not drawn: layers left to right by depth, no overlapping cards.

Each layer goes into the column of its depth (the longest chain of feed-forward connections from the input),
one column every :data:`COLUMN_STEP` px as the shipped examples are drawn; the cards of a column stand one
below the other with :data:`GAP` px between them, centred on the row's line. A long chain wraps: after
:data:`COLUMNS_PER_ROW` columns the next ones start a new row below the tallest column of the one before.

Plain Python: the card sizes repeat ``designer/ui/canvas/layout.py`` (how many neurons a card shows, the
header above them), which the window draws with; ``tests/importing/test_layout.py`` checks they agree.
"""
from __future__ import annotations

import math

#: px between the centres of two columns, as resources/examples/make_examples.py lays the examples out
COLUMN_STEP = 220.0
#: columns in a row before a long chain wraps to the next row
COLUMNS_PER_ROW = 8
#: px between two cards of one column, and between two rows
GAP = 40.0
ROW_GAP = 100.0
#: the canvas snaps positions to this grid
SNAP = 20.0

# from designer/ui/canvas/layout.py and layer_item.py (the card's frame around its neurons)
_RADIUS, _PITCH, _GRID_RADIUS, _GRID_PITCH = 7.0, 22.0, 5.5, 16.0
_HEADER, _PAD, _MIN_WIDTH, _MAX_TITLE = 38.0, 14.0, 84.0, 180.0
_COLUMN_ALL, _COLUMN_SHOWN = 16, 8
_GRID_ALL, _GRID_SHOWN, _CHANNELS_ALL = 10, 7, 3


def neuron_area(shape: tuple[int, ...]) -> tuple[float, float]:
    """``(width, height)`` of the neurons a card of ``shape`` draws."""
    shape = tuple(int(v) for v in shape)
    if len(shape) == 1:
        units = shape[0]
        if units <= _COLUMN_ALL:
            height = _PITCH * (units - 1)
        else:  # the first and last few, with a gap of two pitches for the rest
            height = _PITCH * (_COLUMN_SHOWN + 2) - _PITCH
        return 2 * _RADIUS, height + 2 * _RADIUS
    channels, height, width = (1, *shape) if len(shape) == 2 else shape
    rows = height if height <= _GRID_ALL else _GRID_SHOWN
    cols = width if width <= _GRID_ALL else _GRID_SHOWN
    planes = channels if channels <= _CHANNELS_ALL else 1
    stack = 0 if channels <= _CHANNELS_ALL else min(channels - 1, 3) * 5.0
    plane_w = _GRID_PITCH * (cols - 1)
    plane_h = _GRID_PITCH * (rows - 1)
    total_h = plane_h * planes + _GRID_PITCH * 1.25 * (planes - 1)
    return plane_w + 2 * _GRID_RADIUS + stack, total_h + 2 * _GRID_RADIUS + stack


def card_size(shape: tuple[int, ...], title: str = "") -> tuple[float, float]:
    """``(width, height)`` of a layer's card on the canvas (the title's width estimated, at most the canvas's)."""
    area_w, area_h = neuron_area(shape)
    text = min(len(title) * 7.5, _MAX_TITLE) + 16
    return max(area_w + 2 * _PAD, text + 2 * _PAD, _MIN_WIDTH), _HEADER + area_h + _PAD


def depths(graph) -> dict[str, int]:
    """Each layer's column: the longest chain of feed-forward connections that leads to it."""
    flow = graph.flow()
    depth = {lid: 0 for lid in graph.layers}
    for lid in flow.order:
        for conn in graph.outgoing(lid):
            if conn.id in flow.recurrent or conn.target == lid:
                continue
            depth[conn.target] = max(depth[conn.target], depth[lid] + 1)
    return depth


def arrange(graph) -> dict[str, tuple[float, float]]:
    """Where each layer's card goes (its centre), by layer id; the input's column at x = 0, row one at y = 0."""
    depth = depths(graph)
    order = {lid: i for i, lid in enumerate(graph.flow().order)}
    columns: dict[int, list[str]] = {}
    for lid in sorted(graph.layers, key=lambda lid: (depth[lid], order.get(lid, len(order)))):
        columns.setdefault(depth[lid], []).append(lid)
    sizes = {lid: card_size(layer.shape, layer.name) for lid, layer in graph.layers.items()}
    widest = max((w for w, _ in sizes.values()), default=0.0)
    step = max(COLUMN_STEP, math.ceil((widest + GAP) / SNAP) * SNAP)
    positions: dict[str, tuple[float, float]] = {}
    row_top = 0.0
    count = max(columns, default=-1) + 1
    for row_start in range(0, count, COLUMNS_PER_ROW):
        row = range(row_start, min(row_start + COLUMNS_PER_ROW, count))
        heights = {c: sum(sizes[lid][1] for lid in columns.get(c, [])) + GAP * (len(columns.get(c, [])) - 1)
                   for c in row}
        tallest = max(heights.values(), default=0.0)
        middle = row_top + tallest / 2
        if row_start == 0:  # the first row's line is y = 0
            row_top -= middle
            middle = 0.0
        for c in row:
            lids = columns.get(c, [])
            cursor = _snap_down(middle - heights[c] / 2)
            for lid in lids:
                h = sizes[lid][1]
                centre = _snap_up(cursor + h / 2)
                positions[lid] = ((c - row_start) * step, centre)
                cursor = centre + h / 2 + GAP
        bottom = max((positions[lid][1] + sizes[lid][1] / 2 for c in row for lid in columns.get(c, [])),
                     default=row_top)
        row_top = bottom + ROW_GAP
    return positions


def overlaps(graph, positions: dict[str, tuple[float, float]] | None = None) -> list[tuple[str, str]]:
    """Pairs of layers whose cards overlap (none in a layout :func:`arrange` made)."""
    positions = positions or {lid: layer.position for lid, layer in graph.layers.items()}
    boxes = []
    for lid, layer in graph.layers.items():
        w, h = card_size(layer.shape, layer.name)
        x, y = positions[lid]
        boxes.append((lid, x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]:
                found.append((a[0], b[0]))
    return found


def _snap_up(value: float) -> float:
    return math.ceil(value / SNAP - 1e-9) * SNAP


def _snap_down(value: float) -> float:
    return math.floor(value / SNAP + 1e-9) * SNAP

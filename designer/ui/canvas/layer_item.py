"""A layer on the canvas: a card with its name, kind and shape, and its neurons drawn as circles.

The card's centre is the layer's ``position``. Neurons sit in a column (``[units]``) or on
grids; gated recurrent layers (lstm, gru) draw their units as rounded cells. The output port
on the right is where a person starts dragging a connection. At low zoom the card is drawn as
a plain box (Qt's chip example: ``levelOfDetailFromTransform``), and the painting is cached in
device coordinates so that moving a layer only blits it.

Links are drawn above the cards (they end on the neurons), so a card's name and subtitle are drawn
by a :class:`LayerHeader`, a separate item above the links that follows its card: many links into
a small card (a one-neuron output) would otherwise cross out its name.

When a neuron fed by a local connection is selected, the source's card outlines the window that
neuron reads (:meth:`LayerItem.set_windows`): on every channel plane drawn, over the positions the
window covers; positions a big layer leaves out fall on the row or column of dots that stands for them.

With neuron pictures on (:meth:`LayerItem.set_pictures_mode`) every layer but the input gives its neurons
square slots (:func:`~.layout.layout_layer` with ``pictures``), and each neuron draws the picture of what it
computes (:meth:`LayerItem.set_pictures`, from the worker's payload; see :mod:`.neuron_pictures`) in its slot,
an empty frame until one arrives. A followed sample (:meth:`LayerItem.set_sample_values`) writes each
neuron's value for it: beside each neuron of a column, on a chip of the value's colour (drawn by the header,
above the links that leave the neurons there), and in a band along each picture of a grid; without pictures
the circles are filled with the value's colour too (blue low, orange high).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.graph import DROPOUT_KINDS, Layer
from designer.ui import style
from designer.ui.activation_curves import curve

from . import neuron_pictures as pictures_
from .layout import HEADER, MIN_WIDTH, PAD, LayerLayout, layout_layer

LOW_DETAIL = 0.45  # below this zoom, cards are plain boxes
PORT_RADIUS = 6.0
MAX_TITLE_WIDTH = 180.0
LAYER_TYPE = QGraphicsItem.UserType + 1
HEADER_TYPE = QGraphicsItem.UserType + 3
#: how far above its card a header is stacked: above the links (card + 1), so they pass under it
HEADER_ABOVE = 2.0
#: the height of the header band from the card's top: the title and subtitle, not the neurons'
#: selection ring (3 px outside a neuron at the neuron area's top)
HEADER_BAND = HEADER - 3.0
#: how far a window's outline stands off the centres of its outermost neurons, past their rims
WINDOW_MARGIN = 3.5

_SHADOW_OPAQUE = QColor(
    *(round(c * style.SHADOW.alphaF() + b * (1 - style.SHADOW.alphaF()))
      for c, b in zip(style.SHADOW.getRgb()[:3], style.CANVAS_BACKGROUND.getRgb()[:3])))

_TITLE_FONT = None
_SUB_FONT = None
_GAP_FONT = None


_VALUE_FONT = None


def _value_font():
    global _VALUE_FONT
    if _VALUE_FONT is None:
        _VALUE_FONT = style.ui_font(6.5)
    return _VALUE_FONT


def _short(value: float) -> str:
    """A value in at most 5 characters: ``0.73``, ``-1.2``, ``12``, ``3e+03``."""
    if not np.isfinite(value):
        return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    for digits in (3, 2, 1):
        text = f"{value:.{digits}g}"
        if len(text) <= 5:
            return text
    return f"{value:.0e}"


def _fonts():
    global _TITLE_FONT, _SUB_FONT, _GAP_FONT
    if _TITLE_FONT is None:
        _TITLE_FONT = style.ui_font(9.5, bold=True)
        _SUB_FONT = style.ui_font(8.0)
        _GAP_FONT = style.ui_font(7.5)
    return _TITLE_FONT, _SUB_FONT, _GAP_FONT


def _activation_glyph(name: str, slope: float = 0.01) -> QPainterPath:
    """A tiny plot of the activation function over [-1, 1] x [-1, 1] (y grows downwards)."""
    path = QPainterPath()
    if name == "step":
        path.moveTo(-1, 0.6); path.lineTo(0, 0.6); path.lineTo(0, -0.6); path.lineTo(1, -0.6)  # noqa: E702
    elif name == "sign":
        path.moveTo(-1, 0.7); path.lineTo(0, 0.7); path.lineTo(0, -0.7); path.lineTo(1, -0.7)  # noqa: E702
    elif name in ("sigmoid", "tanh"):
        k = 0.25 if name == "tanh" else 0.5
        path.moveTo(-1, 0.65); path.cubicTo(k, 0.65, -k, -0.65, 1, -0.65)  # noqa: E702
    elif name == "hard_sigmoid":
        path.moveTo(-1, 0.65); path.lineTo(-0.45, 0.65); path.lineTo(0.45, -0.65); path.lineTo(1, -0.65)  # noqa: E702
    elif name == "relu":
        path.moveTo(-1, 0.5); path.lineTo(0, 0.5); path.lineTo(0.9, -0.7)  # noqa: E702
    elif name == "leaky_relu":
        # the slope drawn as set, at least a visible tilt (0.01 would look like a ReLU)
        tilt = min(max(abs(slope) * 4, 0.2), 1.2) * (1 if slope >= 0 else -1)
        path.moveTo(-1, 0.5 + 0.2 * tilt); path.lineTo(0, 0.5); path.lineTo(0.9, -0.7)  # noqa: E702
    elif name in ("elu", "gelu", "softplus", "silu"):
        _sampled(path, name)
    elif name == "softmax":
        for x, h in ((-0.6, 0.5), (0.0, 1.2), (0.6, 0.8)):
            path.moveTo(x, 0.7); path.lineTo(x, 0.7 - h)  # noqa: E702
    else:  # linear
        path.moveTo(-0.9, 0.7); path.lineTo(0.9, -0.7)  # noqa: E702
    return path


def _sampled(path: QPainterPath, name: str) -> None:
    """The smooth ReLU-like curves, from their values over z in [-3, 2]: drawn as relu's glyph is placed."""
    points = curve(name, samples=17, z_range=(-3.0, 2.0))
    for i, (z, y) in enumerate(points):
        # z -3..2 onto x -1..0.9; y -1..2 onto 0.95..-0.7
        x, v = -1 + (z + 3) / 5 * 1.9, 0.4 - y * 0.55
        if i == 0:
            path.moveTo(x, v)
        else:
            path.lineTo(x, v)


def describe(layer: Layer) -> str:
    """The card's subtitle: ``tanh · 4``, ``input · 28×28``, ``lstm · 8``; then normalisation and dropout where
    set: ``relu · 16 · batch norm · dropout 0.5``."""
    shape = "×".join(str(v) for v in layer.shape)
    what = layer.activation if layer.kind == "neurons" else layer.kind
    parts = [what, shape]
    if layer.kind == "neurons" and layer.norm in ("batch", "layer"):
        parts.append(f"{layer.norm} norm")
    if layer.kind in DROPOUT_KINDS and layer.dropout:
        parts.append(f"dropout {layer.dropout:g}")
    return " · ".join(parts)


class DrawingStates:
    """For canvas items: drawing states (``hovered``, ``problem`` ...) that repaint only on a change."""

    def set_state(self, **states: bool | int | object | None) -> None:
        """Change drawing states and repaint if any of them changed."""
        changed = False
        for name, value in states.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            self.update()


class LayerItem(DrawingStates, QGraphicsItem):
    """The card of one layer, found by its stable id (``item_id``)."""

    def __init__(self, layer: Layer, is_output: bool = False) -> None:
        super().__init__()
        self.header = LayerHeader(self)  # first: every change of the card below is passed on to it
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)  # so the header follows
        self.item_id = layer.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1.0)
        self.hovered = False
        self.port_hovered = False
        self.drop_target = False
        self.problem = False
        self.selected_neuron: int | None = None
        self.windows: tuple = ()  # the selected neuron's windows on this layer (LocalWindow, neuron_weights)
        self.biases: np.ndarray | None = None  # the trained biases, when shown
        self.painted_detail = ""  # "high" or "low": what the last paint drew
        self.layout: LayerLayout = layout_layer((1,))
        # neuron pictures (see set_pictures): the arrays as the worker sent them, by neuron, and what draws them
        self.pictures_mode = False
        self.picture_kind: str | None = None
        self.pictures: dict[int, np.ndarray] = {}
        self.picture_range: tuple[float, float, bool] | None = None  # plane and sequence: (low, high, normalised)
        self.picture_scales: dict[int, float] = {}  # images: each weight picture's largest |w|
        self.picture_images: dict[int, QImage] = {}
        self.strongest: dict[int, np.ndarray] = {}
        self._picture_meta: dict = {}
        self._picture_key: tuple | None = None  # the layer's function the pictures were computed for
        self._sparklines: dict[int, QPainterPath] = {}
        self._tooltips: dict[int, str] = {}
        self._low_patches: set[int] = set()  # weight pictures whose window lies in their lower half
        self._windows: dict[int, tuple[float, float, float, float]] = {}  # a local neuron's window in its picture
        # a followed sample: every neuron's value for it ([units]), and the range its fill colours span
        self.sample_values: np.ndarray | None = None
        self.sample_range: tuple[float, float] = (-1.0, 1.0)
        self._frame = QRectF()
        self._offset_y = 0.0
        self.update_layer(layer, is_output)

    # ------------------------------------------------------------------ model
    def update_layer(self, layer: Layer, is_output: bool | None = None) -> None:
        """Take over a layer's fields (after a change of shape, kind, label ...)."""
        self.prepareGeometryChange()
        self.layer = layer
        if is_output is not None:
            self.is_output = is_output
        self.layout = layout_layer(layer.shape, pictures=self.has_picture_slots())
        title_font, sub_font, _ = _fonts()
        # a long label is shortened with an ellipsis rather than stretching the card (the tooltip has it all)
        self.title = QFontMetricsF(title_font).elidedText(layer.name, Qt.TextElideMode.ElideRight, MAX_TITLE_WIDTH)
        self.subtitle = describe(layer)
        text_w = max(QFontMetricsF(title_font).horizontalAdvance(self.title) + 16,
                     QFontMetricsF(sub_font).horizontalAdvance(self.subtitle))
        ax, ay, aw, ah = self.layout.area
        width = max(aw + 2 * PAD, text_w + 2 * PAD, MIN_WIDTH)
        height = HEADER + ah + PAD
        self._frame = QRectF(-width / 2, -height / 2, width, height)
        # shift the neurons from the layout's centre to below the header
        self._offset_y = self._frame.top() + HEADER + ah / 2 - (ay + ah / 2)
        self._neuron_cache = {i: QPointF(x, y + self._offset_y) for i, (x, y) in self.layout.neurons.items()}
        self._build_neuron_paths()
        self.setPos(*layer.position)
        self._summary = (f"{layer.name} ({layer.id}): {layer.kind}, shape {list(layer.shape)}, "
                         f"{layer.units:,} neuron{'s' if layer.units != 1 else ''}"
                         + (f", {layer.activation}" if layer.kind == "neurons" else "")
                         + (f", {layer.norm} normalisation" if layer.kind == "neurons" and layer.norm != "none" else "")
                         + (f", dropout {layer.dropout:g} while training"
                            if layer.kind in DROPOUT_KINDS and layer.dropout else ""))
        self.setToolTip(self._summary)
        self.header.setToolTip(self._summary)
        self.header.prepareGeometryChange()
        if self.biases is not None and self.biases.shape != (layer.units,):
            self.biases = None  # the trained biases were for another shape
        if self._picture_key is not None and self._picture_key != self._function():
            self._clear_pictures()  # computed for another shape or activation
        if self.sample_values is not None and self.sample_values.shape != (layer.units,):
            self.sample_values = None
        self._sparklines = {}
        self.update()

    # ------------------------------------------------------------------ neuron pictures
    def has_picture_slots(self) -> bool:
        """Pictures are on and this layer computes something (the input's neurons are the data itself)."""
        return self.pictures_mode and self.layer.kind != "input"

    def set_pictures_mode(self, on: bool) -> bool:
        """Square slots for pictures (or the plain circles); True if the card's geometry changed."""
        on = bool(on)
        if on == self.pictures_mode:
            return False
        self.pictures_mode = on
        if self.layer.kind == "input":
            self.update()
            return False
        self.update_layer(self.layer)
        self.header.update()
        return True

    def _function(self) -> tuple:
        return (self.layer.kind, tuple(self.layer.shape), self.layer.activation)

    def _clear_pictures(self) -> None:
        self.picture_kind = None
        self.pictures, self.picture_images, self.picture_scales, self.strongest = {}, {}, {}, {}
        self._sparklines, self._tooltips, self._picture_meta = {}, {}, {}
        self._low_patches, self._windows = set(), {}
        self.picture_range = None
        self._picture_key = None

    def set_pictures(self, payload: dict | None) -> bool:
        """Take this layer's pictures from a NeuronPictures payload (None, or a payload without it: none).

        ``payload`` as the controller sends it: the worker's ``compute()`` with ``info`` (its ``info()``),
        ``classification`` and ``num_classes``. Repaints only when a picture changed; True if it did.
        """
        found = None if payload is None or self.layer.kind == "input" else pictures_.layer_pictures(
            payload, self.layer.id)
        if found is None:
            if not self.pictures:
                return False
            self._clear_pictures()
            QGraphicsItem.update(self)
            return True
        neurons, arrays = found
        kind = payload.get("kind")
        units = self.layer.units
        keep = (neurons >= 0) & (neurons < units)
        neurons, arrays = neurons[keep], arrays[keep]
        strongest = (payload.get("strongest") or {}).get(self.layer.id)
        unchanged = (kind == self.picture_kind and len(neurons) == len(self.pictures)
                     and all(int(i) in self.pictures and np.array_equal(self.pictures[int(i)], a, equal_nan=True)
                             for i, a in zip(neurons, arrays)))
        if unchanged and strongest is not None and self.strongest:
            unchanged = all(np.array_equal(self.strongest.get(int(i)), row) for i, row in zip(neurons, strongest))
        if unchanged:
            return False
        info = payload.get("info") or {}
        self.picture_kind = kind
        self._picture_key = self._function()
        self.pictures = {int(i): np.array(a, copy=True) for i, a in zip(neurons, arrays)}
        self.strongest = ({int(i): np.asarray(row) for i, row in zip(neurons, strongest)}
                          if strongest is not None and len(strongest) == len(neurons) else {})
        self._picture_meta = {"classification": bool(payload.get("classification", True)),
                              "classes": int(payload.get("num_classes") or 2),
                              "images": info.get("images"), "source": (payload.get("connections") or {}).get(
                                  self.layer.id), "bounds": payload.get("bounds") or info.get("bounds")}
        self._tooltips, self._sparklines = {}, {}
        self.picture_images, self.picture_scales = {}, {}
        self._low_patches, self._windows = set(), {}
        activation = pictures_.activation_of(self.layer)
        if kind == "plane":
            stack = np.stack(list(self.pictures.values())) if self.pictures else np.zeros((0, 1, 1))
            self.picture_range = pictures_.value_range(activation, stack)
            low, high, _ = self.picture_range
            several = self.is_output and units > 1 and self._picture_meta["classification"]
            if several:  # each output unit in its own class's colour
                for i, a in self.pictures.items():
                    rgba = pictures_.plane_rgba(a[::-1], low, high, class_index=i,
                                                classes=self._picture_meta["classes"])
                    self.picture_images[i] = pictures_.qimage(rgba)  # flipped: y grows upwards, as on the map
            elif self.pictures:  # the whole layer at once
                rgba = pictures_.plane_rgba(stack[:, ::-1], low, high,
                                            classification=self._picture_meta["classification"],
                                            classes=self._picture_meta["classes"])
                for k, i in enumerate(self.pictures):
                    self.picture_images[i] = pictures_.qimage(rgba[k])
        elif kind == "images":
            self.picture_range = None
            indices = list(self.pictures)
            if indices:
                stack = np.stack([_as_grid(self.pictures[i]) for i in indices])
                rgba, scales = pictures_.weights_rgba(stack)
                for k, i in enumerate(indices):
                    self.picture_images[i] = pictures_.qimage(rgba[k])
                    self.picture_scales[i] = float(scales[k])
                    rows = np.nonzero(~np.isnan(stack[k]).all(axis=1))[0]
                    # a window in the picture's lower half: a followed sample's value goes on top, not over it
                    if len(rows) and rows.mean() >= stack.shape[1] / 2:
                        self._low_patches.add(i)
                    cols = np.nonzero(~np.isnan(stack[k]).all(axis=0))[0]
                    if len(rows) and len(cols) and (len(rows) < stack.shape[1] or len(cols) < stack.shape[2]):
                        # a local neuron's window on the grid, as a share of the picture: outlined when drawn
                        h, w = stack.shape[1:]
                        self._windows[i] = (cols[0] / w, rows[0] / h, (cols[-1] + 1 - cols[0]) / w,
                                            (rows[-1] + 1 - rows[0]) / h)
        elif kind == "sequence":
            # every neuron of the layer on one scale, symmetric around 0, to the layer's largest |value| (no
            # wider than the activation's range): a hidden state that moves by 0.2 still shows its shape
            stack = np.stack(list(self.pictures.values())) if self.pictures else np.zeros((0, 1))
            low, high, normalised = pictures_.value_range(activation, stack)
            biggest = float(np.nanmax(np.abs(stack))) if stack.size else 0.0
            sequence = info.get("sequence")
            self._picture_meta["sequence"] = None
            if stack.ndim == 2 and stack.shape[1] == 1 and sequence is not None and np.size(sequence):
                # one value after the last step (a next-value output): drawn after the sequence it follows
                self._picture_meta["sequence"] = np.asarray(sequence, dtype=np.float64).reshape(len(sequence), -1)[:, 0]
                biggest = max(biggest, float(np.nanmax(np.abs(self._picture_meta["sequence"]))))
                low, high = -np.inf, np.inf
            if np.isfinite(biggest) and biggest > 0:
                biggest = min(biggest * 1.1, max(abs(low), abs(high)))
                self.picture_range = (-biggest, biggest, True)
            else:
                self.picture_range = (low, high, normalised)
        QGraphicsItem.update(self)
        return True

    def picture_rect(self, index: int) -> QRectF | None:
        """Local rectangle of neuron ``index``'s picture slot (None where it has no slot)."""
        centre = self._neuron_cache.get(index)
        if centre is None:
            return None
        r = self.layout.radius
        return QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)

    def _picture_target(self, index: int, image: QImage) -> QRectF:
        """Where an image goes in its slot: the whole slot, or (a picture wider than tall) a band across it."""
        rect = self.picture_rect(index)
        w, h = image.width(), image.height()
        if w == h or rect is None:
            return rect
        if w > h:
            height = max(rect.height() * h / w, 3.0)
            return QRectF(rect.left(), rect.center().y() - height / 2, rect.width(), height)
        width = max(rect.width() * w / h, 3.0)
        return QRectF(rect.center().x() - width / 2, rect.top(), width, rect.height())

    def picture_text(self, index: int) -> str:
        """What hovering a neuron's picture says: what it shows and its scale (images: the strongest samples)."""
        if index in self._tooltips:
            return self._tooltips[index]
        text = ""
        if index in self.pictures:
            layer = self.layer
            if self.picture_kind == "plane":
                low, high, normalised = self.picture_range
                scale = (f"normalised per layer: ±{high:.3g} (the largest |value| of {layer.name}'s pictures)"
                         if normalised else f"{pictures_.activation_of(layer)} from {low:g} to {high:g}")
                if self._picture_meta.get("classification", True):
                    several = self.is_output and layer.units > 1
                    colours = ("its class's colour, stronger where its probability is higher" if several else
                               "blue (class 0 colour) low, orange (class 1 colour) high, white in the middle")
                else:
                    colours = "the output map's colours (viridis)"
                text = (f"Its value over the input plane, on the output map's scale: {colours}; {scale}")
            elif self.picture_kind == "images":
                source = self._picture_meta.get("source")
                grid = self.pictures[index]
                row = grid.ndim == 2 and grid.shape[0] == 1 and grid.shape[1] > 1
                text = (f"Its incoming weights{f' ({source})' if source else ''} on the source's grid"
                        + (f", in rows of {_as_grid(grid).shape[1]}" if row else "")
                        + f": orange positive, blue negative, to ±{self.picture_scales.get(index, 0):.3g}"
                          "; empty where it has no link")
                images = self._picture_meta.get("images")
                chosen = self.strongest.get(index)
                window = pictures_.window_html(grid)
                if window:
                    text = f"{_html(text)}<br><b>Its window, enlarged</b>:<br>{window}"
                if images is not None and chosen is not None and len(chosen):
                    pictures = "".join(pictures_.image_html(images[int(k)]) + "&nbsp;"
                                       for k in chosen[:pictures_.STRONGEST_SHOWN] if 0 <= int(k) < len(images))
                    text = (f"{text if window else _html(text)}<br><b>Validation images that drive it hardest</b>:"
                            f"<br>{pictures}")
            elif self.picture_kind == "sequence":
                low, high, _ = self.picture_range
                values = np.ravel(self.pictures[index])
                if len(values) == 1:
                    text = (f"Its value after the last step of a validation sequence: {values[0]:.4g} (the dot; "
                            f"the grey line is the sequence it read, on the same scale, ±{high:.3g})")
                else:
                    text = (f"Its value at each step of a validation sequence, from the first to the last (the "
                            f"layer's neurons on one scale, ±{high:.3g}; the grey line is 0)")
        self._tooltips[index] = text
        return text

    def set_sample_values(self, values, value_range: tuple[float, float] | None = None) -> bool:
        """Show each neuron's value for a followed sample (``[units]``), or None for none; True if it changed."""
        v = None if values is None else np.asarray(values, dtype=np.float64).ravel()
        if v is not None and v.shape != (self.layer.units,):
            v = None
        if v is None and self.sample_values is None:
            return False
        if v is not None and self.sample_values is not None and np.array_equal(v, self.sample_values):
            return False
        self.header.prepareGeometryChange()  # a column's values are drawn by the header, beside its neurons
        self.sample_values = v
        if v is not None:
            if value_range is None:
                low, high, _ = pictures_.value_range(pictures_.activation_of(self.layer), v)
                value_range = (low, high)
            self.sample_range = value_range
        self.update()
        return True

    def set_biases(self, biases) -> bool:
        """Tint each neuron by the sign and size of its trained bias (``[units]``), or None for neutral.

        Repaints only when a tint changes visibly (training sends new biases twice a second). True if it does.
        """
        before = self._bias_look()
        values = None if biases is None else np.asarray(biases, dtype=np.float64).ravel()
        self.biases = values if values is not None and values.shape == (self.layer.units,) else None
        if self._bias_look() == before or self.has_picture_slots():  # (pictures show no tints: nothing to redraw)
            return False
        QGraphicsItem.update(self)  # the tints are the card's alone: the header keeps its cached picture
        return True

    def _bias_look(self) -> bytes | None:
        """Each neuron's tint in 16 steps of strength, with its sign: what the biases change on screen."""
        if self.biases is None:
            return None
        scale = float(abs(self.biases).max()) or 1.0
        steps = np.rint(np.abs(self.biases) / scale * 15).astype(np.int16)
        return (steps * 2 + (self.biases >= 0)).tobytes()

    def set_windows(self, windows) -> None:
        """Outline these windows (:class:`designer.ui.neuron_weights.LocalWindow` on this layer), or none."""
        self.set_state(windows=tuple(w for w in windows if tuple(w.source_shape) == tuple(self.layer.shape)))

    def window_positions(self) -> frozenset[int]:
        """Flat indices of the neurons inside the outlined windows (all channels)."""
        return frozenset().union(*(w.positions() for w in self.windows))

    def window_rects(self) -> list[QRectF]:
        """Local rectangles of the outlines: one per window and channel plane drawn.

        Each spans the drawn places of the window's first and last rows and columns; a row or
        column the layout leaves out stands at its row or column of dots (``⋮``, ``⋯``).
        """
        rects = []
        margin = self.layout.radius + WINDOW_MARGIN
        for window in self.windows:
            for lo, hi in self._window_corners(window):
                rects.append(QRectF(lo, hi).normalized().adjusted(-margin, -margin, margin, margin))
        return rects

    def window_caption(self) -> str:
        """Where the outlined windows lie, as written under the neurons: ``rows 2–4 · cols 4–6 · 6 channels``.

        The drawn subset of a big layer shows a window inside its left-out part only as an outline on
        the dots; the caption says which rows and columns, and that the window reads every channel.
        """
        if not self.windows:
            return ""
        gap_font = _fonts()[2]
        width = self._frame.width() - 4
        texts = []
        for window in self.windows:
            spans = [_span(a, b) for a, b in window.spans]
            where = f"rows {spans[0]} · cols {spans[1]}" if len(spans) == 2 else f"neurons {spans[0]}"
            if getattr(window, "pool", "") and len(self.layer.shape) == 3 and self.layer.shape[0] > 1:
                where = f"{where} · channel {window.first_channel}"
            elif window.channels > 1:
                with_channels = f"{where} · {window.channels} channels"
                # the channels go too when the card is too narrow (the stack and its count show them)
                if QFontMetricsF(gap_font).horizontalAdvance(with_channels) <= width:
                    where = with_channels
            texts.append(where)
        return "; ".join(dict.fromkeys(texts))

    def _window_corners(self, window) -> list[tuple[QPointF, QPointF]]:
        """The centres (drawn places) of a window's first and last positions, on each plane drawn."""
        shape = self.layer.shape
        if len(shape) == 1:  # a column: neurons and its gap are placed by the layout, not on a pitch
            (start, stop), = window.spans
            return [(QPointF(0, self._column_y(start)), QPointF(0, self._column_y(stop - 1)))]
        height, width = shape[-2:]
        (r0, r1), (c0, c1) = window.spans
        corners = []
        channels = range(shape[0] if len(shape) == 3 else 1)
        if getattr(window, "pool", ""):  # a pooling window reads its own channel only
            channels = [c for c in channels if c == window.first_channel]
        for channel in channels:
            origin = self._neuron_cache.get(channel * height * width)  # row 0, column 0 is always drawn
            if origin is None:
                continue  # a channel drawn only as the stack behind the first
            first = QPointF(self._slot(c0, width), self._slot(r0, height)) * self.layout.pitch
            last = QPointF(self._slot(c1 - 1, width), self._slot(r1 - 1, height)) * self.layout.pitch
            corners.append((origin + first, origin + last))
        return corners

    def _slot(self, index: int, n: int) -> int:
        layout = self.layout
        return _grid_slot(index, n, layout.whole, layout.head, layout.tail)

    def _column_y(self, index: int) -> float:
        centre = self._neuron_cache.get(index)
        if centre is not None:
            return centre.y()
        gap = self.layout.gaps[0] if self.layout.gaps else None  # left out: the count in the gap stands for it
        return (gap.y if gap is not None else 0.0) + self._offset_y

    def neuron_text(self, index: int) -> str:
        """What hovering a neuron says: ``h[2]``, with its bias once trained, its value for a followed sample
        and what its picture shows."""
        text = f"{self.layer.name}[{index}]"
        if self.biases is not None:
            text += f": b = {self.biases[index]:.3f}"
        if self.sample_values is not None:
            text += f"; value for the followed sample: {self.sample_values[index]:.4g}"
        picture = self.picture_text(index) if self.has_picture_slots() else ""
        if picture:
            if picture.startswith("<") or "<br>" in picture:
                return f"{_html(text)}<br>{picture}"
            text += f"\n{picture}"
        return text

    def _build_neuron_paths(self) -> None:
        """All neurons as one path, and all their glyphs as another: two draw calls per layer, not 2 per neuron."""
        r = self.layout.radius
        cells = self.layer.kind in ("lstm", "gru")
        neurons, glyphs = QPainterPath(), QPainterPath()
        glyph = _activation_glyph(self.layer.activation, self.layer.slope) if self.layer.kind == "neurons" else None
        for center in self._neuron_cache.values():
            if cells:
                neurons.addRoundedRect(QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r), 3, 3)
                loop = QRectF(center.x() - r * 0.45, center.y() - r * 0.45, r * 0.9, r * 0.9)
                glyphs.arcMoveTo(loop, 90)
                glyphs.arcTo(loop, 90, 270)
            else:
                neurons.addEllipse(center, r, r)
                if glyph is not None:
                    glyphs.addPath(QTransform(r * 0.55, 0, 0, r * 0.55, center.x(), center.y()).map(glyph))
        self._neurons_path, self._glyphs_path = neurons, glyphs

    def set_output(self, is_output: bool) -> None:
        if is_output != self.is_output:
            self.is_output = is_output
            self.update()

    # ------------------------------------------------------------------ geometry
    @property
    def frame(self) -> QRectF:
        return QRectF(self._frame)

    def neuron_center(self, index: int) -> QPointF | None:
        """Local centre of neuron ``index``, or None where the layer shows only a subset."""
        return self._neuron_cache.get(index)

    def neuron_area(self) -> QRectF:
        """Local rectangle of the drawn neurons (where bands start and end)."""
        ax, ay, aw, ah = self.layout.area
        return QRectF(ax, ay + self._offset_y, aw, ah)

    def header_rect(self) -> QRectF:
        """Local rectangle of the name and subtitle, kept clear of links (see :class:`LayerHeader`)."""
        return QRectF(self._frame.left(), self._frame.top(), self._frame.width(), HEADER_BAND)

    def header_contains(self, local: QPointF) -> bool:
        return self.header_rect().contains(local)

    def port_center(self) -> QPointF:
        return QPointF(self._frame.right(), self.neuron_area().center().y())

    def input_center(self) -> QPointF:
        return QPointF(self._frame.left(), self.neuron_area().center().y())

    def port_contains(self, local: QPointF) -> bool:
        d = local - self.port_center()
        return d.x() * d.x() + d.y() * d.y() <= (PORT_RADIUS + 4) ** 2

    def neuron_at(self, local: QPointF) -> int | None:
        r2 = (self.layout.radius + 2) ** 2
        for index, c in self._neuron_cache.items():
            dx, dy = local.x() - c.x(), local.y() - c.y()
            if dx * dx + dy * dy <= r2:
                return index
        return None

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._frame.adjusted(-6, -6, PORT_RADIUS + 6, 8)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._frame, 10, 10)
        path.addEllipse(self.port_center(), PORT_RADIUS + 3, PORT_RADIUS + 3)
        return path

    # ------------------------------------------------------------------ painting
    def _colours(self) -> tuple[QColor, QColor]:
        if self.is_output and self.layer.kind == "neurons":
            return style.kind_colours("output")
        return style.kind_colours(self.layer.kind)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        fill, edge = self._colours()
        selected = self.isSelected()
        frame = self._frame
        if lod < LOW_DETAIL:
            self.painted_detail = "low"
            painter.setPen(QPen(style.PROBLEM if self.problem else (style.ACCENT if selected else edge),
                                (3.0 if self.problem or selected else 1.5) / max(lod, 0.05)))
            painter.setBrush(fill)
            painter.drawRect(frame)
            if frame.width() * lod >= 30:
                # the name at a readable screen size, so a zoomed-out design can still be found around
                title_font, _, _ = _fonts()
                painter.save()
                painter.translate(frame.center())
                painter.scale(1 / lod, 1 / lod)
                painter.setFont(title_font)
                painter.setPen(style.TEXT)
                w = frame.width() * lod - 4
                text = painter.fontMetrics().elidedText(self.title, Qt.TextElideMode.ElideRight, int(w))
                painter.drawText(QRectF(-w / 2, -9, w, 18), Qt.AlignmentFlag.AlignCenter, text)
                painter.restore()
            return
        self.painted_detail = "high"
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # a soft shadow below the card, opaque (pre-blended on the canvas colour): blending a
        # translucent shape costs several times more, and the canvas under a card is plain
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_SHADOW_OPAQUE)
        painter.drawRoundedRect(frame.adjusted(-0.5, 1.0, 0.5, 2.5), 10.5, 10.5)
        self.paint_card(painter)
        # the header (name and subtitle) is the LayerHeader's, above the links
        _, _, gap_font = _fonts()
        self._paint_neurons(painter, lod, fill, edge, gap_font)
        # output port: where connections start
        port = self.port_center()
        painter.setPen(QPen(style.ACCENT if self.port_hovered else edge, 1.5))
        painter.setBrush(style.ACCENT if self.port_hovered else style.CARD)
        painter.drawEllipse(port, PORT_RADIUS, PORT_RADIUS)
        painter.setPen(QPen(style.CARD if self.port_hovered else edge, 1.4))
        painter.drawLine(QPointF(port.x() - 2.5, port.y()), QPointF(port.x() + 2.5, port.y()))
        painter.drawLine(QPointF(port.x() + 0.5, port.y() - 2.5), QPointF(port.x() + 2.5, port.y()))
        painter.drawLine(QPointF(port.x() + 0.5, port.y() + 2.5), QPointF(port.x() + 2.5, port.y()))
        # input side: a small notch
        inp = self.input_center()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(edge)
        painter.drawPolygon([QPointF(inp.x(), inp.y() - 5), QPointF(inp.x() + 5, inp.y()),
                             QPointF(inp.x(), inp.y() + 5)])

    def paint_card(self, painter: QPainter) -> None:
        """The card's face and border, in the colours of its state (the header paints its band of it too)."""
        frame = self._frame
        selected = self.isSelected()
        if self.problem:
            border = QPen(style.PROBLEM, 2.0)
        elif selected or self.drop_target:
            border = QPen(style.ACCENT, 2.0)
        else:
            border = QPen(style.CARD_BORDER_HOVER if self.hovered else style.CARD_BORDER, 1.0)
        painter.setPen(border)
        painter.setBrush(style.CARD)
        painter.drawRoundedRect(frame, 10, 10)
        if selected or self.drop_target or self.problem:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.PROBLEM_SOFT if self.problem else style.ACCENT_SOFT)
            painter.drawRoundedRect(frame.adjusted(1, 1, -1, -1), 9, 9)

    def paint_header_text(self, painter: QPainter) -> None:
        """A dot of the kind's colour, the name, then what the layer computes and its shape."""
        frame = self._frame
        _, edge = self._colours()
        title_font, sub_font, _ = _fonts()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(edge)
        painter.drawEllipse(QPointF(frame.left() + PAD + 3, frame.top() + 14), 3.5, 3.5)
        painter.setFont(title_font)
        painter.setPen(style.TEXT)
        painter.drawText(QRectF(frame.left() + PAD + 11, frame.top() + 5, frame.width() - PAD * 2 - 11, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.title)
        painter.setFont(sub_font)
        painter.setPen(style.TEXT_MUTED)
        painter.drawText(QRectF(frame.left() + PAD, frame.top() + 21, frame.width() - PAD * 2, 14),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.subtitle)

    def _paint_neurons(self, painter: QPainter, lod: float, fill: QColor, edge: QColor, gap_font) -> None:
        r = self.layout.radius
        area = self.neuron_area()
        if self.layout.stacked:
            # more channels than shown: planes stacked behind the first
            painter.setBrush(style.CARD)
            for k in range(self.layout.stacked, 0, -1):
                painter.setPen(QPen(style.CARD_BORDER, 1.0))
                plane = QRectF(area.left() + 5 * k - 2, area.top() + 5 * (self.layout.stacked - k) - 2,
                               area.width() - 5 * self.layout.stacked + 4, area.height() - 5 * self.layout.stacked + 4)
                painter.drawRoundedRect(plane, 3, 3)
        caption = self.window_caption()
        if caption or self.layout.stacked:
            # under the neurons: where the outlined window lies (the rows and columns a big layer's dots
            # stand for cannot be told apart otherwise), or how many channels the stack holds
            painter.setFont(gap_font)
            painter.setPen(style.ACCENT if caption else style.TEXT_MUTED)
            text = caption or f"{self.layer.shape[0]} channels"
            painter.drawText(QRectF(self._frame.left() + 2, area.bottom() + 1, self._frame.width() - 4, 12),
                             Qt.AlignmentFlag.AlignCenter, text)
        windows = self.window_rects()
        if windows:
            # a tint inside each window, below the neurons (the outline is drawn over them)
            tint = QColor(style.ACCENT)
            tint.setAlpha(40)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            for rect in windows:
                painter.drawRoundedRect(rect, 4, 4)
        pictures = self.has_picture_slots()
        if pictures:
            self._paint_pictures(painter, lod, fill, edge)
        else:
            painter.setPen(QPen(edge, 1.3))
            tints = self._sample_fills() or self._bias_tints(fill)
            if tints is None:
                painter.setBrush(fill)
                painter.drawPath(self._neurons_path)  # every neuron in one call
            else:
                cells = self.layer.kind in ("lstm", "gru")
                for index, center in self._neuron_cache.items():
                    painter.setBrush(tints[index])
                    if cells:
                        painter.drawRoundedRect(QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r), 3, 3)
                    else:
                        painter.drawEllipse(center, r, r)
            if not self._glyphs_path.isEmpty() and r * lod >= (5 if self.layer.kind in ("lstm", "gru") else 6.5):
                # the activation drawn in each neuron (a loop in each gated cell), once big enough to read
                painter.setPen(QPen(edge, 1.1))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(self._glyphs_path)
        if windows:
            painter.setPen(QPen(style.ACCENT, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for rect in windows:
                painter.drawRoundedRect(rect, 4, 4)
        if self.selected_neuron is not None and self.selected_neuron in self._neuron_cache:
            painter.setPen(QPen(style.ACCENT, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            centre = self._neuron_cache[self.selected_neuron]
            if pictures:
                painter.drawRoundedRect(QRectF(centre.x() - r - 3, centre.y() - r - 3, 2 * r + 6, 2 * r + 6), 4, 4)
            else:
                painter.drawEllipse(centre, r + 3, r + 3)
        if self.layout.gaps:
            painter.setFont(gap_font)
            painter.setPen(style.TEXT_MUTED)
            column = len(self.layer.shape) == 1
            for gap in self.layout.gaps:
                c = QPointF(gap.x, gap.y + self._offset_y)
                if column:
                    painter.setBrush(QBrush(style.TEXT_MUTED))
                    painter.setPen(Qt.PenStyle.NoPen)
                    for dy in (-15, -11, 11, 15):
                        painter.drawEllipse(QPointF(c.x(), c.y() + dy), 1.1, 1.1)
                    painter.setPen(style.TEXT_MUTED)
                    painter.drawText(QRectF(c.x() - 40, c.y() - 7, 80, 14), Qt.AlignmentFlag.AlignCenter, gap.text)
                else:
                    painter.drawText(QRectF(c.x() - 8, c.y() - 8, 16, 16), Qt.AlignmentFlag.AlignCenter, gap.text)

    def _paint_pictures(self, painter: QPainter, lod: float, fill: QColor, edge: QColor) -> None:
        """Each neuron's picture in its square slot (an empty frame with its activation until one arrives),
        and a followed sample's value in a band along the bottom of each."""
        r = self.layout.radius
        kind = self.picture_kind
        background = QColor("#F2F4F7")
        value_font = _value_font()
        for index, centre in self._neuron_cache.items():
            rect = QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r)
            image = self.picture_images.get(index)
            if image is not None:
                if kind == "images":  # transparent where there is no link: the source grid's extent stays visible
                    painter.fillRect(rect, background)
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, kind == "plane")
                target = self._picture_target(index, image)
                painter.drawImage(target, image)
                window = self._windows.get(index)
                if window is not None:  # where the window sits, outlined: small weights are nearly white
                    x, y, w, h = window
                    painter.setPen(QPen(style.TEXT_MUTED, 0.7))
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.drawRect(QRectF(target.left() + x * target.width(), target.top() + y * target.height(),
                                            w * target.width(), h * target.height()))
            elif kind == "sequence" and index in self.pictures:
                painter.fillRect(rect, background)
                low, high, _ = self.picture_range
                inner = rect.adjusted(2, 3, -2, -3)
                if low < 0 < high:  # the zero line
                    y = inner.bottom() - (0 - low) / (high - low) * inner.height()
                    painter.setPen(QPen(style.CARD_BORDER, 0.8))
                    painter.drawLine(QPointF(inner.left(), y), QPointF(inner.right(), y))
                values = np.ravel(self.pictures[index])
                if len(values) == 1:  # a layer that runs once, after the last step: its one value after the sequence
                    sequence = self._picture_meta.get("sequence")
                    end = inner.right() - 3
                    if sequence is not None and len(sequence) > 1:
                        before = QRectF(inner.left(), inner.top(), inner.width() - 7, inner.height())
                        painter.setPen(QPen(style.TEXT_MUTED, 1.0))
                        painter.setBrush(Qt.BrushStyle.NoBrush)
                        painter.drawPath(pictures_.sparkline(sequence, low, high, before))
                    level = inner.bottom() - (float(np.clip(values[0], low, high)) - low) / max(high - low, 1e-12) \
                        * inner.height()
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(edge)
                    painter.drawEllipse(QPointF(end, level), 2.8, 2.8)
                else:
                    line = self._sparklines.get(index)
                    if line is None:
                        line = self._sparklines[index] = pictures_.sparkline(values, low, high, inner)
                    painter.setPen(QPen(edge, 1.3))
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.drawPath(line)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(style.CARD)
                painter.drawRect(rect)
            painter.setPen(QPen(edge, 1.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
        if not self.pictures and not self._glyphs_path.isEmpty() and r * lod >= 6.5:
            painter.setPen(QPen(edge, 1.1))
            painter.drawPath(self._glyphs_path)
        if self.sample_values is not None and len(self.layer.shape) > 1:
            # a grid has no room beside its pictures: a band along each picture's bottom (its top, over a low
            # window); a column's values go beside its neurons, drawn by the header above the links
            painter.setFont(value_font)
            for index, centre in self._neuron_cache.items():
                value = float(self.sample_values[index])
                top = centre.y() - r if index in self._low_patches else centre.y() + r - 9
                chip = QRectF(centre.x() - r, top, 2 * r, 9)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(pictures_.value_colour(value, *self.sample_range))
                painter.drawRect(chip)
                painter.setPen(style.TEXT)
                painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, _short(value))

    def value_chips(self) -> list[tuple[QRectF, float]]:
        """Where a column's followed-sample values are written: a chip beside each neuron (none for a grid)."""
        if self.sample_values is None or len(self.layer.shape) != 1:
            return []
        r = self.layout.radius
        return [(QRectF(centre.x() + r + 2, centre.y() - 6.5, 28, 13), float(self.sample_values[index]))
                for index, centre in self._neuron_cache.items()]

    def paint_value_chips(self, painter: QPainter) -> None:
        """A column's values for the followed sample, each on a chip of its colour (drawn by the header, above
        the links that leave the neurons there)."""
        chips = self.value_chips()
        if not chips:
            return
        painter.setFont(_value_font())
        for chip, value in chips:
            painter.setPen(QPen(style.CARD_BORDER, 0.8))
            painter.setBrush(pictures_.value_colour(value, *self.sample_range))
            painter.drawRoundedRect(chip, 3, 3)
            painter.setPen(style.TEXT)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, _short(value))

    def _sample_fills(self) -> dict[int, QColor] | None:
        """A followed sample's values as fills of the circles: blue low, orange high (see value_colour)."""
        if self.sample_values is None:
            return None
        low, high = self.sample_range
        return {index: pictures_.value_colour(float(self.sample_values[index]), low, high)
                for index in self._neuron_cache}

    def _bias_tints(self, fill: QColor) -> dict[int, QColor] | None:
        if self.biases is None:
            return None
        scale = float(abs(self.biases).max()) or 1.0
        tints = {}
        for index in self._neuron_cache:
            b = float(self.biases[index])
            colour = QColor(style.WEIGHT_POSITIVE if b >= 0 else style.WEIGHT_NEGATIVE)
            a = 0.15 + 0.7 * round(abs(b) / scale * 15) / 15  # the steps of _bias_look
            tints[index] = QColor(round(colour.red() * a + 255 * (1 - a)), round(colour.green() * a + 255 * (1 - a)),
                                  round(colour.blue() * a + 255 * (1 - a)))
        return tints

    def type(self) -> int:  # noqa: A003 - Qt's name
        return LAYER_TYPE

    def update(self, *args) -> None:
        """Repaint the card and its header (the header shows the card's state: selected, hovered ...)."""
        super().update(*args)
        self.header.update()

    def itemChange(self, change, value):  # noqa: N802 - Qt's name
        """Keep the header with its card: same scene, place, stacking above the links, opacity, visibility."""
        Change = QGraphicsItem.GraphicsItemChange
        header = self.header
        if change == Change.ItemPositionHasChanged:
            header.setPos(self.pos())
        elif change == Change.ItemSceneHasChanged:
            if header.scene() is not None and header.scene() is not value:
                header.scene().removeItem(header)
            if value is not None and header.scene() is None:
                header.setPos(self.pos())
                value.addItem(header)
        elif change == Change.ItemZValueHasChanged:
            header.setZValue(self.zValue() + HEADER_ABOVE)
        elif change == Change.ItemOpacityHasChanged:
            header.setOpacity(self.opacity())
        elif change == Change.ItemVisibleHasChanged:
            header.setVisible(self.isVisible())
        elif change == Change.ItemSelectedHasChanged:
            header.update()
        return super().itemChange(change, value)

    # ------------------------------------------------------------------ hover
    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.set_state(hovered=True)
        self.hoverMoveEvent(event)

    def hoverMoveEvent(self, event) -> None:  # noqa: N802
        self.set_state(port_hovered=self.port_contains(event.pos()))
        index = self.neuron_at(event.pos())
        self.setToolTip(self._summary if index is None else self.neuron_text(index))

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.set_state(hovered=False, port_hovered=False)


def _span(start: int, stop: int) -> str:
    """Positions ``start`` to ``stop - 1`` as a person reads them: ``2–4``, or ``7`` alone."""
    return f"{start}" if stop - start == 1 else f"{start}–{stop - 1}"


def _grid_slot(index: int, n: int, whole: int, head: int, tail: int) -> int:
    """Where row or column ``index`` of ``n`` is drawn, in pitches from the first: as the layout's
    ``_axis`` places them (sides up to ``whole`` whole, else ``head`` and ``tail``), with every left-out
    index on the slot of the dots."""
    if n <= whole or index < head:
        return index
    if index >= n - tail:
        return head + 1 + index - (n - tail)
    return head


def _as_grid(picture: np.ndarray) -> np.ndarray:
    """A weight picture as a 2-D grid: a row of ``n`` (a column of neurons has no grid) in rows of ``ceil(sqrt n)``
    (NaN-padded), so that it reads as blocks rather than a hair-thin line."""
    a = np.asarray(picture, dtype=np.float32)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.shape[0] == 1 and a.shape[1] > 3:
        n = a.shape[1]
        width = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / width))
        out = np.full(rows * width, np.nan, dtype=np.float32)
        out[:n] = a[0]
        return out.reshape(rows, width)
    return a


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")


class LayerHeader(QGraphicsItem):
    """A card's name and subtitle on the card's face, stacked above the links that end on the card.

    Only its card makes, places and removes it. It takes no mouse buttons and no hover: the view picks
    the card under it (:meth:`LayerItem.header_contains`), so a press on a name selects and drags the layer.
    """

    def __init__(self, card: LayerItem) -> None:
        super().__init__()
        self.card = card
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(card.zValue() + HEADER_ABOVE)

    def band(self) -> QRectF:
        return self.card.header_rect().adjusted(-1.5, -1.5, 1.5, 0)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        rect = self.band()
        for chip, _value in self.card.value_chips():  # a followed sample's values beside a column's neurons
            rect = rect.united(chip.adjusted(-1, -1, 1, 1))
        return rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOW_DETAIL:
            return  # the card draws itself as a plain box with its name, and links as bands below it
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # the top band of the card's face exactly as the card draws it, over the links that cross it
        painter.save()
        painter.setClipRect(self.band())
        self.card.paint_card(painter)
        self.card.paint_header_text(painter)
        painter.restore()
        self.card.paint_value_chips(painter)

    def type(self) -> int:  # noqa: A003 - Qt's name
        return HEADER_TYPE

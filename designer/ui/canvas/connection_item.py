"""A connection on the canvas, drawn as what it is.

- Between small layers, neuron to neuron: every pair for a dense connection, only the pairs
  inside each window for a local one (:func:`designer.graph.local_links`). A single link can be
  hovered (its weight shows as a tooltip) and clicked (switched off or on); switched-off links
  are dashed and faint.
- Between big layers, and at any layer at low zoom, as a band: a filled quadrilateral with
  curved sides from the source's card to the target's, so that thousands of weights cost one path.
- A recurrent connection (``graph.flow().recurrent``) as a loop: an arc over a layer feeding
  itself, or a back edge curving from the source back over both layers to the target.
- A pooling connection (a local one that takes its window's maximum or mean) like a local one, each
  channel's window to its own channel, in dashed lines without weight colours (it has no weights,
  so no link of it can be switched off either), labelled ``max 2×2`` or ``mean 2``.

The item lives in scene coordinates (its position stays at the origin); its paths are
recomputed when either layer moves or changes, never on repaint.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.graph import (GATES, Connection, GraphError, connection_weight_count, local_geometry,
                            local_links)
from designer.ui import style

from .layer_item import LOW_DETAIL, DrawingStates, LayerItem

MAX_LINKS = 400  # beyond this many links a connection is drawn as a band
#: a trained link is drawn in one of this many widths: links of one sign and width share a pen and
#: one ``drawLines`` call, and new weights that leave every link's look as it was repaint nothing
WIDTH_STEPS = 8
PICK_TOLERANCE = 4.0
CONNECTION_TYPE = QGraphicsItem.UserType + 2
#: a pooling connection's links and band edge: the local connection's green, dashed
POOL_LINK = QColor(18, 150, 90)
POOL_BAND = QColor(18, 183, 106, 18)


class Link:
    """One neuron-to-neuron link as drawn."""

    __slots__ = ("target", "source", "enabled", "weight")

    def __init__(self, target: int, source: int, enabled: bool) -> None:
        self.target = target
        self.source = source
        self.enabled = enabled
        self.weight: float | None = None


def _weight_colour(w: float, alpha: int = 220) -> QColor:
    colour = QColor(style.WEIGHT_POSITIVE if w >= 0 else style.WEIGHT_NEGATIVE)
    colour.setAlpha(alpha)
    return colour


def _opaque(colour: QColor, alpha: int) -> QColor:
    """``colour`` at ``alpha`` over the canvas, as an opaque colour: blending each pixel of
    hundreds of translucent lines costs about three times as much as drawing them opaque."""
    a = alpha / 255.0
    bg = style.CANVAS_BACKGROUND
    return QColor(round(colour.red() * a + bg.red() * (1 - a)), round(colour.green() * a + bg.green() * (1 - a)),
                  round(colour.blue() * a + bg.blue() * (1 - a)))


def _arrow(tip: QPointF, direction: QPointF, size: float) -> QPolygonF:
    length = math.hypot(direction.x(), direction.y()) or 1.0
    ux, uy = direction.x() / length, direction.y() / length
    base = QPointF(tip.x() - ux * size, tip.y() - uy * size)
    return QPolygonF([tip, QPointF(base.x() - uy * size * 0.55, base.y() + ux * size * 0.55),
                      QPointF(base.x() + uy * size * 0.55, base.y() - ux * size * 0.55)])


def _band_path(s_frame: QRectF, s_area: QRectF, t_frame: QRectF, t_area: QRectF) -> QPainterPath:
    """A band from the source card's side that faces the target to the target's side facing back.

    Left to right as drawn usually; right to left, downwards or upwards when the person placed the
    target there, so that a serpentine layout still reads as a stream and never twists.
    """
    if t_frame.left() >= s_frame.right() or t_frame.right() <= s_frame.left():
        sign = 1.0 if t_frame.left() >= s_frame.right() else -1.0
        x0 = s_frame.right() if sign > 0 else s_frame.left()
        x1 = t_frame.left() if sign > 0 else t_frame.right()
        d = sign * max(40.0, abs(x1 - x0) * 0.5)
        a0, a1 = QPointF(x0, s_area.top()), QPointF(x0, s_area.bottom())
        b0, b1 = QPointF(x1, t_area.top()), QPointF(x1, t_area.bottom())
        step = QPointF(d, 0.0)
    else:
        sign = 1.0 if t_frame.center().y() >= s_frame.center().y() else -1.0
        y0 = s_frame.bottom() if sign > 0 else s_frame.top()
        y1 = t_frame.top() if sign > 0 else t_frame.bottom()
        d = sign * max(30.0, abs(y1 - y0) * 0.5)
        inset = 10.0
        a0, a1 = QPointF(s_frame.left() + inset, y0), QPointF(s_frame.right() - inset, y0)
        b0, b1 = QPointF(t_frame.left() + inset, y1), QPointF(t_frame.right() - inset, y1)
        step = QPointF(0.0, d)
    band = QPainterPath(a0)
    band.cubicTo(a0 + step, b0 - step, b0)
    band.lineTo(b1)
    band.cubicTo(b1 - step, a1 + step, a1)
    band.closeSubpath()
    return band


class ConnectionItem(DrawingStates, QGraphicsItem):
    """The drawing of one connection, found by its stable id (``item_id``)."""

    def __init__(self, connection: Connection, source: LayerItem, target: LayerItem, recurrent: bool) -> None:
        super().__init__()
        self.item_id = connection.id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.hovered = False
        self.hovered_link: Link | None = None
        self.problem = False
        self.painted_detail = ""
        self.mode = "band"  # "links", "band" or "loop"
        self._links_shown = True  # False while the zoom draws a "links" connection as its band
        self.links: list[Link] = []
        self.weights: np.ndarray | None = None
        self.mean_weight: float | None = None
        self._max_abs = 1.0
        self._link_looks: np.ndarray | None = None  # per link: width step * 2 + (1 if w >= 0)
        self._line_groups: dict[tuple[bool, bool], list[tuple[QPen, list[QLineF]]]] = {}
        self._lines: list[QLineF] = []
        self._ends = np.zeros((0, 4))
        self._band = QPainterPath()
        self._loop = QPainterPath()
        self._hit = QPainterPath()
        self._arrows: list[QPolygonF] = []
        self._label = ""
        self._label_at = QPointF()
        self._bounds = QRectF()
        self.rebuild(connection, source, target, recurrent)

    # ------------------------------------------------------------------ model
    def rebuild(self, connection: Connection, source: LayerItem, target: LayerItem, recurrent: bool) -> None:
        """Decide how to draw the connection (links, band, loop) and recompute everything."""
        self.connection = connection
        self.source_item = source
        self.target_item = target
        self.recurrent = recurrent
        self.links = []
        self.hovered_link = None
        self._label = ""
        conn = connection.connectivity
        src, dst = source.layer, target.layer
        if conn.kind == "local":
            try:
                geo = local_geometry(src.shape, conn)
                window = "×".join(map(str, geo.window))
                if conn.is_pool:
                    self._label = f"{conn.pool} {window}"
                else:
                    self._label = window + (" shared" if conn.shared else " local")
            except GraphError:
                self._label = f"{conn.pool} ?" if conn.is_pool else "local ?"
        if recurrent:
            self.mode = "loop"
        elif source.layout.complete and target.layout.complete and self._link_pairs_fit(connection, src, dst):
            self.mode = "links"
            disabled = {tuple(p) for p in connection.disabled}
            self.links = [Link(t, s, (t, s) not in disabled) for t, s in self._pairs(connection, src, dst)]
            if not self.links:
                self.mode = "band"  # a window that does not fit the target: validation says why
            # where each link starts and ends on its cards: fixed until a layer changes shape
            self._link_targets = np.array([link.target for link in self.links], dtype=np.int64)
            self._source_local = np.array([(source.neuron_center(link.source).x(),
                                             source.neuron_center(link.source).y()) for link in self.links]
                                          ).reshape(-1, 2)
            self._target_local = np.array([(target.neuron_center(link.target).x(),
                                             target.neuron_center(link.target).y()) for link in self.links]
                                          ).reshape(-1, 2)
        else:
            self.mode = "band"
        self.setZValue(2.0 if self.mode == "links" else 0.5)
        # Hundreds of lines are worth caching: a drag then redraws only the connections that move.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache if self.mode == "links"
                          else QGraphicsItem.CacheMode.NoCache)
        self._apply_weights()
        self.update_geometry()

    @staticmethod
    def _link_pairs_fit(connection: Connection, src, dst) -> bool:
        conn = connection.connectivity
        if conn.kind == "dense":
            return src.units * dst.units <= MAX_LINKS
        if conn.kind != "local":
            return False
        try:
            geo = local_geometry(src.shape, conn)
        except GraphError:
            return False
        # pooling reads a window on its own channel only
        return dst.units * geo.window_size * (1 if conn.is_pool else geo.in_channels) <= MAX_LINKS

    @staticmethod
    def _pairs(connection: Connection, src, dst) -> list[tuple[int, int]]:
        if connection.connectivity.kind == "dense":
            return [(t, s) for t in range(dst.units) for s in range(src.units)]
        try:
            return local_links(src.shape, dst.shape, connection.connectivity)
        except GraphError:
            return []  # a window that does not fit: validation names it; draw the band only

    @property
    def is_pool(self) -> bool:
        """A pooling connection: no weights, so nothing to colour and no link to switch off."""
        return self.connection.connectivity.is_pool

    def set_weights(self, weights: np.ndarray | None) -> bool:
        """Colour by the trained weights (``[target_units, source_units]``), or back to neutral with None.

        Repaints only if the drawing changes (training sends new weights twice a second, and most
        of the time no link changes its colour or width step). True if it repaints.
        """
        before = self._look()
        # no copy: training sends copies; a pooling connection has none (weights of an earlier design are ignored)
        self.weights = None if weights is None or self.is_pool else np.asarray(weights)
        self._apply_weights()
        if self._look() == before:
            return False
        self._line_groups.clear()
        self.update()
        return True

    def _look(self) -> tuple:
        """What the weights change in the drawing: each link's colour and width step, the band's tint."""
        mean = self.mean_weight
        tint = None if mean is None else (mean >= 0, int(120 * min(1.0, abs(mean) / self._max_abs)) // 8)
        return tint, None if self._link_looks is None else self._link_looks.tobytes()

    def _apply_weights(self) -> None:
        w = self.weights
        self.mean_weight = None
        self._link_looks = None
        for link in self.links:
            link.weight = None
        if w is None or w.size == 0 or self.is_pool:
            return
        self.mean_weight = float(w.mean(dtype=np.float64))
        self._max_abs = float(np.abs(w).max()) or 1.0
        if self.links:
            per_link = self._link_weights(w)
            if per_link is not None:
                for link, value in zip(self.links, per_link.tolist()):
                    link.weight = value
                self._max_abs = float(np.abs(per_link).max()) or 1.0
                self._link_looks = (self._width_step(np.abs(per_link)) * 2 + (per_link >= 0)).astype(np.int16)

    def _width_step(self, magnitude):
        """0 .. WIDTH_STEPS - 1: how thick a link of this weight magnitude is drawn."""
        return np.rint(np.minimum(magnitude / self._max_abs, 1.0) * (WIDTH_STEPS - 1)).astype(np.int16)

    def _link_weights(self, w: np.ndarray) -> np.ndarray | None:
        """Each drawn link's weight, read from the tensor in the layout the compiler documents."""
        src, dst = self.source_item.layer, self.target_item.layer
        t = np.array([link.target for link in self.links])
        s = np.array([link.source for link in self.links])
        conn = self.connection.connectivity
        try:
            if conn.kind != "local":
                gates = GATES.get(dst.kind, 1)
                if w.shape != (gates * dst.units, src.units):
                    return None
                # into an lstm/gru unit: the link's mean over the gates
                return w.reshape(gates, dst.units, src.units).mean(axis=0)[t, s]
            geo = local_geometry(src.shape, conn)
            in_size = math.prod(geo.in_spatial)
            out_channel, position = np.divmod(t, geo.positions)
            channel, flat = np.divmod(s, in_size)
            out_at = np.array(np.unravel_index(position, geo.out_spatial))
            in_at = np.array(np.unravel_index(flat, geo.in_spatial))
            offset = in_at - out_at * geo.stride + np.array(geo.pad_before)[:, None]
            tap = np.ravel_multi_index(tuple(offset), geo.window)
            if conn.shared:
                kernel = w.reshape(-1, geo.in_channels, geo.window_size)
                return kernel[out_channel, channel, tap]
            return w.reshape(dst.units, geo.in_channels * geo.window_size)[t, channel * geo.window_size + tap]
        except (GraphError, ValueError, IndexError):
            return None  # weights of another design: colour by the mean only

    # ------------------------------------------------------------------ geometry
    def update_geometry(self) -> None:
        """Recompute the paths from where the two layers are now (after a move or a change)."""
        self.prepareGeometryChange()
        source, target = self.source_item, self.target_item
        s_frame = source.mapRectToScene(source.frame)
        t_frame = target.mapRectToScene(target.frame)
        s_area = source.mapRectToScene(source.neuron_area())
        t_area = target.mapRectToScene(target.neuron_area())
        self._arrows = []
        self._lines = []
        self._line_groups.clear()
        self._ends = np.zeros((0, 4))
        self._loop = QPainterPath()
        # the band always exists: it is also what low zoom draws
        band = _band_path(s_frame, s_area, t_frame, t_area)
        self._band = band
        self._label_at = band.pointAtPercent(0.25) * 0.5 + band.pointAtPercent(0.75) * 0.5
        if self._label:
            # where the cards leave too little room, the label rides above the band, clear of the ports
            gap = max(t_frame.left() - s_frame.right(), s_frame.left() - t_frame.right())
            label_w = QFontMetricsF(style.ui_font(7.5, bold=True)).horizontalAdvance(self._label) + 12
            if gap < label_w + 28:
                top = band.boundingRect().top()
                self._label_at = QPointF(self._label_at.x(), top - 11)
        bounds = band.boundingRect()
        if self.mode == "loop":
            p0 = source.mapToScene(source.port_center())
            p3 = target.mapToScene(target.input_center())
            # out of the port, up over the cards and down into the target's input side; drawn
            # below the cards, so the part behind a card is hidden
            # the control height that puts the arc's apex 34 px above the higher card
            apex = min(s_frame.top(), t_frame.top()) - 34.0
            top = (apex - (p0.y() + p3.y()) / 8.0) * 8.0 / 6.0
            # reach out sideways by more than half a card, so the arc comes down beside the cards
            c1 = QPointF(p0.x() + max(80.0, s_frame.width() * 0.8), top)
            c2 = QPointF(p3.x() - max(80.0, t_frame.width() * 0.8), top)
            loop = QPainterPath(p0)
            loop.cubicTo(c1, c2, p3)
            self._loop = loop
            self._arrows = [_arrow(p3, p3 - c2, 9.0)]
            self._label_at = loop.pointAtPercent(0.5)
            self._label = "t−1"
            stroker = QPainterPathStroker()
            stroker.setWidth(10.0)
            self._hit = stroker.createStroke(loop)
            bounds = loop.boundingRect().united(self._arrows[0].boundingRect())
        elif self.mode == "links":
            s_pos, t_pos = source.scenePos(), target.scenePos()
            centres = np.hstack([self._source_local + (s_pos.x(), s_pos.y()),
                                 self._target_local + (t_pos.x(), t_pos.y())])
            d = centres[:, 2:] - centres[:, :2]
            length = np.hypot(d[:, 0], d[:, 1])
            length[length == 0] = 1.0
            u = d / length[:, None]
            r_s, r_t = source.layout.radius, target.layout.radius + 1.0
            ends = np.hstack([centres[:, :2] + u * r_s, centres[:, 2:] - u * r_t])
            self._ends = ends
            self._lines = [QLineF(a, b, c, e) for a, b, c, e in ends.tolist()]
            # each arrowhead points along the mean direction of the links arriving at its neuron
            ids, first, group = np.unique(self._link_targets, return_index=True, return_inverse=True)
            mean = np.zeros((len(ids), 2))
            np.add.at(mean, group.ravel(), u)
            mean /= np.maximum(np.hypot(mean[:, 0], mean[:, 1]), 1e-9)[:, None]
            r = target.layout.radius
            tips = centres[first, 2:] - mean * r
            self._arrows = [_arrow(QPointF(x, y), QPointF(ux, uy), 4.5)
                            for (x, y), (ux, uy) in zip(tips.tolist(), mean.tolist())]
            if len(ends):
                bounds = bounds.united(QRectF(QPointF(ends[:, [0, 2]].min(), ends[:, [1, 3]].min()),
                                              QPointF(ends[:, [0, 2]].max(), ends[:, [1, 3]].max())))
        if self._label:
            bounds = bounds.united(QRectF(self._label_at.x() - 50, self._label_at.y() - 9, 100, 18))
        self._bounds = bounds.adjusted(-12, -14, 12, 12)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(self._bounds)

    def shape(self) -> QPainterPath:
        if self.mode == "loop":
            return QPainterPath(self._hit)
        if self.mode == "band":
            return QPainterPath(self._band)
        path = QPainterPath()
        if len(self._ends):
            path.addRect(self._bounds)
        return path

    def shows_links(self) -> bool:
        """Whether single links are on screen (not at a zoom that draws them as the band)."""
        return self.mode == "links" and self._links_shown

    def contains(self, point: QPointF) -> bool:
        """Only the drawn parts are hit: a link, the band or the loop, not the space between links."""
        if self.mode == "links" and self._links_shown:
            return self._nearest_link(point) is not None
        if self.mode == "links":
            return self._band.contains(point)
        return self.shape().contains(point)

    def collidesWithPath(self, path: QPainterPath, mode=Qt.ItemSelectionMode.IntersectsItemShape) -> bool:  # noqa: N802
        area = path.boundingRect()
        smallest = min(self.source_item.frame.width(), self.target_item.frame.width())
        if area.width() < smallest and area.height() < smallest:
            # a point query (hover, a click: the view asks with a one-pixel path): what is drawn there
            return self.contains(area.center())
        # a rubber band takes a connection only with both of its layers
        return (path.contains(self.source_item.sceneBoundingRect().center())
                and path.contains(self.target_item.sceneBoundingRect().center()))

    def link_line(self, link: Link) -> QLineF:
        """Where ``link`` is drawn, in scene coordinates (rim of the source neuron to rim of the target)."""
        return QLineF(self._lines[self.links.index(link)])

    def link_at(self, point: QPointF, tolerance: float = PICK_TOLERANCE) -> Link | None:
        """The drawn link nearest to ``point`` within ``tolerance`` (scene units), if any; none of a pooling
        connection, whose links have no weight to show or switch off (a click there selects the connection)."""
        if self.is_pool:
            return None
        return self._nearest_link(point, tolerance)

    def _nearest_link(self, point: QPointF, tolerance: float = PICK_TOLERANCE) -> Link | None:
        if not self.shows_links() or not len(self._ends):
            return None
        e = self._ends
        p = np.array([point.x(), point.y()])
        a, b = e[:, :2], e[:, 2:]
        ab = b - a
        denom = (ab * ab).sum(axis=1)
        denom[denom == 0] = 1.0
        t = np.clip(((p - a) * ab).sum(axis=1) / denom, 0.0, 1.0)
        nearest = a + ab * t[:, None]
        dist = np.hypot(*(nearest - p).T)
        i = int(dist.argmin())
        return self.links[i] if dist[i] <= tolerance else None

    def link_text(self, link: Link) -> str:
        text = f"{self.source_item.layer.name}[{link.source}] → {self.target_item.layer.name}[{link.target}]"
        if link.weight is not None:
            text += f": w = {link.weight:.3f}"
        if not link.enabled:
            text += " (switched off)"
        return text

    def summary_text(self) -> str:
        src, dst = self.source_item.layer, self.target_item.layer
        kind = "recurrent" if self.recurrent else self.connection.connectivity.kind
        if self.is_pool and not self.recurrent:
            kind = f"{self.connection.connectivity.pool} pooling"
        text = f"{self.item_id}: {kind}, {src.name} → {dst.name}"
        if self._label and not self.recurrent:
            text += f" ({self._label})"
        if self.is_pool:
            text += ", no weights"
        else:
            try:
                text += f", {connection_weight_count(src, dst, self.connection):,} weights"
            except GraphError:
                pass  # a window that does not fit: the problems panel says so
        if self.connection.disabled:
            n = len(self.connection.disabled)
            text += f", {n} link{'s' if n != 1 else ''} switched off"
        if self.mean_weight is not None:
            text += f", mean w = {self.mean_weight:.3f}"
        return text

    # ------------------------------------------------------------------ painting
    def link_pen(self, link: Link, selected: bool = False) -> QPen:
        """How a link is drawn: dashed and faint when switched off, by its weight once trained."""
        if not link.enabled:
            pen = QPen(style.LINK_DISABLED, 1.0, Qt.PenStyle.DashLine)
        elif self.is_pool:
            colour = style.PROBLEM if self.problem else (style.ACCENT if selected else
                                                         _opaque(POOL_LINK, self._crowd_alpha(200)))
            pen = QPen(colour, 1.2 if selected else 1.0, Qt.PenStyle.DashLine)
        elif link.weight is not None:
            pen = self._weighted_pen(link.weight >= 0, int(self._width_step(abs(link.weight))))
        elif self.problem:
            pen = QPen(style.PROBLEM, 1.2)
        elif selected:
            pen = QPen(style.ACCENT, 1.3)
        else:
            pen = QPen(self._neutral_link_colour(), 1.0)
        if link is self.hovered_link:
            pen.setColor(style.HOVER)
            pen.setWidthF(pen.widthF() + 1.2)
            pen.setStyle(Qt.PenStyle.SolidLine)
        # Cosmetic: a link is as thick on screen at any zoom, and Qt strokes thin cosmetic lines on
        # its fast path (a 1-unit scaled pen takes the general stroker: ten times slower here).
        pen.setCosmetic(True)
        return pen

    def _weighted_pen(self, positive: bool, step: int) -> QPen:
        colour = _opaque(_weight_colour(1.0 if positive else -1.0), self._crowd_alpha(230))
        pen = QPen(colour, 0.6 + 2.6 * step / (WIDTH_STEPS - 1))
        pen.setCosmetic(True)
        return pen

    def _crowd_alpha(self, alpha: int) -> int:
        # many links fade, so that a dense bundle reads as a texture and single links stay visible
        return int(max(alpha * 0.3, min(alpha, alpha * math.sqrt(16 / max(len(self.links), 1)))))

    def _neutral_link_colour(self) -> QColor:
        return _opaque(style.LINK, self._crowd_alpha(style.LINK.alpha()))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= LOW_DETAIL)
        selected = self.isSelected()
        if self.mode == "loop":
            self.painted_detail = "loop"
            self._paint_loop(painter, selected, lod)
        elif self.mode == "links" and lod >= LOW_DETAIL and len(self.links) <= MAX_LINKS * lod * lod:
            # links thin out into a band as the zoom shrinks them: 400 links at 100 %, 100 at 50 %
            self._links_shown = True
            self.painted_detail = "links"
            self._paint_links(painter, selected)
        else:
            self._links_shown = False
            self.painted_detail = "band"
            self._paint_band(painter, selected, lod)

    def _paint_links(self, painter: QPainter, selected: bool) -> None:
        for pen, lines in self._groups(selected):
            painter.setPen(pen)
            painter.drawLines(lines)
        if self.hovered_link is not None and self.hovered_link in self.links:
            painter.setPen(self.link_pen(self.hovered_link, selected))
            painter.drawLine(self._lines[self.links.index(self.hovered_link)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.PROBLEM if self.problem else (style.ACCENT if selected else
                                                             (POOL_LINK if self.is_pool else style.LINK)))
        for arrow in self._arrows:
            painter.drawPolygon(arrow)
        if self.is_pool and self._label:
            # its links look like a local connection's: the label says what it does with them
            self._paint_label(painter, style.ACCENT if selected else POOL_LINK)

    def _groups(self, selected: bool) -> list[tuple[QPen, list[QLineF]]]:
        """The links by pen (switched off, neutral, and by sign and width step, thin to thick),
        made again only after the lines or the links' looks change, not for every paint."""
        key = (selected, self.problem)
        groups = self._line_groups.get(key)
        if groups is not None:
            return groups
        off, neutral, trained = [], [], {}
        looks = self._link_looks.tolist() if self._link_looks is not None else None
        for i, (line, link) in enumerate(zip(self._lines, self.links)):
            if not link.enabled:
                off.append(line)
            elif looks is None:
                neutral.append(line)
            else:
                trained.setdefault(looks[i], []).append(line)
        groups = []
        if neutral:
            groups.append((self.link_pen(Link(0, 0, True), selected), neutral))
        if off:
            groups.append((self.link_pen(Link(0, 0, False), selected), off))
        for look in sorted(trained):
            groups.append((self._weighted_pen(bool(look % 2), look // 2), trained[look]))
        self._line_groups[key] = groups
        return groups

    def _paint_band(self, painter: QPainter, selected: bool, lod: float) -> None:
        local = self.connection.connectivity.kind == "local"
        fill = QColor(POOL_BAND if self.is_pool else style.BAND_LOCAL if local else style.BAND)
        edge = QColor(style.BAND_LOCAL_EDGE if local else style.BAND_EDGE)
        dash = Qt.PenStyle.DashLine if self.is_pool else Qt.PenStyle.SolidLine
        if self.mean_weight is not None:
            fill = _weight_colour(self.mean_weight, 40 + int(120 * min(1.0, abs(self.mean_weight) / self._max_abs)))
            edge = _weight_colour(self.mean_weight, 200)
        if self.hovered:
            fill.setAlpha(min(255, fill.alpha() + 30))
        pen_w = 1.0 / max(lod, 0.05) if lod < LOW_DETAIL else 1.0
        if self.problem:
            painter.setPen(QPen(style.PROBLEM, 2.5 * pen_w, dash))
        elif selected:
            painter.setPen(QPen(style.ACCENT, 2.0 * pen_w, dash))
        else:
            painter.setPen(QPen(edge, (1.4 if self.is_pool else 1.0) * pen_w, dash))
        painter.setBrush(fill)
        painter.drawPath(self._band)
        if self._label and lod >= LOW_DETAIL:
            self._paint_label(painter, edge)

    def _paint_loop(self, painter: QPainter, selected: bool, lod: float) -> None:
        colour = style.PROBLEM if self.problem else (style.ACCENT if selected else style.RECURRENT)
        if self.mean_weight is not None and not (self.problem or selected):
            colour = _weight_colour(self.mean_weight)
        width = 2.6 if (self.hovered or selected) else 1.8
        if self.problem:
            painter.setPen(QPen(style.PROBLEM_SOFT, 8.0))
            painter.drawPath(self._loop)
        painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._loop)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        for arrow in self._arrows:
            painter.drawPolygon(arrow)
        if lod >= LOW_DETAIL:
            self._paint_label(painter, colour)

    def _paint_label(self, painter: QPainter, colour: QColor) -> None:
        painter.setFont(style.ui_font(7.5, bold=True))
        metrics = painter.fontMetrics()
        w = metrics.horizontalAdvance(self._label) + 12
        rect = QRectF(self._label_at.x() - w / 2, self._label_at.y() - 8, w, 16)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(style.CARD)
        painter.drawRoundedRect(rect, 8, 8)
        painter.setPen(colour.darker(130) if colour.alpha() == 255 else style.TEXT_MUTED)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._label)

    def type(self) -> int:  # noqa: A003 - Qt's name
        return CONNECTION_TYPE

    # ------------------------------------------------------------------ hover
    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.hoverMoveEvent(event)

    def hoverMoveEvent(self, event) -> None:  # noqa: N802
        link = self.link_at(event.scenePos())
        self.set_state(hovered=True, hovered_link=link)
        self.setToolTip(self.link_text(link) if link is not None else self.summary_text())

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.set_state(hovered=False, hovered_link=None)

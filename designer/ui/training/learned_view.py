"""The "what the network learned" view: the model's answers drawn over the data, live.

- two inputs (``plane``): a decision-boundary heatmap (classification: each cell the colour of the
  class the model predicts there, paler where it is unsure, and a line where the prediction changes)
  or an output heatmap (regression) over the data's range, with the training points (filled) and
  validation points (outlined) on top;
- sequences: a few validation sequences with the true next value (circle) and the predicted one (cross);
- images: a grid of validation images, each with the predicted class, green when right, red when wrong;
- anything else: predicted against true on validation samples.

The worker computes the predictions (:mod:`.predictions`); this module only draws them.

A click on a validation sample (a ring on the plane, an image, a sequence's curve at a step, a point of the
table) asks to follow it through the network (``LearnedView.sample_clicked(index, step)``: an index into the
info's ``inputs``; ``step`` is the time step clicked on a sequence, else -1); a click on empty ground or
Escape asks to stop (index -1). The controller answers with :meth:`LearnedView.mark_sample`, which rings the
sample followed.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QGraphicsItem, QGridLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

try:  # the dataset panel's class colours, so a class looks the same everywhere
    from designer.ui.dataset_panel import CLASS_COLOURS
except ImportError:  # pragma: no cover - only while the panel is being built
    CLASS_COLOURS = ("#3E6FD8", "#E8590C", "#12B76A", "#C11574", "#7A5AF8", "#F79009")

RIGHT = "#12B76A"
WRONG = "#D92D20"
#: the ring around a followed sample, and how near (in pixels) a click must fall to pick a sample
FOLLOWED = "#7A5AF8"
PICK_PIXELS = 10.0


def class_colours(count: int) -> np.ndarray:
    """``[count, 3]`` RGB floats 0..1, the panel's colours first, then evenly spaced hues."""
    colours = []
    for i in range(max(count, 1)):
        if i < len(CLASS_COLOURS):
            c = QColor(CLASS_COLOURS[i])
        else:
            c = QColor.fromHsvF((i * 0.618) % 1.0, 0.65, 0.85)
        colours.append((c.redF(), c.greenF(), c.blueF()))
    return np.array(colours, dtype=np.float32)


#: how much of its class's colour a cell gets (the rest is white): where the model is certain (a
#: step unit always is), and where it is a coin toss. Certain is not the full colour, so the training
#: points (that colour, rimmed in white) stay visible on it; a coin toss still shows the predicted
#: class faintly, so each side of the boundary keeps its hue however unsure the model is.
SURE_STRENGTH = 0.6
UNSURE_STRENGTH = 0.12
BOUNDARY_PEN = (29, 36, 51, 210)


def boundary_image(probabilities: np.ndarray) -> np.ndarray:
    """RGBA uint8 ``[h, w, 4]``: each cell the colour of its likeliest class, paler the less sure it is."""
    classes = probabilities.shape[-1]
    colours = class_colours(classes)
    best = probabilities.argmax(axis=-1)
    confidence = probabilities.max(axis=-1)
    # 1/classes is a coin toss (palest), 1 is certain (strongest)
    chance = 1.0 / classes
    sure = np.clip((confidence - chance) / max(1e-6, 1 - chance), 0, 1)[..., None]
    strength = UNSURE_STRENGTH + (SURE_STRENGTH - UNSURE_STRENGTH) * sure
    rgb = colours[best] * strength + (1 - strength)
    rgba = np.empty(probabilities.shape[:-1] + (4,), dtype=np.uint8)
    rgba[..., :3] = np.round(rgb * 255)
    rgba[..., 3] = 255
    return rgba


def boundary_segments(probabilities: np.ndarray, margin: np.ndarray | None = None) -> np.ndarray:
    """``[n, 2, 2]`` line segments, in ``(column, row)`` cell coordinates, where the likeliest class changes.

    Marching squares on each class's lead over the best other class (zero on the boundary), with
    the crossing interpolated along each cell edge: a smooth line for graded outputs (sigmoid,
    softmax). Hard outputs (0 or 1) could only give steps half-way between cells: a step unit's
    ``margin`` (its weighted sum, class 1 above 0) is used instead where the worker sends it.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] < 2 or p.shape[1] < 2:
        return np.zeros((0, 2, 2))
    classes = p.shape[-1]
    if margin is not None and classes == 2 and np.shape(margin) == p.shape[:2]:
        fields = [np.asarray(margin, dtype=np.float64)]
    elif classes == 2:
        fields = [p[..., 1] - p[..., 0]]  # one field: both classes share the one boundary
    else:
        fields = []
        for k in range(classes):
            others = np.delete(p, k, axis=-1).max(axis=-1)
            fields.append(p[..., k] - others)
    segments = [_contour(field) for field in fields]
    return np.concatenate(segments) if segments else np.zeros((0, 2, 2))


def _contour(field: np.ndarray) -> np.ndarray:
    """Segments ``[n, 2, 2]`` (column, row) of the line ``field == 0`` between ``> 0`` and ``<= 0``."""
    inside = field > 0
    rows, cols = field.shape
    # crossings on horizontal edges (cell (i, j) to (i, j + 1)) and vertical ones ((i, j) to (i + 1, j))
    h = inside[:, :-1] != inside[:, 1:]
    a, b = field[:, :-1], field[:, 1:]
    th = np.where(h, a / np.where(h, a - b, 1.0), 0.0)
    hx, hy = np.arange(cols - 1)[None, :] + th, np.broadcast_to(np.arange(rows)[:, None], th.shape)
    v = inside[:-1, :] != inside[1:, :]
    a, b = field[:-1, :], field[1:, :]
    tv = np.where(v, a / np.where(v, a - b, 1.0), 0.0)
    vx, vy = np.broadcast_to(np.arange(cols)[None, :], tv.shape), np.arange(rows - 1)[:, None] + tv
    # per square of four cells: its edges top, right, bottom, left, and where each is crossed
    crossed = np.stack([h[:-1, :], v[:, 1:], h[1:, :], v[:, :-1]])
    points = np.stack([np.stack([hx[:-1, :], hy[:-1, :]], -1), np.stack([vx[:, 1:], vy[:, 1:]], -1),
                       np.stack([hx[1:, :], hy[1:, :]], -1), np.stack([vx[:, :-1], vy[:, :-1]], -1)])
    count = crossed.sum(axis=0)
    out = []
    two = count == 2
    if two.any():
        first = crossed.argmax(axis=0)
        last = 3 - crossed[::-1].argmax(axis=0)
        i, j = np.nonzero(two)
        out.append(np.stack([points[first[i, j], i, j], points[last[i, j], i, j]], axis=1))
    four = count == 4
    if four.any():
        i, j = np.nonzero(four)
        centre = (field[i, j] + field[i, j + 1] + field[i + 1, j] + field[i + 1, j + 1]) > 0
        # the centre on the top-left corner's side joins it to the bottom-right: cut off the other two
        # corners (top-right: top & right, bottom-left: bottom & left); otherwise cut off these two
        joined = centre == inside[i, j]
        pairs = np.where(joined[:, None, None], [[0, 1], [2, 3]], [[3, 0], [1, 2]])
        for k in range(2):
            out.append(np.stack([points[pairs[:, k, 0], i, j], points[pairs[:, k, 1], i, j]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2, 2))



def _clicked_point(plot, event):
    """Where in the plot's data a left click fell, or None (another button, outside the plot, nobody listening)."""
    if event.button() != Qt.MouseButton.LeftButton or plot.on_click is None:
        return None
    vb = plot.getPlotItem().vb
    if not vb.sceneBoundingRect().contains(event.scenePos()):
        return None
    return vb.mapSceneToView(event.scenePos())

class PlaneView(pg.PlotWidget):
    """Heatmap of the model over the plane of the two inputs, with the data on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("learned_plane")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.addItem(self.image)
        # where the predicted class changes: the decision boundary as a line over the colours
        self.boundary = pg.PlotCurveItem(pen=pg.mkPen(*BOUNDARY_PEN, width=1.6), connect="pairs", antialias=True)
        self.boundary.setZValue(-5)
        self.addItem(self.boundary)
        self.train_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen(255, 255, 255, 200, width=0.8))
        self.val_points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(255, 255, 255, 0))
        # The points never move during a run; cached as pixmaps they are not drawn again (in Python,
        # point by point) each time the heatmap under them changes.
        for points in (self.train_points, self.val_points):
            points.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.addItem(points)
        self._hollow = pg.mkBrush(255, 255, 255, 160)
        self._rim = pg.mkPen(255, 255, 255, 200, width=0.8)
        self.getPlotItem().setAspectLocked(False)
        self.getPlotItem().setMenuEnabled(False)
        # the validation sample followed through the network: a ring around it
        self.followed = pg.ScatterPlotItem(size=17, pen=pg.mkPen(FOLLOWED, width=2.6), brush=pg.mkBrush(0, 0, 0, 0))
        self.followed.setZValue(20)
        self.addItem(self.followed)
        self.classification = True
        self.bounds = (0.0, 1.0, 0.0, 1.0)
        self.x_val = np.zeros((0, 2))
        self._placed: tuple | None = None
        self._data_key: tuple | None = None  # what set_info last drew (see _data_key)
        self.on_click = None  # set by LearnedView: called with (index, step)
        self.scene().sigMouseClicked.connect(self._clicked)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.on_click is None:
            return
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return  # on an axis
        self.on_click(self.sample_at(vb.mapSceneToView(event.scenePos())), -1)

    def sample_at(self, point) -> int:
        """The validation point within PICK_PIXELS of ``point`` (the view's coordinates), nearest first; -1: none."""
        if not len(self.x_val):
            return -1
        px, py = self.getPlotItem().vb.viewPixelSize()
        d = np.hypot((self.x_val[:, 0] - point.x()) / max(px, 1e-12), (self.x_val[:, 1] - point.y()) / max(py, 1e-12))
        best = int(np.argmin(d))
        return best if d[best] <= PICK_PIXELS else -1

    def mark_sample(self, index: int | None, _step: int | None = None) -> None:
        if index is None or not 0 <= index < len(self.x_val):
            self.followed.setData([], [])
        else:
            self.followed.setData(pos=self.x_val[index:index + 1])

    def set_info(self, info: dict[str, Any]) -> None:
        # Another run on the same data (the usual case) changes nothing here: it goes on straight
        # to the heatmap. Relabelling the axes and re-adding 1,500 points would cost the new run's
        # first moments (the loop waits for the GIL while the window does it).
        key = _data_key(info)
        if key == self._data_key:
            return
        self._data_key = key
        self.x_val = np.asarray(info["x_val"], dtype=np.float64).reshape(-1, 2)
        self.followed.setData([], [])
        self.classification = bool(info["classification"])
        x0, x1, y0, y1 = info["bounds"]
        self.bounds = (x0, x1, y0, y1)
        names = info.get("feature_names") or []
        self.setLabel("bottom", names[0] if len(names) > 0 else "x1")
        self.setLabel("left", names[1] if len(names) > 1 else "x2")
        self.image.clear()
        self.boundary.setData([], [])
        self._placed = None  # the image's shape when it was last placed over the bounds
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        if self.classification:
            # one brush and pen per class, shared by its points: the scatter renders each symbol once
            colours = (class_colours(max(2, info["num_classes"])) * 255).astype(int)
            brushes = [pg.mkBrush(*c) for c in colours]
            pens = [pg.mkPen(*c, width=1.6) for c in colours]
            self.train_points.setData(pos=info["x_train"], brush=[brushes[int(c)] for c in info["y_train"]],
                                      pen=self._rim)
            self.val_points.setData(pos=info["x_val"], pen=[pens[int(c)] for c in info["y_val"]],
                                    brush=self._hollow)
        else:
            # regression: points coloured by their true value on the heatmap's colour map
            y = np.asarray(info["y_train"], dtype=np.float64)
            values = np.ravel(y[:, 0] if y.ndim > 1 else y)
            self._value_range = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
            # a dark rim: on the same colour map as the background a well-fitted point would vanish
            self.train_points.setData(pos=info["x_train"], brush=self._value_brushes(info["y_train"]),
                                      pen=pg.mkPen(30, 30, 30, 170, width=0.8))
            self.val_points.setData(pos=info["x_val"], pen=[pg.mkPen(b.color(), width=1.6) for b in
                                                            self._value_brushes(info["y_val"])],
                                    brush=self._hollow)

    def _value_brushes(self, y: np.ndarray) -> list:
        """Brushes from the colour map in 32 steps, shared between points of the same step."""
        values = np.ravel(y[:, 0] if np.ndim(y) > 1 else y)
        low, high = self._value_range
        lut = pg.colormap.get("viridis").getLookupTable(nPts=32)
        shared = [pg.mkBrush(*c) for c in lut]
        index = np.clip(((values - low) / max(high - low, 1e-9) * 31).round().astype(int), 0, 31)
        return [shared[i] for i in index]

    def set_predictions(self, payload: dict[str, Any]) -> None:
        if "probabilities" in payload:
            probabilities = payload["probabilities"]
            self.image.setImage(boundary_image(probabilities), autoLevels=False)
            segments = boundary_segments(probabilities, payload.get("margin"))
            self._draw_boundary(segments, probabilities.shape[1], probabilities.shape[0])
        elif "values" in payload:
            low, high = getattr(self, "_value_range", (None, None))
            values = payload["values"]
            if low is None:
                low, high = float(np.nanmin(values)), float(np.nanmax(values))
            lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
            self.image.setImage(values, lut=lut, levels=(low, high if high > low else low + 1e-6))
            self.boundary.setData([], [])
        # placing the image moves it in the scene (geometry change, index update): only when needed
        placed = (self.image.width(), self.image.height(), self.bounds)
        if placed != self._placed:
            self._placed = placed
            self.image.setRect(self._image_rect(self.image.width(), self.image.height()))

    def _image_rect(self, columns: int, rows: int) -> QRectF:
        """Where the image goes: each pixel centred on the point it was computed at.

        The worker evaluates the model at ``linspace(low, high, n)``, both ends included, so the
        pixels reach half a cell beyond the bounds (the view shows the bounds; the rest is cut off).
        """
        x0, x1, y0, y1 = self.bounds
        dx = (x1 - x0) / max(columns - 1, 1)
        dy = (y1 - y0) / max(rows - 1, 1)
        return QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)

    def _draw_boundary(self, segments: np.ndarray, columns: int, rows: int) -> None:
        """The boundary's segments (cell coordinates, see :func:`boundary_segments`) in the data's units."""
        if not len(segments):
            self.boundary.setData([], [])
            return
        x0, x1, y0, y1 = self.bounds
        x = x0 + segments[..., 0].ravel() * (x1 - x0) / max(columns - 1, 1)
        y = y0 + segments[..., 1].ravel() * (y1 - y0) / max(rows - 1, 1)
        self.boundary.setData(x, y, connect="pairs")


def _data_key(info: dict[str, Any]) -> tuple:
    """What the plane draws of a run's info: equal keys draw the same picture."""
    arrays = tuple(np.asarray(info[k]).tobytes() for k in ("x_train", "y_train", "x_val", "y_val"))
    return (bool(info["classification"]), tuple(info["bounds"]), tuple(info.get("feature_names") or []),
            int(info.get("num_classes") or 0)) + arrays


class SequenceView(pg.PlotWidget):
    """A few validation sequences: the steps, the true next value and the predicted one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("learned_sequences")
        self.setLabel("bottom", "step")
        self.addLegend(offset=(10, 10))
        self.curves: list[pg.PlotDataItem] = []
        self.truth = pg.ScatterPlotItem(symbol="o", size=10, name="true next value")
        self.predicted = pg.ScatterPlotItem(symbol="x", size=12, name="predicted")
        self.addItem(self.truth)
        self.addItem(self.predicted)
        self.steps = 0
        self.sequences = np.zeros((0, 0, 1))
        # the sequence followed through the network, and the step shown
        self.step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(FOLLOWED, width=1.5, style=Qt.PenStyle.DashLine))
        self.step_line.setVisible(False)
        self.addItem(self.step_line)
        self.followed_index: int | None = None
        self.on_click = None
        self.scene().sigMouseClicked.connect(self._clicked)

    def _clicked(self, event) -> None:
        point = _clicked_point(self, event)
        if point is not None:
            self.on_click(*self.sample_at(point))

    def sample_at(self, point) -> tuple[int, int]:
        """The sequence whose curve passes within PICK_PIXELS of ``point`` at the nearest step, and that step."""
        if not len(self.sequences) or not self.steps:
            return -1, -1
        step = int(np.clip(round(point.x()), 0, self.steps - 1))
        _, py = self.getPlotItem().vb.viewPixelSize()
        d = np.abs(self.sequences[:, step, 0] - point.y()) / max(py, 1e-12)
        best = int(np.argmin(d))
        return (best, step) if d[best] <= PICK_PIXELS * 1.5 else (-1, -1)

    def mark_sample(self, index: int | None, step: int | None = None) -> None:
        self.followed_index = index
        for i, curve in enumerate(self.curves):
            width = 3.2 if i == index else 1.5
            curve.setPen(pg.mkPen(*self._colours[i], width=width))
        followed = index is not None and 0 <= index < len(self.curves)
        self.step_line.setVisible(followed and step is not None)
        if followed and step is not None:
            self.step_line.setValue(step)

    def set_info(self, info: dict[str, Any]) -> None:
        for curve in self.curves:
            self.removeItem(curve)
        self.curves = []
        sequences = info["sequences"]  # [n, time, features]
        self.sequences = np.asarray(sequences, dtype=np.float64)
        self.steps = sequences.shape[1]
        colours = (class_colours(len(sequences)) * 255).astype(int)
        self._colours = colours
        self.step_line.setVisible(False)
        for i, seq in enumerate(sequences):
            curve = self.plot(np.arange(self.steps), seq[:, 0], pen=pg.mkPen(*colours[i], width=1.5))
            self.curves.append(curve)
        y_true = np.asarray(info["y_true"], dtype=np.float64).reshape(len(sequences), -1)[:, 0]
        self.truth.setData(x=np.full(len(y_true), self.steps), y=y_true,
                           brush=[pg.mkBrush(*c) for c in colours], pen=pg.mkPen("w"))
        self.predicted.setData([], [])

    def set_predictions(self, payload: dict[str, Any]) -> None:
        values = np.asarray(payload.get("values"), dtype=np.float64)
        if values.ndim == 0:
            return
        values = values.reshape(len(values), -1)[:, 0]
        self.predicted.setData(x=np.full(len(values), self.steps), y=values,
                               pen=[pg.mkPen(*c, width=2) for c in self._colours[:len(values)]])


class ImagesView(QWidget):
    """A grid of validation images with the predicted class under each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("learned_images")
        self.grid = QGridLayout(self)
        self.grid.setSpacing(4)
        self.pictures: list[QLabel] = []
        self.captions: list[QLabel] = []
        self.class_names: list[str] = []
        self.truth: np.ndarray = np.zeros(0, dtype=int)
        self.on_click = None
        self.followed_index: int | None = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton and self.on_click is not None:
            self.on_click(self.sample_at(event.position().toPoint()), -1)
        super().mousePressEvent(event)

    def sample_at(self, pos) -> int:
        """The image (or its caption) at ``pos`` (this widget's coordinates); -1 for none."""
        for i, (picture, caption) in enumerate(zip(self.pictures, self.captions)):
            if picture.geometry().contains(pos) or caption.geometry().contains(pos):
                return i
        return -1

    def mark_sample(self, index: int | None, _step: int | None = None) -> None:
        self.followed_index = index
        for i, picture in enumerate(self.pictures):
            picture.setStyleSheet(f"border: 2px solid {FOLLOWED}; border-radius: 3px;" if i == index
                                  else "border: 2px solid transparent;")

    def set_info(self, info: dict[str, Any]) -> None:
        for widget in self.pictures + self.captions:
            widget.deleteLater()
        self.pictures, self.captions = [], []
        self.class_names = list(info.get("class_names") or [])
        self.truth = np.asarray(info["y_true"]).astype(int)
        images = np.asarray(info["images"], dtype=np.float32)
        columns = int(np.ceil(np.sqrt(len(images)))) or 1
        for i, image in enumerate(images):
            picture = QLabel(self)
            picture.setPixmap(_pixmap(image, 56))
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setStyleSheet("border: 2px solid transparent;")
            picture.setToolTip("Click to follow this image through the network")
            picture.setCursor(Qt.CursorShape.PointingHandCursor)
            caption = QLabel("…", self)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            r, c = divmod(i, columns)
            self.grid.addWidget(picture, 2 * r, c)
            self.grid.addWidget(caption, 2 * r + 1, c)
            self.pictures.append(picture)
            self.captions.append(caption)

    def _name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def set_predictions(self, payload: dict[str, Any]) -> None:
        predicted = np.asarray(payload.get("predicted", []), dtype=int)
        confidence = np.asarray(payload.get("confidence", []), dtype=float)
        for i, caption in enumerate(self.captions[:len(predicted)]):
            right = i < len(self.truth) and predicted[i] == self.truth[i]
            caption.setText(f"{self._name(predicted[i])} {confidence[i]:.0%}")
            caption.setStyleSheet(f"color: {RIGHT if right else WRONG}")
            caption.setToolTip(f"true: {self._name(int(self.truth[i]))}" if i < len(self.truth) else "")

    def captions_text(self) -> list[str]:
        return [c.text() for c in self.captions]


class TableView(pg.PlotWidget):
    """Predicted against true on validation samples (regression), or class against class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("learned_table")
        self.setLabel("bottom", "true")
        self.setLabel("left", "predicted")
        self.points = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(62, 111, 216, 150), pen=None)
        self.diagonal = pg.PlotDataItem(pen=pg.mkPen(150, 150, 150, style=Qt.PenStyle.DashLine))
        self.addItem(self.diagonal)
        self.addItem(self.points)
        self.followed = pg.ScatterPlotItem(size=15, pen=pg.mkPen(FOLLOWED, width=2.4), brush=pg.mkBrush(0, 0, 0, 0))
        self.addItem(self.followed)
        self.truth = np.zeros(0)
        self.jitter = np.zeros(0)
        self.shown = np.zeros((0, 2))
        self.on_click = None
        self.followed_index: int | None = None
        self.scene().sigMouseClicked.connect(self._clicked)

    def _clicked(self, event) -> None:
        point = _clicked_point(self, event)
        if point is None:
            return
        index = -1
        if len(self.shown):
            px, py = self.getPlotItem().vb.viewPixelSize()
            d = np.hypot((self.shown[:, 0] - point.x()) / max(px, 1e-12), (self.shown[:, 1] - point.y()) / max(py, 1e-12))
            best = int(np.argmin(d))
            index = best if d[best] <= PICK_PIXELS else -1
        self.on_click(index, -1)

    def mark_sample(self, index: int | None, _step: int | None = None) -> None:
        self.followed_index = index
        if index is None or not 0 <= index < len(self.shown):
            self.followed.setData([], [])
        else:
            self.followed.setData(pos=self.shown[index:index + 1])

    def set_info(self, info: dict[str, Any]) -> None:
        truth = np.asarray(info["y_true"], dtype=np.float64)
        self.truth = truth.reshape(len(truth), -1)[:, 0] if truth.ndim > 1 else truth
        # classes are integers: a little jitter shows how many points share a cell
        self.jitter = (np.random.default_rng(0).random((len(self.truth), 2)) - 0.5) * (
            0.3 if info["classification"] else 0.0)
        low, high = (float(self.truth.min()), float(self.truth.max())) if len(self.truth) else (0.0, 1.0)
        self.diagonal.setData([low, high], [low, high])
        self.points.setData([], [])

    def set_predictions(self, payload: dict[str, Any]) -> None:
        if "predicted" in payload:
            values = np.asarray(payload["predicted"], dtype=np.float64)
        else:
            values = np.asarray(payload.get("values"), dtype=np.float64)
            values = values.reshape(len(values), -1)[:, 0]
        n = min(len(values), len(self.truth))
        self.shown = np.stack([self.truth[:n] + self.jitter[:n, 0], values[:n] + self.jitter[:n, 1]], axis=1)
        self.points.setData(self.shown[:, 0], self.shown[:, 1])
        if self.followed_index is not None:
            self.mark_sample(self.followed_index)


def _pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A grey (``[h, w]``) or colour (``[h, w, 3]``) float image, scaled to its range, as a pixmap."""
    low, high = float(image.min()), float(image.max())
    scaled = np.clip((image - low) / (high - low if high > low else 1.0) * 255, 0, 255).astype(np.uint8)
    if scaled.ndim == 2:
        data = np.ascontiguousarray(scaled)
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8)
    else:
        data = np.ascontiguousarray(scaled[..., :3])
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation)


class LearnedView(QWidget):
    """Switches between the pictures above by the kind of data the run trains on."""

    #: a sample was clicked (an index into the info's ``inputs``; the step clicked on a sequence, else -1),
    #: or -1: a click on empty ground, or Escape
    sample_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("learned_view")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.hint = QLabel("Train the network to see what it learns.", self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #667085")
        self.plane = PlaneView(self)
        self.sequences = SequenceView(self)
        self.images = ImagesView(self)
        self.table = TableView(self)
        self.stack = QStackedWidget(self)
        for page in (self.hint, self.plane, self.sequences, self.images, self.table):
            self.stack.addWidget(page)
        self.caption = QLabel(self)
        self.caption.setObjectName("learned_caption")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #667085")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.caption)
        self.current: Any = None
        self.updates = 0
        for page in (self.plane, self.sequences, self.images, self.table):
            page.on_click = self._sample_clicked
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(lambda: self.sample_clicked.emit(-1, -1))

    def _sample_clicked(self, index: int, step: int) -> None:
        self.sample_clicked.emit(int(index), int(step))

    def mark_sample(self, index: int | None, step: int | None = None) -> None:
        """Ring the sample followed through the network (None: none)."""
        for page in (self.plane, self.sequences, self.images, self.table):
            page.mark_sample(index if page is self.current else None, step)

    def clear(self, hint: str | None = None) -> None:
        if hint:
            self.hint.setText(hint)
        self.stack.setCurrentWidget(self.hint)
        self.current = None
        self.caption.clear()

    def set_info(self, info: dict[str, Any]) -> None:
        page = {"plane": self.plane, "sequence": self.sequences, "images": self.images,
                "table": self.table}.get(info.get("kind"))
        if page is None:
            self.clear()
            return
        page.set_info(info)
        self.current = page
        self.updates = 0
        self.stack.setCurrentWidget(page)
        self.caption.setText(_caption(info))
        self.caption.setToolTip(_caption(info))

    def set_predictions(self, payload: dict[str, Any]) -> None:
        if self.current is None:
            return
        self.current.set_predictions(payload)
        self.updates += 1


def _caption(info: dict[str, Any]) -> str:
    kind = info.get("kind")
    if kind == "plane":
        if info["classification"]:
            text = "Colour: predicted class (paler: unsure) · line: boundary · dots: training · rings: validation"
        else:
            text = "Colour: the network's output · dots: training · rings: validation"
        return text + " · click a ring to follow it through the network"
    if kind == "sequence":
        return ("Validation sequences · circles: true next value · crosses: predicted · click a curve at a step "
                "to follow it through the network")
    if kind == "images":
        return "Validation images with the predicted class: green right, red wrong · click one to follow it"
    return "Validation samples: predicted against true (dashed: exact) · click one to follow it"

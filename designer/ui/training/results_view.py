"""The classification-results panel: the validation set's confusion matrix, per-class accuracy, and the samples
behind a cell.

The matrix is a heat grid: a row per actual class, a column per predicted class, each cell's count written in
it and coloured by its share of the row (green on the diagonal, where the network is right; red off it, where it
confuses one class for another). Beside it, each class's accuracy (the share of its samples predicted right).
A click on a cell shows its samples (at most :data:`MAX_SAMPLES`): images as thumbnails, points of a 2-D plane
highlighted among all the validation points, sequences as small sparklines, table rows as text.

The training controller sends one ``results_changed`` payload per epoch of a classification run (``{"matrix",
"class_names", "per_class_accuracy", "predicted", "actual", "inputs", "kind"}``); this module only draws it.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (QLabel, QPlainTextEdit, QScrollArea, QSizePolicy, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

#: the most samples a cell shows
MAX_SAMPLES = 48
RIGHT = QColor("#12B76A")
WRONG = QColor("#D92D20")
ACCENT = QColor("#2F6FEB")
TEXT = QColor("#1D2433")
MUTED = QColor("#667085")
GRID_LINE = QColor("#EAECF0")
#: pixels of a cell: at least (smaller hides the counts), at most
CELL_MIN, CELL_MAX = 14, 64
THUMBNAIL = 44
#: pixels the samples need beside the grid; a narrower panel puts them under it
SAMPLES_MIN_WIDTH = 300


def _name(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)


class ConfusionGrid(QWidget):
    """The heat grid with the class names on its axes and each class's accuracy on the right."""

    #: a cell was clicked: (actual class, predicted class)
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusion_grid")
        self.setAccessibleName("Confusion matrix")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.accuracy = np.zeros(0)
        self.class_names: list[str] = []
        self.selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None

    def set_matrix(self, matrix: Any, class_names: list[str], accuracy: Any = None) -> None:
        self.matrix = np.asarray(matrix, dtype=np.int64).reshape(len(matrix), -1) if len(matrix) else \
            np.zeros((0, 0), dtype=np.int64)
        self.class_names = [str(n) for n in class_names]
        if accuracy is None:
            totals = self.matrix.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                accuracy = np.where(totals > 0, np.diag(self.matrix) / np.maximum(totals, 1), np.nan)
        self.accuracy = np.asarray(accuracy, dtype=np.float64)
        if self.selected is not None and max(self.selected) >= len(self.matrix):
            self.selected = None
        self.updateGeometry()
        self.update()

    def classes(self) -> int:
        return len(self.matrix)

    def cell_text(self, actual: int, predicted: int) -> str:
        """What a cell says (its count)."""
        return str(int(self.matrix[actual, predicted]))

    # ------------------------------------------------------------------ geometry
    def _label_width(self) -> int:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(n) for n in self.class_names), default=0)
        return min(widest, 120) + 8

    def _accuracy_width(self) -> int:
        metrics = self.fontMetrics()
        return max(metrics.horizontalAdvance("100%") + 56, self._bold_metrics().horizontalAdvance("accuracy") + 12)

    def _bold_metrics(self):
        from PySide6.QtGui import QFontMetrics

        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        return QFontMetrics(bold)

    def _layout(self) -> tuple[int, int, int]:
        """(left, top, cell size): the grid's corner and its cells' size in pixels."""
        metrics = self.fontMetrics()
        line = metrics.height()
        classes = max(self.classes(), 1)
        left = line + 6 + self._label_width()  # the rotated "actual" title, then the names
        top = 2 * line + 8  # the "predicted" title, then the names
        available_w = self.width() - left - self._accuracy_width() - 8
        available_h = self.height() - top - 8
        cell = int(min(available_w, available_h) / classes)
        return left, top, max(CELL_MIN, min(CELL_MAX, cell))

    def _titles_span(self) -> int:
        """Pixels the axis titles need along the grid."""
        bold = self._bold_metrics()
        return max(bold.horizontalAdvance("predicted"), bold.horizontalAdvance("actual")) + 8

    def cell_rect(self, actual: int, predicted: int) -> QRect:
        left, top, cell = self._layout()
        return QRect(left + predicted * cell, top + actual * cell, cell, cell)

    def cell_at(self, point: QPoint | QPointF) -> tuple[int, int] | None:
        left, top, cell = self._layout()
        x, y = point.x() - left, point.y() - top
        if x < 0 or y < 0:
            return None
        column, row = int(x // cell), int(y // cell)
        if row < self.classes() and column < self.classes():
            return row, column
        return None

    def _size_for(self, cell: int) -> QSize:
        metrics = self.fontMetrics()
        classes = max(self.classes(), 2)
        side = max(classes * cell, self._titles_span())
        left = metrics.height() + 6 + self._label_width()
        return QSize(left + side + self._accuracy_width() + 8, 2 * metrics.height() + 16 + side)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        classes = max(self.classes(), 2)
        return self._size_for(48 if classes <= 4 else 40 if classes <= 6 else 28 if classes <= 12 else CELL_MIN + 4)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        classes = max(self.classes(), 2)
        return self._size_for(max(CELL_MIN, 28 if classes <= 6 else CELL_MIN))

    # ------------------------------------------------------------------ painting
    def cell_colour(self, actual: int, predicted: int) -> QColor:
        """Green on the diagonal, red off it; stronger the larger the cell's share of its row."""
        total = int(self.matrix[actual].sum())
        share = self.matrix[actual, predicted] / total if total else 0.0
        base = QColor(RIGHT if actual == predicted else WRONG)
        if not self.matrix[actual, predicted]:
            return QColor("#FFFFFF")
        base.setAlphaF(0.12 + 0.78 * math.sqrt(share))
        return base

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        classes = self.classes()
        if not classes:
            painter.end()
            return
        left, top, cell = self._layout()
        metrics = painter.fontMetrics()
        line = metrics.height()
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        # axis titles
        painter.setPen(MUTED)
        painter.setFont(bold)
        span = max(classes * cell, self._titles_span())  # titles centred on the grid, whole even over 2 cells
        middle_x, middle_y = left + classes * cell // 2, top + classes * cell // 2
        painter.drawText(QRect(middle_x - span // 2, 2, span, line), int(Qt.AlignmentFlag.AlignCenter), "predicted")
        painter.save()
        painter.translate(2, middle_y)
        painter.rotate(-90)
        painter.drawText(QRect(-span // 2, 0, span, line), int(Qt.AlignmentFlag.AlignCenter), "actual")
        painter.restore()
        painter.drawText(QRect(left + classes * cell + 8, line + 4, 200, line),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), "accuracy")
        painter.setFont(self.font())
        label_width = self._label_width()
        # class names: columns along the top, rows down the left
        for i in range(classes):
            name = _name(self.class_names, i)
            painter.setPen(TEXT)
            column_text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, cell - 2)
            painter.drawText(QRect(left + i * cell, line + 4, cell, line), int(Qt.AlignmentFlag.AlignCenter),
                             column_text)
            row_text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_width - 6)
            painter.drawText(QRect(left - label_width, top + i * cell, label_width - 6, cell),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), row_text)
        # cells
        counts_fit = cell >= metrics.horizontalAdvance(str(int(self.matrix.max(initial=0)))) + 4
        for a in range(classes):
            for p in range(classes):
                rect = self.cell_rect(a, p)
                colour = self.cell_colour(a, p)
                painter.fillRect(rect, colour)
                painter.setPen(QPen(GRID_LINE, 1))
                painter.drawRect(rect)
                if counts_fit:
                    strong = colour.alphaF() > 0.6 and colour != QColor("#FFFFFF")
                    painter.setPen(QColor("white") if strong else (TEXT if self.matrix[a, p] else MUTED))
                    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), self.cell_text(a, p))
        # hover and selection outlines
        for which, pen in ((self._hover, QPen(QColor("#475467"), 1.5)), (self.selected, QPen(ACCENT, 2.5))):
            if which is not None and max(which) < classes:
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self.cell_rect(*which).adjusted(1, 1, -1, -1))
        # per-class accuracy: a bar and the percentage beside each row
        bar_left = left + classes * cell + 8
        bar_width = 40
        for a in range(classes):
            value = self.accuracy[a] if a < len(self.accuracy) else math.nan
            y = top + a * cell
            bar = QRectF(bar_left, y + cell / 2 - 4, bar_width, 8)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#F2F4F7"))
            painter.drawRoundedRect(bar, 3, 3)
            if math.isfinite(value):
                painter.setBrush(RIGHT if value >= 0.5 else WRONG)
                painter.drawRoundedRect(QRectF(bar.left(), bar.top(), bar.width() * value, bar.height()), 3, 3)
            painter.setPen(TEXT)
            text = f"{round(value * 100)}%" if math.isfinite(value) else "–"
            painter.drawText(QRect(int(bar.right()) + 4, y, 48, cell),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()

    # ------------------------------------------------------------------ mouse
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        hover = self.cell_at(event.position())
        if hover != self._hover:
            self._hover = hover
            self.setToolTip(self._cell_tooltip(*hover) if hover else "")
            self.setCursor(Qt.CursorShape.PointingHandCursor if hover else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        cell = self.cell_at(event.position())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = cell
            self.update()
            self.cell_clicked.emit(*cell)
            event.accept()
            return
        super().mousePressEvent(event)

    def _cell_tooltip(self, actual: int, predicted: int) -> str:
        count = int(self.matrix[actual, predicted])
        total = int(self.matrix[actual].sum())
        a, p = _name(self.class_names, actual), _name(self.class_names, predicted)
        share = f" ({count / total:.0%} of the {a} samples)" if total else ""
        verdict = "right" if actual == predicted else "confused"
        return (f"actual {a}, predicted {p}: {count} sample{'s' if count != 1 else ''}{share}, {verdict}.\n"
                "Click to see them.")


class ThumbnailGrid(QWidget):
    """Small pictures with a caption under each, flowing over the width: images, or sequences as sparklines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cell_thumbnails")
        self.pixmaps: list[QPixmap] = []
        self.sequences: list[np.ndarray] = []
        self.captions: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_images(self, images: list[np.ndarray], captions: list[str]) -> None:
        low = min((float(np.nanmin(i)) for i in images), default=0.0)
        high = max((float(np.nanmax(i)) for i in images), default=1.0)
        self.pixmaps = [_pixmap(image, low, high, THUMBNAIL) for image in images]
        self.sequences = []
        self.captions = list(captions)
        self._resize()

    def set_sequences(self, sequences: list[np.ndarray], captions: list[str]) -> None:
        self.pixmaps = []
        self.sequences = [np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in sequences]
        self.captions = list(captions)
        self._resize()

    def count(self) -> int:
        return len(self.captions)

    def _tile(self) -> QSize:
        line = self.fontMetrics().height()
        width = THUMBNAIL + 12 if self.pixmaps else 96
        height = (THUMBNAIL if self.pixmaps else 40) + line + 8
        return QSize(width, height)

    def _columns(self, width: int) -> int:
        return max(1, width // self._tile().width())

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        rows = math.ceil(self.count() / self._columns(width)) if self.count() else 0
        return rows * self._tile().height() + 4

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        width = max(self.width(), 4 * self._tile().width())
        return QSize(width, self.heightForWidth(width))

    def _resize(self) -> None:
        self.setMinimumHeight(self.heightForWidth(max(self.width(), self._tile().width())))
        self.updateGeometry()
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.setMinimumHeight(self.heightForWidth(self.width()))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tile = self._tile()
        columns = self._columns(self.width())
        line = self.fontMetrics().height()
        for i, caption in enumerate(self.captions):
            row, column = divmod(i, columns)
            x, y = column * tile.width() + 4, row * tile.height() + 4
            picture = QRect(x, y, tile.width() - 8, tile.height() - line - 8)
            if self.pixmaps:
                pixmap = self.pixmaps[i]
                target = QRect(QPoint(0, 0), pixmap.size())
                target.moveCenter(picture.center())
                painter.drawPixmap(target, pixmap)
                painter.setPen(QPen(GRID_LINE, 1))
                painter.drawRect(target)
            elif i < len(self.sequences):
                self._draw_sequence(painter, QRectF(picture), self.sequences[i])
            painter.setPen(MUTED)
            painter.drawText(QRect(x, picture.bottom() + 2, tile.width() - 8, line),
                             int(Qt.AlignmentFlag.AlignCenter), caption)
        painter.end()

    @staticmethod
    def _draw_sequence(painter: QPainter, rect: QRectF, sequence: np.ndarray) -> None:
        painter.setPen(QPen(GRID_LINE, 1))
        painter.setBrush(QColor("#FCFCFD"))
        painter.drawRect(rect)
        finite = sequence[np.isfinite(sequence)]
        if not finite.size:
            return
        low, high = float(finite.min()), float(finite.max())
        span = high - low if high > low else 1.0
        steps = len(sequence)
        colours = [ACCENT, QColor("#E8590C"), RIGHT, QColor("#C11574")]
        inner = rect.adjusted(2, 3, -2, -3)
        for feature in range(min(sequence.shape[1], len(colours))):
            path = QPainterPath()
            for t in range(steps):
                value = sequence[t, feature]
                point = QPointF(inner.left() + inner.width() * (t / max(steps - 1, 1)),
                                inner.bottom() - inner.height() * ((value - low) / span if np.isfinite(value) else 0))
                path.lineTo(point) if t else path.moveTo(point)
            painter.setPen(QPen(colours[feature], 1.3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)


def _pixmap(image: np.ndarray, low: float, high: float, size: int) -> QPixmap:
    """A grey ``[h, w]`` or colour ``[h, w, c]`` float image, scaled by the shown images' range, as a pixmap."""
    image = np.asarray(image, dtype=np.float32)
    scaled = np.clip((image - low) / (high - low if high > low else 1.0) * 255, 0, 255)
    scaled = np.nan_to_num(scaled).astype(np.uint8)
    if scaled.ndim == 3 and scaled.shape[-1] == 1:
        scaled = scaled[..., 0]
    if scaled.ndim == 3 and scaled.shape[-1] < 3:  # two channels: show the first
        scaled = scaled[..., 0]
    if scaled.ndim == 2:
        data = np.ascontiguousarray(scaled)
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8)
    else:
        data = np.ascontiguousarray(scaled[..., :3])
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(q.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation)


class PointsView(pg.PlotWidget):
    """Every validation point, faint in its class's colour, with a cell's samples highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("cell_points")
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().setMenuEnabled(False)
        self.all_points = pg.ScatterPlotItem(size=5, pen=None)
        self.highlighted = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#1D2433", width=1.5),
                                              brush=pg.mkBrush(255, 255, 255, 0))
        self.addItem(self.all_points)
        self.addItem(self.highlighted)

    def set_points(self, points: np.ndarray, actual: np.ndarray, shown: np.ndarray, classes: int) -> None:
        from .learned_view import class_colours

        colours = class_colours(max(classes, 1))
        brushes = [pg.mkBrush(int(r * 255), int(g * 255), int(b * 255), 70) for r, g, b in colours]
        cls = np.clip(np.asarray(actual, dtype=int), 0, len(brushes) - 1)
        self.all_points.setData(points[:, 0], points[:, 1], brush=[brushes[c] for c in cls])
        chosen = points[shown] if len(shown) else np.zeros((0, 2))
        solid = [pg.mkBrush(int(r * 255), int(g * 255), int(b * 255), 230) for r, g, b in colours]
        self.highlighted.setData(chosen[:, 0], chosen[:, 1], brush=[solid[c] for c in cls[shown]] if len(shown) else [])


class ResultsView(QWidget):
    """The confusion grid, per-class accuracy and a clicked cell's samples."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results_view")
        self.payload: dict[str, Any] | None = None
        self.shown_samples: list[int] = []
        self.cell_total = 0
        self._pending = False
        self.caption = QLabel(self)
        self.caption.setObjectName("results_caption")
        self.caption.setWordWrap(True)
        self.caption.setContentsMargins(8, 4, 8, 4)
        self.caption.setStyleSheet("color: #475467")
        self.grid = ConfusionGrid(self)
        self.grid.cell_clicked.connect(self.show_cell)
        self.cell_caption = QLabel(self)
        self.cell_caption.setObjectName("cell_caption")
        self.cell_caption.setWordWrap(True)
        self.cell_caption.setContentsMargins(8, 4, 8, 4)
        self.cell_caption.setTextFormat(Qt.TextFormat.PlainText)
        self.thumbnails = ThumbnailGrid()
        self.thumbnail_scroll = QScrollArea()
        self.thumbnail_scroll.setWidgetResizable(True)
        self.thumbnail_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.thumbnail_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.thumbnail_scroll.setWidget(self.thumbnails)
        self.points = PointsView()
        self.points_text = QLabel()
        self.points_text.setObjectName("cell_points_text")
        self.points_text.setWordWrap(True)
        self.points_text.setTextFormat(Qt.TextFormat.PlainText)
        self.points_text.setContentsMargins(6, 2, 6, 2)
        self.points_text.setStyleSheet("color: #475467")
        self.points_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        points_page = QWidget()
        points_layout = QVBoxLayout(points_page)
        points_layout.setContentsMargins(0, 0, 0, 0)
        points_layout.setSpacing(0)
        points_layout.addWidget(self.points, 1)
        points_layout.addWidget(self.points_text)
        self.rows_text = QPlainTextEdit()
        self.rows_text.setObjectName("cell_rows")
        self.rows_text.setReadOnly(True)
        self.rows_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.empty = QLabel("Click a cell of the matrix to see its samples.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #98A2B3")
        self.samples = QStackedWidget()
        for page in (self.empty, self.thumbnail_scroll, points_page, self.rows_text):
            self.samples.addWidget(page)
        self._points_page = points_page
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.cell_caption)
        right_layout.addWidget(self.samples, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(right)
        # the grid keeps the room it asks for; the samples take the rest
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.splitter, 1)
        self.clear()

    # ------------------------------------------------------------------ feeding
    def clear(self, hint: str | None = None) -> None:
        self.payload = None
        self.shown_samples, self.cell_total = [], 0
        self.grid.selected = None
        self.grid.set_matrix(np.zeros((0, 0)), [])
        self.caption.setText(hint or "Train a classification network to see, after each epoch, which classes "
                                     "it gets right and which it confuses, on the validation data.")
        self.cell_caption.setText("")
        self.samples.setCurrentWidget(self.empty)
        self.splitter.setVisible(False)

    def set_results(self, payload: Mapping[str, Any]) -> None:
        """One epoch's results (the controller's ``results_changed``); a selected cell keeps showing its samples."""
        self.payload = dict(payload)
        self._apply()  # the grid is cheap; a cell's samples wait until the panel shows (see _apply)

    def _apply(self) -> None:
        payload = self.payload
        if payload is None:
            return
        matrix = np.asarray(payload["matrix"], dtype=np.int64)
        names = [str(n) for n in payload.get("class_names") or range(len(matrix))]
        self.grid.set_matrix(matrix, names, payload.get("per_class_accuracy"))
        self._orient()  # (more classes: a larger grid)
        total = int(matrix.sum())
        right = int(np.trace(matrix)) if total else 0
        epoch = payload.get("epoch")
        when = f"Epoch {epoch}: " if epoch is not None else "The stored weights: "
        whole = payload.get("total")
        of = f" (the first {total} of {whole})" if isinstance(whole, int) and whole > total else ""
        self.caption.setText(f"{when}{right} of {total} validation samples right ({right / total:.0%}){of}. "
                             f"Click a cell to see its samples." if total else f"{when}no validation samples.")
        self.caption.setToolTip("The confusion matrix of the validation data: a row per actual class, a column per "
                                "predicted class; the diagonal (green) counts the right answers, the rest (red) "
                                "what is taken for what. Beside it, each class's accuracy.")
        self.splitter.setVisible(True)
        if self.grid.selected is not None and self.isVisible():
            self.show_cell(*self.grid.selected)
        elif self.grid.selected is not None:
            self._pending = True

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._orient()

    def _orient(self) -> None:
        """The samples beside the grid where the panel is wide enough for both, else under it."""
        wide = self.width() >= self.grid.sizeHint().width() + SAMPLES_MIN_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            if not wide:  # under it: the grid at most as tall as it needs, at most half the height
                total = max(self.splitter.height(), 1)
                grid = int(min(self.grid.sizeHint().height(), max(self.grid.minimumSizeHint().height(), total // 2)))
                self.splitter.setSizes([grid, max(total - grid, 80)])

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._orient()
        if self._pending:
            self._pending = False
            if self.payload is not None and self.grid.selected is not None:
                self.show_cell(*self.grid.selected)

    # ------------------------------------------------------------------ a cell's samples
    def show_cell(self, actual: int, predicted: int) -> None:
        """Show the samples of one cell: at most :data:`MAX_SAMPLES`, in the validation set's order."""
        payload = self.payload
        if payload is None:
            return
        from designer.insight.results import samples_in_cell  # (here: the engine loads after the window shows)

        self.grid.selected = (actual, predicted)
        self.grid.update()
        indices = samples_in_cell(payload["predicted"], payload["actual"], actual, predicted)
        self.cell_total = len(indices)
        shown = indices[:MAX_SAMPLES]
        self.shown_samples = [int(i) for i in shown]
        names = self.grid.class_names
        a, p = _name(names, actual), _name(names, predicted)
        verdict = "right" if actual == predicted else "wrong"
        count = (f"{len(indices)} sample{'s' if len(indices) != 1 else ''}" +
                 (f", the first {len(shown)} shown" if len(shown) < len(indices) else ""))
        self.cell_caption.setText(f"Actual {a}, predicted {p} ({verdict}): {count}.")
        inputs = payload.get("inputs")
        kind = payload.get("kind", "table")
        if inputs is None or not len(indices):
            self.samples.setCurrentWidget(self.empty)
            self.empty.setText("No samples in this cell." if not len(indices) else "No inputs to show.")
            return
        inputs = np.asarray(inputs)
        captions = [f"#{i}" for i in self.shown_samples]
        if kind == "images":
            self.thumbnails.set_images([inputs[i] for i in shown], captions)
            self.samples.setCurrentWidget(self.thumbnail_scroll)
        elif kind == "sequence":
            self.thumbnails.set_sequences([inputs[i] for i in shown], captions)
            self.samples.setCurrentWidget(self.thumbnail_scroll)
        elif kind == "plane":
            points = inputs.reshape(len(inputs), -1)[:, :2].astype(np.float64)
            self.points.set_points(points, np.asarray(payload["actual"]), np.asarray(shown, dtype=np.int64),
                                   len(self.grid.matrix))
            listed = ", ".join(f"#{i} ({points[i, 0]:.2f}, {points[i, 1]:.2f})" for i in self.shown_samples[:4])
            more = f" and {len(indices) - 4} more" if len(indices) > 4 else ""
            self.points_text.setText(f"Ringed: {listed}{more}")
            self.points_text.setToolTip("\n".join(f"#{i}: ({points[i, 0]:.3g}, {points[i, 1]:.3g})"
                                                  for i in self.shown_samples))
            self.samples.setCurrentWidget(self._points_page)
        else:
            rows = inputs.reshape(len(inputs), -1)
            self.rows_text.setPlainText("\n".join(
                f"#{i}: " + ", ".join(f"{v:.3g}" for v in rows[i][:16]) + (", …" if rows.shape[1] > 16 else "")
                for i in self.shown_samples))
            self.samples.setCurrentWidget(self.rows_text)

    def shown_text(self) -> list[str]:
        """What the samples area lists: captions of thumbnails, or the rows' lines."""
        page = self.samples.currentWidget()
        if page is self.thumbnail_scroll:
            return list(self.thumbnails.captions)
        if page is self.rows_text:
            return self.rows_text.toPlainText().splitlines()
        if page is self._points_page:
            return [self.points_text.text()]
        return []

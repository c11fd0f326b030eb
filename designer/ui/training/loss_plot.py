"""The live loss plot: training and validation loss (and accuracy) by epoch, earlier runs faint.

Runs picked in the runs table are drawn over it (:meth:`LossPlot.set_overlay`): each in a colour of its own,
its validation loss dashed and its training loss dotted, named in a legend line of their own; the live
run's curves stay as they are.

Where the learning rate changes during a run (a schedule, or a change made while training), a thin
strip under the plots draws it on a logarithmic axis, from the batches as they come and from a
stored run's ``learning_rate`` list; a rate that stays as set is not drawn (a flat line says nothing).

Each curve is one persistent ``PlotDataItem`` fed from a growing numpy buffer with ``setData``
on a 5 Hz timer, and only when data arrived, so a run of any length costs at most five redraws a
second, not one per batch (each redraw holds the GIL the training loop needs); clip to
view and automatic peak downsampling keep a redraw cheap at 100,000 points. The timer runs only
while a run is live: a ticking timer on an idle window wastes power (and fails the tests).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QToolBar, QVBoxLayout, QWidget

#: milliseconds between redraws while a run is live (the worker reports as often): 5 a second
#: moves the curves smoothly, and every redraw runs Python that holds the GIL the loop needs
REDRAW_INTERVAL_MS = 200

#: seconds of training at its pace so far that the x axis leaves room for when it grows
X_LOOKAHEAD_S = 3.0

TRAIN_COLOUR = QColor(31, 119, 180)
VALIDATION_COLOUR = QColor(255, 127, 14)
BATCH_COLOUR = QColor(31, 119, 180, 70)
MARKER_COLOUR = QColor(120, 120, 120)
RATE_COLOUR = QColor(44, 160, 44)
ACCURACY_TICKS = [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")]
#: pixels of the left axes (equal for both plots, so their x axes line up; the legend starts after them)
AXIS_WIDTH = 52
#: pixels of the accuracy strip under the loss plot, at most
ACCURACY_HEIGHT = 96
#: pixels of the learning-rate strip at the bottom, at most
RATE_HEIGHT = 72
#: a learning rate that changes by less than this fraction over a run is drawn as not changing
RATE_CHANGE = 1e-6
#: pixels across the dot that stands for a curve of one point (see _dot_when_alone)
LONE_POINT_SIZE = 7
#: the colours of runs drawn over the plot (none of them the live curves' blue, orange or green)
OVERLAY_COLOURS = (QColor("#7A5AF8"), QColor("#C11574"), QColor("#0E9384"), QColor("#8C564B"),
                   QColor("#667085"), QColor("#B54708"), QColor("#1D2939"), QColor("#DD2590"))


class Series:
    """A growing ``(x, y)`` buffer with amortised O(1) appends and zero-copy views."""

    __slots__ = ("_x", "_y", "size", "version", "low", "high")

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0
        self.version = 0  # changes with every append or clear: the plot redraws only changed curves
        self.low, self.high = math.inf, -math.inf  # of the finite y values, kept as they arrive

    def append(self, x: float, y: float) -> None:
        if self.size == self._x.size:
            # a new array each time it grows: views handed to the plot earlier stay valid
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1
        self.version += 1
        if math.isfinite(y):
            self.low, self.high = min(self.low, y), max(self.high, y)

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """Append many points at once (a stored run of 100,000 epochs: no Python loop per point)."""
        xs, ys = np.asarray(xs, dtype=np.float64).ravel(), np.asarray(ys, dtype=np.float64).ravel()
        n = min(xs.size, ys.size)
        if not n:
            return
        end = self.size + n
        if end > self._x.size:
            capacity = max(end, 2 * self._x.size)
            grown_x, grown_y = np.empty(capacity), np.empty(capacity)
            grown_x[: self.size], grown_y[: self.size] = self.x, self.y
            self._x, self._y = grown_x, grown_y  # new arrays: views handed out earlier stay valid
        self._x[self.size:end], self._y[self.size:end] = xs[:n], ys[:n]
        self.size = end
        self.version += 1
        finite = ys[:n][np.isfinite(ys[:n])]
        if finite.size:
            self.low, self.high = min(self.low, float(finite.min())), max(self.high, float(finite.max()))

    def clear(self) -> None:
        self.size = 0
        self.version += 1
        self.low, self.high = math.inf, -math.inf

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


def _run_curve(run: dict[str, Any], key: str, epochs: np.ndarray) -> np.ndarray | None:
    """A stored run's curve ``key``, as long as its epochs go, or None when it holds no finite value."""
    values = _finite(run.get(key))[:len(epochs)]
    return values if len(values) and np.isfinite(values).any() else None


def _widened(bounds: tuple[float, float], values: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` widened to take in the finite ``values``."""
    finite = values[np.isfinite(values)]
    return min(bounds[0], float(finite.min())), max(bounds[1], float(finite.max()))


def _finite(values: Any) -> np.ndarray:
    """A history list (numbers or ``None``) as floats, ``None`` as NaN so the curve breaks there."""
    return np.array([np.nan if v is None else float(v) for v in (values or [])], dtype=np.float64)


def rate_changes(low: float, high: float) -> bool:
    """Whether learning rates from ``low`` to ``high`` change at all (beyond rounding)."""
    return math.isfinite(low) and math.isfinite(high) and high - low > RATE_CHANGE * max(abs(high), 1e-300)


def _curve(plot: pg.PlotItem, colour: QColor, width: float = 2.0, name: str | None = None,
           style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> pg.PlotDataItem:
    item = plot.plot(pen=pg.mkPen(colour, width=width, style=style), name=name)
    item.setClipToView(True)
    item.setDownsampling(auto=True, method="peak")
    # The live buffers hold finite values only (add_batches and add_epoch skip the others), so the
    # curve connects all its points and skips pyqtgraph's per-redraw finiteness check.
    item.setSkipFiniteCheck(True)
    item.setData(connect="all")
    return item


def _dot_when_alone(item: pg.PlotDataItem, points: int) -> None:
    """Draw ``item``'s point as a dot while the curve has a single one: pyqtgraph draws a line of one point as
    nothing, so the first epoch's validation loss did not show, nor any curve of a run of one epoch (on
    reopening its project: an empty plot)."""
    alone = points == 1
    if getattr(item, "alone", False) == alone:
        return
    item.alone = alone
    if alone:
        item.setSymbol("o")
        item.setSymbolSize(LONE_POINT_SIZE)
        item.setSymbolBrush(item.opts["pen"].color())
        item.setSymbolPen(None)
    else:
        item.setSymbol(None)


class _Swatch(QWidget):
    """A short line in a curve's colour and width, as a legend draws it."""

    def __init__(self, colour: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = QColor(colour)
        height = self.fontMetrics().height()
        self.setFixedSize(QSize(2 * height, height))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pg.mkPen(self.colour, width=2))
        middle = self.height() / 2
        painter.drawLine(QPointF(1, middle), QPointF(self.width() - 1, middle))


class LossPlot(QWidget):
    """Loss by epoch (top) and, for classification, accuracy by epoch (below, same x axis)."""

    #: the user switched the loss axis between linear and logarithmic
    log_scale_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loss_plot_widget")
        self.toolbar = QToolBar("Loss plot", self)
        self.toolbar.setObjectName("loss_plot_toolbar")
        self.action_log_scale = QAction("Log scale", self)
        self.action_log_scale.setCheckable(True)
        self.action_log_scale.setToolTip("Show the loss on a logarithmic axis")
        self.action_log_scale.toggled.connect(self.set_log_scale)
        self.toolbar.addAction(self.action_log_scale)

        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.loss = self.graphics.addPlot(row=0, col=0)
        self.loss.setLabel("left", "loss")
        self.loss.getViewBox().setDefaultPadding(0.06)  # a stored run in view whole: dots at its ends whole too
        self.accuracy = self.graphics.addPlot(row=1, col=0)
        self.accuracy.setLabel("left", "accuracy")
        self.accuracy.setLabel("bottom", "epoch")
        self.accuracy.setXLink(self.loss)
        # the accuracy plot follows the loss plot's x range: if it auto-ranged on its own data,
        # the link would switch the loss plot's auto-range off
        # (room above 100% and below 0% for half a dot: see _dot_when_alone)
        self.accuracy.setYRange(0.0, 1.0, padding=0.08)
        self.accuracy.disableAutoRange()
        # the accuracy plot is a third as tall as the loss plot: six tick labels overlapped there
        self.accuracy.getAxis("left").setTicks([ACCURACY_TICKS, []])
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        # the loss is what a person reads: the accuracy strip stays small, and every other pixel goes to it
        self.accuracy.setMaximumHeight(ACCURACY_HEIGHT)
        # the learning rate, under the others, shown only while it changes (see _show_rate)
        self.rate = self.graphics.addPlot(row=2, col=0)
        self.rate.setLabel("left", "lr")
        self.rate.setXLink(self.loss)
        self.rate.setLogMode(y=True)
        self.rate.setMaximumHeight(RATE_HEIGHT)
        for plot in (self.loss, self.accuracy, self.rate):
            plot.getAxis("left").setWidth(AXIS_WIDTH)  # equal widths keep the two x axes aligned
            # No grid and no SI prefixes: with the range changing every tick, grid lines and prefix
            # relabelling (HTML layout) were most of the cost of a redraw.
            for axis in ("left", "bottom", "top", "right"):  # hidden ones too: they relabel on every range
                plot.getAxis(axis).enableAutoSIPrefix(False)
            plot.setMouseEnabled(x=True, y=False)
            # An axis repaints (in Python) whenever anything in the plot does; cached as a pixmap it
            # is only drawn again when its range or size changes, which while live is rarely.
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.getViewBox().setLimits(xMin=0)

        # earlier runs go behind the live curves
        self._history_items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []
        self._marker_items: list[pg.InfiniteLine] = []
        self.batch_curve = _curve(self.loss, BATCH_COLOUR, width=1.0)
        self.train_curve = _curve(self.loss, TRAIN_COLOUR, name="training")
        self.val_curve = _curve(self.loss, VALIDATION_COLOUR, name="validation")
        self.legend = self._build_legend()
        self.overlay_legend = QLabel(self)
        self.overlay_legend.setObjectName("loss_plot_overlay_legend")
        self.overlay_legend.setTextFormat(Qt.TextFormat.RichText)
        self.overlay_legend.setWordWrap(True)  # many runs: more lines, never a wider dock
        self.overlay_legend.setContentsMargins(AXIS_WIDTH + 8, 0, 6, 2)
        self.overlay_legend.setStyleSheet("QLabel { background: white; }")
        self.overlay_legend.setToolTip("Runs picked in the Runs table: dashed, their validation loss; "
                                       "dotted, their training loss")
        self.overlay_legend.hide()
        self.train_accuracy_curve = _curve(self.accuracy, TRAIN_COLOUR)
        self.val_accuracy_curve = _curve(self.accuracy, VALIDATION_COLOUR)
        self.rate_curve = _curve(self.rate, RATE_COLOUR, width=1.5)
        self.rate_curve.setToolTip("the learning rate")

        self.batch = Series()
        self.train = Series()
        self.val = Series()
        self.train_accuracy = Series()
        self.val_accuracy = Series()
        self.learning_rate = Series()  # positive rates only (a log axis): per batch report live, per epoch stored
        self._series = [(self.batch, self.batch_curve), (self.train, self.train_curve),
                        (self.val, self.val_curve), (self.train_accuracy, self.train_accuracy_curve),
                        (self.val_accuracy, self.val_accuracy_curve), (self.learning_rate, self.rate_curve)]
        self._classification = False
        self._rate_shown = False
        self._drawn: dict[int, int] = {}  # id(series) -> the version its curve shows
        self._dirty = False
        self._live = False
        # While live, the axes move in steps instead of auto-ranging on every tick: a new range
        # regenerates the axes (and the linked accuracy plot), which was most of a redraw's cost.
        self._follow_x = False
        self._x_max = 0.0
        self._run_started = time.monotonic()  # when the live run began: its pace sizes the x axis
        self._y_range: tuple[float, float] | None = None
        self._history_y = (math.inf, -math.inf)
        # runs drawn over the plot: {run id: [(plot, item), ...]}, and the loss range they span
        self._overlay: dict[str, list[tuple[pg.PlotItem, pg.PlotDataItem]]] = {}
        self._overlay_y = (math.inf, -math.inf)
        self.planned_epochs = 0
        self.loss.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)
        self.accuracy.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)
        self.rate.getViewBox().sigRangeChangedManually.connect(self._user_moved_view)

        # hover: a vertical crosshair and the values at the nearest epoch
        self._crosshair = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARKER_COLOUR, width=1))
        self._crosshair.setZValue(20)
        self._crosshair.hide()
        self.loss.addItem(self._crosshair, ignoreBounds=True)
        self.hover_label = QLabel(self)
        self.hover_label.setObjectName("loss_plot_values")
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hover_label.setText(" ")
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.timer = QTimer(self)
        self.timer.setObjectName("loss_plot_redraw")
        self.timer.setInterval(REDRAW_INTERVAL_MS)
        self.timer.timeout.connect(self.redraw)

        self._bottom_plot = None  # the plot that carries the x axis's values and name (None: not set yet)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.legend)
        layout.addWidget(self.overlay_legend)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        # nothing trained yet, so no accuracy to show: a classification run brings its plot in
        self.set_classification(False)
        self._show_rate(False)

    def _build_legend(self) -> QWidget:
        """The legend, as a row of its own above the plots: inside the plot area it covered the
        curves of a short dock (a loss starts at the top left and a flat one runs along the top),
        and pyqtgraph's own legend clipped its longest label. Qt lays the row out, so a label always
        gets its text's width, and one row serves both plots (they share the colours)."""
        legend = QWidget(self)
        legend.setObjectName("loss_plot_legend")
        # on the plots' white, so the row reads as part of the chart, not as another toolbar
        legend.setAutoFillBackground(True)
        palette = legend.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor("white"))
        legend.setPalette(palette)
        row = QHBoxLayout(legend)
        # from where the plot area starts (past the left axis), as a legend above a chart reads
        row.setContentsMargins(AXIS_WIDTH + 8, 2, 6, 0)
        row.setSpacing(4)
        self.legend_labels: list[QLabel] = []
        for name, colour in (("training", TRAIN_COLOUR), ("validation", VALIDATION_COLOUR),
                             ("learning rate", RATE_COLOUR)):
            spacing = QWidget(legend)
            spacing.setFixedWidth(8)  # with the row's spacing on each side, 16 pixels between entries
            if self.legend_labels:
                row.addWidget(spacing)
            swatch = _Swatch(colour, legend)
            row.addWidget(swatch)
            label = QLabel(name, legend)
            label.setObjectName(f"loss_plot_legend_{name.replace(' ', '_')}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            row.addWidget(label)
            self.legend_labels.append(label)
        # the learning rate's entry shows with its strip only
        self._rate_legend = (spacing, swatch, label)
        row.addStretch(1)
        return legend

    # ---------------------------------------------------------------- feeding
    def set_classification(self, classification: bool) -> None:
        """Accuracy only means something for classes: without them its plot leaves the layout."""
        self._classification = bool(classification)
        self._arrange()

    def _show_rate(self, shown: bool) -> None:
        """The learning-rate strip and its legend entry, in or out of the layout."""
        self._rate_shown = bool(shown)
        for widget in self._rate_legend:
            widget.setVisible(self._rate_shown)
        self._arrange()

    @property
    def shows_learning_rate(self) -> bool:
        return self._rate_shown

    def _arrange(self) -> None:
        """The plots shown, in their order (loss, accuracy, learning rate); the lowest one carries the x axis."""
        strips = [(self.accuracy, self._classification), (self.rate, self._rate_shown)]
        wanted = [plot for plot, shown in strips if shown]
        present = [plot for plot, _shown in strips if plot.scene() is not None and plot in self.graphics.ci.items]
        rows = {plot: self.graphics.ci.items[plot][0][0] for plot in present}
        if present != wanted or any(rows[plot] != row for row, plot in enumerate(wanted, start=1)):
            for plot in present:
                self.graphics.removeItem(plot)
            for row, plot in enumerate(wanted, start=1):
                self.graphics.addItem(plot, row=row, col=0)
                self.graphics.ci.layout.setRowStretchFactor(row, 1)
        for plot, shown in strips:
            plot.setVisible(shown)
        bottom = wanted[-1] if wanted else self.loss
        # (only when it changes: relabelling lays the plot out again, at the start of every run)
        if self._bottom_plot is not bottom:
            self._bottom_plot = bottom
            # the x axis is the lowest plot's: the same epochs twice took the loss plot's room
            for plot in (self.loss, self.accuracy, self.rate):
                axis = plot.getAxis("bottom")
                axis.setStyle(showValues=plot is bottom)
                axis.setHeight(None if plot is bottom else 6)
                plot.setLabel("bottom", "epoch" if plot is bottom else None)

    def begin_run(self, classification: bool | None = None, epochs: int = 0) -> None:
        """Clear the live curves and start redrawing; the previous run should be in the history.

        ``epochs`` is how many the run plans: the x axis never grows past it.
        """
        for series, _curve_item in self._series:
            series.clear()
        self.planned_epochs = int(epochs or 0)
        self._follow_x = True
        self._x_max = 0.0
        self._run_started = time.monotonic()
        self._y_range = None
        for item in self._marker_items:
            self.loss.removeItem(item)
        self._marker_items.clear()
        if classification is not None:
            self.set_classification(classification)
        self._show_rate(False)  # until the rate changes
        self._live = True
        self._dirty = True
        self.redraw()
        self.timer.start()

    def clear(self) -> None:
        """No runs at all (a project never trained): no curves, no markers, and the empty axes,
        not the ranges of the project shown before."""
        self.timer.stop()
        self._live = self._follow_x = False
        self.set_history([])
        self.set_overlay([])
        for series, _item in self._series:
            series.clear()
        for item in self._marker_items:
            self.loss.removeItem(item)
        self._marker_items.clear()
        # no runs, no accuracy: an empty accuracy plot said nothing (the run's start shows it again
        # for classification)
        self.set_classification(False)
        self._show_rate(False)
        self._dirty = True
        self.redraw()
        self.loss.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.0)
        self.loss.enableAutoRange()

    def end_run(self) -> None:
        """Draw what is left and stop the timer; the view fits the whole run again."""
        self._live = False
        self.timer.stop()
        self.redraw()
        if self._follow_x:
            self.loss.enableAutoRange()
        self._follow_x = False

    @property
    def is_live(self) -> bool:
        return self._live

    def add_batches(self, position: float, loss: float, learning_rate: float | None = None) -> None:
        """The mean loss of the batches since the last report, at a fractional epoch ``position``, and the
        learning rate of the last of them."""
        if math.isfinite(loss):
            self.batch.append(position, loss)
            self._dirty = True
        self._add_rate(position, learning_rate)

    def _add_rate(self, position: float, learning_rate: Any) -> None:
        if (isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool)
                and math.isfinite(learning_rate) and learning_rate > 0):
            self.learning_rate.append(position, float(learning_rate))
            self._dirty = True

    def add_epoch(self, stats: dict[str, Any]) -> None:
        """One finished epoch: ``epoch``, ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``."""
        epoch = float(stats["epoch"])
        for key, series in (("train_loss", self.train), ("val_loss", self.val),
                            ("train_accuracy", self.train_accuracy), ("val_accuracy", self.val_accuracy)):
            value = stats.get(key)
            if value is not None and math.isfinite(value):
                series.append(epoch, float(value))
        if not self.learning_rate.size or self.learning_rate.x[-1] < epoch:  # batches report it more often
            self._add_rate(epoch, stats.get("learning_rate"))
        self._dirty = True

    def add_marker(self, epoch: float, text: str) -> None:
        """A vertical line where a hyperparameter changed during the run."""
        line = pg.InfiniteLine(pos=epoch, angle=90, movable=False,
                               pen=pg.mkPen(MARKER_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                               label=text, labelOpts={"position": 0.95, "color": MARKER_COLOUR})
        line.setToolTip(text)
        self._marker_items.append(line)
        self.loss.addItem(line, ignoreBounds=True)

    def show_run(self, run: dict[str, Any]) -> None:
        """Show a stored run (history.json) as the current curves, without going live."""
        # A run without accuracy is a regression run: leaving the plot as the project shown before
        # had it showed an empty accuracy plot under a regression run's loss.
        self.begin_run(classification=bool(run.get("train_accuracy") or run.get("val_accuracy")))
        self.timer.stop()
        self._live = False
        epochs = _finite(run.get("epochs"))
        for key, series in (("train_loss", self.train), ("val_loss", self.val),
                            ("train_accuracy", self.train_accuracy), ("val_accuracy", self.val_accuracy)):
            values = _finite(run.get(key))
            n = min(len(values), len(epochs))
            if n:
                keep = np.isfinite(values[:n])
                series.extend(epochs[:n][keep], values[:n][keep])
        rates = _finite(run.get("learning_rate"))
        n = min(len(rates), len(epochs))
        if n:
            keep = np.isfinite(rates[:n]) & (rates[:n] > 0)
            self.learning_rate.extend(epochs[:n][keep], rates[:n][keep])
        for change in run.get("changes") or []:
            self.add_marker(change_position(change), change_text(change))
        self._dirty = True
        self.redraw()
        self.loss.enableAutoRange()
        self._follow_x = False

    def set_history(self, runs: list[dict[str, Any]]) -> None:
        """Draw earlier runs of the project faintly behind the live curves (newest most visible)."""
        for plot, item in self._history_items:
            plot.removeItem(item)
        self._history_items.clear()
        self._history_y = (math.inf, -math.inf)
        shown = runs[-5:]
        for age, run in enumerate(reversed(shown)):
            alpha = max(25, 90 - 20 * age)
            epochs = _finite(run.get("epochs"))
            for key, plot, colour in (("train_loss", self.loss, TRAIN_COLOUR),
                                      ("val_loss", self.loss, VALIDATION_COLOUR),
                                      ("train_accuracy", self.accuracy, TRAIN_COLOUR),
                                      ("val_accuracy", self.accuracy, VALIDATION_COLOUR)):
                values = _run_curve(run, key, epochs)
                if values is None:
                    continue
                n = len(values)
                if plot is self.loss:
                    self._history_y = _widened(self._history_y, values)
                faint = QColor(colour)
                faint.setAlpha(alpha)
                item = pg.PlotDataItem(epochs[:n], values, pen=pg.mkPen(faint, width=1),
                                       connect="finite")
                item.setZValue(-10)
                _dot_when_alone(item, int(np.isfinite(values).sum()))
                item.setToolTip(f"earlier run {run.get('id', '')} ({run.get('status', '')})")
                plot.addItem(item)
                # clipping needs the view box, so only once the item is in the plot
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
                item.setVisible(not self._overlay)  # runs picked for comparison replace the faint ones
                self._history_items.append((plot, item))

    @property
    def history_items(self) -> list[pg.PlotDataItem]:
        return [item for _plot, item in self._history_items]

    # ---------------------------------------------------------------- runs drawn over the plot
    def set_overlay(self, runs: list[dict[str, Any]], labels: dict[str, str] | None = None) -> None:
        """Draw stored runs (history.json dicts) over the plot to compare them, replacing those drawn before;
        an empty list removes them. Each run gets a colour: its validation loss dashed, its training loss
        dotted (and its validation accuracy dashed on the accuracy strip), and an entry in the overlay legend,
        ``labels[run id]`` or the id. While runs are drawn, the faint earlier runs are hidden."""
        for items in self._overlay.values():
            for plot, item in items:
                plot.removeItem(item)
        self._overlay = {}
        self._overlay_y = (math.inf, -math.inf)
        labels = labels or {}
        entries = []
        for number, run in enumerate(runs):
            run_id = str(run.get("id", f"run {number + 1}"))
            colour = OVERLAY_COLOURS[number % len(OVERLAY_COLOURS)]
            epochs = _finite(run.get("epochs"))
            items = []
            for key, plot, style, width in (("val_loss", self.loss, Qt.PenStyle.DashLine, 2.0),
                                            ("train_loss", self.loss, Qt.PenStyle.DotLine, 1.5),
                                            ("val_accuracy", self.accuracy, Qt.PenStyle.DashLine, 1.5)):
                values = _run_curve(run, key, epochs)
                if values is None:
                    continue
                n = len(values)
                if plot is self.loss:
                    self._overlay_y = _widened(self._overlay_y, values)
                item = pg.PlotDataItem(epochs[:n], values, pen=pg.mkPen(colour, width=width, style=style),
                                       connect="finite")
                item.setZValue(-5)  # over the faint runs, under the live curves
                _dot_when_alone(item, int(np.isfinite(values).sum()))
                item.setToolTip(f"{run_id}: {key.replace('_', ' ').replace('val', 'validation')}")
                item.overlay_key = key
                plot.addItem(item)
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
                items.append((plot, item))
            self._overlay[run_id] = items
            label = labels.get(run_id, run_id)
            entries.append(f"<span style='color:{colour.name()}; font-weight:600'>&#9472;&nbsp;&#9472;</span>"
                           f"&nbsp;{_html(label).replace(' ', '&nbsp;')}")  # an entry never wraps inside
        for _plot, item in self._history_items:
            item.setVisible(not self._overlay)
        if entries:
            self.overlay_legend.setText("&nbsp;&nbsp;&nbsp; ".join(entries))
        else:
            self.overlay_legend.setText("")
        self.overlay_legend.setVisible(bool(entries))
        if not self._live:
            self.loss.enableAutoRange()  # the whole of every run in view
        else:
            self._y_range = None
            self._follow_y()

    def overlay_runs(self) -> list[str]:
        """The ids of the runs drawn over the plot, in their order."""
        return list(self._overlay)

    def overlay_curves(self, run_id: str) -> dict[str, pg.PlotDataItem]:
        """A drawn run's curves by what they show: ``val_loss``, ``train_loss``, ``val_accuracy``."""
        return {item.overlay_key: item for _plot, item in self._overlay.get(run_id, [])}

    @Slot()
    def redraw(self) -> None:
        """Hand the buffers to the curves if anything arrived since the last tick (and someone can
        see them: a closed or tabbed-away plot catches up when it shows again)."""
        if not self._dirty or not self.isVisible():
            return
        self._dirty = False
        changes = rate_changes(self.learning_rate.low, self.learning_rate.high)
        if changes != self._rate_shown:
            self._show_rate(changes)
        right = 0.0
        for series, item in self._series:
            if self._drawn.get(id(series)) != series.version:
                self._drawn[id(series)] = series.version
                item.setData(series.x, series.y, connect="all")
                _dot_when_alone(item, series.size)
            if series.size:
                right = max(right, float(series.x[-1]))
        if self._follow_x and self._live:
            if right > self._x_max:
                self._grow_x(right)
            self._follow_y()

    def _follow_y(self) -> None:
        """Keep the loss in view, moving the y range only when the data leaves it or shrinks well inside it."""
        low = min(self.batch.low, self.train.low, self.val.low, self._history_y[0], self._overlay_y[0])
        high = max(self.batch.high, self.train.high, self.val.high, self._history_y[1], self._overlay_y[1])
        if not (math.isfinite(low) and math.isfinite(high)):
            return
        current = self._y_range
        if not self.action_log_scale.isChecked() and low >= 0:
            # A loss is not negative: the axis starts at 0 and its top moves only when the loss
            # rises above it, so a falling loss never moves the axes (a move regenerates the axes of
            # both plots, which was most of what a live redraw cost).
            top = 1.1 * high or 1.0
            if current is None or high > current[1] or current[0] != 0.0:
                self._y_range = (0.0, top)
                self.loss.setYRange(0.0, top, padding=0)
            return
        if self.action_log_scale.isChecked():
            if low <= 0:
                return
            low, high = math.log10(low), math.log10(high)
        span = max(high - low, 1e-9)
        if (current is not None and current[0] <= low and high <= current[1]
                and current[1] - current[0] <= 3 * span):
            return
        # a quarter of the span spare on each side: the range changes every few ticks at most
        self._y_range = (low - 0.25 * span, high + 0.25 * span)
        self.loss.setYRange(*self._y_range, padding=0)

    def _grow_x(self, right: float) -> None:
        """Widen the x axis ahead of the data (by half as much again, or as far as the run gets in
        the next few seconds at its pace so far, to a round number).

        A fast run (the spiral example trains 80 epochs a second) would otherwise move the axis
        every few ticks: each move redraws both plots and their axes, and the jumping looks restless.
        """
        history_end = max((float(np.nanmax(item.xData)) for _plot, item in
                           self._history_items + [pair for items in self._overlay.values() for pair in items]
                           if item.xData is not None and len(item.xData)), default=0.0)
        # (at most twenty times as far: the first moments of a run say little about its pace)
        elapsed = max(time.monotonic() - self._run_started, 0.05)
        ahead = min(right + right / elapsed * X_LOOKAHEAD_S, 20 * right)
        self._x_max = _round_up(max(right * 1.5, ahead, 10.0, history_end if right < history_end else 0.0))
        if self.planned_epochs:
            self._x_max = max(min(self._x_max, float(self.planned_epochs)), right)
        self.loss.setXRange(0, self._x_max, padding=0.02)

    @Slot()
    def _user_moved_view(self, *_args) -> None:
        self._follow_x = False  # the user zoomed or panned: leave the view where they put it

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.redraw()

    # ---------------------------------------------------------------- view
    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        if self.action_log_scale.isChecked() != on:
            self.action_log_scale.setChecked(on)
            return
        self.loss.setLogMode(y=on)
        self._y_range = None
        if self._live and self._follow_x:
            self._follow_y()
        self.log_scale_toggled.emit(on)

    def values_at(self, epoch: float) -> str:
        """The live values at the epoch nearest to ``epoch``, as the hover label shows them."""
        parts = []
        nearest = None
        for name, series, percent in (("train", self.train, False), ("val", self.val, False),
                                      ("train acc", self.train_accuracy, True),
                                      ("val acc", self.val_accuracy, True), ("lr", self.learning_rate, False)):
            if not series.size or (series is self.learning_rate and not self._rate_shown):
                continue
            i = int(np.argmin(np.abs(series.x - epoch)))
            if abs(series.x[i] - epoch) > 0.5:
                continue
            value = series.y[i]
            parts.append(f"{name} {value:.1%}" if percent else f"{name} {value:.4g}")
            if series is not self.learning_rate:  # (reported per batch: at a fraction of an epoch)
                nearest = series.x[i]
        for run_id, items in self._overlay.items():  # the runs drawn over it: their validation loss
            for _plot, item in items:
                if item.overlay_key != "val_loss" or item.xData is None or not len(item.xData):
                    continue
                i = int(np.argmin(np.abs(item.xData - epoch)))
                if abs(item.xData[i] - epoch) <= 0.5 and np.isfinite(item.yData[i]):
                    parts.append(f"{run_id} val {item.yData[i]:.4g}")
                    nearest = item.xData[i] if nearest is None else nearest
        if not parts or nearest is None:
            return " "
        return f"epoch {nearest:g}: " + ", ".join(parts)

    @Slot(object)
    def _on_mouse_moved(self, position: QPointF) -> None:
        for plot in (self.loss, self.accuracy, self.rate):
            if plot.isVisible() and plot.getViewBox().sceneBoundingRect().contains(position):
                epoch = plot.getViewBox().mapSceneToView(position).x()
                self._crosshair.setPos(round(epoch))
                self._crosshair.show()
                self.hover_label.setText(self.values_at(epoch))
                return
        self._crosshair.hide()
        self.hover_label.setText(" ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _round_up(value: float) -> float:
    """The next of 1, 2, 5, 10, 20, 50 ... at or above ``value``."""
    if value <= 0:
        return 1.0
    decade = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * decade >= value - 1e-9:
            return float(step * decade)
    return float(10 * decade)


def change_position(change: dict[str, Any]) -> float:
    """Where a recorded change (``{"epoch", "batch", ...}``) took effect, in epochs.

    The change applies from batch ``batch`` of epoch ``epoch`` on; without the epoch's batch count
    it is drawn at the start of that epoch (batch 1) or half-way through it.
    """
    epoch = float(change.get("epoch", 1) or 1)
    batch = float(change.get("batch", 1) or 1)
    batches = change.get("batches")
    if batches:
        return epoch - 1 + (batch - 1) / float(batches)
    return epoch - 1 if batch <= 1 else epoch - 0.5


_SHORT_NAMES = {"learning_rate": "lr", "momentum": "momentum", "batch_size": "batch"}


def change_text(change: dict[str, Any]) -> str:
    """``lr 0.01`` style text for a hyperparameter change record (``{"epoch", "learning_rate", ...}``)."""
    if "name" in change and "value" in change:  # the loop's record: {"epoch", "batch", "name", "value"}
        change = {str(change["name"]): change["value"]}
    items = [f"{_SHORT_NAMES.get(k, k)} {v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
             else f"{_SHORT_NAMES.get(k, k)} {v}"
             for k, v in change.items() if k not in ("epoch", "batch", "batches", "step")]
    return ", ".join(items) or "changed"

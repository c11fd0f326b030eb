"""The live loss plot: curves fed on a timer, log scale, hover values, earlier runs, markers."""
import math

import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QWidget

from designer.ui.training.loss_plot import TRAIN_COLOUR, VALIDATION_COLOUR, LossPlot


@pytest.fixture
def plot(qtbot):
    widget = LossPlot()
    qtbot.addWidget(widget)
    widget.resize(640, 420)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.end_run()


def _epoch(n):
    return {"epoch": n, "train_loss": math.exp(-n / 10), "val_loss": math.exp(-n / 12) + 0.01,
            "train_accuracy": 1 - 0.5 * math.exp(-n / 5), "val_accuracy": 1 - 0.5 * math.exp(-n / 6)}


def test_epochs_reach_the_curves_on_the_next_tick_and_the_timer_stops_when_the_run_ends(plot, qtbot):
    plot.begin_run(classification=True)
    assert plot.timer.isActive()
    for n in range(1, 6):
        plot.add_epoch(_epoch(n))
    qtbot.waitUntil(lambda: plot.train_curve.xData is not None and len(plot.train_curve.xData) == 5)
    assert list(plot.train_curve.xData) == [1, 2, 3, 4, 5]
    assert plot.train_curve.yData[0] == pytest.approx(math.exp(-0.1))
    assert plot.val_curve.yData[-1] == pytest.approx(math.exp(-5 / 12) + 0.01)
    assert plot.val_accuracy_curve.yData[-1] == pytest.approx(1 - 0.5 * math.exp(-5 / 6))
    plot.end_run()
    assert not plot.timer.isActive()


def test_regression_hides_the_accuracy_plot(plot):
    plot.begin_run(classification=False)
    plot.add_epoch({"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "train_accuracy": None, "val_accuracy": None})
    plot.end_run()
    assert not plot.accuracy.isVisible()
    assert list(plot.val_curve.yData) == [2.5]
    assert plot.val_accuracy_curve.yData is None or len(plot.val_accuracy_curve.yData) == 0


def test_the_live_plot_survives_seconds_of_timer_driven_updates_with_growing_data(plot, qtbot):
    """Five seconds of 20 Hz repaints with growing curves: catches binding crashes in axis drawing
    (PySide6 6.12 with pyqtgraph crashed in AxisItem.drawPicture, "none_dealloc")."""
    plot.begin_run(classification=True)
    fed = {"epoch": 0, "batches": 0}

    def feed():
        for _ in range(7):
            fed["batches"] += 1
            position = fed["batches"] / 10
            plot.add_batches(position, 1.0 / (1.0 + position) + 0.05 * math.sin(position * 7))
            if fed["batches"] % 10 == 0:
                fed["epoch"] += 1
                plot.add_epoch(_epoch(fed["epoch"]))

    feeder = QTimer()
    feeder.setInterval(30)
    feeder.timeout.connect(feed)
    feeder.start()
    grabs = 0
    try:
        deadline = 5.2
        waited = 0.0
        while waited < deadline:
            qtbot.wait(400)
            waited += 0.4
            # a real paint of the whole widget, axes included, as the screen would get
            assert not plot.grab().isNull()
            grabs += 1
    finally:
        feeder.stop()
    plot.end_run()
    assert grabs >= 12
    epochs = fed["epoch"]
    assert epochs > 50
    assert len(plot.train_curve.xData) == epochs
    assert len(plot.batch_curve.xData) == fed["batches"]
    # the view followed the data: the last epoch is on screen
    (x_min, x_max), _ = plot.loss.getViewBox().viewRange()
    assert x_min <= 1 and x_max >= epochs


def test_log_scale_toggle_switches_the_loss_axis(plot, qtbot):
    plot.begin_run(classification=True)
    for n in range(1, 30):
        plot.add_epoch(_epoch(n))
    plot.end_run()
    plot.action_log_scale.trigger()
    assert plot.loss.getAxis("left").logMode
    assert plot.train_curve.opts["logMode"][1]
    qtbot.wait(20)
    _, (y_min, y_max) = plot.loss.getViewBox().viewRange()
    # in log mode the view is in decades: the data spans log10(exp(-29/10)) .. log10(exp(-0.1))
    assert y_min < math.log10(math.exp(-2.9)) + 0.2 and y_max > math.log10(math.exp(-0.1)) - 0.2
    plot.action_log_scale.trigger()
    assert not plot.loss.getAxis("left").logMode


def test_hovering_shows_the_values_at_the_nearest_epoch(plot, qtbot):
    plot.begin_run(classification=True)
    for n in range(1, 21):
        plot.add_epoch(_epoch(n))
    plot.end_run()
    qtbot.wait(20)
    view = plot.graphics
    vb = plot.loss.getViewBox()
    (_x0, _x1), (y0, y1) = vb.viewRange()
    # a real mouse-move event on the viewport, over epoch 7
    point = view.mapFromScene(vb.mapViewToScene(QPointF(7.1, (y0 + y1) / 2)))
    QTest.mouseMove(view.viewport(), point)
    qtbot.waitUntil(lambda: plot.hover_label.text().startswith("epoch"))
    assert plot.hover_label.text().startswith("epoch 7:")
    assert f"train {math.exp(-0.7):.4g}" in plot.hover_label.text()
    assert "val acc" in plot.hover_label.text()
    # leaving the plot (onto the axis at its left) clears it
    qtbot.wait(20)
    QTest.mouseMove(view.viewport(), QPoint(5, point.y()))
    qtbot.waitUntil(lambda: plot.hover_label.text().strip() == "")


def test_the_accuracy_plot_is_there_only_while_the_shown_run_has_accuracy(plot, qtbot):
    # nothing trained yet: no accuracy, so no empty accuracy plot under the loss
    assert not plot.accuracy.isVisible()
    classification = {"id": "run-1", "status": "completed", "epochs": [1, 2], "train_loss": [0.9, 0.4],
                      "val_loss": [1.0, 0.5], "train_accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
    plot.show_run(classification)
    assert plot.accuracy.isVisible()
    assert list(plot.val_accuracy_curve.yData) == [0.5, 0.7]
    # a regression run (as history.json stores it: empty accuracy lists) shown next, as when the
    # window opens a regression project after a classification one
    plot.show_run({"id": "run-1", "status": "completed", "epochs": [1, 2], "train_loss": [0.3, 0.2],
                   "val_loss": [0.35, 0.25], "train_accuracy": [], "val_accuracy": []})
    assert not plot.accuracy.isVisible()
    assert plot.loss.getAxis("bottom").labelText == "epoch"  # the loss plot carries the x axis's name now
    plot.show_run(classification)
    assert plot.accuracy.isVisible()
    plot.clear()  # a project never trained
    assert not plot.accuracy.isVisible()


def _on_widget(plot: LossPlot, rect: QRectF) -> QRect:
    """A rectangle of the plots' scene in the loss plot widget's coordinates."""
    viewport = plot.graphics.viewport()
    return QRect(viewport.mapTo(plot, plot.graphics.mapFromScene(rect.topLeft())),
                 viewport.mapTo(plot, plot.graphics.mapFromScene(rect.bottomRight())))


def legend_boxes(plot: LossPlot) -> tuple[QRect, list[tuple[str, QRect, int]]]:
    """Where the legend is on the loss plot widget, and each label's text, box and the width its
    text needs; whether the legend is a widget of its own or drawn in the plots' scene."""
    widget = plot.findChild(QWidget, "loss_plot_legend")
    if widget is not None:
        assert widget.isVisible()
        return widget.geometry(), [(label.text(), QRect(label.mapTo(plot, QPoint(0, 0)), label.size()),
                                    label.fontMetrics().horizontalAdvance(label.text()))
                                   for label in widget.findChildren(QLabel) if label.isVisible()]
    legends = [item for item in plot.graphics.scene().items() if isinstance(item, pg.LegendItem)]
    assert len(legends) == 1 and legends[0].isVisible()
    labels = [(label.text, _on_widget(plot, label.sceneBoundingRect()),
               QFontMetrics(label.item.font()).horizontalAdvance(label.text)) for _sample, label in legends[0].items]
    return _on_widget(plot, legends[0].sceneBoundingRect()), labels


def test_the_legend_is_above_the_plots_with_whole_labels_even_in_a_narrow_dock(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(300, 260)  # narrower than the dock at the default window size
    plot.show()
    qtbot.waitExposed(plot)
    plot.begin_run(classification=True)
    for n in range(1, 11):
        plot.add_epoch(_epoch(n))
    plot.end_run()
    qtbot.wait(20)
    box, labels = legend_boxes(plot)
    for item in (plot.loss, plot.accuracy):
        assert not box.intersects(_on_widget(plot, item.getViewBox().sceneBoundingRect()))
    assert sorted(text for text, _box, _needed in labels) == ["training", "validation"]
    for text, label_box, needed in labels:
        assert label_box.width() >= needed, text
        assert plot.rect().contains(label_box), text


def test_earlier_runs_are_drawn_faintly_and_markers_show_hyperparameter_changes(plot):
    runs = [{"id": f"run-{i}", "status": "completed", "epochs": [1, 2, 3],
             "train_loss": [1.0, 0.5 + i, 0.2], "val_loss": [1.1, None, 0.3],
             "train_accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.5, 0.6, 0.8]} for i in range(2)]
    plot.set_history(runs)
    items = plot.history_items
    assert len(items) == 8  # two runs, four curves each
    for item in items:
        assert item.opts["pen"].color().alpha() < 128
    assert np.isnan(items[1].yData[1]) or len(items[1].yData) == 3
    plot.set_history([])
    assert plot.history_items == []
    plot.begin_run(classification=True)
    plot.add_marker(2.5, "lr 0.01")
    plot.end_run()
    assert any(getattr(item, "value", lambda: None)() == 2.5 for item in plot.loss.items)


def test_a_stored_run_is_shown_with_its_change_markers(plot):
    plot.show_run({"id": "run-1", "status": "stopped", "epochs": [1, 2], "train_loss": [0.9, 0.4],
                   "val_loss": [1.0, 0.5], "changes": [{"epoch": 1.5, "learning_rate": 0.01}]})
    assert not plot.timer.isActive()
    assert list(plot.train_curve.yData) == [0.9, 0.4]
    labels = [item.label.textItem.toPlainText() for item in plot.loss.items
              if hasattr(item, "label") and getattr(item, "label", None) is not None]
    assert "lr 0.01" in labels


def _painted(plot: LossPlot, item: pg.PlotItem, colour) -> int:
    """How many pixels of ``item``'s plotting area, as the widget draws it now, are near ``colour``."""
    image = plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    box = _on_widget(plot, item.getViewBox().sceneBoundingRect())
    area = pixels[box.top():box.bottom(), box.left():box.right(), 2::-1].astype(int)  # BGRA: red, green, blue
    near = np.abs(area - np.array([colour.red(), colour.green(), colour.blue()])).max(axis=2) < 40
    return int(near.sum())


def test_a_run_of_one_epoch_shows_its_losses_and_accuracy(plot, qtbot):
    """One epoch is one point per curve, which pyqtgraph draws as nothing: reopening a project trained for
    one epoch showed an empty loss plot, and a live run showed no validation loss until its second epoch."""
    plot.show_run({"id": "run-1", "status": "stopped", "epochs": [1], "train_loss": [0.0204],
                   "val_loss": [0.014], "train_accuracy": [0.99], "val_accuracy": [0.994]})
    qtbot.wait(20)
    for area, colour in ((plot.loss, TRAIN_COLOUR), (plot.loss, VALIDATION_COLOUR),
                         (plot.accuracy, VALIDATION_COLOUR)):
        assert _painted(plot, area, colour) >= 28, (area, colour.name())  # a whole dot (7 pixels across), not half
    plot.begin_run(classification=True)
    plot.set_history([{"id": "run-0", "status": "stopped", "epochs": [1], "train_loss": [0.5], "val_loss": [0.6],
                       "train_accuracy": [0.7], "val_accuracy": [0.6]}])  # the one-epoch run, behind a new one
    alpha = plot.history_items[1].opts["pen"].color().alphaF()
    faint = QColor(*(round(255 * (1 - alpha) + part * alpha) for part in VALIDATION_COLOUR.getRgb()[:3]))
    qtbot.wait(20)
    assert _painted(plot, plot.loss, faint) >= 10  # drawn faintly, over white
    plot.add_epoch({"epoch": 1, "train_loss": 0.4, "val_loss": 0.45, "train_accuracy": 0.8, "val_accuracy": 0.75})
    qtbot.waitUntil(lambda: plot.val_curve.xData is not None and len(plot.val_curve.xData) == 1)
    qtbot.wait(20)
    assert _painted(plot, plot.loss, VALIDATION_COLOUR) >= 20  # the first epoch's validation loss, live
    plot.add_epoch({"epoch": 2, "train_loss": 0.3, "val_loss": 0.35, "train_accuracy": 0.85, "val_accuracy": 0.8})
    qtbot.waitUntil(lambda: len(plot.val_curve.xData) == 2)
    assert plot.val_curve.opts["symbol"] is None  # two points: the line, no dots on it
    plot.end_run()


def test_the_accuracy_axis_reads_in_three_percentages(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.set_classification(True)
    plot.resize(500, 260)  # a short dock: six labels on the small accuracy plot overlapped
    plot.show()
    qtbot.waitExposed(plot)
    axis = plot.accuracy.getAxis("left")
    drawn = [label for level in axis._tickLevels for _value, label in level]  # pyqtgraph has no getter
    assert drawn == ["0%", "50%", "100%"]


def test_a_series_extended_at_once_equals_one_appended_point_by_point():
    from designer.ui.training.loss_plot import Series

    xs, ys = np.arange(1, 1001, dtype=float), np.exp(-np.arange(1000) / 300.0)
    ys[10] = np.nan  # a value the plot leaves out of the range
    one_by_one, at_once = Series(capacity=4), Series(capacity=4)
    for x, y in zip(xs, ys):
        one_by_one.append(float(x), float(y))
    at_once.extend(xs[:3], ys[:3])
    at_once.extend(xs[3:], ys[3:])
    assert at_once.size == one_by_one.size == 1000
    np.testing.assert_array_equal(at_once.x, one_by_one.x)
    np.testing.assert_array_equal(at_once.y, one_by_one.y)
    assert (at_once.low, at_once.high) == (one_by_one.low, one_by_one.high)


def test_a_falling_loss_keeps_the_axis_from_zero_still_and_a_rise_above_it_grows_it(plot):
    plot.begin_run(classification=True, epochs=100)
    seen = set()
    for n in range(1, 41):
        plot.add_epoch(_epoch(n))
        plot.redraw()
        seen.add(tuple(plot.loss.viewRange()[1]))
    # every point in view, from 0, and the axis never moved while the loss fell
    assert len(seen) == 1
    (low, high), = seen
    assert low == 0.0 and high >= max(plot.train.high, plot.val.high)
    plot.add_epoch({"epoch": 41, "train_loss": 3.0, "val_loss": 3.5})
    plot.redraw()
    assert plot.loss.viewRange()[1][1] >= 3.5

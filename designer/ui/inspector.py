"""The inspector: the selected layer's or connection's fields, edited in place and undoably.

Every edit is one undo command (``UpdateLayerCommand`` / ``UpdateConnectionCommand``), so the
canvas, the problems panel and the status bar follow from graph events like any other change.
The inspector listens to the same events, so undo and redo show up here too; while it writes
a change itself it ignores the echo and reloads once afterwards.

A clicked neuron shows what it computes and, once trained, its incoming weights and bias
(:meth:`Inspector.set_weights`, live while training; the fields are locked then, not the page).
While a sample is followed through the network (:meth:`Inspector.set_followed`), the neuron's page also
writes out its sum for that sample (``designer.insight.explain``): the largest terms ``w × x``, ``sum + b = z``
and ``f(z) = a``; for a sequence, at the time step chosen with a slider (``follow_step_changed``).
"""
from __future__ import annotations

import html
import math
import re
import time

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QSizePolicy, QSlider, QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from designer.graph import (ACTIVATIONS, DEFAULT_SLOPE, DROPOUT_KINDS, GATES, INITS, LAYER_KINDS, NORMS,
                            Connectivity, Graph, GraphError, connection_weight_count, layer_parameter_count,
                            local_geometry, local_target_shape)
from designer.words import count

from . import style
from .activation_curves import ACTIVATION_NAMES as _ACTIVATION_TITLES
from .activation_curves import Z_RANGE, curve, formula, is_jump
from .commands import UpdateConnectionCommand, UpdateLayerCommand
from .neuron_weights import NeuronWeights, local_window

#: edits of one field of one layer within this many seconds merge into one undo step: stepping through
#: a combo box with the arrow keys or by typing "li" (Leaky ReLU, then Linear) is one choice, not several
MERGE_SECONDS = 1.0
LAYER_FIELD_COMMAND_ID = 0x4E4E4946
CONNECTION_INIT_COMMAND_ID = 0x4E4E4349

KIND_NAMES = {"input": "Input", "neurons": "Neurons", "lstm": "LSTM", "gru": "GRU"}
#: every activation, in the order of the design model's list, by the name a person reads
ACTIVATION_NAMES = {name: _ACTIVATION_TITLES.get(name, name) for name in ACTIVATIONS}
_NORM_TITLES = {"none": "None", "batch": "Batch normalisation", "layer": "Layer normalisation"}
NORM_NAMES = {name: _NORM_TITLES.get(name, name) for name in NORMS}
_INIT_TITLES = {"default": "Default (PyTorch's)", "xavier_uniform": "Xavier (Glorot) uniform",
                "xavier_normal": "Xavier (Glorot) normal", "he_uniform": "He (Kaiming) uniform",
                "he_normal": "He (Kaiming) normal", "orthogonal": "Orthogonal", "zeros": "Zeros",
                "constant": "Constant"}
INIT_NAMES = {name: _INIT_TITLES.get(name, name) for name in INITS}
OPERATION_NAMES = {"": "Weighted sum", "max": "Max pooling", "mean": "Mean pooling"}
#: the highest dropout the inspector offers (validation takes anything below 1)
MAX_DROPOUT = 0.95
_SEPARATORS = re.compile(r"[\s,x×*]+")


class InputError(ValueError):
    """Text in a field that cannot become a value; the message says what to type."""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_ints(text: str, what: str, max_dims: int = 3) -> tuple[int, ...]:
    """``"28, 28"``, ``"28x28"`` or ``"28 28"`` -> ``(28, 28)``; 1 to ``max_dims`` positive integers."""
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if not values or len(values) > max_dims or any(v < 1 for v in values):
        dims = "one number" if max_dims == 1 else f"1 to {max_dims} whole numbers above 0"
        raise InputError(f"{what} takes {dims}, like “{'28, 28' if max_dims > 1 else '16'}”")
    return values


def format_ints(values) -> str:
    return ", ".join(str(v) for v in values)


class LayerFieldCommand(UpdateLayerCommand):
    """An inspector edit of a layer field; quick successive edits of the same field merge."""

    def __init__(self, graph: Graph, layer_id: str, **changes) -> None:
        super().__init__(graph, layer_id, **changes)
        self.made = time.monotonic()

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return LAYER_FIELD_COMMAND_ID

    def mergeWith(self, other) -> bool:  # noqa: N802 (Qt's name)
        if not (isinstance(other, LayerFieldCommand) and other.layer_id == self.layer_id
                and set(other.new) == set(self.new) and other.made - self.made < MERGE_SECONDS):
            return False
        self.new = dict(other.new)
        self.made = other.made
        if self.new == self.old:
            self.setObsolete(True)
        return True


class ConnectionInitCommand(UpdateConnectionCommand):
    """An inspector edit of how a connection's weights start; quick successive edits merge (a spin box's arrow)."""

    def __init__(self, graph: Graph, connection_id: str, init: tuple[str, float]) -> None:
        super().__init__(graph, connection_id, init=init)
        self.setText(f"Change the initialisation of {connection_id}")
        self.made = time.monotonic()

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return CONNECTION_INIT_COMMAND_ID

    def mergeWith(self, other) -> bool:  # noqa: N802 (Qt's name)
        if not (isinstance(other, ConnectionInitCommand) and other.connection_id == self.connection_id
                and other.made - self.made < MERGE_SECONDS):
            return False
        self.new_init = other.new_init
        self.made = other.made
        if self.new_init == self.old_init:
            self.setObsolete(True)
        return True


class ActivationCurve(QWidget):
    """A small plot of an activation ``f(z)`` for ``z`` in [-4, 4], drawn with QPainter.

    The values are :func:`designer.ui.activation_curves.curve`'s (``samples()``), the ones the compiled
    network computes; step and sign are drawn as two flat pieces joined by a dotted riser at 0.
    """

    SAMPLES = 161

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activation_curve")
        self.name = "linear"
        self.slope = DEFAULT_SLOPE
        self._points: list[tuple[float, float]] = []
        self.setMinimumHeight(84)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_activation("linear")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(180, 84)

    def set_activation(self, name: str, slope: float = DEFAULT_SLOPE) -> None:
        self.name, self.slope = name, slope
        self._points = curve(name, slope, self.SAMPLES)
        self.setAccessibleName(f"{ACTIVATION_NAMES.get(name, name)}: {formula(name, slope)}")
        self.setToolTip(f"f(z) = {formula(name, slope)}, for z from {Z_RANGE[0]:g} to {Z_RANGE[1]:g}")
        self.update()

    def samples(self) -> list[tuple[float, float]]:
        """``(z, f(z))`` as drawn."""
        return list(self._points)

    def y_range(self) -> tuple[float, float]:
        """The values shown: the curve's, with 0 and at least one unit of height, a little margin around."""
        ys = [y for _z, y in self._points]
        low, high = min(min(ys), 0.0), max(max(ys), 0.0)
        if high - low < 1.0:
            middle = (high + low) / 2
            low, high = min(low, middle - 0.5), max(high, middle + 0.5)
        margin = 0.08 * (high - low)
        return low - margin, high + margin

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(22, 4, -6, -14)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#FAFBFC"))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        (z0, z1), (y0, y1) = Z_RANGE, self.y_range()

        def at(z: float, y: float) -> QPointF:
            return QPointF(area.left() + (z - z0) / (z1 - z0) * area.width(),
                           area.bottom() - (y - y0) / (y1 - y0) * area.height())

        # the axes through 0, and the values 1 and -1 where they are in view
        painter.setPen(QPen(QColor("#D0D5DD"), 1.0))
        painter.drawLine(at(z0, 0.0), at(z1, 0.0))
        painter.drawLine(at(0.0, y0), at(0.0, y1))
        guide = QPen(QColor("#EAECF0"), 1.0, Qt.PenStyle.DashLine)
        painter.setPen(guide)
        for level in (1.0, -1.0):
            if y0 < level < y1:
                painter.drawLine(at(z0, level), at(z1, level))
        painter.setFont(style.ui_font(7.0))
        painter.setPen(style.TEXT_MUTED)
        below = area.bottom() + 1
        painter.drawText(QRectF(area.left(), below, 30, 12), Qt.AlignmentFlag.AlignLeft, f"{z0:g}")
        painter.drawText(QRectF(at(0.0, y0).x() - 15, below, 30, 12), Qt.AlignmentFlag.AlignHCenter, "0")
        painter.drawText(QRectF(area.right() - 30, below, 30, 12), Qt.AlignmentFlag.AlignRight, f"{z1:g}")
        # values: 0, and 1 and -1 where the curve stays near them; else the top of a curve that climbs
        levels = [0.0]
        if y1 - y0 <= 3.5:
            levels += [level for level in (1.0, -1.0) if y0 < level < y1]
        else:
            levels.append(float(round(max(y for _z, y in self._points))))
        for level in levels:
            p = at(z0, level)
            painter.drawText(QRectF(0, p.y() - 6, 19, 12),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{level:g}")
        colour = style.kind_colours("neurons")[1]
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if is_jump(self.name):
            left = [(z, y) for z, y in self._points if z <= 0]
            right = [(z, y) for z, y in self._points if z > 0]
            painter.setPen(QPen(colour, 1.0, Qt.PenStyle.DotLine))
            painter.drawLine(at(0.0, left[-1][1]), at(0.0, right[0][1]))
            painter.setPen(QPen(colour, 2.0))
            painter.drawLine(at(left[0][0], left[0][1]), at(0.0, left[-1][1]))
            painter.drawLine(at(0.0, right[0][1]), at(right[-1][0], right[-1][1]))
            painter.setBrush(QColor("white"))
            painter.drawEllipse(at(0.0, right[0][1]), 2.5, 2.5)  # open: f(0) is the lower value
            painter.setBrush(colour)
            painter.drawEllipse(at(0.0, left[-1][1]), 2.5, 2.5)
            return
        path = QPainterPath(at(*self._points[0]))
        for z, y in self._points[1:]:
            path.lineTo(at(z, y))
        painter.setPen(QPen(colour, 2.0))
        painter.drawPath(path)


def _combo(items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    for value, text in items.items():
        combo.addItem(text, value)
    return combo


def _double(low: float, high: float, decimals: int, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setKeyboardTracking(False)  # applied on Enter or when the field is left, not on every digit
    return spin


def _select(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    if index < 0:  # a value this version does not know (from a newer file): show it as it is
        combo.addItem(str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("field_error")
    label.setWordWrap(True)
    label.setStyleSheet("color: #d64545;")
    label.hide()
    return label


class Inspector(QWidget):
    """Shows and edits what the canvas has selected: a layer, a connection, a neuron, or nothing."""

    #: a field the user typed could not be applied; the text says why (also shown under the field)
    input_rejected = Signal(str)
    #: the time step slider of a followed sequence moved
    follow_step_changed = Signal(int)

    def __init__(self, graph: Graph, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector_widget")
        self.graph = graph
        self.undo_stack = undo_stack
        self.item_id: str | None = None
        self._design = ("", "")
        self.neuron: tuple[str, int] | None = None
        self.weights: dict | None = None
        self.followed: dict | None = None  # a sample followed through the network (see set_followed)
        self._loading = False
        self._applying = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        self.title = QLabel()
        self.title.setObjectName("inspector_title")
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("inspector_subtitle")
        self.subtitle.setStyleSheet("color: palette(placeholder-text);")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.pages = QStackedWidget()
        # size to the page on show, not to the tallest page (which would force a scroll bar)
        self.pages.currentChanged.connect(self._fit_page)
        layout.addWidget(self.pages)
        layout.addStretch(1)

        self._build_empty_page()
        self._build_layer_page()
        self._build_connection_page()
        self._build_neuron_page()

        events = graph.events
        events.layer_changed.connect(self._on_layer_changed)
        events.connection_changed.connect(self._on_connection_changed)
        events.layer_removed.connect(self._on_removed)
        events.connection_removed.connect(self._on_removed)
        events.connection_added.connect(self._on_structure_changed)
        events.layer_added.connect(self._on_structure_changed)
        events.reset.connect(self._on_reset)
        subscriptions = [(events.layer_changed, self._on_layer_changed),
                         (events.connection_changed, self._on_connection_changed),
                         (events.layer_removed, self._on_removed), (events.connection_removed, self._on_removed),
                         (events.connection_added, self._on_structure_changed),
                         (events.layer_added, self._on_structure_changed), (events.reset, self._on_reset)]
        # the graph outlives the inspector (the window keeps one graph): stop listening when it goes
        self.destroyed.connect(lambda *_: [event.disconnect(callback) for event, callback in subscriptions])
        self.show_selection([])

    # ------------------------------------------------------------------ pages
    def _build_empty_page(self) -> None:
        self.empty_page = QLabel()
        self.empty_page.setObjectName("inspector_hint")
        self.empty_page.setWordWrap(True)
        self.empty_page.setTextFormat(Qt.TextFormat.RichText)
        self.empty_page.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty_page.setStyleSheet("padding-top: 4px;")
        self.pages.addWidget(self.empty_page)

    def _fit_page(self, index: int) -> None:
        for i in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.pages.widget(i).setSizePolicy(policy, policy)

    def set_design_info(self, name: str, description: str) -> None:
        """The project's name and description, shown while nothing is selected."""
        self._design = (name, description)
        if self.item_id is None and self.neuron is None:
            self._load(0)

    def _overview(self) -> str:
        name, description = self._design
        g = self.graph
        layers, connections = len(g.layers), len(g.connections)
        try:
            from designer.graph import parameter_count
            parameters = f" · {count(parameter_count(g), 'parameter')}"
        except GraphError:
            parameters = ""
        parts = []
        if description:
            parts.append(f"<p>{_escape(description)}</p>")
        parts.append(f"<p style='color:#667085'>{layers} layer{'s' if layers != 1 else ''} · {connections} "
                     f"connection{'s' if connections != 1 else ''}{parameters}</p>")
        tips = ["Drag a layer from the <b>Palette</b> onto the canvas.",
                "Drag from a layer's right-hand port to another layer to connect them.",
                "Click a layer or a connection to change it here.",
                "<b>Delete</b> removes the selection, <b>Ctrl+Z</b> undoes, <b>F</b> fits the design in view.",
                "Press <b>F5</b> to train."]
        parts.append("<p style='color:#475467'><b>How to</b></p><ul style='margin-left:-20px; color:#475467'>"
                     + "".join(f"<li style='margin-bottom:3px'>{t}</li>" for t in tips) + "</ul>")
        return "".join(parts)

    def _form(self) -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 6, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(7)
        self.pages.addWidget(page)
        return page, form

    def _build_layer_page(self) -> None:
        self.layer_page, form = self._form()
        self.layer_id = QLineEdit()
        self.layer_id.setObjectName("layer_id")
        self.layer_id.setReadOnly(True)
        self.layer_id.setToolTip("The layer's id names it in files, weights and messages; it does not change.")
        self.label = QLineEdit()
        self.label.setObjectName("layer_label")
        self.label.setPlaceholderText("a name shown on the canvas")
        self.label.setClearButtonEnabled(True)
        self.kind = _combo({k: KIND_NAMES.get(k, k) for k in LAYER_KINDS})
        self.kind.setObjectName("layer_kind")
        self.shape = QLineEdit()
        self.shape.setObjectName("layer_shape")
        self.shape.setToolTip("Neurons in a column (“16”), or laid out on a grid: “28, 28” (height, width) "
                              "or “3, 28, 28” (channels, height, width).")
        self.shape_error = _error_label()
        self.activation = _combo(ACTIVATION_NAMES)
        self.activation.setObjectName("layer_activation")
        self.activation.setToolTip("What each neuron applies to its weighted sum plus bias.")
        self.activation_curve = ActivationCurve()
        self.activation_formula = QLabel()
        self.activation_formula.setObjectName("activation_formula")
        self.activation_formula.setWordWrap(True)
        self.activation_formula.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        curve_box = QWidget()
        curve_box.setObjectName("activation_curve_box")
        curve_layout = QVBoxLayout(curve_box)
        curve_layout.setContentsMargins(0, 0, 0, 0)
        curve_layout.setSpacing(2)
        curve_layout.addWidget(self.activation_curve)
        curve_layout.addWidget(self.activation_formula)
        self.activation_box = curve_box
        self.slope = _double(0.0, 1.0, 3, 0.01)
        self.slope.setObjectName("layer_slope")
        self.slope.setToolTip("Leaky ReLU's slope for negative sums: f(z) = slope·z below 0 "
                              f"(PyTorch's default {DEFAULT_SLOPE:g}).")
        self.bias = QCheckBox("Learned bias per neuron")
        self.bias.setObjectName("layer_bias")
        self.norm = _combo(NORM_NAMES)
        self.norm.setObjectName("layer_norm")
        self.norm.setToolTip("Normalise each sample's weighted sums before the activation. Batch: per neuron "
                             "(per channel on a grid), over the batch, with running statistics for prediction. "
                             "Layer: over the layer's neurons, sample by sample. Both learn a scale and a shift.")
        self.dropout = _double(0.0, MAX_DROPOUT, 2, 0.05)
        self.dropout.setObjectName("layer_dropout")
        self.dropout.setToolTip("While training, each value of this layer is set to 0 with this probability (and "
                                "the others scaled up to match); predictions use every value. 0: off.")
        self.layer_init = _combo(INIT_NAMES)
        self.layer_init.setObjectName("layer_init")
        self.layer_init.setToolTip("How the layer's recurrent (hidden-to-hidden) weights start.")
        self.layer_init_value = _double(-100.0, 100.0, 4, 0.01)
        self.layer_init_value.setObjectName("layer_init_value")
        self.layer_init_value.setToolTip("The value every recurrent weight starts at.")
        form.addRow("Id", self.layer_id)
        form.addRow("Label", self.label)
        form.addRow("Kind", self.kind)
        form.addRow("Shape", self.shape)
        form.addRow("", self.shape_error)
        form.addRow("Activation", self.activation)
        form.addRow("", self.activation_box)
        form.addRow("Slope", self.slope)
        form.addRow("Bias", self.bias)
        form.addRow("Normalisation", self.norm)
        form.addRow("Dropout", self.dropout)
        form.addRow("Initialisation", self.layer_init)
        form.addRow("Start value", self.layer_init_value)
        self._layer_form = form
        self.label.editingFinished.connect(self._apply_label)
        self.kind.currentIndexChanged.connect(self._apply_kind)
        self.shape.editingFinished.connect(self._apply_shape)
        self.shape.textEdited.connect(lambda _text: self.shape_error.hide())
        self.activation.currentIndexChanged.connect(self._apply_activation)
        self.bias.toggled.connect(self._apply_bias)
        self.slope.valueChanged.connect(lambda value: self._apply_layer_field(slope=round(value, 6)))
        self.norm.currentIndexChanged.connect(lambda _i: self._apply_layer_field(norm=self.norm.currentData()))
        self.dropout.valueChanged.connect(lambda value: self._apply_layer_field(dropout=round(value, 6)))
        self.layer_init.currentIndexChanged.connect(
            lambda _i: self._apply_layer_field(init=self.layer_init.currentData()))
        self.layer_init_value.valueChanged.connect(
            lambda value: self._apply_layer_field(init_value=round(value, 6)))

    def _build_connection_page(self) -> None:
        self.connection_page, form = self._form()
        self.ends = QLabel()
        self.ends.setObjectName("connection_ends")
        self.connectivity = _combo({"dense": "Dense: every neuron to every neuron",
                                    "local": "Local: each neuron sees a window"})
        self.connectivity.setObjectName("connection_kind")
        self.window = QLineEdit()
        self.window.setObjectName("connection_window")
        self.window.setToolTip("How many neighbouring source neurons each target neuron sees: “3” or “3, 3”.")
        self.window_error = _error_label()
        self.stride = QSpinBox()
        self.stride.setObjectName("connection_stride")
        self.stride.setRange(1, 64)
        self.stride.setKeyboardTracking(False)
        self.stride.setToolTip("How far the window moves from one target neuron to the next.")
        self.padding = _combo({"valid": "Valid: windows stay inside", "same": "Same: pad to keep the size"})
        self.padding.setObjectName("connection_padding")
        self.produces = QLabel()
        self.produces.setObjectName("connection_produces")
        self.produces.setWordWrap(True)
        self.produces.setStyleSheet("color: palette(placeholder-text);")
        self.shared = QCheckBox("Shared across positions")
        self.shared.setToolTip("One set of window weights for every position: a convolution. Off: each target "
                               "neuron has its own weights (locally connected).")
        self.shared.setObjectName("connection_shared")
        self.operation = _combo(OPERATION_NAMES)
        self.operation.setObjectName("connection_operation")
        self.operation.setToolTip("What each target neuron makes of its window: a weighted sum (learned "
                                  "weights), or the window's maximum or mean on each channel (pooling: no weights, "
                                  "the channels are kept).")
        self.no_weights = QLabel()
        self.no_weights.setObjectName("connection_no_weights")
        self.no_weights.setWordWrap(True)
        self.no_weights.setStyleSheet("color: palette(placeholder-text);")
        self.init = _combo(INIT_NAMES)
        self.init.setObjectName("connection_init")
        self.init.setToolTip("How the weights start before training. Default: PyTorch's (uniform, scaled by the "
                             "inputs per neuron). Xavier suits tanh and sigmoid, He suits ReLU.")
        self.init_value = _double(-100.0, 100.0, 4, 0.01)
        self.init_value.setObjectName("connection_init_value")
        self.init_value.setToolTip("The value every weight starts at.")
        form.addRow("Joins", self.ends)
        form.addRow("Kind", self.connectivity)
        form.addRow("Operation", self.operation)
        form.addRow("Window", self.window)
        form.addRow("", self.window_error)
        form.addRow("Stride", self.stride)
        form.addRow("Padding", self.padding)
        form.addRow("Weights", self.shared)
        form.addRow("Weights", self.no_weights)
        form.addRow("Initialisation", self.init)
        form.addRow("Start value", self.init_value)
        form.addRow("Produces", self.produces)
        self._connection_form = form
        self.operation.currentIndexChanged.connect(
            lambda _i: self._apply_local(pool=self.operation.currentData() or ""))
        self.init.currentIndexChanged.connect(lambda _i: self._apply_init(kind=self.init.currentData()))
        self.init_value.valueChanged.connect(lambda value: self._apply_init(value=round(value, 6)))
        self.connectivity.currentIndexChanged.connect(self._apply_connectivity_kind)
        self.window.editingFinished.connect(self._apply_window)
        self.window.textEdited.connect(lambda _text: self.window_error.hide())
        self.stride.valueChanged.connect(lambda value: self._apply_local(stride=value))
        self.padding.currentIndexChanged.connect(lambda _i: self._apply_local(padding=self.padding.currentData()))
        self.shared.toggled.connect(lambda on: self._apply_local(shared=on))

    def _build_neuron_page(self) -> None:
        self.neuron_box = QWidget()
        layout = QVBoxLayout(self.neuron_box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.neuron_page = QLabel()
        self.neuron_page.setObjectName("neuron_details")
        self.neuron_page.setWordWrap(True)
        self.neuron_page.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.neuron_page.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.neuron_weights = NeuronWeights()
        layout.addWidget(self.neuron_page)
        self.follow_hint = QLabel("Click a sample in “What the network learned” to follow it through the network: "
                                  "this neuron's sum for it is written out here.")
        self.follow_hint.setObjectName("follow_hint")
        self.follow_hint.setWordWrap(True)
        self.follow_hint.setStyleSheet("color: palette(placeholder-text);")
        self.follow_hint.hide()
        layout.addWidget(self.follow_hint)
        layout.addWidget(self._build_follow_box())
        layout.addWidget(self.neuron_weights, 1)
        self.pages.addWidget(self.neuron_box)

    def _build_follow_box(self) -> QWidget:
        """The followed sample's sum for the shown neuron, with the time step of a sequence."""
        box = self.follow_box = QFrame()
        box.setObjectName("follow_box")
        box.setStyleSheet("QFrame#follow_box { background: #F4F3FF; border: 1px solid #D9D6FE; border-radius: 6px; }")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        self.follow_title = QLabel()
        self.follow_title.setObjectName("follow_title")
        self.follow_title.setWordWrap(True)
        self.follow_title.setStyleSheet("font-weight: 600; border: none; background: transparent;")
        layout.addWidget(self.follow_title)
        self.follow_step_row = QWidget()
        row = QHBoxLayout(self.follow_step_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Time step"))
        self.follow_step = QSlider(Qt.Orientation.Horizontal)
        self.follow_step.setObjectName("follow_step")
        self.follow_step.setToolTip("The step of the sequence whose values the canvas and the sum show")
        self.follow_step.valueChanged.connect(self._follow_step_moved)
        row.addWidget(self.follow_step, 1)
        self.follow_step_label = QLabel()
        self.follow_step_label.setMinimumWidth(44)
        row.addWidget(self.follow_step_label)
        layout.addWidget(self.follow_step_row)
        self.explanation = QLabel()
        self.explanation.setObjectName("neuron_explanation")
        self.explanation.setTextFormat(Qt.TextFormat.PlainText)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setStyleSheet("font-family: monospace; border: none; background: transparent;")
        layout.addWidget(self.explanation)
        box.hide()
        return box

    def set_followed(self, followed: dict | None) -> None:
        """A sample followed through the network (the training controller's ``followed``: ``traced``,
        ``weights``, ``step``, ``steps``, ``label``, ``values``), or None; a shown neuron writes out its sum."""
        self.followed = followed
        if self.neuron is not None and self.neuron[0] in self.graph.layers:
            self._load_follow(*self.neuron)
        else:
            self.follow_box.hide()
            self.follow_hint.hide()

    def _follow_step_moved(self, value: int) -> None:
        if self.followed is not None and value != self.followed.get("step"):
            self.follow_step_label.setText(f"{value} / {self.followed.get('steps') - 1}")
            self.follow_step_changed.emit(int(value))

    def explanation_lines(self, layer_id: str, index: int) -> list[str]:
        """The followed sample's sum in neuron ``index`` of ``layer_id``, as the page writes it out."""
        followed = self.followed
        if followed is None:
            return []
        from designer.insight import explain

        layer = self.graph.layers[layer_id]
        values = (followed.get("values") or {}).get(layer_id)
        if layer.kind == "input":
            value = f" = {float(values[index]):.4g}" if values is not None and index < len(values) else ""
            return [f"{layer_id}[{index}]{value}: an input is the sample's own value"]
        try:
            lines = explain(self.graph, followed["weights"], followed["traced"], 0, layer_id, index,
                            followed.get("step")).lines()
        except (GraphError, KeyError, IndexError, ValueError) as exc:
            return [f"Not shown: {exc}"]
        # the trace holds the one sample followed: "sample 0" would be read as the data's first sample
        lines[0] = lines[0].replace(", sample 0", "", 1)
        return lines

    def _load_follow(self, layer_id: str, index: int) -> None:
        followed = self.followed
        self.follow_hint.setVisible(followed is None and self.weights is not None
                                    and self.graph.layers[layer_id].kind != "input")
        if followed is None:
            self.follow_box.hide()
            return
        steps = followed.get("steps")
        step = followed.get("step")
        self.follow_title.setText(f"Following {followed.get('label', 'a sample')}"
                                  + (f", step {step} (of 0–{steps - 1})" if steps else "") + ": this neuron's sum")
        self.follow_step_row.setVisible(bool(steps))
        if steps:
            self.follow_step.blockSignals(True)
            self.follow_step.setRange(0, steps - 1)
            self.follow_step.setValue(step if step is not None else steps - 1)
            self.follow_step.blockSignals(False)
            self.follow_step_label.setText(f"{self.follow_step.value()} / {steps - 1}")
        self.explanation.setText("\n".join(self.explanation_lines(layer_id, index)))
        self.follow_box.show()

    def set_weights(self, weights: dict | None) -> None:
        """The trained weights (``named_weights()`` names), for the selected neuron's incoming weights."""
        self.weights = weights
        if self.neuron is not None:
            self.neuron_weights.refresh(self.graph, weights)
            if self.neuron[0] in self.graph.layers:
                self.follow_hint.setVisible(self.followed is None and weights is not None
                                            and self.graph.layers[self.neuron[0]].kind != "input")

    def set_read_only(self, read_only: bool) -> None:
        """Lock the fields (while training); what is shown, a neuron's weights included, stays readable."""
        for page in (self.layer_page, self.connection_page):
            page.setEnabled(not read_only)

    def is_read_only(self) -> bool:
        return not self.layer_page.isEnabled()

    # ------------------------------------------------------------------ what is shown
    def show_selection(self, ids: list[str]) -> None:
        """Show the one selected layer or connection; a hint for nothing or several."""
        self.neuron = None
        if len(ids) == 1 and (ids[0] in self.graph.layers or ids[0] in self.graph.connections):
            self.item_id = ids[0]
        else:
            self.item_id = None
        self._load(len(ids))

    def show_neuron(self, layer_id: str, index: int) -> None:
        """Show one neuron of a layer: which it is, where on the grid, what reaches it."""
        if layer_id not in self.graph.layers:
            return
        self.item_id = layer_id
        self.neuron = (layer_id, index)
        self._load(1)

    def _load(self, count: int = 1) -> None:
        self._loading = True
        try:
            if self.neuron is not None:
                self._load_neuron(*self.neuron)
            elif self.item_id in self.graph.layers:
                self._load_layer(self.graph.layers[self.item_id])
            elif self.item_id in self.graph.connections:
                self._load_connection(self.graph.connections[self.item_id])
            else:
                self.item_id = None
                if count == 0:
                    self.title.setText(self._design[0] or "Nothing selected")
                    self.subtitle.setText("Nothing selected")
                    self.empty_page.setText(self._overview())
                else:
                    self.title.setText(f"{count} items selected")
                    self.subtitle.setText("Select a single layer or connection to edit it.")
                    self.empty_page.setText("")
                self.pages.setCurrentWidget(self.empty_page)
        finally:
            self._loading = False

    def _layer_parameters(self, layer) -> int:
        total = layer_parameter_count(layer)
        for conn in self.graph.incoming(layer.id):
            source = self.graph.layers.get(conn.source)
            if source is not None:
                try:
                    total += connection_weight_count(source, layer, conn)
                except GraphError:
                    pass
        return total

    def _load_layer(self, layer) -> None:
        self.title.setText(f"{KIND_NAMES.get(layer.kind, layer.kind)} layer “{layer.name}”")
        units = layer.units
        self.subtitle.setText(f"{count(units, 'neuron')} · "
                              f"{count(self._layer_parameters(layer), 'parameter')} with incoming weights")
        self.layer_id.setText(layer.id)
        if not self.label.hasFocus() or self.label.text() != layer.label:
            self.label.setText(layer.label)
        _select(self.kind, layer.kind)
        self.shape.setText(format_ints(layer.shape))
        self.shape_error.hide()
        _select(self.activation, layer.activation)
        self.activation_curve.set_activation(layer.activation, layer.slope)
        self.activation_formula.setText(f"f(z) = {formula(layer.activation, layer.slope)}")
        self.slope.setValue(layer.slope)
        self.bias.setChecked(layer.bias)
        _select(self.norm, layer.norm)
        self.dropout.setValue(layer.dropout)
        _select(self.layer_init, layer.init)
        self.layer_init_value.setValue(layer.init_value)
        form = self._layer_form
        neurons = layer.kind == "neurons"
        form.setRowVisible(self.activation, neurons)
        form.setRowVisible(self.activation_box, neurons)
        form.setRowVisible(self.slope, neurons and layer.activation == "leaky_relu")
        form.setRowVisible(self.bias, layer.kind != "input")
        form.setRowVisible(self.norm, neurons)
        form.setRowVisible(self.dropout, layer.kind in DROPOUT_KINDS)
        form.setRowVisible(self.layer_init, layer.kind in GATES)
        form.setRowVisible(self.layer_init_value, layer.kind in GATES and layer.init == "constant")
        self.pages.setCurrentWidget(self.layer_page)

    def _load_connection(self, conn) -> None:
        source, target = self.graph.layers.get(conn.source), self.graph.layers.get(conn.target)
        self.title.setText(f"Connection “{conn.id}”")
        c = conn.connectivity
        pooling = c.is_pool
        if pooling:
            weights = f"{c.pool} pooling: no weights"
        elif source is not None and target is not None:
            try:
                weights = f"{connection_weight_count(source, target, conn):,} weights"
            except GraphError:
                weights = "the window does not fit (see Problems)"
        else:
            weights = "an end is missing (see Problems)"
        recurrent = conn.id in self.graph.flow().recurrent
        self.subtitle.setText(weights + (" · recurrent: carries the previous time step" if recurrent else ""))
        self.ends.setText(f"{conn.source}  →  {conn.target}")
        _select(self.connectivity, c.kind)
        _select(self.operation, c.pool if c.kind == "local" else "")
        self.window.setText(format_ints(c.window))
        self.window_error.hide()
        self.stride.setValue(max(1, c.stride))
        _select(self.padding, c.padding)
        self.shared.setChecked(c.shared)
        _select(self.init, conn.init)
        self.init_value.setValue(conn.init_value)
        what = {"max": "maximum", "mean": "mean"}.get(c.pool, c.pool)
        self.no_weights.setText(f"None: each target neuron is the {what} of its window, channel by channel")
        local = c.kind == "local"
        form = self._connection_form
        for widget in (self.operation, self.window, self.stride, self.padding, self.produces):
            form.setRowVisible(widget, local)
        form.setRowVisible(self.shared, local and not pooling)
        form.setRowVisible(self.no_weights, pooling)
        form.setRowVisible(self.init, not pooling)
        form.setRowVisible(self.init_value, not pooling and conn.init == "constant")
        if local and source is not None:
            self.produces.setText(self._produces(source, c))
        form.setRowVisible(self.window_error, local and not self.window_error.isHidden())
        self.pages.setCurrentWidget(self.connection_page)

    @staticmethod
    def _produces(source, c: Connectivity) -> str:
        """What a local connection's windows make of the source: ``a 4 × 4 grid per channel``."""
        try:
            grid = local_geometry(source.shape, c).out_spatial
        except GraphError:
            return "no grid: the window does not fit (see Problems)"
        size = " × ".join(map(str, grid))
        if c.is_pool:
            try:
                shape = local_target_shape(source.shape, c)
            except GraphError:
                shape = grid
            channels = shape[0] if len(shape) == 3 else 1
            kept = (f", on each of the {channels} channels (kept)" if channels > 1 else "")
            return (f"a {size} grid{kept}: shape {format_ints(shape)}" if len(grid) > 1
                    else f"{size} neurons: shape {format_ints(shape)}")
        return f"a {size} grid per channel" if len(grid) > 1 else f"{size} neurons per channel"

    def _load_neuron(self, layer_id: str, index: int) -> None:
        layer = self.graph.layers[layer_id]
        self.title.setText(f"Neuron {index} of “{layer.name}”")
        place = ""
        if len(layer.shape) > 1:
            coords, rest = [], index
            for n in reversed(layer.shape):
                coords.append(rest % n)
                rest //= n
            names = ("channel", "row", "column")[-len(layer.shape):]
            place = ", ".join(f"{name} {v}" for name, v in zip(names, reversed(coords)))
        self.subtitle.setText(f"index {index} of {layer.units:,}" + (f" ({place})" if place else ""))
        incoming = self.graph.incoming(layer_id)
        lines = [f"<b>Layer</b>: {layer.id} ({KIND_NAMES.get(layer.kind, layer.kind)}, shape "
                 f"{format_ints(layer.shape)})"]
        if layer.kind == "neurons":
            norm = {"batch": ", batch-normalised", "layer": ", layer-normalised"}.get(layer.norm, "")
            lines.append(f"<b>Computes</b>: {ACTIVATION_NAMES.get(layer.activation, layer.activation).lower()}"
                         f" of its weighted inputs{' plus bias' if layer.bias else ''}{norm}")
        if layer.kind in DROPOUT_KINDS and layer.dropout:
            lines.append(f"<b>Dropout</b>: {layer.dropout:g} while training (each value set to 0 with this "
                         "probability)")
        if incoming:
            lines.append("<b>Reached by</b>: " + ", ".join(self._reached_by(c, index) for c in incoming))
        lines.append("<i>Click a link to switch it off or on.</i>")
        self.neuron_page.setText("<br>".join(lines))
        self._load_follow(layer_id, index)
        self.neuron_weights.show_neuron(self.graph, self.weights, layer_id, index)
        self.pages.setCurrentWidget(self.neuron_box)

    def _reached_by(self, conn, index: int) -> str:
        """A connection into the shown neuron; a local one with what its window holds (outlined on the canvas)."""
        window = local_window(self.graph, conn, index)
        if window is None:
            return conn.id
        source = self.graph.layers[conn.source]
        # the page is rich text: a label may hold < or &
        return (f"{conn.id} (a window of {window.describe()} on “{html.escape(source.name)}”, "
                "outlined on the canvas)")

    # ------------------------------------------------------------------ graph events
    def _on_layer_changed(self, layer, names) -> None:
        if self._applying or self.item_id is None:
            return
        shown = self.graph.connections.get(self.item_id)
        if layer.id == self.item_id or (shown is not None and layer.id in (shown.source, shown.target)):
            self._load()

    def _on_connection_changed(self, conn, names) -> None:
        if self._applying or self.item_id is None:
            return
        if conn.id == self.item_id or (self.item_id in self.graph.layers and conn.target == self.item_id):
            self._load()

    def _on_structure_changed(self, *_args) -> None:
        if not self._applying:
            self._load(0 if self.item_id is None else 1)

    def _on_removed(self, item) -> None:
        if self._applying:
            return
        if item.id == self.item_id:
            self.show_selection([])
        else:
            self._load(0 if self.item_id is None else 1)

    def _on_reset(self) -> None:
        self.show_selection([])

    # ------------------------------------------------------------------ edits
    def _push(self, *commands, text: str | None = None) -> None:
        """Push one command, or several as one undo step, then show the result once."""
        self._applying = True
        try:
            if len(commands) == 1 and text is None:
                self.undo_stack.push(commands[0])
            else:
                self.undo_stack.beginMacro(text or commands[0].text())
                for command in commands:
                    self.undo_stack.push(command)
                self.undo_stack.endMacro()
        finally:
            self._applying = False
        self._load()

    def _layer(self):
        if self._loading or self.neuron is not None or self.item_id not in self.graph.layers:
            return None
        return self.graph.layers[self.item_id]

    def _connection(self):
        if self._loading or self.item_id not in self.graph.connections:
            return None
        return self.graph.connections[self.item_id]

    def _update_layer(self, layer, **changes) -> None:
        changes = {k: v for k, v in changes.items() if getattr(layer, k) != v}
        if not changes:
            return
        try:
            command = LayerFieldCommand(self.graph, layer.id, **changes)
        except GraphError as exc:  # the design refuses the value: say why, keep the layer as it is
            self._load()
            self.input_rejected.emit(str(exc))
            return
        self._push(command)

    def _apply_label(self) -> None:
        layer = self._layer()
        if layer is not None:
            self._update_layer(layer, label=self.label.text().strip())

    def _apply_kind(self, _index: int) -> None:
        layer = self._layer()
        if layer is not None:
            self._update_layer(layer, kind=self.kind.currentData())

    def _apply_activation(self, _index: int) -> None:
        layer = self._layer()
        if layer is not None:
            self._update_layer(layer, activation=self.activation.currentData())

    def _apply_bias(self, on: bool) -> None:
        layer = self._layer()
        if layer is not None:
            self._update_layer(layer, bias=bool(on))

    def _apply_layer_field(self, **changes) -> None:
        """One of the fields slope, dropout, norm, init, init_value; one undo step (quick repeats merge)."""
        layer = self._layer()
        if layer is not None:
            self._update_layer(layer, **changes)

    def _apply_shape(self) -> None:
        layer = self._layer()
        if layer is None:
            return
        try:
            shape = parse_ints(self.shape.text(), "The shape")
            if math.prod(shape) > 10_000_000:
                raise InputError(f"{math.prod(shape):,} neurons is more than a layer may have (10,000,000)")
        except InputError as exc:
            self._reject(self.shape_error, str(exc))
            return
        self._update_layer(layer, shape=shape)

    def _reject(self, label: QLabel, message: str) -> None:
        label.setText(message)
        label.show()
        self.input_rejected.emit(message)

    # connections ---------------------------------------------------------
    def _follow_target(self, conn, connectivity: Connectivity) -> list:
        """Commands that give a local connection's target the grid its window produces (if it can)."""
        if connectivity.kind != "local":
            return []
        source, target = self.graph.layers.get(conn.source), self.graph.layers.get(conn.target)
        if source is None or target is None or target.kind in ("input", "lstm", "gru"):
            return []
        channels = target.shape[0] if len(target.shape) == 3 else 1
        try:
            # (pooling keeps the source's channels, whatever the target had)
            shape = local_target_shape(source.shape, connectivity, channels)
        except GraphError:
            try:
                shape = local_target_shape(source.shape, connectivity)
            except GraphError:
                return []  # the window does not fit: validation names the problem
        if tuple(shape) == tuple(target.shape):
            return []
        return [UpdateLayerCommand(self.graph, target.id, shape=tuple(shape))]

    def _set_connectivity(self, conn, connectivity: Connectivity, text: str) -> None:
        if connectivity == conn.connectivity:
            return
        try:
            commands = [UpdateConnectionCommand(self.graph, conn.id, connectivity=connectivity)]
            commands += self._follow_target(conn, connectivity)
        except GraphError as exc:
            self._load()
            self.input_rejected.emit(str(exc))
            return
        self._push(*commands, text=text if len(commands) > 1 else None)

    def _apply_connectivity_kind(self, _index: int) -> None:
        conn = self._connection()
        if conn is None:
            return
        kind = self.connectivity.currentData()
        connectivity = Connectivity(kind=kind, window=conn.connectivity.window, stride=conn.connectivity.stride,
                                    padding=conn.connectivity.padding, shared=conn.connectivity.shared,
                                    pool=conn.connectivity.pool if kind == "local" else "",
                                    extra=dict(conn.connectivity.extra))
        self._set_connectivity(conn, connectivity, f"Make {conn.id} {kind}")

    def _apply_local(self, **changes) -> None:
        conn = self._connection()
        if conn is None or conn.connectivity.kind != "local":
            return
        c = conn.connectivity
        fields = dict(kind="local", window=c.window, stride=c.stride, padding=c.padding, shared=c.shared,
                      pool=c.pool, extra=dict(c.extra))
        fields.update(changes)
        if "pool" in changes:
            text = f"Make {conn.id} {OPERATION_NAMES.get(changes['pool'], changes['pool']).lower()}"
        else:
            text = f"Change the window of {conn.id}"
        self._set_connectivity(conn, Connectivity(**fields), text)

    def _apply_init(self, kind: str | None = None, value: float | None = None) -> None:
        conn = self._connection()
        if conn is None:
            return
        init = (conn.init if kind is None else kind, conn.init_value if value is None else value)
        if init == (conn.init, conn.init_value):
            return
        try:
            command = ConnectionInitCommand(self.graph, conn.id, init)
        except GraphError as exc:
            self._load()
            self.input_rejected.emit(str(exc))
            return
        self._push(command)

    def _apply_window(self) -> None:
        conn = self._connection()
        if conn is None:
            return
        try:
            window = parse_ints(self.window.text(), "The window")
        except InputError as exc:
            self._connection_form.setRowVisible(self.window_error, True)
            self._reject(self.window_error, str(exc))
            return
        self._apply_local(window=window)

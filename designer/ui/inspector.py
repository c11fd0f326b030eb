"""The inspector: the selected layer's or connection's fields, edited in place and undoably.

Every edit is one undo command (``UpdateLayerCommand`` / ``UpdateConnectionCommand``), so the
canvas, the problems panel and the status bar follow from graph events like any other change.
The inspector listens to the same events, so undo and redo show up here too; while it writes
a change itself it ignores the echo and reloads once afterwards.

A clicked neuron shows what it computes and, once trained, its incoming weights and bias
(:meth:`Inspector.set_weights`, live while training; the fields are locked then, not the page).
"""
from __future__ import annotations

import html
import math
import re
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QLineEdit, QSizePolicy,
                               QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from designer.graph import (ACTIVATIONS, LAYER_KINDS, Connectivity, Graph, GraphError, connection_weight_count,
                            layer_parameter_count, local_geometry, local_target_shape)
from designer.words import count

from .commands import UpdateConnectionCommand, UpdateLayerCommand
from .neuron_weights import NeuronWeights, local_window

#: edits of one field of one layer within this many seconds merge into one undo step: stepping through
#: a combo box with the arrow keys or by typing "li" (Leaky ReLU, then Linear) is one choice, not several
MERGE_SECONDS = 1.0
LAYER_FIELD_COMMAND_ID = 0x4E4E4946

KIND_NAMES = {"input": "Input", "neurons": "Neurons", "lstm": "LSTM", "gru": "GRU"}
ACTIVATION_NAMES = {"step": "Step (threshold)", "linear": "Linear", "sigmoid": "Sigmoid", "tanh": "Tanh",
                    "relu": "ReLU", "leaky_relu": "Leaky ReLU", "softmax": "Softmax"}
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


def _combo(items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    for value, text in items.items():
        combo.addItem(text, value)
    return combo


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

    def __init__(self, graph: Graph, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector_widget")
        self.graph = graph
        self.undo_stack = undo_stack
        self.item_id: str | None = None
        self._design = ("", "")
        self.neuron: tuple[str, int] | None = None
        self.weights: dict | None = None
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
        self.bias = QCheckBox("Learned bias per neuron")
        self.bias.setObjectName("layer_bias")
        form.addRow("Id", self.layer_id)
        form.addRow("Label", self.label)
        form.addRow("Kind", self.kind)
        form.addRow("Shape", self.shape)
        form.addRow("", self.shape_error)
        form.addRow("Activation", self.activation)
        form.addRow("Bias", self.bias)
        self._layer_form = form
        self.label.editingFinished.connect(self._apply_label)
        self.kind.currentIndexChanged.connect(self._apply_kind)
        self.shape.editingFinished.connect(self._apply_shape)
        self.shape.textEdited.connect(lambda _text: self.shape_error.hide())
        self.activation.currentIndexChanged.connect(self._apply_activation)
        self.bias.toggled.connect(self._apply_bias)

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
        form.addRow("Joins", self.ends)
        form.addRow("Kind", self.connectivity)
        form.addRow("Window", self.window)
        form.addRow("", self.window_error)
        form.addRow("Stride", self.stride)
        form.addRow("Padding", self.padding)
        form.addRow("Weights", self.shared)
        form.addRow("Produces", self.produces)
        self._connection_form = form
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
        layout.addWidget(self.neuron_weights, 1)
        self.pages.addWidget(self.neuron_box)

    def set_weights(self, weights: dict | None) -> None:
        """The trained weights (``named_weights()`` names), for the selected neuron's incoming weights."""
        self.weights = weights
        if self.neuron is not None:
            self.neuron_weights.refresh(self.graph, weights)

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
        self.bias.setChecked(layer.bias)
        form = self._layer_form
        form.setRowVisible(self.activation, layer.kind == "neurons")
        form.setRowVisible(self.bias, layer.kind != "input")
        self.pages.setCurrentWidget(self.layer_page)

    def _load_connection(self, conn) -> None:
        source, target = self.graph.layers.get(conn.source), self.graph.layers.get(conn.target)
        self.title.setText(f"Connection “{conn.id}”")
        if source is not None and target is not None:
            try:
                weights = f"{connection_weight_count(source, target, conn):,} weights"
            except GraphError:
                weights = "the window does not fit (see Problems)"
        else:
            weights = "an end is missing (see Problems)"
        recurrent = conn.id in self.graph.flow().recurrent
        self.subtitle.setText(weights + (" · recurrent: carries the previous time step" if recurrent else ""))
        self.ends.setText(f"{conn.source}  →  {conn.target}")
        c = conn.connectivity
        _select(self.connectivity, c.kind)
        self.window.setText(format_ints(c.window))
        self.window_error.hide()
        self.stride.setValue(max(1, c.stride))
        _select(self.padding, c.padding)
        self.shared.setChecked(c.shared)
        local = c.kind == "local"
        form = self._connection_form
        for widget in (self.window, self.stride, self.padding, self.shared, self.produces):
            form.setRowVisible(widget, local)
        if local and source is not None:
            try:
                grid = local_geometry(source.shape, c).out_spatial
                size = " × ".join(map(str, grid))
                self.produces.setText(f"a {size} grid per channel" if len(grid) > 1 else f"{size} neurons per channel")
            except GraphError:
                self.produces.setText("no grid: the window does not fit (see Problems)")
        form.setRowVisible(self.window_error, local and not self.window_error.isHidden())
        self.pages.setCurrentWidget(self.connection_page)

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
            lines.append(f"<b>Computes</b>: {ACTIVATION_NAMES.get(layer.activation, layer.activation).lower()}"
                         f" of its weighted inputs{' plus bias' if layer.bias else ''}")
        if incoming:
            lines.append("<b>Reached by</b>: " + ", ".join(self._reached_by(c, index) for c in incoming))
        lines.append("<i>Click a link to switch it off or on.</i>")
        self.neuron_page.setText("<br>".join(lines))
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
                                    extra=dict(conn.connectivity.extra))
        self._set_connectivity(conn, connectivity, f"Make {conn.id} {kind}")

    def _apply_local(self, **changes) -> None:
        conn = self._connection()
        if conn is None or conn.connectivity.kind != "local":
            return
        c = conn.connectivity
        fields = dict(kind="local", window=c.window, stride=c.stride, padding=c.padding, shared=c.shared,
                      extra=dict(c.extra))
        fields.update(changes)
        self._set_connectivity(conn, Connectivity(**fields), f"Change the window of {conn.id}")

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

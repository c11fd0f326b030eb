"""The main window: the canvas in the middle, the palette, inspector, settings and problems around it.

It owns the project being edited and its undo stack, and does the file work (new, open, save,
recent files, examples). The graph object lives as long as the window: opening a file replaces its
content (``graph.replace``), so every view that observes it follows. Nothing here imports torch:
the window paints before the engine loads (see :mod:`designer.app`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QColor, QIcon, QKeySequence, QPainter, QPen, QPixmap, QUndoStack
from PySide6.QtWidgets import (QDockWidget, QFrame, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton,
                               QScrollArea, QToolBar, QUndoView, QWidget)

from designer.graph import Graph, Layer, Problem, errors, parameter_count, validate
from designer.project import Project, ProjectError, read_project, write_project
from designer.resources import is_shipped_example
from designer.words import count

from . import collector, dialogs, resource_path, settings
from .autosave import Autosave
from .canvas import CanvasView
from .canvas.view import snap
from .commands import AddConnectionCommand, AddLayerCommand, UpdateLayerCommand
from .data_loading import DataLoader, LoadBar
from .data_fit import DataFacts, adaptation, facts_of_builtin, facts_of_dataset, new_layer_fields
from .dataset_panel import DatasetPanel
from .inspector import Inspector
from .palette import Palette
from .problems import ERROR_COLOUR, OK_COLOUR, WARNING_COLOUR, ProblemsPanel

APP_NAME = "NN Designer"
#: View › Neuron Pictures, remembered between sessions
PICTURES_SETTING = "view/neuron_pictures"


def pictures_icon() -> QIcon:
    """View › Neuron Pictures: four small pictures, as the neurons then show (drawn, to scale to any DPI)."""
    icon = QIcon()
    for size in (16, 20, 24, 32, 40, 48):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        unit = size / 24.0
        colours = ("#3E6FD8", "#E8590C", "#E8590C", "#3E6FD8")
        for k, colour in enumerate(colours):
            x, y = (3 + 10 * (k % 2)) * unit, (3 + 10 * (k // 2)) * unit
            cell = QRectF(x, y, 8 * unit, 8 * unit)
            painter.setPen(QPen(QColor("#344054"), max(1.0, unit)))
            painter.setBrush(QColor(colour).lighter(135))
            painter.drawRect(cell)
            painter.setBrush(QColor(colour))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRect(QRectF(x + (4 * unit if k in (1, 2) else 0), y, 4 * unit, 8 * unit))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def action_icon(name: str) -> QIcon:
    """An icon from ``resources/icons/actions`` (an empty icon when the file is missing)."""
    path = resource_path("icons", "actions", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    icon = QIcon()
    folder = resource_path("icons", "app")
    for size in (16, 24, 32, 48, 64, 128, 256):
        path = folder / f"nn-designer-{size}.png"
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    return icon


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _setting_bool(value, default: bool) -> bool:
    """A flag as QSettings gives it back (an INI file stores it as the text "true" or "false")."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def examples() -> list[Path]:
    """The bundled example projects, by name."""
    folder = resource_path("examples")
    return sorted(folder.glob("*.nnd")) if folder.is_dir() else []


_example_titles: dict[tuple[Path, float], str] = {}


def _example_title(path: Path) -> str:
    """The example's own project name ("XOR", "Spiral"), else a title made from its file name."""
    try:
        key = (path, path.stat().st_mtime)
    except OSError:
        key = (path, 0.0)
    if key not in _example_titles:
        try:
            _example_titles[key] = read_project(path).name or ""
        except ProjectError:
            _example_titles[key] = ""
        if not _example_titles[key]:
            _example_titles[key] = path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    return _example_titles[key]


class MainWindow(QMainWindow):
    """The NN Designer window, editing one project at a time."""

    #: the window painted for the first time (start-up waits for it before loading the engine)
    first_painted = Signal()
    #: another project replaced the current one (New, Open, an example)
    project_replaced = Signal()
    #: the user confirmed closing; stop background work now
    closing = Signal()
    #: the design was validated (once per burst of changes); the problems are in ``problems_found``
    validated = Signal()

    def __init__(self, project: Project | None = None, parent: QWidget | None = None, *,
                 training: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.project = project if project is not None else Project.new()
        self.graph: Graph = self.project.graph
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("undo_stack")
        self.problems_found: list[Problem] = []
        self.training = None
        self.engine_ready = False
        #: the whole check of ``nn-designer check`` (design, data, loss, settings), once the engine is loaded;
        #: until then only the design itself is validated
        self._check_project = None
        self._datasets = None
        #: what the project's data gives, as the last check loaded it (None: not loaded, or it failed)
        self.dataset = None
        #: layers and connections whose trained weights an edit made stale, as last drawn
        self._stale_owners: set[str] = set()
        self._is_example = False
        self._modified_outside_undo = False
        self._painted = False
        self._has_saved_layout = False
        self._shown_once = False

        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.canvas = CanvasView(self.graph, self.undo_stack, self)
        self.canvas.setObjectName("canvas")
        self.canvas.layer_defaults = self.layer_defaults
        self.canvas.setAccessibleName("Network canvas")
        self.setCentralWidget(self.canvas)
        self._build_empty_hint()
        self._build_adapt_bar()
        self._build_import_bar()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.setAcceptDrops(True)

        # Validation runs once per burst of changes: a paste of 50 layers validates once.
        self._validation_timer = QTimer(self)
        self._validation_timer.setObjectName("validation_timer")
        self._validation_timer.setSingleShot(True)
        self._validation_timer.setInterval(0)
        self._validation_timer.timeout.connect(self.validate_now)
        self.graph.events.changed.connect(self._schedule_validation)
        # the graph may outlive this window (a test, a script): stop listening when the window goes
        events, callbacks = self.graph.events, (self._schedule_validation, self._update_empty_hint)
        self.destroyed.connect(lambda *_: [events.changed.disconnect(cb) for cb in callbacks])

        self.canvas.selection_changed.connect(self._selection_changed)
        self.canvas.neuron_selected.connect(self._neuron_selected)
        self.problems.problem_activated.connect(self._select_problem)
        self.problems.changed.connect(self._update_problems_title)
        self.palette.item_activated.connect(self._add_from_palette)
        self.inspector.input_rejected.connect(lambda message: self.statusBar().showMessage(message, 6000))
        self.dataset_panel.settings_changed.connect(self._settings_changed)
        self.undo_stack.cleanChanged.connect(self._update_title)
        # what went wrong in the last run is about a design that has just changed: it no longer holds
        self.undo_stack.indexChanged.connect(self._clear_run_message)
        # unsaved changes are kept in a recovery file (never the user's) until a normal end: see autosave
        self.autosave = Autosave(self)

        if training:
            self._load_checks()  # first: the training's preview of stored weights waits for the check's data
            self.install_training()
        else:  # start-up adds it after the first paint
            self.menu_training.addAction("Loading the training engine…").setEnabled(False)
        self._restore_layout()
        self.validate_now()
        self._update_title()

    # ------------------------------------------------------------------ construction
    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setAccessibleName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.palette = Palette(self)
        self.palette_dock = self._dock("palette", "Palette", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector = Inspector(self.graph, self.undo_stack, self)
        inspector_scroll = QScrollArea(self)
        inspector_scroll.setObjectName("inspector_scroll")
        inspector_scroll.setWidgetResizable(True)
        inspector_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        inspector_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inspector_scroll.setWidget(self.inspector)
        self.inspector_dock = self._dock("inspector", "Inspector", inspector_scroll,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.dataset_panel = DatasetPanel(self.project, self.undo_stack, self)
        self.dataset_dock = self._dock("dataset", "Data and training", self.dataset_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems = ProblemsPanel(self)
        self.problems_dock = self._dock("problems", "Problems", self.problems, Qt.DockWidgetArea.LeftDockWidgetArea)
        # problems under the palette: the left column is otherwise half empty, and problems stay in sight
        self.splitDockWidget(self.palette_dock, self.problems_dock, Qt.Orientation.Vertical)
        self.splitDockWidget(self.inspector_dock, self.dataset_dock, Qt.Orientation.Vertical)
        # every step of the undo stack, clickable to go back to it; a tab behind the problems
        self.history = QUndoView(self.undo_stack, self)
        self.history.setObjectName("history_view")
        self.history.setEmptyLabel("The design as opened")
        self.history.setAccessibleName("Edit history")
        self.history_dock = self._dock("history", "History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, self.history_dock)
        self.problems_dock.raise_()
        # The training docks exist from the start, empty until the engine is loaded: restoreState()
        # only places docks that exist when it runs, and docks added later came back hidden.
        self.loss_dock = self._dock("loss_plot", "Loss", self._placeholder("Loading the training engine…"),
                                    Qt.DockWidgetArea.BottomDockWidgetArea)
        self.learned_dock = self._dock("learned", "What the network learned", self._placeholder(""),
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.loss_dock, self.learned_dock, Qt.Orientation.Horizontal)

    def _placeholder(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("color: #98A2B3")
        return label

    def _build_empty_hint(self) -> None:
        """A word on the empty canvas for someone who has never used the app."""
        # Overlays are children of the view, over its viewport, not of the viewport: a graphics view scrolls its
        # viewport's children with the scene (QWidget.scroll), so a hint there slid off centre at every pan.
        hint = QLabel(self.canvas)
        hint.setObjectName("canvas_empty_hint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setTextFormat(Qt.TextFormat.RichText)
        hint.setText("<div style='font-size:15px; color:#475467; font-weight:600'>An empty design</div>"
                     "<div style='color:#667085; margin-top:6px'>Drag an <b>Input layer</b> from the palette "
                     "onto the canvas,<br>then layers of neurons, and connect them from their right-hand "
                     "ports.<br>Or open an example: <b>File › Examples</b>, or a model of your own: "
                     "<b>File › Import Model…</b>.</div>")
        hint.setStyleSheet("QLabel { background: rgba(255, 255, 255, 215); border: 1px dashed #D0D5DD;"
                           " border-radius: 12px; padding: 18px 26px; }")
        # drops and clicks go through to the canvas underneath
        hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._empty_hint = hint
        self.canvas.viewport().installEventFilter(self)
        self.graph.events.changed.connect(self._update_empty_hint)
        self._update_empty_hint()

    def _build_adapt_bar(self) -> None:
        """The offer, after the data changed, to make the design's input and output fit it (one undo step)."""
        bar = QFrame(self.canvas)
        bar.setObjectName("adapt_bar")
        bar.setStyleSheet("QFrame#adapt_bar { background: #EEF4FF; border: 1px solid #B2CCFF; border-radius: 8px; }")
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(12, 6, 8, 6)
        self.adapt_label = QLabel(bar)
        self.adapt_label.setObjectName("adapt_label")
        self.adapt_label.setWordWrap(True)
        self.adapt_button = QPushButton("Adapt the Design", bar)
        self.adapt_button.setObjectName("adapt_button")
        self.adapt_button.setToolTip("Change the input and output layers to fit the data, in one step you can undo")
        self.adapt_button.clicked.connect(self.adapt_to_data)
        dismiss = QPushButton("Keep As Is", bar)
        dismiss.setObjectName("adapt_dismiss")
        dismiss.clicked.connect(bar.hide)
        layout.addWidget(self.adapt_label, 1)
        layout.addWidget(self.adapt_button)
        layout.addWidget(dismiss)
        bar.hide()
        self.adapt_bar = bar
        self._offer_adaptation = False

    def _build_import_bar(self) -> None:
        """What an import left to the user (dropout to set again, the data chosen ...): shown, not asked."""
        bar = QFrame(self.canvas)
        bar.setObjectName("import_bar")
        bar.setStyleSheet("QFrame#import_bar { background: #F9FAFB; border: 1px solid #D0D5DD; border-radius: 8px; }")
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(10, 4, 6, 4)
        self.import_label = QLabel(bar)
        self.import_label.setObjectName("import_label")
        self.import_label.setWordWrap(True)
        self.import_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QPushButton("OK", bar)
        dismiss.setObjectName("import_dismiss")
        dismiss.clicked.connect(bar.hide)
        layout.addWidget(self.import_label, 1)
        layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        bar.hide()
        self.import_bar = bar
        self._import_step = 0  # the undo stack's index just after the import the bar tells of
        # undoing the import takes its design away, and what the bar says of it with it
        self.undo_stack.indexChanged.connect(
            lambda index: self.import_bar.hide() if index < self._import_step else None)

    def _overlay_area(self):
        """The canvas's viewport, in the coordinates of the view that holds the overlays."""
        return self.canvas.viewport().geometry()

    def _place_import_bar(self) -> None:
        area = self._overlay_area()
        self.import_bar.setFixedWidth(max(min(area.width() - 24, 760), 200))
        self.import_bar.adjustSize()
        self.import_bar.move(area.center().x() - self.import_bar.width() // 2,
                             max(area.bottom() - self.import_bar.height() - 12, area.top() + 12))

    def _place_adapt_bar(self) -> None:
        area = self._overlay_area()
        width = min(area.width() - 24, 760)
        self.adapt_bar.setFixedWidth(max(width, 200))
        self.adapt_bar.adjustSize()
        self.adapt_bar.move(area.center().x() - self.adapt_bar.width() // 2, area.top() + 12)

    def _update_adapt_bar(self) -> None:
        """Offer (or keep offering) to adapt the design while its input or output does not fit the data."""
        if not (self._offer_adaptation or self.adapt_bar.isVisible()):
            return
        self._offer_adaptation = False
        facts = self.data_facts()
        changes = adaptation(self.graph, facts) if facts is not None else {}
        if not changes or self.canvas.is_read_only():
            self.adapt_bar.hide()
            return
        parts = []
        for layer_id, change in changes.items():
            layer = self.graph.layer(layer_id)
            if layer.kind == "input":
                parts.append(f"input {layer_id} takes {list(layer.shape)}, the data gives {list(facts.input_shape)}")
            else:
                parts.append(f"output {layer_id} has {count(layer.units, layer.activation + ' unit')}, the data needs "
                             f"{facts.describe_output()}")
        self.adapt_label.setText(f"The design does not fit {facts.name!r}: " + "; ".join(parts) + ".")
        self.adapt_bar.show()
        self.adapt_bar.raise_()
        self._place_adapt_bar()

    @Slot()
    def adapt_to_data(self) -> None:
        """Change the input and output layers to fit the data: one step on the undo stack."""
        facts = self.data_facts()
        changes = adaptation(self.graph, facts) if facts is not None else {}
        self.adapt_bar.hide()
        if not changes or self.canvas.is_read_only():
            return
        self.undo_stack.beginMacro(f"Adapt the design to {facts.name}")
        for layer_id, change in changes.items():
            self.undo_stack.push(UpdateLayerCommand(self.graph, layer_id, **change))
        self.undo_stack.endMacro()
        self.validate_now()
        self.statusBar().showMessage(f"The design now fits {facts.name!r}: Undo puts it back", 6000)

    def _update_empty_hint(self) -> None:
        hint = self._empty_hint
        hint.setVisible(not self.graph.layers)
        if hint.isVisible():
            hint.adjustSize()
            area = self._overlay_area()
            hint.move(area.center().x() - hint.width() // 2, area.center().y() - hint.height() // 2)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.canvas.viewport() and event.type() == QEvent.Type.Resize:
            self._update_empty_hint()
            if self.adapt_bar.isVisible():
                self._place_adapt_bar()
            if self.import_bar.isVisible():
                self._place_import_bar()
        return super().eventFilter(watched, event)

    def _apply_default_sizes(self) -> None:
        """Dock sizes for a first start (afterwards the user's own layout is restored)."""
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.palette_dock, self.problems_dock], [self.palette.sizeHint().height(), 400],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock, self.dataset_dock], [360, 440], Qt.Orientation.Vertical)
        # room for the curves: the plots are what a person watches while training
        self.resizeDocks([self.loss_dock], [max(300, int(self.height() * 0.38))], Qt.Orientation.Vertical)
        self.resizeDocks([self.loss_dock, self.learned_dock], [520, 380], Qt.Orientation.Horizontal)

    def _action(self, name: str, text: str, slot, shortcut=None, icon: str | None = None,
                tip: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(action_icon(icon))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                              if shortcut is not None else tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.action_new = self._action("action_new", "&New", self.new_project, key.New, "new", "Start a new design")
        self.action_open = self._action("action_open", "&Open…", self.open_dialog, key.Open, "open",
                                        "Open a project file")
        self.action_import = self._action("action_import", "&Import Model…", self.import_dialog, None, None,
                                          "Open an ONNX model as a design, with its trained weights")
        self.action_import_run = self._action("action_import_run", "Import &Run…", self.import_run_dialog, None, None,
                                              "Bring a finished training job's weights and run into this design")
        self.action_export_job = self._action("action_export_job", "Training &Job…", self.export_job_dialog, None,
                                              None, "Write this design as a training job folder to run with torchrun "
                                              "on bigger machines")
        self.action_save = self._action("action_save", "&Save", self.save, key.Save, "save", "Save the project")
        self.action_save_as = self._action("action_save_as", "Save &As…", self.save_as, key.SaveAs, None,
                                           "Save the project under another name")
        self.action_quit = self._action("action_quit", "&Quit", self.close, key.Quit)
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.action_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.action_undo.setObjectName("action_undo")
        self.action_undo.setShortcut(QKeySequence(key.Undo))
        self.action_undo.setIcon(action_icon("undo"))
        self.action_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.action_redo.setObjectName("action_redo")
        self.action_redo.setShortcut(QKeySequence(key.Redo))
        self.action_redo.setIcon(action_icon("redo"))
        self.addActions([self.action_undo, self.action_redo])
        self.action_delete = self._action("action_delete", "&Delete", self.canvas.delete_selected, key.Delete,
                                          "delete", "Delete the selected layers and connections")
        # Delete acts on the canvas only: in a field of a panel the key belongs to that field
        self.action_delete.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.removeAction(self.action_delete)
        self.canvas.addAction(self.action_delete)
        self.action_select_all = self._action("action_select_all", "Select &All", self.select_all, key.SelectAll)
        self.action_fit = self._action("action_fit", "&Fit to Window", self.canvas.fit, "Ctrl+0", "fit",
                                       "Show the whole design")
        # "F" must not fire while the user types an F into a field: only on the canvas.
        self.action_fit_key = QAction(self.canvas)
        self.action_fit_key.setShortcut(QKeySequence("F"))
        self.action_fit_key.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action_fit_key.triggered.connect(self.canvas.fit)
        self.canvas.addAction(self.action_fit_key)
        self.action_zoom_in = self._action("action_zoom_in", "Zoom &In", lambda: self._zoom_by(1.25),
                                           QKeySequence.StandardKey.ZoomIn)
        self.action_zoom_out = self._action("action_zoom_out", "Zoom &Out", lambda: self._zoom_by(0.8),
                                            QKeySequence.StandardKey.ZoomOut)
        self.action_zoom_reset = self._action("action_zoom_reset", "&Actual Size", lambda: self.canvas.set_zoom(1.0),
                                              "Ctrl+1")
        self.action_reset_layout = self._action("action_reset_layout", "&Reset Layout", self.reset_layout, None,
                                                None, "Put every panel back where it was at the first start")
        self.action_neuron_pictures = QAction("Neuron &Pictures", self)
        self.action_neuron_pictures.setObjectName("action_neuron_pictures")
        self.action_neuron_pictures.setCheckable(True)
        self.action_neuron_pictures.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.action_neuron_pictures.setIcon(pictures_icon())
        tip = ("Show what every neuron computes, live while it learns: its output over the input plane (2-D data), "
               "its incoming weights (images) or its activation over a sequence")
        self.action_neuron_pictures.setStatusTip(tip)
        self.action_neuron_pictures.setToolTip(f"{tip} (Ctrl+Shift+P)")
        self.addAction(self.action_neuron_pictures)
        on = _setting_bool(settings.app_settings().value(PICTURES_SETTING), False)
        self.action_neuron_pictures.setChecked(on)
        self.canvas.set_pictures_mode(on)
        self.action_neuron_pictures.toggled.connect(self.set_neuron_pictures)
        self.action_about = self._action("action_about", "&About NN Designer", self._about)
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = bar.addMenu("&File")
        self.menu_file.setObjectName("menu_file")
        self.menu_file.addActions([self.action_new, self.action_open, self.action_import, self.action_import_run])
        self.menu_recent = self.menu_file.addMenu("Open &Recent")
        self.menu_recent.setObjectName("menu_recent")
        self.menu_recent.aboutToShow.connect(self._fill_recent_menu)
        self.menu_examples = self.menu_file.addMenu("&Examples")
        self.menu_examples.setObjectName("menu_examples")
        self.menu_examples.aboutToShow.connect(self._fill_examples_menu)
        self.menu_file.addSeparator()
        self.menu_file.addActions([self.action_save, self.action_save_as])
        self.menu_export = self.menu_file.addMenu("&Export")
        self.menu_export.setObjectName("menu_export")
        self.menu_export.addAction(self.action_export_job)
        self.menu_file.addSeparator()
        self.menu_file.addAction(self.action_quit)

        self.menu_edit = bar.addMenu("&Edit")
        self.menu_edit.setObjectName("menu_edit")
        self.menu_edit.addActions([self.action_undo, self.action_redo])
        self.menu_edit.addSeparator()
        self.menu_edit.addActions([self.action_delete, self.action_select_all])

        self.menu_view = bar.addMenu("&View")
        self.menu_view.setObjectName("menu_view")
        self.menu_view.addActions([self.action_fit, self.action_zoom_in, self.action_zoom_out,
                                   self.action_zoom_reset])
        self.menu_view.addSeparator()
        self.menu_view.addAction(self.action_neuron_pictures)
        self.menu_view.addSeparator()
        self.menu_panels = self.menu_view.addMenu("&Panels")
        for dock in self.main_docks():
            self.menu_panels.addAction(dock.toggleViewAction())
        self.menu_view.addAction(self.action_reset_layout)

        self.menu_training = bar.addMenu("&Training")
        self.menu_training.setObjectName("menu_training")
        self.menu_help = bar.addMenu("&Help")
        self.menu_help.setObjectName("menu_help")
        self.menu_help.addAction(self.action_about)

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Main toolbar", self)
        self.toolbar.setObjectName("toolbar")
        self.toolbar.setAccessibleName("Main toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setIconSize(QSize(20, 20))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.toolbar.addActions([self.action_new, self.action_open, self.action_save])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.action_undo, self.action_redo, self.action_delete])
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.action_fit)
        self.toolbar.addAction(self.action_neuron_pictures)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.menu_panels.addAction(self.toolbar.toggleViewAction())

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("status_bar")
        self.status_validity = QLabel(self)
        self.status_validity.setObjectName("status_validity")
        self.status_validity.setAccessibleName("Design status")
        self.status_validity.setTextFormat(Qt.TextFormat.RichText)
        self.status_validity.setContentsMargins(6, 0, 8, 0)
        bar.addPermanentWidget(self.status_validity)
        # File › Export › Training Job… writes on a thread (it loads the data): "Writing the job… [busy]"
        self.job_bar = QWidget(self)
        self.job_bar.setObjectName("job_bar")
        job_layout = QHBoxLayout(self.job_bar)
        job_layout.setContentsMargins(4, 0, 4, 0)
        self.job_label = QLabel("Writing the training job…", self.job_bar)
        self.job_label.setObjectName("job_label")
        job_progress = QProgressBar(self.job_bar)
        job_progress.setObjectName("job_progress")
        job_progress.setRange(0, 0)  # busy: how long the data takes to load is not known here
        job_progress.setFixedWidth(100)
        job_progress.setMaximumHeight(16)
        job_layout.addWidget(self.job_label)
        job_layout.addWidget(job_progress)
        self.job_bar.hide()
        bar.insertPermanentWidget(0, self.job_bar)
        self.job_writer = None  # a JobWriter while a job is being written
        # a CSV file or image folder loads on a thread of its own (see data_loading): its progress, Cancel
        self.load_bar = LoadBar(self)
        bar.insertPermanentWidget(0, self.load_bar)
        self.data_loader = DataLoader(self.load_bar, self)
        self.data_loader.finished.connect(self._data_load_ended)

    @Slot()
    def install_training(self) -> None:
        """Add the training docks and actions (``designer.ui.training``), once it is importable.

        Start-up calls this after the first paint, since the live plot loads pyqtgraph.
        """
        if self.training is not None:
            return
        try:
            from .training import TrainingController
        except ImportError:
            placeholder = self.menu_training.addAction("Training is not available in this build")
            placeholder.setEnabled(False)
            self.training = False
            return
        self.menu_training.clear()
        self.training = TrainingController(self)  # fills the loss and learned docks
        # a run can crash the process (a driver, memory): the design is safe before it starts
        self.training.action_train.triggered.connect(self.autosave.write_now)
        # what every neuron computes: pictures while the canvas shows them, and a followed sample
        self.training.set_pictures_wanted(self.canvas.pictures_on())
        self.inspector.follow_step_changed.connect(self.training.set_follow_step)
        self.canvas.escape_pressed.connect(lambda: self.training.follow_sample(None))
        from .training.insight_docks import install_insight_docks

        install_insight_docks(self, self.training)

    @Slot()
    def set_views_ready(self) -> None:
        """pyqtgraph is loaded (start-up loads it after the first paint): draw the dataset preview."""
        self.dataset_panel.set_preview_enabled(True)

    @Slot()
    def set_engine_ready(self) -> None:
        """torch is loaded and warm: training starts without a pause, and the whole project is checked."""
        self.engine_ready = True
        self._load_checks()
        self.validate_now()
        self.statusBar().showMessage("Ready to train", 3000)

    def _load_checks(self) -> None:
        from designer.data.cache import DatasetCache
        from designer.training.checks import project_problems

        if self._datasets is None:
            self._datasets = DatasetCache()
        self.data_loader.cache = self._datasets
        self._check_project = project_problems

    @Slot(str)
    def _data_load_ended(self, outcome: str) -> None:
        """A load ended (or was cancelled, or is wanted again): check the project against what there is now."""
        if outcome == "cancelled":
            self.statusBar().showMessage("Loading cancelled", 6000)
        self.validate_now()

    @Slot()
    def _clear_run_message(self) -> None:
        if not (self.training and self.training.busy):
            self.problems.set_run_message(None)

    # ------------------------------------------------------------------ window state
    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean() or self._modified_outside_undo

    def mark_modified(self) -> None:
        """Changes made outside the undo stack (a training run storing weights) need saving too."""
        self._modified_outside_undo = True
        self._update_title()
        self.autosave.schedule()
        self._schedule_validation()  # new weights: what the check says of them changes too

    def display_name(self) -> str:
        if self.project.name:
            return self.project.name
        return self.project.path.stem if self.project.path else "Untitled"

    def _update_title(self, *_args) -> None:
        self.inspector.set_design_info(self.display_name(), self.project.description)
        self.setWindowTitle(f"{self.display_name()}[*] — {APP_NAME}")
        self.setWindowModified(self.is_modified)

    def main_docks(self) -> list[QDockWidget]:
        """Every panel of the window, in the order of the View › Panels menu."""
        return [self.palette_dock, self.inspector_dock, self.dataset_dock, self.problems_dock,
                self.history_dock, self.loss_dock, self.learned_dock]

    @Slot()
    def reset_layout(self) -> None:
        """View › Reset Layout: every panel shown, docked where a first start puts it, at its first size."""
        self.restoreState(self._default_state)
        for dock in self.main_docks():
            dock.setFloating(False)
            dock.show()
        self.toolbar.show()
        self.problems_dock.raise_()
        self._apply_default_sizes()

    def _restore_layout(self) -> None:
        self._default_state = self.saveState()  # what Reset Layout goes back to
        geometry, state = settings.window_layout()
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry() if self.screen() is not None else None
            if screen is not None and screen.width() >= 1100:
                self.resize(max(1100, int(screen.width() * 0.85)), max(720, int(screen.height() * 0.85)))
            else:
                self.resize(1280, 800)
        self._has_saved_layout = state is not None and self.restoreState(state)
        if not self._has_saved_layout:
            self._apply_default_sizes()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if not self._shown_once:
            self._shown_once = True
            if not self._has_saved_layout:
                self._apply_default_sizes()  # now that the window has its real size
        super().showEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # after this paint pass has reached every child and the screen
            QTimer.singleShot(0, self.first_painted.emit)

    # ------------------------------------------------------------------ validation
    @Slot()
    def _schedule_validation(self) -> None:
        self._validation_timer.start()

    def data_facts(self) -> DataFacts | None:
        """What the project's data gives and asks for: from the data as last loaded, else the catalogue."""
        if self.dataset is not None:
            return facts_of_dataset(self.dataset)
        return facts_of_builtin(self.project.dataset)

    def layer_defaults(self, kind: str) -> tuple[str, dict]:
        """A new layer from the palette: an input takes the data's shape, an output its classes or values."""
        return new_layer_fields(kind, self.data_facts() if kind in ("input", "output") else None)

    def dataset_input_shape(self) -> tuple[int, ...] | None:
        """What the project's data gives per sample, when known without loading it (built-in datasets)."""
        facts = facts_of_builtin(self.project.dataset)
        return facts.input_shape if facts is not None else None

    @Slot()
    def validate_now(self) -> list[Problem]:
        """Check the project, list the problems, outline the culprits and update the status bar.

        Once the engine is loaded this is the whole check of ``nn-designer check`` (the design against
        its data, its loss and its settings), so that what the window calls valid is what trains;
        before that, the design alone.
        """
        self._validation_timer.stop()
        if self._check_project is not None:
            # never loads a file here: a CSV file or image folder not loaded yet loads on a thread, and the check
            # lists the design's own problems and a note until it is there (then this runs again)
            problems, self.dataset = self._check_project(self.project, load=self.data_loader.request)
        else:
            problems = validate(self.graph, self.dataset_input_shape())
        data_pending = self._check_project is not None and self.data_loader.pending
        self.problems_found = problems
        self.problems.set_problems(problems)
        self.canvas.set_problem_ids({p.item_id for p in problems if p.item_id})
        n_errors = len(errors(problems))
        n_warnings = len(problems) - n_errors
        if data_pending:
            n_warnings -= 1  # the note that the data is not loaded yet is said in words of its own
        if n_errors:
            text = count(n_errors, "problem")
            colour = ERROR_COLOUR
        else:
            text = f"Valid · {count(parameter_count(self.graph), 'parameter')}"
            colour = WARNING_COLOUR if n_warnings else OK_COLOUR
        if data_pending:
            text += " · data loading" if self.data_loader.loading else " · data not loaded"
            colour = ERROR_COLOUR if n_errors else WARNING_COLOUR
        if n_warnings:
            text += f" · {count(n_warnings, 'warning')}"
        self.status_validity.setText(f"<span style='color:{colour}'>●</span>&nbsp;{text}")
        self.status_validity.setToolTip("\n".join(str(p) for p in problems) or "The design is ready to train.")
        if not data_pending:  # the offer to adapt the design waits for the data
            self._update_adapt_bar()
        self._show_fitting_weights()
        self.inspector.set_design_info(self.display_name(), self.project.description)  # its counts follow
        self.validated.emit()
        return problems

    def _show_fitting_weights(self) -> None:
        """Weights an edit made stale (a layer's activation changed ...) are not drawn: they will not be used."""
        if self.project.weights is None or (self.training and self.training.busy):
            return
        fitting, stale = self.project.fitting_weights()
        if stale != self._stale_owners:
            self._stale_owners = stale
            self.canvas.set_weights(fitting)
            self.inspector.set_weights(fitting)

    @Slot()
    def _update_problems_title(self) -> None:
        count = self.problems.count()
        self.problems_dock.setWindowTitle("Problems" + (f" ({count})" if count else ""))

    def status_text(self) -> str:
        """The status bar's verdict as plain text ("Valid · 1,345 parameters", "2 problems")."""
        return self.status_validity.text().split("&nbsp;", 1)[-1]

    # ------------------------------------------------------------------ selection
    @Slot()
    def _selection_changed(self) -> None:
        self.inspector.show_selection(self.canvas.selected_ids())

    def _neuron_selected(self, layer_id: str, index: int) -> None:
        self.inspector.show_neuron(layer_id, index)

    @Slot(bool)
    def set_neuron_pictures(self, on: bool) -> None:
        """View › Neuron Pictures: each neuron drawn as what it computes (remembered for the next start)."""
        on = bool(on)
        if self.action_neuron_pictures.isChecked() != on:
            self.action_neuron_pictures.setChecked(on)  # comes back here through toggled
            return
        self.canvas.set_pictures_mode(on)
        settings.app_settings().setValue(PICTURES_SETTING, on)
        if self.training:
            self.training.set_pictures_wanted(on)
        if on and not (self.training and (self.training.busy or self.training.pictures)):
            self.statusBar().showMessage("Neuron pictures: train the network (F5) to see what each neuron computes",
                                         5000)

    @Slot(str)
    def _select_problem(self, item_id: str) -> None:
        if item_id in self.graph.layers or item_id in self.graph.connections:
            self.canvas.select(item_id)

    def _zoom_by(self, factor: float) -> None:
        self.canvas.set_zoom(self.canvas.zoom() * factor)

    def select_all(self) -> None:
        select_all = getattr(self.canvas, "select_all", None)
        if select_all is not None:
            select_all()
            return
        for item in self.canvas.scene().items():
            if item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    def _add_from_palette(self, kind: str) -> None:
        """Double-click in the palette: add the layer in the middle of the visible canvas."""
        if self.canvas.is_read_only():  # training: the design is locked
            return
        stem, fields = self.layer_defaults(kind)
        centre = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        layer = Layer(id=self.graph.new_id(stem), position=(snap(centre.x()), snap(centre.y())), **fields)
        self.undo_stack.push(AddLayerCommand(self.graph, layer))
        if kind == "pool":  # the first connection drawn into it pools
            self.canvas.pooling_layers.add(layer.id)
        self.canvas.select(layer.id)

    @Slot(str)
    def _settings_changed(self, block: str) -> None:
        if block == "dataset":
            self._offer_adaptation = True  # other data: offer to fit the design to it, once it is checked
        self._schedule_validation()  # the data and the training settings are checked with the design

    # ------------------------------------------------------------------ files
    def open_project(self, project: Project, *, is_example: bool = False) -> None:
        """Show an already-read project instead of the current one (no question asked; see maybe_save).

        The window keeps its graph object: the project's layers and connections move into it.
        """
        self.autosave.discard()  # the caller has settled what happens to the design shown until now
        self.graph.replace(project.graph)
        project.graph = self.graph
        self.project = project
        self._is_example = is_example
        self._modified_outside_undo = False
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.dataset_panel.set_project(project)
        self._offer_adaptation = False  # the file's design and data go together as they are
        self.adapt_bar.hide()
        self.import_bar.hide()
        self._stale_owners = set()
        self.canvas.set_weights(project.weights)
        self.inspector.set_weights(project.weights)
        self.inspector.show_selection([])
        self.validate_now()
        self._update_title()
        self.project_replaced.emit()
        QTimer.singleShot(0, self.canvas.fit)

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        self.open_project(Project.new())
        return True

    def open_path(self, path: str | Path, *, is_example: bool | None = None) -> bool:
        """Open a project file; on any problem, say what and keep the current design as it was.

        Does not ask about unsaved changes (the File menu does, see :meth:`maybe_save`).
        """
        path = Path(path)
        try:
            project = read_project(path)
        except ProjectError as exc:
            dialogs.show_error(self, "Cannot open project", str(exc))
            return False
        if is_example is None:
            is_example = is_shipped_example(path)
        self.open_project(project, is_example=is_example)
        if not is_example:
            settings.add_recent_file(path)
        self.statusBar().showMessage(f"Opened {path.name}", 4000)
        return True

    def open_dialog(self) -> bool:
        if not self.maybe_save():
            return False
        path = dialogs.ask_open_path(self, settings.last_folder())
        return self.open_path(path) if path else False

    def open_interactively(self, path: str | Path) -> bool:
        """Open ``path`` as the user asked (recent file, example, drop): first offer to save changes."""
        return self.maybe_save() and self.open_path(path)

    def import_dialog(self) -> bool:
        """File › Import Model…: pick an ONNX file, then :meth:`import_path`."""
        path = dialogs.ask_import_path(self, settings.last_folder())
        return self.import_path(path) if path else False

    def import_path(self, path: str | Path) -> bool:
        """Open the model at ``path`` (ONNX) as a new, unsaved design with its trained weights.

        The file is read first: one that cannot be imported is refused with a message naming what stops it
        (one line per unsupported node), and the design shown stays as it was, unasked. Then the user may save
        unsaved changes (:meth:`maybe_save`), and the model's layers and connections go onto the canvas as one
        step on the undo stack ("Import model.onnx"), its weights on the links.
        """
        from designer.importing import ModelImportError, read_onnx  # numpy; onnx when a model is read

        path = Path(path)
        try:
            result = read_onnx(path)
        except ModelImportError as exc:
            dialogs.show_error(self, "Cannot import model", str(exc))
            return False
        except ImportError:  # the onnx package is an extra
            dialogs.show_error(self, "Cannot import model",
                               "Importing a model needs the onnx package, which is not installed:\n"
                               "pip install 'nn-designer[onnx]'")
            return False
        except OSError as exc:
            dialogs.show_error(self, "Cannot import model", f"{path.name}: {exc.strerror or exc}")
            return False
        if not self.maybe_save():
            return False
        imported = result.project
        design = imported.graph
        # a new project with the model's data and training settings and its weights (made for the design that
        # the undo step below brings: the canvas keeps them for the links as they appear), its design empty
        imported.graph = Graph()
        imported.path = None
        imported.name = imported.name or path.stem
        self.open_project(imported)
        self.undo_stack.beginMacro(f"Import {path.name}")
        for layer in design.layers.values():
            self.undo_stack.push(AddLayerCommand(self.graph, layer))
        for connection in design.connections.values():
            self.undo_stack.push(AddConnectionCommand(self.graph, connection))
        self.undo_stack.endMacro()
        self.validate_now()
        self._show_fitting_weights()
        self.canvas.fit()
        settings.remember_folder(path)
        summary = (f"Imported {path.name}: {count(len(design.layers), 'layer')}, "
                   f"{count(len(design.connections), 'connection')}, "
                   f"{count(parameter_count(self.graph), 'parameter')}")
        self.statusBar().showMessage(f"{summary}. Undo takes the design away again.", 10000)
        if result.notes:
            items = "".join(f"<li>{_html(note)}</li>" for note in result.notes)
            self._import_step = self.undo_stack.index()
            self.import_label.setText(f"<b>{_html(summary)}</b> ({_html(result.details)})"
                                      f"<ul style='margin: 2px 0 0 -24px'>{items}</ul>")
            self.import_bar.show()
            self.import_bar.raise_()
            self._place_import_bar()
        return True

    # ------------------------------------------------------------------ training jobs
    def export_job_dialog(self) -> bool:
        """File › Export › Training Job…: pick a folder (new or empty), then :meth:`export_job`."""
        if self.job_writer is not None:
            self.statusBar().showMessage("A training job is being written: wait for it to finish", 5000)
            return False
        folder = dialogs.ask_job_folder(self, settings.last_folder())
        return self.export_job(folder) if folder else False

    def export_job(self, folder: str | Path) -> bool:
        """Write the project as it is now (unsaved edits included) as a ``torchrun`` job in ``folder``.

        The writing (data loaded, design compiled, files written) runs on a :class:`~.job_export.JobWriter`
        thread over a copy of the project, a busy bar in the status bar meanwhile; the outcome is told by
        :meth:`_job_written`. The project itself is never changed. False when a job is being written already.
        """
        from .job_export import JobWriter, project_copy

        if self.job_writer is not None:
            return False
        writer = JobWriter(project_copy(self.project, self.graph), folder, self)
        writer.finished.connect(self._job_written)
        self.job_writer = writer
        self.action_export_job.setEnabled(False)
        self.job_label.setText(f"Writing the training job {Path(folder).name}…")
        self.job_bar.show()
        collector.shared().hold(writer)  # no garbage collection on the writing thread (see designer.ui.collector)
        writer.start()
        return True

    @Slot()
    def _job_written(self) -> None:
        writer, self.job_writer = self.job_writer, None
        if writer is None:
            return
        writer.wait()  # finished already: returns at once
        writer.deleteLater()
        self.job_bar.hide()
        self.action_export_job.setEnabled(True)
        folder = writer.folder
        if writer.error is not None:
            title = "Cannot export the training job" if writer.is_user_error else "Exporting the training job failed"
            dialogs.show_error(self, title, writer.error)
            return
        from .job_export import first_commands

        settings.remember_folder(folder)
        names = ", ".join(path.name for path in writer.files or [])
        try:
            commands = first_commands((folder / "README.md").read_text(encoding="utf-8"))
        except OSError:
            commands = []
        run = "\n".join(f"    {command}" for command in commands) or "    python train.py"
        self.statusBar().showMessage(f"Wrote the training job {folder.name}", 6000)
        dialogs.show_info(self, "Training job written",
                          f"Wrote the training job {folder}:\n{names}\n\n"
                          f"Copy the folder to the machine that trains it and run it there, in the folder:\n"
                          f"{run}\n\n"
                          f"Several machines, Slurm and GPUs: see {folder / 'README.md'}.\n"
                          f"When it has finished, File › Import Run… brings its weights and run into this design.")

    def import_run_dialog(self) -> bool:
        """File › Import Run…: pick a finished job's folder, then :meth:`import_run_path`."""
        folder = dialogs.ask_run_folder(self, settings.last_folder())
        return self.import_run_path(folder) if folder else False

    def import_run_path(self, path: str | Path) -> bool:
        """Bring the finished job at ``path`` (its folder, or its ``result.nnd``) into the open project.

        The project gets the job's trained weights and its run at the end of its history (numbered after its own
        runs), as a finished training run does: the project is then modified (weights and runs are not steps of
        the undo stack), the canvas draws the weights, and the loss plot and Runs panel show the run. A job that
        has not finished, was imported already, or trained another design (the message names the layers and
        connections that differ) is refused, and nothing changes.
        """
        path = Path(path)
        if self.training and self.training.busy:
            dialogs.show_error(self, "Cannot import run", "The network is training: stop the run first, then "
                               "import the job's run.")
            return False
        try:
            from designer.training.jobs import import_run  # the engine (torch): loaded when asked
        except ImportError as exc:
            dialogs.show_error(self, "Cannot import run", f"The training engine is not available: {exc}")
            return False
        try:
            imported, summary = import_run(self.project, path)
        except ValueError as exc:  # JobError, ProjectError (a damaged result.nnd)
            dialogs.show_error(self, "Cannot import run", str(exc))
            return False
        except OSError as exc:
            dialogs.show_error(self, "Cannot import run", f"{path}: {exc.strerror or exc}")
            return False
        project = self.project
        project.history = imported.history
        project.weights, project.trained_design = imported.weights, imported.trained_design
        settings.remember_folder(path)
        fitting, self._stale_owners = project.fitting_weights()
        self.canvas.set_weights(fitting)
        self.inspector.set_weights(fitting)
        if self.training:  # the loss plot, the learned view and the Runs panel show the project's runs
            self.training.project_loaded()
            docks = getattr(self, "insight_docks", None)
            if docks is not None:
                docks.project_loaded()
        self.mark_modified()
        self.statusBar().showMessage(f"Imported {summary}", 10000)
        return True

    def save(self) -> bool:
        """Save to the project's file; a new project or an example asks where (Save As)."""
        if self.project.path is None or self._is_example:
            return self.save_as()
        return self._write(self.project.path)

    def save_as(self) -> bool:
        if self.project.path is not None and not self._is_example:
            suggested = str(self.project.path)
        else:
            stem = self.project.path.stem if self.project.path is not None else (
                "".join(ch for ch in self.display_name() if ch.isalnum() or ch in " -_").strip() or "Untitled")
            folder = settings.documents_folder() if self._is_example else settings.last_folder()
            suggested = str(Path(folder) / f"{stem}.nnd")
        path = dialogs.ask_save_path(self, suggested)
        if not path:
            return False
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        old_name = self.project.name
        if old_name in ("", "Untitled") and path != self.project.path:
            self.project.name = path.stem  # the user just named it, by naming the file
        try:
            write_project(self.project, path)
        except (ProjectError, OSError) as exc:
            self.project.name = old_name
            dialogs.show_error(self, "Cannot save project", str(exc))
            return False
        self.project.path = path
        self._is_example = False
        self._modified_outside_undo = False
        self.undo_stack.setClean()
        self.autosave.discard()  # saved: the recovery file has done its job
        settings.add_recent_file(path)
        self._update_title()
        self._schedule_validation()  # a relative data path now starts from the new folder
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current design: nothing unsaved, saved now, or discarded."""
        if not self.is_modified:
            return True
        answer = dialogs.ask_save_changes(self, self.display_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def _fill_recent_menu(self) -> None:
        self.menu_recent.clear()
        files = settings.recent_files()
        for number, path in enumerate(files, 1):
            action = self.menu_recent.addAction(f"&{number % 10}  {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_interactively(p))
        if not files:
            self.menu_recent.addAction("No recent files").setEnabled(False)
        else:
            self.menu_recent.addSeparator()
            self.menu_recent.addAction("Clear Menu", settings.clear_recent_files)

    def _fill_examples_menu(self) -> None:
        self.menu_examples.clear()
        found = examples()
        for path in found:
            action = self.menu_examples.addAction(_example_title(path))
            action.setStatusTip(f"Open the {path.stem} example")
            action.triggered.connect(lambda _checked=False, p=path: self.open_interactively(p))
        if not found:
            self.menu_examples.addAction("No examples installed").setEnabled(False)

    def _about(self) -> None:
        from .about import AboutDialog  # imports torch to name its version: only when asked

        AboutDialog(self).exec()

    # ------------------------------------------------------------------ drops and closing
    @staticmethod
    def _dropped_project(event) -> str | None:
        """The project (``.nnd``) or model to import (``.onnx``) dropped on the window, if any."""
        data = event.mimeData()
        if not data.hasUrls():
            return None
        for url in data.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith((".nnd", ".onnx")):
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._dropped_project(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._dropped_project(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        path = self._dropped_project(event)
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        # open after the drop returns: a message box inside a drop handler blocks the drag source
        if path.lower().endswith(".onnx"):
            QTimer.singleShot(0, lambda: self.import_path(path))
        else:
            QTimer.singleShot(0, lambda: self.open_interactively(path))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.maybe_save():
            event.ignore()
            return
        settings.save_window_layout(self.saveGeometry(), self.saveState())
        self._validation_timer.stop()
        self.autosave.close()  # a normal end (saved, unmodified or discarded): no recovery file stays
        self.closing.emit()
        self.data_loader.shutdown()  # cancel a load and join its thread (after a run's, which may end one)
        if self.job_writer is not None:  # a job half-written cannot be stopped: let it finish
            from .job_export import JOIN_TIMEOUT_MS

            self.job_writer.wait(JOIN_TIMEOUT_MS)
            self.job_writer = None  # nothing more to tell: the window is closing
        event.accept()

"""The dataset and training settings panel: where the data comes from and how the design trains.

It edits the project's ``dataset`` and ``training`` blocks (plain dicts, see the file spec) through
:class:`ChangeSettingsCommand`, so a settings change is undoable and marks the project modified like
any other edit. A small preview shows a few samples of a built-in dataset: the points of the 2-D sets,
a strip of images, or a few sequences with their targets. The two blocks are two tabs, "Data" and
"Training", so that each is whole in a dock of a 1000-pixel-high window.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox,
                               QTabWidget, QVBoxLayout, QWidget)

SETTINGS_COMMAND_ID = 0x4E4E5350  # "NNSP": quick successive changes of one field merge into one undo step
MERGE_SECONDS = 1.0  # holding a spin box's arrow is one change; two edits a while apart are two

BUILTIN_TITLES = {
    "gate_and": "AND gate (truth table)",
    "gate_or": "OR gate (truth table)",
    "gate_xor": "XOR gate (truth table)",
    "circle": "Circle: inside or outside",
    "xor": "XOR: four quadrants",
    "gaussians": "Gaussians: two blobs",
    "spiral": "Spiral: two interleaved arms",
    "moons": "Moons: two half circles",
    "plane": "Plane (regression)",
    "bumps": "Bumps (regression)",
    "shapes": "Shapes: 16×16 images, 4 classes",
    "sine": "Sine wave sequences",
}
#: built-in datasets whose samples are points in the plane, worth a scatter preview
POINT_DATASETS = ("gate_and", "gate_or", "gate_xor", "circle", "xor", "gaussians", "spiral", "moons",
                  "plane", "bumps")
LOSS_TITLES = {"auto": "Automatic (from the data and output)", "mse": "Mean squared error",
               "mae": "Mean absolute error", "huber": "Huber",
               "cross_entropy": "Cross-entropy", "bce": "Binary cross-entropy"}
OPTIMIZER_TITLES = {"sgd": "SGD (gradient descent)", "adam": "Adam", "adamw": "AdamW (decoupled weight decay)",
                    "rmsprop": "RMSprop"}
SCHEDULE_TITLES = {"none": "None: the rate stays as set", "step": "Step: × γ every few epochs",
                   "cosine": "Cosine: down to the minimum", "one_cycle": "One cycle: up to the rate, then down",
                   "plateau": "On plateau: × γ when the loss stalls"}
#: the losses label smoothing applies to (automatic picks cross-entropy for classes)
SMOOTHED_LOSSES = ("auto", "cross_entropy")
#: the optimizers that take a momentum
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
#: the parameters of each learning-rate schedule, by their training-block keys
SCHEDULE_PARAMETERS = {"none": (), "step": ("step_size", "gamma"), "cosine": ("min_learning_rate",),
                       "one_cycle": (), "plateau": ("gamma", "patience", "min_learning_rate")}
#: the training block's values where it leaves them out (designer.training.config's defaults)
TRAINING_DEFAULTS = {"loss": "auto", "label_smoothing": 0.0, "huber_delta": 1.0, "optimizer": "sgd",
                     "learning_rate": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0,
                     "schedule": "none", "step_size": 30, "gamma": 0.1, "patience": 10, "min_learning_rate": 0.0,
                     "batch_size": 16, "epochs": 200, "l1": 0.0, "l2": 0.0, "seed": 0, "device": "auto"}
DEVICE_TITLES = {"auto": "Automatic", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}
#: the learning rates the engine takes (designer.training.config.MAX_LEARNING_RATE; not imported:
#: this panel is built before torch loads). A box with a lower maximum showed 100 for 1e6.
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-6, 1e6
CLASS_COLOURS = ("#3E6FD8", "#E8590C", "#12B76A", "#C11574", "#7A5AF8", "#F79009")


class ChangeSettingsCommand(QUndoCommand):
    """Replace the project's ``dataset`` or ``training`` block; undo puts the old one back.

    The block is changed in place (others may hold the dict). Quick successive changes of the same
    field (a spin box's arrow held down) merge into one step.
    """

    def __init__(self, project, block: str, new: dict[str, Any], on_change: Callable[[str], None],
                 field: str = "", text: str = "") -> None:
        super().__init__(text or f"Change {block} settings")
        if block not in ("dataset", "training"):
            raise ValueError(f"a project has no settings block {block!r}; use 'dataset' or 'training'")
        self.project = project
        self.block = block
        self.field = field
        self.old = copy.deepcopy(getattr(project, block))
        self.new = copy.deepcopy(new)
        self.on_change = on_change
        self.made = time.monotonic()

    def _set(self, values: dict[str, Any]) -> None:
        block = getattr(self.project, self.block)
        block.clear()
        block.update(copy.deepcopy(values))
        self.on_change(self.block)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return SETTINGS_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt's name)
        if not (isinstance(other, ChangeSettingsCommand) and other.project is self.project
                and other.block == self.block and self.field and other.field == self.field
                and other.made - self.made < MERGE_SECONDS):
            return False
        self.new = copy.deepcopy(other.new)
        self.made = other.made
        # back to the block as it was, keys in the same order too (the file writes them in this order): a
        # block whose keys were dropped and put back elsewhere is a change, which undo must take back
        if list(self.new.items()) == list(self.old.items()):
            self.setObsolete(True)
        return True


def _step_text(block: str, key: str, value: Any) -> str:
    """How the History panel names a settings change ("Use dataset spiral", "Change learning rate")."""
    if block == "dataset" and key == "name" and value:
        return f"Use dataset {value}"
    words = {"path": "file", "target": "target column", "features": "feature columns", "gamma": "schedule factor",
             "step_size": "schedule step", "patience": "schedule patience", "schedule": "learning-rate schedule",
             "min_learning_rate": "minimum learning rate"}.get(key, key.replace("_", " "))
    return f"Change dataset {words}" if block == "dataset" else f"Change {words}"


def _combo(titles: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)  # long titles elide rather than widen the panel
    for value, title in titles.items():
        combo.addItem(title, value)
    return combo


def _select(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index < 0:  # a value from a newer version: show it rather than hide it
        combo.addItem(str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _spin(low: int, high: int, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setKeyboardTracking(False)  # apply on Enter or focus-out, not on every digit typed
    spin.setGroupSeparatorShown(True)
    return spin


def _double(low: float, high: float, decimals: int, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setKeyboardTracking(False)
    return spin


def _form() -> tuple[QWidget, QFormLayout]:
    """A tab's settings as a form (the tab's title names them: no group box frame and title of its own)."""
    box = QWidget()
    form = QFormLayout(box)
    form.setContentsMargins(0, 0, 0, 0)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setVerticalSpacing(6)
    return box, form


class DatasetPanel(QTabWidget):
    """Edits ``project.dataset`` and ``project.training``; undoable through the window's undo stack.

    Two tabs, "Data" and "Training", each scrolling on its own: one above the other, the training
    settings began below a 1000-pixel-high window's edge, so reaching the learning rate took a scroll.
    """

    #: ``"dataset"`` or ``"training"``: a block changed (an edit, an undo, a newly opened project)
    settings_changed = Signal(str)

    def __init__(self, project, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset_panel")
        self.setDocumentMode(True)  # tabs without a frame of their own, inside the dock's
        self.project = project
        self.undo_stack = undo_stack
        self._loading = False
        self._preview_enabled = False
        self._plot = None
        self._scatter = None
        self._preview_timer = QTimer(self)
        self._preview_timer.setObjectName("dataset_preview_timer")
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(120)
        self._preview_timer.timeout.connect(self._draw_preview)

        self.data_page = self._page("dataset_data_page", self._build_data_box())
        self.training_page = self._page("dataset_training_page", self._build_training_box())
        self.addTab(self.data_page, "Data")
        self.addTab(self.training_page, "Training")
        self.setTabToolTip(0, "Where the samples come from and how many are kept for validation")
        self.setTabToolTip(1, "Loss, optimizer, learning rate and its schedule, batch size, epochs, "
                              "regularization, device")
        self.load()

    @staticmethod
    def _page(name: str, box: QWidget) -> QScrollArea:
        """A tab's page: its settings at the top, scrolling if the dock is shorter than they are."""
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 8)
        layout.addWidget(box)
        layout.addStretch(1)
        page = QScrollArea()
        page.setObjectName(name)
        page.setWidgetResizable(True)
        page.setFrameShape(QScrollArea.Shape.NoFrame)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page.setWidget(body)
        return page

    # ------------------------------------------------------------------ widgets
    def _build_data_box(self) -> QWidget:
        box, form = _form()
        self.source = _combo({"builtin": "Built-in dataset", "csv": "Table file (CSV, Parquet, Arrow)",
                               "images": "Image folder"})
        self.source.setObjectName("dataset_kind")
        form.addRow("Source", self.source)

        # One form for every source; the rows of the other sources are hidden (see _show_source_rows).
        self.dataset_name = _combo(BUILTIN_TITLES)
        self.dataset_name.setObjectName("dataset_name")
        self.samples = _spin(4, 1_000_000, 50)
        self.samples.setObjectName("dataset_samples")
        self.noise = _double(0.0, 10.0, 3, 0.01)
        self.noise.setObjectName("dataset_noise")
        self.noise.setToolTip("Standard deviation of the Gaussian noise added to every sample.")
        form.addRow("Dataset", self.dataset_name)
        form.addRow("Samples", self.samples)
        form.addRow("Noise", self.noise)

        self.csv_path, csv_row = self._path_row("csv_path", "data.csv", folder=False)
        self.csv_features = QLineEdit()
        self.csv_features.setObjectName("csv_features")
        self.csv_features.setPlaceholderText("all other columns")
        self.csv_features.setToolTip("Column names, separated by commas.")
        self.csv_target = QLineEdit()
        self.csv_target.setObjectName("csv_target")
        self.csv_target.setPlaceholderText("column to predict (empty: the last)")
        self.csv_task = _combo({"": "Infer from the target", "classification": "Classification",
                                "regression": "Regression"})
        self.csv_task.setObjectName("csv_task")
        form.addRow("File", csv_row)
        form.addRow("Features", self.csv_features)
        form.addRow("Target", self.csv_target)
        form.addRow("Task", self.csv_task)

        self.images_path, images_row = self._path_row("images_path", "one sub-folder per class", folder=True)
        self.images_size = QLineEdit()
        self.images_size.setObjectName("images_size")
        self.images_size.setPlaceholderText("28, 28")
        self.images_grayscale = QCheckBox("Grey-scale")
        self.images_grayscale.setObjectName("images_grayscale")
        form.addRow("Folder", images_row)
        form.addRow("Size", self.images_size)
        form.addRow("", self.images_grayscale)
        self._source_rows = {
            "builtin": [self.dataset_name, self.samples, self.noise],
            "csv": [csv_row, self.csv_features, self.csv_target, self.csv_task],
            "images": [images_row, self.images_size, self.images_grayscale],
        }
        self._data_form = form

        self.validation_split = _double(0.0, 0.9, 2, 0.05)
        self.validation_split.setObjectName("dataset_validation_split")
        self.validation_split.setToolTip("The fraction of samples held out to measure how well the network "
                                         "generalises.")
        self.data_seed = _spin(0, 2**31 - 1)
        self.data_seed.setObjectName("dataset_seed")
        self.data_seed.setToolTip("The same seed gives the same samples and the same split.")
        form.addRow("Validation", self.validation_split)
        form.addRow("Seed", self.data_seed)
        self.summary = QLabel()
        self.summary.setObjectName("dataset_summary")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(self.summary)
        self.preview_holder = QWidget()
        self.preview_holder.setObjectName("dataset_preview")
        self.preview_holder.setFixedHeight(170)
        QVBoxLayout(self.preview_holder).setContentsMargins(0, 0, 0, 0)
        form.addRow(self.preview_holder)

        self.source.currentIndexChanged.connect(self._apply_source)
        self.dataset_name.currentIndexChanged.connect(self._apply_name)
        self.samples.valueChanged.connect(lambda v: self._set("dataset", "samples", v))
        self.noise.valueChanged.connect(lambda v: self._set("dataset", "noise", round(v, 6)))
        self.validation_split.valueChanged.connect(lambda v: self._set("dataset", "validation_split", round(v, 6)))
        self.data_seed.valueChanged.connect(lambda v: self._set("dataset", "seed", v))
        self.csv_path.editingFinished.connect(lambda: self._set("dataset", "path", self.csv_path.text().strip()))
        self.csv_features.editingFinished.connect(self._apply_features)
        self.csv_target.editingFinished.connect(
            lambda: self._set("dataset", "target", self.csv_target.text().strip()))
        self.csv_task.currentIndexChanged.connect(lambda _i: self._set("dataset", "task", self.csv_task.currentData()
                                                                       or None))
        self.images_path.editingFinished.connect(
            lambda: self._set("dataset", "path", self.images_path.text().strip()))
        self.images_size.editingFinished.connect(self._apply_image_size)
        self.images_grayscale.toggled.connect(lambda on: self._set("dataset", "grayscale", bool(on)))
        return box

    def _path_row(self, name: str, placeholder: str, folder: bool) -> tuple[QLineEdit, QWidget]:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setToolTip("Relative to the project file's folder, or absolute.")
        browse = QPushButton("Browse…")
        browse.setObjectName(f"{name}_browse")

        def pick() -> None:
            if folder:
                path = QFileDialog.getExistingDirectory(self, "Image folder", edit.text())
            else:
                path, _ = QFileDialog.getOpenFileName(
                    self, "Table file", edit.text(),
                    "Tables (*.csv *.tsv *.txt *.parquet *.pq *.feather *.arrow *.ipc);;All (*)")
            if path:
                edit.setText(path)
                edit.editingFinished.emit()

        browse.clicked.connect(pick)
        h.addWidget(edit, 1)
        h.addWidget(browse)
        return edit, row

    def _build_training_box(self) -> QWidget:
        box, form = _form()
        self.loss = _combo(LOSS_TITLES)
        self.loss.setObjectName("training_loss")
        self.loss.setToolTip("Automatic: cross-entropy for classes, binary cross-entropy for one sigmoid output, "
                             "mean squared error for regression. Mean absolute error and Huber care less about "
                             "outliers than squared error.")
        self.label_smoothing = _double(0.0, 0.99, 3, 0.05)
        self.label_smoothing.setObjectName("training_label_smoothing")
        self.label_smoothing.setToolTip("Cross-entropy only: aim for 1 − ε on the right class and spread ε over "
                                        "all the classes, so the network is not pushed to certainty. 0: off.")
        self.huber_delta = _double(0.0001, 1_000_000.0, 4, 0.1)
        self.huber_delta.setObjectName("training_huber_delta")
        self.huber_delta.setToolTip("Huber loss: errors smaller than δ count squared (as mean squared error), "
                                    "larger ones count in proportion (as mean absolute error).")
        self.optimizer = _combo(OPTIMIZER_TITLES)
        self.optimizer.setObjectName("training_optimizer")
        self.learning_rate = _double(MIN_LEARNING_RATE, MAX_LEARNING_RATE, 6, 0.01)
        self.learning_rate.setObjectName("training_learning_rate")
        self.learning_rate.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.momentum = _double(0.0, 0.999, 3, 0.05)
        self.momentum.setObjectName("training_momentum")
        self.momentum.setToolTip("SGD and RMSprop: how much of the previous step carries into the next (0.9 is "
                                 "usual). Adam keeps its own.")
        self.nesterov = QCheckBox("Nesterov momentum")
        self.nesterov.setObjectName("training_nesterov")
        self.nesterov.setToolTip("SGD: take the gradient where the momentum is about to carry the weights "
                                 "(needs a momentum above 0).")
        self.weight_decay = _double(0.0, 1000.0, 6, 0.0001)
        self.weight_decay.setObjectName("training_weight_decay")
        self.weight_decay.setToolTip("The optimizer shrinks every weight by this fraction of the learning rate at "
                                     "each step (AdamW: apart from its gradient steps). 0: off.")
        self.schedule = _combo(SCHEDULE_TITLES)
        self.schedule.setObjectName("training_schedule")
        self.schedule.setToolTip("How the learning rate changes during the run (the loss plot draws it).")
        self.step_size = _spin(1, 1_000_000)
        self.step_size.setObjectName("training_step_size")
        self.step_size.setSuffix(" epochs")
        self.step_size.setToolTip("Step schedule: the learning rate is multiplied by γ after every this many epochs.")
        self.gamma = _double(0.0001, 0.9999, 4, 0.05)
        self.gamma.setObjectName("training_gamma")
        self.gamma.setToolTip("What the learning rate is multiplied by at each step (or plateau): 0.1 divides it "
                              "by ten.")
        self.patience = _spin(0, 1_000_000)
        self.patience.setObjectName("training_patience")
        self.patience.setSuffix(" epochs")
        self.patience.setToolTip("On plateau: how many epochs without a better loss (validation loss where there "
                                 "is validation data) before the rate is lowered.")
        self.min_learning_rate = _double(0.0, MAX_LEARNING_RATE, 8, 0.0001)
        self.min_learning_rate.setObjectName("training_min_learning_rate")
        self.min_learning_rate.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.min_learning_rate.setToolTip("The lowest the schedule takes the learning rate.")
        self.batch_size = _spin(1, 10_000_000)
        self.batch_size.setObjectName("training_batch_size")
        self.epochs = _spin(1, 1_000_000, 10)
        self.epochs.setObjectName("training_epochs")
        self.l1 = _double(0.0, 1000.0, 6, 0.0001)
        self.l1.setObjectName("training_l1")
        self.l1.setToolTip("Penalty on the sum of absolute weights: pushes weights to exactly zero.")
        self.l2 = _double(0.0, 1000.0, 6, 0.0001)
        self.l2.setObjectName("training_l2")
        self.l2.setToolTip("Penalty on the sum of squared weights, added to the loss: keeps weights small.")
        self.training_seed = _spin(0, 2**31 - 1)
        self.training_seed.setObjectName("training_seed")
        self.training_seed.setToolTip("Seeds the initial weights and the shuffling of batches.")
        self.device = _combo(DEVICE_TITLES)
        self.device.setObjectName("training_device")
        form.addRow("Loss", self.loss)
        form.addRow("Label smoothing", self.label_smoothing)
        form.addRow("Huber δ", self.huber_delta)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Momentum", self.momentum)
        form.addRow("", self.nesterov)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Schedule", self.schedule)
        form.addRow("Step every", self.step_size)
        form.addRow("Factor γ", self.gamma)
        form.addRow("Patience", self.patience)
        form.addRow("Minimum rate", self.min_learning_rate)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("L1 penalty", self.l1)
        form.addRow("L2 penalty", self.l2)
        form.addRow("Seed", self.training_seed)
        form.addRow("Device", self.device)
        self._training_form = form
        self._schedule_rows = {"step_size": self.step_size, "gamma": self.gamma, "patience": self.patience,
                               "min_learning_rate": self.min_learning_rate}
        for combo, key in ((self.loss, "loss"), (self.optimizer, "optimizer"), (self.device, "device"),
                           (self.schedule, "schedule")):
            combo.currentIndexChanged.connect(lambda _i, c=combo, k=key: self._set("training", k, c.currentData()))
        for spin, key in ((self.learning_rate, "learning_rate"), (self.l1, "l1"), (self.l2, "l2"),
                          (self.label_smoothing, "label_smoothing"), (self.huber_delta, "huber_delta"),
                          (self.weight_decay, "weight_decay"), (self.gamma, "gamma"),
                          (self.min_learning_rate, "min_learning_rate")):
            spin.valueChanged.connect(lambda v, k=key: self._set("training", k, round(v, 9)))
        for spin, key in ((self.batch_size, "batch_size"), (self.epochs, "epochs"), (self.training_seed, "seed"),
                          (self.step_size, "step_size"), (self.patience, "patience")):
            spin.valueChanged.connect(lambda v, k=key: self._set("training", k, int(v)))
        self.momentum.valueChanged.connect(self._apply_momentum)
        self.nesterov.toggled.connect(lambda on: self._set("training", "nesterov", bool(on)))
        return box

    def _show_training_rows(self, t: dict[str, Any]) -> None:
        """The settings that apply to the chosen loss, optimizer and schedule; the others step aside."""
        value = lambda key: t.get(key, TRAINING_DEFAULTS[key])  # noqa: E731
        form = self._training_form
        loss, optimizer, schedule = value("loss"), value("optimizer"), value("schedule")
        self.label_smoothing.setEnabled(loss in SMOOTHED_LOSSES)
        form.setRowVisible(self.huber_delta, loss == "huber")
        self.momentum.setEnabled(optimizer in MOMENTUM_OPTIMIZERS)
        form.setRowVisible(self.nesterov, optimizer == "sgd")
        self.nesterov.setEnabled(bool(value("momentum")) or bool(value("nesterov")))
        shown = SCHEDULE_PARAMETERS.get(schedule, ())
        for key, widget in self._schedule_rows.items():
            form.setRowVisible(widget, key in shown)

    def _apply_momentum(self, value: float) -> None:
        """A momentum of 0 takes Nesterov off with it (Nesterov needs momentum): one step, not a broken block."""
        value = round(value, 9)
        t = self.project.training
        if value == 0 and t.get("nesterov") and not self._loading:
            self._push("training", {**t, "momentum": value, "nesterov": False}, "momentum",
                       _step_text("training", "momentum", value))
            return
        self._set("training", "momentum", value)

    # ------------------------------------------------------------------ model -> widgets
    def set_project(self, project) -> None:
        """Show another project's settings (a file was opened)."""
        self.project = project
        self.load()
        self.settings_changed.emit("dataset")
        self.settings_changed.emit("training")

    def load(self) -> None:
        self._loading = True
        try:
            d, t = self.project.dataset, self.project.training
            kind = d.get("kind", "builtin")
            _select(self.source, kind)
            for source, widgets in self._source_rows.items():
                for widget in widgets:
                    self._data_form.setRowVisible(widget, source == kind)
            _select(self.dataset_name, d.get("name", "xor"))
            default_samples, default_noise = _builtin_defaults(d)
            self.samples.setValue(int(d.get("samples") or default_samples))
            self.noise.setValue(float(d.get("noise", default_noise) or 0.0))
            self.validation_split.setValue(float(d.get("validation_split", 0.2) or 0.0))
            self.data_seed.setValue(int(d.get("seed", 0) or 0))
            path = str(d.get("path", "") or "")
            self.csv_path.setText(path)
            self.images_path.setText(path)
            features = d.get("features") or []
            self.csv_features.setText(", ".join(map(str, features)) if isinstance(features, list) else str(features))
            self.csv_target.setText(str(d.get("target", "") or ""))
            _select(self.csv_task, d.get("task") or "")
            size = d.get("size") or []
            self.images_size.setText(", ".join(map(str, size)) if isinstance(size, list) else str(size))
            self.images_grayscale.setChecked(bool(d.get("grayscale", False)))

            value = lambda key: t.get(key, TRAINING_DEFAULTS[key])  # noqa: E731
            self._show_training_rows(t)
            _select(self.loss, value("loss"))
            _select(self.optimizer, value("optimizer"))
            _select(self.schedule, value("schedule"))
            _select(self.device, value("device"))
            for spin, key in ((self.learning_rate, "learning_rate"), (self.momentum, "momentum"), (self.l1, "l1"),
                              (self.l2, "l2"), (self.label_smoothing, "label_smoothing"),
                              (self.huber_delta, "huber_delta"), (self.weight_decay, "weight_decay"),
                              (self.gamma, "gamma"), (self.min_learning_rate, "min_learning_rate")):
                spin.setValue(float(value(key)))
            for spin, key in ((self.batch_size, "batch_size"), (self.epochs, "epochs"), (self.training_seed, "seed"),
                              (self.step_size, "step_size"), (self.patience, "patience")):
                spin.setValue(int(value(key)))
            self.nesterov.setChecked(bool(value("nesterov")))
        except (TypeError, ValueError):
            pass  # a malformed value from a file: the fields keep what they showed; training reports it
        finally:
            self._loading = False
        self._update_summary()
        self._schedule_preview()

    def _update_summary(self) -> None:
        d = self.project.dataset
        text = ""
        if d.get("kind", "builtin") == "builtin":
            try:
                from designer.data.builtin import describe_builtin
                text = describe_builtin(d)
            except (ImportError, ValueError) as exc:
                text = str(exc) if isinstance(exc, ValueError) else ""
        self.summary.setText(text)
        self.summary.setVisible(bool(text))

    # ------------------------------------------------------------------ widgets -> model
    def set_training_value(self, key: str, value: Any) -> None:
        """Change one value of the project's training block as the panel's own fields do: through
        an undoable command (quick repeats of one field merge), shown here and announced by
        ``settings_changed("training")``. For controls elsewhere (the loss plot's learning rate)."""
        self._set("training", key, value)

    def _set(self, block: str, key: str, value: Any) -> None:
        if self._loading:
            return
        current = getattr(self.project, block)
        if current.get(key) == value and key in current:
            return
        new = dict(current)
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
        self._push(block, new, key, _step_text(block, key, value))

    def _push(self, block: str, new: dict, field: str, text: str) -> None:
        self.undo_stack.push(ChangeSettingsCommand(self.project, block, new, self._changed, field, text))

    def _changed(self, block: str) -> None:
        """A command changed a block (redo or undo): show it, and tell the window."""
        self.load()
        self.settings_changed.emit(block)

    def _apply_source(self, _index: int) -> None:
        if self._loading:
            return
        kind = self.source.currentData()
        old = self.project.dataset
        new: dict[str, Any] = {"kind": kind}
        if kind == "builtin":
            new.update({"name": "xor", "samples": 400, "noise": 0.05})
        elif kind == "csv":
            new.update({"path": "", "target": ""})
        else:
            new.update({"path": "", "size": [28, 28], "grayscale": True})
        # the split and the seed mean the same for every source: keep them
        for key in ("validation_split", "seed"):
            if key in old:
                new[key] = old[key]
        self._push("dataset", new, "", "Change data source")

    def _apply_name(self, _index: int) -> None:
        """Another built-in dataset, with its own number of samples and noise (400 noisy samples suit
        the 2-D sets, not 16x16 images nor the exact truth table of a logic gate)."""
        name = self.dataset_name.currentData()
        if self._loading or not name or self.project.dataset.get("name") == name:
            return
        new = {**self.project.dataset, "name": name}
        new["samples"], new["noise"] = _builtin_defaults(new)
        self._push("dataset", new, "name", _step_text("dataset", "name", name))

    def _apply_features(self) -> None:
        names = [n.strip() for n in self.csv_features.text().split(",") if n.strip()]
        self._set("dataset", "features", names or None)

    def _apply_image_size(self) -> None:
        parts = [p for p in self.images_size.text().replace("x", ",").split(",") if p.strip()]
        try:
            size = [int(p) for p in parts]
        except ValueError:
            size = []
        if len(size) != 2 or min(size) < 1:
            self.images_size.setStyleSheet("border: 1px solid #d64545;")
            self.images_size.setToolTip("Type the height and width in pixels, like “28, 28”.")
            return
        self.images_size.setStyleSheet("")
        self._set("dataset", "size", size)

    # ------------------------------------------------------------------ preview
    def set_preview_enabled(self, enabled: bool) -> None:
        """Draw the preview from now on (the window turns it on after its first paint)."""
        self._preview_enabled = enabled
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self._preview_enabled:
            self._preview_timer.start()

    def preview_data(self):
        """What the preview shows of the chosen built-in dataset, or ``None`` (files are not read here).

        ``("points", x, y, task)`` for the 2-D sets, ``("sequences", x, y, task)`` for sequences,
        ``("images", x, y, class_names)`` for images; a few samples, drawn as the loader draws them.
        """
        d = self.project.dataset
        if d.get("kind", "builtin") != "builtin":
            return None
        try:
            import numpy as np

            from designer.data.builtin import builtin_of
            from designer.data.options import noise_of, samples_of, seed_of
            entry = builtin_of(d)
            if d.get("name") in POINT_DATASETS:
                count = min(samples_of(d, entry.samples), 2000)  # a preview, not the whole set
            else:
                count = min(samples_of(d, entry.samples), 8)
            # the data stream of the seed, as the loader draws it, so the preview shows the same samples
            data_seed, _split_seed = np.random.SeedSequence(seed_of(d)).spawn(2)
            x, y = entry.generate(np.random.default_rng(data_seed), count, noise_of(d, entry.noise))
        except (ImportError, ValueError):
            return None
        if d.get("name") in POINT_DATASETS:
            return "points", x, y, entry.task
        if entry.is_sequence:
            return "sequences", x[:4], y[:4], entry.task
        if np.asarray(x).ndim == 3:
            return "images", x[:8], y[:8], list(entry.class_names)
        return None

    def preview_points(self):
        """``(x, y, task)`` of the shown 2-D built-in dataset, or ``None`` where there is no point preview."""
        data = self.preview_data()
        return data[1:] if data is not None and data[0] == "points" else None

    def _ensure_plot(self):
        import pyqtgraph as pg  # imported here: it takes longer to load than the whole window

        if self._plot is None:
            self._plot = pg.PlotWidget(background="#FFFFFF")
            self._plot.setObjectName("dataset_preview_plot")
            self._plot.setAccessibleName("Dataset preview")
            self._plot.setMenuEnabled(False)
            self._plot.setMouseEnabled(x=False, y=False)
            self._plot.hideButtons()
            for axis in ("left", "bottom"):
                self._plot.getAxis(axis).setPen("#98A2B3")
                self._plot.getAxis(axis).setTextPen("#667085")
            self._scatter = pg.ScatterPlotItem(size=5, pen=None)
            self._plot.addItem(self._scatter)
            self._lines = []
            self.preview_holder.layout().addWidget(self._plot)
            self._images = QLabel()
            self._images.setObjectName("dataset_preview_images")
            self._images.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.preview_holder.layout().addWidget(self._images)
        return pg

    def _draw_preview(self) -> None:
        data = self.preview_data()
        self.preview_holder.setVisible(data is not None)
        if data is None:
            return
        import numpy as np

        pg = self._ensure_plot()
        kind = data[0]
        self._plot.setVisible(kind != "images")
        self._images.setVisible(kind == "images")
        for line in self._lines:
            self._plot.removeItem(line)
        self._lines = []
        if kind == "points":
            _, x, y, task = data
            self._plot.setAspectLocked(True)
            if task == "classification":
                palette = [pg.mkBrush(c) for c in CLASS_COLOURS]
                brushes = [palette[int(v) % len(palette)] for v in np.asarray(y).reshape(-1)]
            else:
                values = np.asarray(y, dtype=float).reshape(len(x), -1)[:, 0]
                span = float(values.max() - values.min()) or 1.0
                colour_map = pg.colormap.get("CET-D1")
                brushes = [pg.mkBrush(c) for c in colour_map.map((values - values.min()) / span, mode="qcolor")]
            self._scatter.setData(x=np.asarray(x)[:, 0], y=np.asarray(x)[:, 1], brush=brushes)
            self._plot.autoRange(padding=0.05)
        elif kind == "sequences":
            _, x, y, _task = data
            self._plot.setAspectLocked(False)
            self._scatter.setData(x=[], y=[])
            steps = np.asarray(x).shape[1]
            targets = np.asarray(y, dtype=float).reshape(len(x), -1)[:, 0]
            for i, sequence in enumerate(np.asarray(x, dtype=float).reshape(len(x), steps, -1)[:, :, 0]):
                colour = CLASS_COLOURS[i % len(CLASS_COLOURS)]
                line = pg.PlotDataItem(np.arange(steps), sequence, pen=pg.mkPen(colour, width=1.6))
                target = pg.ScatterPlotItem([steps], [targets[i]], size=7, brush=pg.mkBrush(colour),
                                            pen=pg.mkPen("#FFFFFF"))
                for item in (line, target):
                    self._plot.addItem(item)
                    self._lines.append(item)
            self._plot.autoRange(padding=0.05)
        else:
            _, x, y, class_names = data
            self._images.setPixmap(_montage(np.asarray(x), scale=3))
            names = [class_names[int(v)] if int(v) < len(class_names) else str(v) for v in np.asarray(y)]
            self._images.setToolTip("Samples: " + ", ".join(names))


def _builtin_defaults(spec: dict) -> tuple[int, float]:
    """The samples and noise a built-in dataset uses when the file does not say."""
    try:
        from designer.data.builtin import builtin_of
        entry = builtin_of(spec)
        return entry.samples, entry.noise
    except (ImportError, ValueError):
        return 400, 0.0


def _montage(images, scale: int = 3, columns: int = 4) -> QPixmap:
    """Grey images side by side on a light ground, enlarged without smoothing (pixels stay pixels)."""
    import numpy as np

    count, height, width = images.shape
    rows = -(-count // columns)
    gap = 2
    canvas = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), 235, dtype=np.uint8)
    low, high = float(images.min()), float(images.max())
    span = (high - low) or 1.0
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = gap + r * (height + gap), gap + c * (width + gap)
        # dark ink on white paper reads better than white on black
        canvas[top:top + height, left:left + width] = (255 - (image - low) / span * 235).astype(np.uint8)
    picture = QImage(canvas.data, canvas.shape[1], canvas.shape[0], canvas.strides[0],
                     QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(picture).scaled(picture.width() * scale, picture.height() * scale,
                                             Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation)

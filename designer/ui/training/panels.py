"""The contents of the loss dock: the loss plot, with the learning-rate box in its toolbar, and a
status line. (A run that went wrong is listed in the problems panel; a clicked neuron's weights are
in the inspector; the learned dock holds :class:`~.learned_view.LearnedView` itself.)"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..dataset_panel import MAX_LEARNING_RATE, MIN_LEARNING_RATE
from .loss_plot import LossPlot


class RunPanel(QWidget):
    """The loss plot, with a learning-rate box in its toolbar, and a status line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run_panel")
        self.loss_plot = LossPlot(self)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setObjectName("learning_rate")
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(MIN_LEARNING_RATE, MAX_LEARNING_RATE)
        self.learning_rate.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.learning_rate.setKeyboardTracking(False)
        self.learning_rate.setPrefix("learning rate ")
        self.learning_rate.setToolTip("The step size of each update; a change takes effect at the next batch")
        self.loss_plot.toolbar.addSeparator()
        self.loss_plot.toolbar.addWidget(self.learning_rate)
        self.status_label = QLabel("Not trained yet. Press Train (F5).")
        self.status_label.setObjectName("training_status")
        self.status_label.setContentsMargins(6, 2, 6, 2)
        # A run's verdict (training and validation loss, validation accuracy) is longer than a
        # dock shared with the learned view is wide: it wraps, at the " · " between its parts.
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Its text changes several times a second: a fixed size (two lines, whatever the text)
        # keeps that from re-laying out the window.
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        margins = self.status_label.contentsMargins()
        self.status_label.setFixedHeight(2 * self.status_label.fontMetrics().lineSpacing()
                                         + margins.top() + margins.bottom())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.status_label)

"""The contents of the two training docks: the run panel (loss plot, learning rate, status) and
the learned panel ("what the network learned", and the clicked neuron's weights)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from .learned_view import LearnedView
from .loss_plot import LossPlot
from .neuron_panel import NeuronPanel

ERROR_STYLE = "color: #B42318; background: #FEF3F2; border: 1px solid #FDA29B; border-radius: 3px; padding: 3px;"


class RunPanel(QWidget):
    """The loss plot, with a learning-rate box in its toolbar, a status line, and a banner for a
    run that went wrong (diverged, could not start)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("run_panel")
        self.loss_plot = LossPlot(self)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setObjectName("learning_rate")
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 100.0)
        self.learning_rate.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.learning_rate.setKeyboardTracking(False)
        self.learning_rate.setPrefix("learning rate ")
        self.learning_rate.setToolTip("The step size of each update; a change takes effect at the next batch")
        self.loss_plot.toolbar.addSeparator()
        self.loss_plot.toolbar.addWidget(self.learning_rate)
        self.status_label = QLabel("Not trained yet. Press Train (F5).")
        self.status_label.setObjectName("training_status")
        # its text changes several times a second: a fixed size keeps that from re-laying out the window
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.message_label = QLabel()
        self.message_label.setObjectName("training_message")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.message_label)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.status_label)


class LearnedPanel(QSplitter):
    """What the network learned, above the weights of the neuron clicked on the canvas."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setObjectName("learned_panel")
        self.learned_view = LearnedView()
        self.neuron_panel = NeuronPanel()
        self.addWidget(self.learned_view)
        self.addWidget(self.neuron_panel)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self.neuron_panel.hide()  # until a neuron is clicked

"""The problems panel: what :func:`designer.graph.validate` finds, one row per problem.

Errors stop the design from training, warnings do not. Clicking a row asks the window to select
the layer or connection it names. A training run that went wrong (diverged, could not run) is listed
too, first, until the next run starts or another project is opened (:meth:`ProblemsPanel.set_run_message`).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QStackedWidget, QVBoxLayout, QWidget

from designer.graph import Problem

ERROR_COLOUR = "#d64545"
WARNING_COLOUR = "#d99a1e"
OK_COLOUR = "#2f9e62"


def severity_icon(severity: str, size: int = 16) -> QIcon:
    """A red disc with a cross (error), an amber triangle with "!" (warning) or a green tick ("ok")."""
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.scale(size * scale / 16.0, size * scale / 16.0)
        white = QPen(QColor("white"), 1.8)
        white.setCapStyle(Qt.PenCapStyle.RoundCap)
        if severity == "warning":
            triangle = QPainterPath(QPointF(8, 1.5))
            triangle.lineTo(15, 14.5)
            triangle.lineTo(1, 14.5)
            triangle.closeSubpath()
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(WARNING_COLOUR))
            p.drawPath(triangle)
            p.setPen(white)
            p.drawLine(QPointF(8, 6), QPointF(8, 9.5))
            p.drawPoint(QPointF(8, 12.2))
        else:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(ERROR_COLOUR if severity == "error" else OK_COLOUR))
            p.drawEllipse(QRectF(1, 1, 14, 14))
            p.setPen(white)
            if severity == "error":
                p.drawLine(QPointF(5.5, 5.5), QPointF(10.5, 10.5))
                p.drawLine(QPointF(10.5, 5.5), QPointF(5.5, 10.5))
            else:
                p.drawPolyline([QPointF(4.8, 8.3), QPointF(7.2, 10.6), QPointF(11.4, 5.6)])
        p.end()
        icon.addPixmap(pixmap)
    return icon


def describe(problem: Problem) -> str:
    """The row text: where, then what."""
    if problem.layer_id:
        return f"Layer {problem.layer_id}: {problem.message}"
    if problem.connection_id:
        return f"Connection {problem.connection_id}: {problem.message}"
    return problem.message[:1].upper() + problem.message[1:]


class ProblemsPanel(QWidget):
    """Lists problems, errors first; emits :attr:`problem_activated` with the culprit's id on a click."""

    problem_activated = Signal(str)
    #: the rows changed (the window counts them in the dock's title)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problems_panel")
        self.problems: list[Problem] = []
        self.run_message: str | None = None
        self._icons = {s: severity_icon(s) for s in ("error", "warning", "ok")}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._stack = QStackedWidget(self)
        self.list = QListWidget(self)
        self.list.setObjectName("problems_list")
        self.list.setAccessibleName("Problems")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)  # re-wrap the rows when the dock narrows
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setAlternatingRowColors(True)
        self.list.itemClicked.connect(self._activate)
        self.list.itemActivated.connect(self._activate)
        self._all_clear = QLabel(self)
        self._all_clear.setObjectName("problems_all_clear")
        self._all_clear.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._all_clear.setContentsMargins(10, 10, 10, 10)
        self._all_clear.setWordWrap(True)
        self._all_clear.setText(f"<span style='color:{OK_COLOUR}; font-size:14px'>✔</span>&nbsp; "
                                "No problems: the design is ready to train.")
        self._stack.addWidget(self._all_clear)
        self._stack.addWidget(self.list)
        layout.addWidget(self._stack)

    def set_problems(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: p.severity != "error")  # stable: errors first, drawn order kept
        self.problems = ordered
        self._fill()

    def set_run_message(self, text: str | None) -> None:
        """What went wrong in the last training run (None: nothing), listed above the design's problems."""
        self.run_message = text or None
        self._fill()

    def count(self) -> int:
        """How many rows: the design's problems, and the run's message if any."""
        return len(self.problems) + (self.run_message is not None)

    def _fill(self) -> None:
        self.list.clear()
        if self.run_message is not None:
            item = QListWidgetItem(self._icons["error"], self.run_message)
            item.setData(Qt.ItemDataRole.UserRole, None)
            item.setToolTip(self.run_message)
            self.list.addItem(item)
        ordered = self.problems
        for problem in ordered:
            item = QListWidgetItem(self._icons.get(problem.severity, self._icons["error"]), describe(problem))
            item.setData(Qt.ItemDataRole.UserRole, problem.item_id)
            item.setToolTip(str(problem) + ("\nClick to select it on the canvas." if problem.item_id else ""))
            self.list.addItem(item)
        self._stack.setCurrentWidget(self.list if self.count() else self._all_clear)
        self.changed.emit()

    def _activate(self, item: QListWidgetItem) -> None:
        item_id = item.data(Qt.ItemDataRole.UserRole)
        if item_id:
            self.problem_activated.emit(item_id)

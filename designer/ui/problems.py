"""The problems panel: what :func:`designer.graph.validate` finds, one row per problem.

Errors stop the design from training, warnings do not. Clicking a row asks the window to select
the layer or connection it names. What went wrong in the last training run (diverged, could not run)
is shown apart, above the list, and not counted with the design's problems: it is about a run that
is over, and the window clears it at the next edit, run or project (:meth:`ProblemsPanel.set_run_message`).

What the layer-health measurements of a run find (dead ReLUs, saturated layers, vanishing gradients) is a group
of its own under the design's problems (:meth:`ProblemsPanel.set_health_problems`): replaced after every epoch,
cleared by the next edit, run or project, and not counted with the design's problems either (``nn-designer
check`` does not train, so it cannot find them).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QStackedWidget, QVBoxLayout,
                               QWidget)

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
    text = problem.message
    if problem.part != "design" and not text.startswith(problem.part):
        text = f"{problem.part}: {text}"  # "dataset: the file ... has no column 'y'"
    return text[:1].upper() + text[1:]


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
        #: what the last run's layer health found, and the epoch it was measured at
        self.health_problems: list[Problem] = []
        self.health_epoch: int | None = None
        self._icons = {s: severity_icon(s) for s in ("error", "warning", "ok")}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.run_label = QLabel(self)
        self.run_label.setObjectName("problems_last_run")
        self.run_label.setWordWrap(True)
        self.run_label.setTextFormat(Qt.TextFormat.PlainText)
        self.run_label.setContentsMargins(10, 8, 10, 8)
        self.run_label.setStyleSheet(f"QLabel {{ background: #FEF3F2; color: #7A271A; border-bottom: 1px solid "
                                     f"#FECDCA; border-left: 3px solid {ERROR_COLOUR}; }}")
        self.run_label.hide()
        layout.addWidget(self.run_label)
        self._stack = QStackedWidget(self)
        self.list = QListWidget(self)
        self.list.setObjectName("problems_list")
        self.list.setAccessibleName("Problems")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)  # re-wrap the rows when the dock narrows
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setAlternatingRowColors(True)
        self.list.viewport().installEventFilter(self)
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
        """What went wrong in the last training run (None: nothing), shown above the design's problems."""
        self.run_message = text or None
        self.run_label.setText(f"Last run: {self.run_message}" if self.run_message else "")
        self.run_label.setVisible(self.run_message is not None)

    def set_health_problems(self, problems: list[Problem], epoch: int | None = None) -> None:
        """The training's health warnings (``designer.insight.health_problems``), measured at ``epoch``:
        listed as a group under the design's problems. An empty list removes the group."""
        problems = list(problems or [])
        if problems == self.health_problems and epoch == self.health_epoch:
            return
        self.health_problems = problems
        self.health_epoch = epoch if problems else None
        self._fill()

    def health_lines(self) -> list[str]:
        """The health group's rows, as ``str(problem)`` writes them."""
        return [str(p) for p in self.health_problems]

    def count(self) -> int:
        """How many problems the design has (errors and warnings; the last run's message is apart)."""
        return len(self.problems)

    def lines(self) -> list[str]:
        """The rows as ``nn-designer check`` prints them ("error: layer h: ...")."""
        return [str(p) for p in self.problems]

    def _fill(self) -> None:
        self.list.clear()
        for problem in self.problems:
            # the row's text is a word-wrapping label laid on the item: the list's own wrapping sized rows
            # for a width and font it did not paint with, and cut the end of a long fix ("to [16, ...")
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, problem.item_id)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, describe(problem))
            item.setToolTip(str(problem) + ("\nClick to select it on the canvas." if problem.item_id else ""))
            self.list.addItem(item)
            self.list.setItemWidget(item, self._row(problem))
        if self.health_problems:
            self._add_health_group()
        self._fit_rows()
        self._stack.setCurrentWidget(self.list if self.count() or self.health_problems else self._all_clear)
        self.changed.emit()

    def _add_health_group(self) -> None:
        """A heading, then one row per health warning (a click selects the layer, as for the others)."""
        heading = QListWidgetItem()
        heading.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable, not clickable
        when = f" (epoch {self.health_epoch})" if self.health_epoch is not None else ""
        text = (f"While training{when}: the layers' health" if not self.problems
                else f"While training{when}: the layers' health (the design itself is listed above)")
        heading.setData(Qt.ItemDataRole.AccessibleTextRole, text)
        heading.setData(Qt.ItemDataRole.UserRole + 1, "health_heading")
        heading.setToolTip("Measured on the validation data after each epoch of the run: see the Layer health "
                           "panel. These warnings go at the next edit or run.")
        self.list.addItem(heading)
        label = QLabel(text)
        label.setObjectName("problem_text")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setContentsMargins(4, 6, 6, 2)
        label.setStyleSheet("QLabel { color: #475467; font-weight: 600; background: #F9FAFB; "
                            "border-top: 1px solid #EAECF0; }")
        holder = QWidget()
        holder.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QHBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(label, 1)
        self.list.setItemWidget(heading, holder)
        for problem in self.health_problems:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, problem.item_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, "health")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, describe(problem))
            item.setToolTip(str(problem) + ("\nClick to select it on the canvas." if problem.item_id else ""))
            self.list.addItem(item)
            self.list.setItemWidget(item, self._row(problem))

    def health_rows(self) -> list[int]:
        """The list's rows that show health warnings (not the heading)."""
        return [i for i in range(self.list.count())
                if self.list.item(i).data(Qt.ItemDataRole.UserRole + 1) == "health"]

    def _row(self, problem: Problem) -> QWidget:
        row = QWidget()
        row.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks select the item below
        layout = QHBoxLayout(row)
        layout.setContentsMargins(4, 4, 6, 4)
        layout.setSpacing(6)
        icon = QLabel(row)
        icon.setPixmap(self._icons.get(problem.severity, self._icons["error"]).pixmap(16, 16))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        text = QLabel(describe(problem), row)
        text.setObjectName("problem_text")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(icon)
        layout.addWidget(text, 1)
        return row

    def row_text(self, index: int) -> str:
        """The text a row shows, whole."""
        return self.list.item(index).data(Qt.ItemDataRole.AccessibleTextRole)

    def _fit_rows(self) -> None:
        """Each row as tall as its label needs at the list's width."""
        width = self.list.viewport().width()
        for index in range(self.list.count()):
            item = self.list.item(index)
            row = self.list.itemWidget(item)
            if row is not None:
                # the label's own wrapped height at the width it gets, plus the row's margins and a line's leading
                label = row.findChild(QLabel, "problem_text")
                margins = row.layout().contentsMargins()
                text_width = width - margins.left() - margins.right() - 16 - row.layout().spacing()
                height = label.heightForWidth(max(text_width, 40)) + margins.top() + margins.bottom()
                item.setSizeHint(QSize(width, height + label.fontMetrics().leading() + 2))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_rows()
        return super().eventFilter(watched, event)

    def _activate(self, item: QListWidgetItem) -> None:
        item_id = item.data(Qt.ItemDataRole.UserRole)
        if item_id:
            self.problem_activated.emit(item_id)

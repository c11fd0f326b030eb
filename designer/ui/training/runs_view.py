"""The runs panel: the project's training runs side by side (:func:`designer.insight.compare_runs`).

One row per run, newest first: its id, then the settings that differ between the runs (in bold on amber, and
named in the line above the table: "differs: learning_rate, optimizer"), how it ended, its epochs, its final
training and validation loss and validation accuracy, when it started (local time), where it was trained
(:func:`designer.training.jobs.run_origin`: "this machine", "a job: 4 processes on 2 nodes, cuda"; a column once a
run came from a training job, else the run's tooltip), and the settings every run shared. Selecting runs draws
their loss curves over the loss plot (:meth:`~.loss_plot.LossPlot.set_overlay`); clearing the selection removes them.

The table is made when it can be seen (or is asked about): comparing runs reads the training settings' defaults,
which imports the engine (torch), and the window starts before the engine has loaded.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

DIFFERS_BACKGROUND = QColor("#FEF0C7")
DIFFERS_TEXT = QColor("#93370D")
#: the columns of a run's results, after its id and the settings that differ
RESULTS = ("status", "epochs", "train loss", "val loss", "val accuracy")
FIXED = ("run",) + RESULTS + ("started",)
HEADER_TIPS = {"train loss": "the training loss of the last epoch", "val loss": "the validation loss of the last epoch",
               "val accuracy": "the validation accuracy of the last epoch", "epochs": "the epochs the run finished",
               "started": "when the run started, in local time", "status": "how the run ended",
               "trained on": "where the run was trained: this machine, or a training job (File › Import Run…)"}
SELECTED = QColor(47, 111, 235)
STATUS_COLOURS = {"completed": "#027A48", "stopped": "#475467", "diverged": "#B42318", "failed": "#B42318"}
RUN_ROLE = Qt.ItemDataRole.UserRole + 1


def setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "–"
    return str(value)


def local_time(started: str) -> str:
    """``2026-11-27T10:00:00Z`` as the local ``2026-11-27 11:00``; the text as it is when it is not such a time."""
    from datetime import datetime, timezone

    try:
        moment = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return started
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class _KeepColours(QStyledItemDelegate):
    """Selected rows tinted, not painted over: a differing setting stays bold on amber when its run is selected."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        if option.state & QStyle.StateFlag.State_Selected:
            option.state &= ~QStyle.StateFlag.State_Selected
            background = index.data(Qt.ItemDataRole.BackgroundRole)
            base = background.color() if isinstance(background, QBrush) else QColor("white")
            tint = QColor(base)
            mix = 0.22
            tint.setRgbF(base.redF() * (1 - mix) + SELECTED.redF() * mix,
                         base.greenF() * (1 - mix) + SELECTED.greenF() * mix,
                         base.blueF() * (1 - mix) + SELECTED.blueF() * mix)
            option.backgroundBrush = QBrush(tint)


def _number(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None and math.isfinite(value) else "–"


class RunsView(QWidget):
    """The table of runs; selecting runs asks the loss plot to draw them (:attr:`runs_selected`)."""

    #: the selected runs (history dicts, oldest first) and their legend labels: draw them over the loss plot
    runs_selected = Signal(list, dict)

    def __init__(self, parent: QWidget | None = None, loss_plot: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_view")
        self.runs: list[dict[str, Any]] = []
        self.run_table: Any = None  # designer.insight.RunTable, once made
        self.loss_plot = loss_plot
        self._filling = False
        self._pending = False
        self._selected_ids: list[str] = []
        self.differs_label = QLabel(self)
        self.differs_label.setObjectName("runs_differs")
        self.differs_label.setWordWrap(True)
        self.differs_label.setTextFormat(Qt.TextFormat.PlainText)
        self.differs_label.setContentsMargins(8, 4, 8, 4)
        self.table = QTableWidget(0, 0, self)
        self.table.setObjectName("runs_table")
        self.table.setAccessibleName("Training runs")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.setItemDelegate(_KeepColours(self.table))
        self.hint = QLabel("Select runs (Ctrl+click for more) to draw their loss over the loss plot.", self)
        self.hint.setObjectName("runs_hint")
        self.hint.setWordWrap(True)  # a narrow dock: more lines, never a wider one
        self.hint.setContentsMargins(8, 2, 8, 4)
        self.hint.setStyleSheet("color: #667085")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.differs_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        self.differs_label.setText("No runs yet: each training run is listed here, with its settings.")

    # ------------------------------------------------------------------ feeding
    def set_runs(self, runs: Sequence[dict[str, Any]]) -> None:
        """Show a project's runs (``project.history``, oldest first); selected runs stay selected."""
        self.runs = [run for run in runs if isinstance(run, dict)]
        self._pending = True
        if self.isVisible():
            self._fill()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._ensure()

    def _ensure(self) -> None:
        if self._pending:
            self._fill()

    def _fill(self) -> None:
        from designer.insight import compare_runs
        from designer.training.jobs import run_origin

        self._pending = False
        self.run_table = compare_runs(self.runs)
        table = self.run_table
        origins = {str(run.get("id", "")): run_origin(run) for run in self.runs}
        # where each run was trained: a column of its own once a run came from a job, else in the run's tooltip
        from_jobs = any(origin != "this machine" for origin in origins.values())
        differing = list(table.differing)
        same = [name for name in table.settings if name not in differing]
        seconds = any(row.seconds is not None for row in table.rows)
        columns = (["run"] + differing + list(RESULTS) + (["duration"] if seconds else []) + ["started"]
                   + (["trained on"] if from_jobs else []) + same)
        settings = differing + same
        keep = [rid for rid in self._selected_ids if any(row.id == rid for row in table.rows)]
        self._filling = True
        try:
            self.table.clearSelection()
            self.table.setColumnCount(len(columns))
            self.table.setRowCount(len(table.rows))
            bold = QFont(self.table.font())
            bold.setWeight(QFont.Weight.DemiBold)
            for column, title in enumerate(columns):
                header = QTableWidgetItem(title)
                if title in differing:
                    header.setFont(bold)
                    header.setForeground(QBrush(DIFFERS_TEXT))
                    header.setToolTip(f"{title}: not the same in every run")
                elif title in settings:
                    header.setToolTip(f"{title}: the same in every run" if len(table.rows) > 1 else title)
                elif title in HEADER_TIPS:
                    header.setToolTip(HEADER_TIPS[title])
                self.table.setHorizontalHeaderItem(column, header)
            for row_number, row in enumerate(reversed(table.rows)):  # newest first
                by_name = {"run": row.id, "status": row.status, "epochs": str(row.epochs),
                           "train loss": _number(row.train_loss, "{:.4g}"), "val loss": _number(row.val_loss, "{:.4g}"),
                           "val accuracy": _number(row.val_accuracy, "{:.1%}"), "started": local_time(row.started),
                           "duration": _number(row.seconds, "{:.1f} s"),
                           "trained on": origins.get(row.id, "this machine")}
                values = [by_name[name] if name in by_name else setting_text(row.settings.get(name))
                          for name in columns]
                for column, text in enumerate(values):
                    item = QTableWidgetItem(text)
                    item.setData(RUN_ROLE, row.id)
                    name = columns[column]
                    if name in differing:
                        item.setFont(bold)
                        item.setBackground(QBrush(DIFFERS_BACKGROUND))
                        item.setForeground(QBrush(DIFFERS_TEXT))
                        item.setToolTip(f"{name} differs between the runs: {text} in {row.id}")
                    elif name == "status":
                        item.setForeground(QBrush(QColor(STATUS_COLOURS.get(text, "#1D2433"))))
                    if name in ("epochs", "train loss", "val loss", "val accuracy", "duration"):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if name == "started":
                        item.setToolTip(f"{row.started} (UTC)")
                    elif name in ("run", "trained on"):
                        item.setToolTip(f"{row.id}: trained on {origins.get(row.id, 'this machine')}")
                    self.table.setItem(row_number, column, item)
            for rid in keep:
                row = self._row_of(rid)
                if row is not None:
                    self._add_row_to_selection(row)
        finally:
            self._filling = False
        if not table.rows:
            self.differs_label.setText("No runs yet: each training run is listed here, with its settings.")
        elif len(table.rows) == 1:
            self.differs_label.setText("One run so far: train again with other settings to compare them here.")
        elif differing:
            self.differs_label.setText("differs: " + ", ".join(differing))
        else:
            self.differs_label.setText(f"All {len(table.rows)} runs used the same settings.")
        self.differs_label.setStyleSheet(f"color: {DIFFERS_TEXT.name()}; font-weight: 600" if differing
                                         else "color: #475467")
        self._selection_changed()

    def _add_row_to_selection(self, row: int) -> None:
        model = self.table.selectionModel()
        index = self.table.model().index(row, 0)
        model.select(index, model.SelectionFlag.Select | model.SelectionFlag.Rows)

    def _row_of(self, run_id: str) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(RUN_ROLE) == run_id:
                return row
        return None

    # ------------------------------------------------------------------ what it shows
    def columns(self) -> list[str]:
        self._ensure()
        return [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]

    def highlighted_settings(self) -> list[str]:
        """The columns whose cells are highlighted as differing (read from the cells, as drawn)."""
        self._ensure()
        out = []
        for column, name in enumerate(self.columns()):
            items = [self.table.item(row, column) for row in range(self.table.rowCount())]
            if items and all(item is not None and item.font().bold()
                             and item.background().color() == DIFFERS_BACKGROUND for item in items):
                out.append(name)
        return out

    def origin_of(self, run_id: str) -> str:
        """Where the run was trained, as the table says it (its column, else the run cell's tooltip)."""
        self._ensure()
        row = self._row_of(run_id)
        if row is None:
            return ""
        columns = self.columns()
        if "trained on" in columns:
            return self.table.item(row, columns.index("trained on")).text()
        return self.table.item(row, 0).toolTip().split(": trained on ", 1)[-1]

    def run_ids(self) -> list[str]:
        """The runs in the table's rows, top to bottom."""
        self._ensure()
        return [self.table.item(row, 0).data(RUN_ROLE) for row in range(self.table.rowCount())]

    def select_runs(self, run_ids: Sequence[str]) -> None:
        """Select these runs (the others not)."""
        if run_ids:
            self._ensure()
        self._filling = True
        try:
            self.table.clearSelection()
            for rid in run_ids:
                row = self._row_of(rid)
                if row is not None:
                    self._add_row_to_selection(row)
        finally:
            self._filling = False
        self._selection_changed()

    def selected_ids(self) -> list[str]:
        self._ensure()
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(RUN_ROLE) for row in rows]

    def _selection_changed(self) -> None:
        if self._filling:
            return
        chosen = set(self.selected_ids()) if self.run_table is not None else set()
        rows = self.run_table.rows if self.run_table is not None else []
        ids = [row.id for row in rows if row.id in chosen]  # oldest first
        if ids == self._selected_ids and self.loss_plot is not None \
                and self.loss_plot.overlay_runs() == ids:
            return
        self._selected_ids = ids
        runs = [run for run in self.runs if str(run.get("id", "")) in chosen]
        labels = {row.id: self._label(row) for row in rows if row.id in chosen}
        if self.loss_plot is not None:
            self.loss_plot.set_overlay(runs, labels)
        self.runs_selected.emit(runs, labels)

    def _label(self, row) -> str:
        """``run-2 (learning_rate 0.1, optimizer adam)``: the id and, when runs differ, what this one used."""
        differing = self.run_table.differing[:2]
        if not differing:
            return row.id
        more = ", …" if len(self.run_table.differing) > 2 else ""
        return f"{row.id} (" + ", ".join(f"{name} {setting_text(row.settings.get(name))}"
                                         for name in differing) + more + ")"

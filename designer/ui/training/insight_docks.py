"""The docks that show how a run goes inside the network: layer health, classification results, and the runs.

:func:`install_insight_docks` adds three docks to the window, as tabs beside "What the network learned" (the loss
plot stays in sight beside them, since selected runs are drawn over it), listed in View › Panels and put back by
View › Reset Layout:

- **Layer health** (:class:`~.health_view.HealthView`): per layer, a sparkline per measure over the epochs; its
  warnings are listed in the Problems panel as a group of their own, replaced after every epoch and cleared by the
  next edit, run or project;
- **Classification results** (:class:`~.results_view.ResultsView`): the validation confusion matrix, per-class
  accuracy and a clicked cell's samples;
- **Runs** (:class:`~.runs_view.RunsView`): the project's runs side by side, the differing settings highlighted;
  selected runs are drawn over the loss plot.

They are fed by the training controller's ``health_changed(dict)`` and ``results_changed(dict)`` (after the
epochs of a run, and the results of stored weights too), ``insight_cleared()``, ``run_finished(str)`` and
``state_changed(str)``, and by the window's ``project_replaced`` and undo stack (an edit clears the health
warnings).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtWidgets import QDockWidget

from .health_view import HealthView
from .results_view import ResultsView
from .runs_view import RunsView

#: (object name, title) of the docks, in the order of their tabs and of the View › Panels menu
DOCKS = (("layer_health", "Layer health"), ("classification_results", "Classification results"), ("runs", "Runs"))


def install_insight_docks(window: Any, controller: Any) -> None:
    """Add the layer-health, classification-results and runs docks to ``window`` (a second call does nothing);
    they are at ``window.insight_docks``."""
    if getattr(window, "insight_docks", None) is not None:
        return
    window.insight_docks = InsightDocks(window, controller)


class InsightDocks(QObject):
    """The three docks and what feeds them."""

    def __init__(self, window: Any, controller: Any) -> None:
        super().__init__(window)
        self.setObjectName("insight_docks")
        self.window = window
        self.controller = controller
        self._state = getattr(controller, "state", "idle")
        self._placing = False  # docks shown while being placed are not raised
        self.health_view = HealthView()
        self.results_view = ResultsView()
        self.runs_view = RunsView(loss_plot=getattr(controller, "loss_plot", None))
        self.health_dock = self._make(*DOCKS[0], self.health_view)
        self.results_dock = self._make(*DOCKS[1], self.results_view)
        self.runs_dock = self._make(*DOCKS[2], self.runs_view)
        if window.isVisible():
            self._place(restore=True)
        else:
            # Tabified before the window is shown, Qt 6.11 left a second, stale tab bar painted over the loss plot;
            # so they wait, hidden, for the window to show. (The window restores its saved layout after this.)
            for dock in self.docks():
                dock.hide()
            window.installEventFilter(self)
        self._list_in_view_menu()
        # a panel opened again (View › Panels) comes back as the tab in front, not behind another one
        for dock in [window.learned_dock] + self.docks():
            dock.installEventFilter(self)

        self.health_view.set_design(window.graph)
        self.health_view.layer_activated.connect(self._select_layer)
        window.project_replaced.connect(self.project_loaded)
        window.undo_stack.indexChanged.connect(self._design_edited)
        action = getattr(window, "action_reset_layout", None)
        if action is not None:
            action.triggered.connect(self.reset_layout)  # after the window's own reset (connected first)
        controller.health_changed.connect(self.show_health)
        controller.results_changed.connect(self.show_results)
        controller.insight_cleared.connect(self.clear)
        controller.run_finished.connect(self._run_finished)
        controller.state_changed.connect(self._state_changed)
        self.runs_view.set_runs(list(window.project.history or []))
        # what the controller had before these docks were there (the stored weights' results, say)
        if getattr(controller, "results", None) is not None:
            self.show_results(controller.results)

    # ------------------------------------------------------------------ docks
    def docks(self) -> list[QDockWidget]:
        return [self.health_dock, self.results_dock, self.runs_dock]

    def _make(self, name: str, title: str, widget: Any) -> QDockWidget:
        return self.window._dock(name, title, widget, Qt.DockWidgetArea.BottomDockWidgetArea)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show:
            if watched is self.window:
                self.window.removeEventFilter(self)
                self._place(restore=False)
            elif (isinstance(watched, QDockWidget) and not self._placing and self.window.isVisible()
                  and not event.spontaneous() and self.window.tabifiedDockWidgets(watched)):
                watched.raise_()
        return False

    def _place(self, restore: bool) -> None:
        """Where the saved layout has these docks, else as tabs beside the learned view (a first start).

        Start-up restores the saved layout before the engine, and so these docks, is loaded; Qt's ``restoreState``
        only places the docks that exist when it runs, so ``restore`` restores the same state again now (the other
        docks are where it put them a moment ago). A layout saved before these docks existed has no place for them.
        """
        from designer.ui import settings

        _geometry, state = settings.window_layout()
        saved = bytes(state.data()) if state is not None else b""
        if any(name.encode("utf-16-be") in saved for name, _title in DOCKS):
            if restore:
                self._placing = True
                try:
                    self.window.restoreState(state)
                finally:
                    self._placing = False
            return
        self.reset_layout()

    def _list_in_view_menu(self) -> None:
        menu = getattr(self.window, "menu_panels", None)
        if menu is None:
            return
        actions = menu.actions()
        learned = self.window.learned_dock.toggleViewAction()
        index = actions.index(learned) + 1 if learned in actions else len(actions)
        before = actions[index] if index < len(actions) else None
        for dock in self.docks():
            if before is None:
                menu.addAction(dock.toggleViewAction())
            else:
                menu.insertAction(before, dock.toggleViewAction())

    @Slot()
    def reset_layout(self) -> None:
        """View › Reset Layout: the docks shown, as tabs beside "What the network learned", in front of none."""
        window = self.window
        self._placing = True
        try:
            for dock in self.docks():
                dock.setFloating(False)
                if window.dockWidgetArea(dock) == Qt.DockWidgetArea.NoDockWidgetArea:
                    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
                dock.show()  # first: a hidden dock tabified joins the tabs only later
                window.tabifyDockWidget(window.learned_dock, dock)
        finally:
            self._placing = False
        window.learned_dock.raise_()

    # ------------------------------------------------------------------ feeding
    @Slot(object)
    def show_health(self, payload: dict[str, Any]) -> None:
        """One epoch's layer health: into the panel, and its warnings into Problems."""
        self.health_view.add(payload)
        self.window.problems.set_health_problems(list(payload.get("problems") or []), payload.get("epoch"))

    @Slot(object)
    def show_results(self, payload: dict[str, Any]) -> None:
        self.results_view.set_results(payload)

    @Slot(str)
    def _run_finished(self, _status: str) -> None:
        self.runs_view.set_runs(list(self.window.project.history or []))

    @Slot(str)
    def _state_changed(self, state: str) -> None:
        previous, self._state = self._state, state
        if previous == "idle" and state != "idle":  # a new run: what was measured belongs to the last one
            self.health_view.clear("Measuring the layers after each epoch…")
            self.health_view.set_design(self.window.graph)
            self.results_view.clear("Waiting for the run's first epoch… (a classification run shows its "
                                    "confusion matrix here; a regression has no classes)")
            self.window.problems.set_health_problems([])

    @Slot()
    def clear(self) -> None:
        """What was measured no longer holds (another project, the weights reset, other data)."""
        self.health_view.clear()
        self.health_view.set_design(self.window.graph)
        self.results_view.clear()
        self.window.problems.set_health_problems([])

    @Slot()
    def project_loaded(self) -> None:
        """Another project: its own runs (the controller has cleared what was measured: ``insight_cleared``)."""
        self.window.problems.set_health_problems([])
        self.runs_view.select_runs([])
        self.runs_view.set_runs(list(self.window.project.history or []))

    @Slot()
    def _design_edited(self, *_args) -> None:
        """An edit: the health warnings were about the design before it."""
        training = self.window.training
        if not (training and training.busy):
            self.window.problems.set_health_problems([])

    @Slot(str)
    def _select_layer(self, layer_id: str) -> None:
        if layer_id in self.window.graph.layers:
            self.window.canvas.select(layer_id)

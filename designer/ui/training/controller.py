"""Training in the window: the Train/Pause/Step/Stop/Reset actions, the worker thread, and the docks.

One :class:`TrainingController` per window (``TrainingController(window)``). Pressing Train copies
the design, dataset and training settings, starts a :class:`~.worker.TrainingWorker` on a
``QThread``, locks editing (the canvas says so in a banner) and feeds the worker's reports to the
loss plot, the "what the network learned" view and the canvas. When the run ends, its weights and
its history entry go into the project, which is then marked modified.

States: ``idle`` -> ``running`` <-> ``paused`` -> ``idle``. Stop is a flag the loop checks before
every batch; closing the window stops the run and joins the thread (``quit`` + ``wait``, never
``terminate``) before the window asks whether to save.

What every neuron computes (issue 9), from the worker, re-emitted for the views:

- ``pictures_changed(dict)``: the neurons' pictures (:class:`designer.insight.NeuronPictures`), computed only
  while the canvas shows them (:meth:`TrainingController.set_pictures_wanted`), with ``info``,
  ``classification`` and ``num_classes`` added; also drawn on the canvas from here;
- ``health_changed(dict)``: ``{"epoch", "layers": {layer id: {"dead_share", "saturated_share",
  "gradient_norm", "activation", "units"}}, "problems": [Problem ...]}``, the problems from
  :func:`designer.insight.health_problems` over the run's health so far (``health_history``); epochs
  increase within a run (not every epoch of a fast run is measured: see the worker);
- ``results_changed(dict)``: the validation confusion matrix of a classification run: ``matrix`` (rows
  actual), ``class_names``, ``per_class_accuracy``, ``predicted``, ``actual``, ``inputs`` (the samples, to
  draw a cell's), ``kind`` (``plane``, ``images``, ``sequence``, ``table``), ``epoch``, ``samples``, ``total``;
- ``insight_cleared()``: pictures, health and results no longer hold (another project, weights reset, the
  data changed).

Following a sample (:meth:`TrainingController.follow_sample`): a click on a validation sample in "What the
network learned" traces it through a copy of the design holding the current weights (on this thread: one
sample), shows every neuron's value on the canvas and the clicked neuron's sum in the inspector, and keeps
doing so as the weights change; ``sample_changed(object)`` says which (None: none).
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence

from designer.graph import errors
from designer.project import Project
from designer.words import count

from ..data_loading import is_slow
from designer.ui import collector
from .icons import training_icon
from .loss_plot import change_text
from .learned_view import LearnedView
from .panels import RunPanel
from .worker import TrainingJob, TrainingWorker

IDLE, RUNNING, PAUSED = "idle", "running", "paused"
#: how long closing the window waits for the loop to notice Stop
JOIN_TIMEOUT_MS = 2000
#: the settings the loop takes while it runs (the others need a new run)
LIVE_SETTINGS = ("learning_rate", "momentum", "l1", "l2")
#: seconds between updates of the status line during a run
STATUS_INTERVAL = 0.25


#: threads still finishing a batch when their window closed, kept (and waited for at quit) until then
_FINISHING: list[tuple[QThread, Any]] = []


def _delete_worker(worker: Any) -> None:
    """Free a worker whose thread has ended. ``deleteLater`` would post the deletion to that thread's
    event loop, which no longer runs: every run's worker, with its copy of the project, stayed alive
    (about 60 MiB a run on a 4-million-parameter design). With its thread joined, nothing else can be
    touching it, so it is deleted here."""
    if worker is not None and shiboken6.isValid(worker):
        shiboken6.delete(worker)


def run_figures(run: dict[str, Any]) -> tuple[str, str]:
    """`` · training loss 0.0598 · validation loss 0.0849 · validation accuracy 96.2%`` of a stored run: for a
    one-line message, and for the dock's line (which wraps between the figures, never inside one)."""
    def last(key: str) -> float | None:
        values = run.get(key) or []
        value = values[-1] if values else None
        return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None

    # Each figure by its name: a bare "loss" was the validation loss, which a person took for the
    # training loss (1.05 against 0.1 on the shapes example).
    figures = [("training loss", last("train_loss"), "{:.3g}"), ("validation loss", last("val_loss"), "{:.3g}")]
    # accuracy only where the run has it (classification): on the validation data, else the training data
    accuracy = last("val_accuracy")
    figures.append(("validation accuracy", accuracy, "{:.1%}") if accuracy is not None
                   else ("training accuracy", last("train_accuracy"), "{:.1%}"))
    results = "".join(f" · {name} {fmt.format(value)}" for name, value, fmt in figures if value is not None)
    return results, results.replace(" ", "\u00a0").replace("\u00a0·\u00a0", " · ")


def _outlive_the_window(thread: QThread, worker: Any) -> None:
    thread.setParent(None)
    _FINISHING.append((thread, worker))
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(thread.wait)  # the process ends only after the batch does


class TrainingController(QObject):
    """Owns the training actions, the ``loss_plot`` and ``learned`` docks, and the worker thread."""

    #: ``idle``, ``running`` or ``paused``
    state_changed = Signal(str)
    #: a run ended and was stored in the project: its status (``completed``, ``stopped``, ``diverged``)
    #: or ``failed`` when it could not run
    run_finished = Signal(str)
    #: issue 9: see the module's notes
    pictures_changed = Signal(dict)
    health_changed = Signal(dict)
    results_changed = Signal(dict)
    insight_cleared = Signal()
    sample_changed = Signal(object)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setObjectName("training_controller")
        self.window = window
        self.state = IDLE
        self.last_run: dict[str, Any] | None = None
        self.last_result: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.weights: dict[str, np.ndarray] | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._preview: tuple[QThread, TrainingWorker] | None = None
        self._control: Any = None
        self._run_project: Any = None
        self._failure: tuple[str, bool] | None = None
        self._load_cancelled = False  # the run's data load was cancelled: it ends before it starts
        self._preview_waits = False  # the preview waits for the window's load of the data
        self._position = 0.0
        self._status_time = 0.0
        self._epochs_total = 0
        self._info: dict[str, Any] = {}
        self._syncing = False
        self._live_settings: dict[str, Any] = {}
        # issue 9: what the neurons compute
        self.pictures_wanted = False
        self.pictures: dict[str, Any] | None = None
        self.health_history: list[dict[str, Any]] = []  # {layer id: LayerHealth} per measured epoch
        self.results: dict[str, Any] | None = None
        self.followed: dict[str, Any] | None = None
        self._view_info: dict[str, Any] = {}  # the learned view's info (a run's or the preview's)
        self._follow_module: Any = None

        self._collector = collector.shared()
        self._build_actions()
        self._build_docks()
        window.project_replaced.connect(self.project_loaded)
        window.data_loader.finished.connect(self._data_load_ended)
        window.closing.connect(self.shutdown)
        self.learned_view.sample_clicked.connect(self._sample_clicked)
        events = window.graph.events
        subscriptions = [(events.layer_added, self._design_edited), (events.layer_removed, self._design_edited),
                         (events.connection_added, self._design_edited),
                         (events.connection_removed, self._design_edited),
                         (events.connection_changed, self._design_edited), (events.reset, self._design_edited),
                         (events.layer_changed, self._layer_edited)]
        for event, callback in subscriptions:
            event.connect(callback)
        # the graph outlives the window's controller (a test, a script): stop listening when it goes
        self.destroyed.connect(lambda *_: [event.disconnect(callback) for event, callback in subscriptions])
        window.dataset_panel.settings_changed.connect(self._on_settings_changed)
        # the stack re-enables its actions whenever a command is pushed: keep them off while training
        window.undo_stack.canUndoChanged.connect(self._keep_editing_locked)
        window.undo_stack.canRedoChanged.connect(self._keep_editing_locked)
        window.installEventFilter(self)
        self._update_actions()
        self.project_loaded()

    # ------------------------------------------------------------------ construction
    def _action(self, name: str, text: str, slot, shortcut: str | None, tip: str, icon: str | None = None) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(training_icon(icon))
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        if slot is not None:
            action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_train = self._action("action_train", "&Train", self.train, "F5",
                                         "Train the network (continue when paused)", "train")
        self.action_pause = self._action("action_pause", "&Pause", None, "F6",
                                         "Pause training; press again to resume", "pause")
        self.action_pause.setCheckable(True)
        self.action_pause.toggled.connect(self._pause_toggled)
        self.action_step = self._action("action_step", "Step &Batch", self.step_batch, "F10",
                                        "Train one batch, then pause", "step")
        self.action_step_epoch = self._action("action_step_epoch", "Step &Epoch", self.step_epoch, "Shift+F10",
                                              "Train to the end of the epoch, then pause", "step-epoch")
        self.action_stop = self._action("action_stop", "&Stop", self.stop, "Shift+F5",
                                        "Stop training and keep the weights learned so far", "stop")
        self.action_reset = self._action("action_reset", "&Reset Weights", self.reset_weights, None,
                                         "Forget the trained weights: the next run starts from random ones",
                                         "reset")
        actions = [self.action_train, self.action_pause, self.action_step, self.action_step_epoch,
                   self.action_stop, self.action_reset]
        menu = self.window.menu_training
        menu.addActions(actions[:5])
        menu.addSeparator()
        menu.addAction(self.action_reset)
        self.window.toolbar.addSeparator()
        self.window.toolbar.addActions([self.action_train, self.action_pause, self.action_step, self.action_stop])

    def _build_docks(self) -> None:
        window = self.window
        self.run_panel = RunPanel()
        self.loss_plot = self.run_panel.loss_plot
        self.learning_rate = self.run_panel.learning_rate
        self.status_label = self.run_panel.status_label
        self.learning_rate.valueChanged.connect(self._learning_rate_edited)
        # the window made the docks (so that a saved layout places them): fill them
        self.loss_dock = window.loss_dock
        self.loss_dock.setWidget(self.run_panel)
        self.learned_view = LearnedView()
        self.learned_dock = window.learned_dock
        self.learned_dock.setWidget(self.learned_view)
        # a closed (or tabbed away) dock needs no predictions: the worker then skips computing them
        self.learned_dock.visibilityChanged.connect(self._learned_visibility_changed)

    def _learned_in_sight(self) -> bool:
        """The learned dock is not closed or tabbed away (a window not yet shown counts as in sight)."""
        return not self.learned_dock.isHidden()

    @Slot(bool)
    def _learned_visibility_changed(self, visible: bool) -> None:
        if self._worker is not None:
            self._worker.set_wanted(predictions=visible, weights=True)

    def set_pictures_wanted(self, on: bool) -> None:
        """The canvas shows neuron pictures (or not): the worker computes them only while it does.

        Switched on while idle, the stored weights' pictures are computed on a preview thread.
        """
        self.pictures_wanted = bool(on)
        if self._worker is not None:
            self._worker.set_wanted(predictions=self._learned_in_sight(), weights=True, pictures=self.pictures_wanted)
        elif on and self.pictures is None and self.window.project.weights is not None:
            self._end_preview()
            self._start_preview()

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """A run is in progress (running or paused)."""
        return self._thread is not None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._update_actions()
            self.state_changed.emit(state)

    def _update_actions(self) -> None:
        idle, paused = self.state == IDLE, self.state == PAUSED
        self.action_train.setEnabled(idle or paused)
        self.action_train.setText("Con&tinue" if paused else "&Train")
        self.action_pause.setEnabled(not idle)
        self.action_pause.blockSignals(True)
        self.action_pause.setChecked(paused)
        self.action_pause.blockSignals(False)
        self.action_pause.setText("&Resume" if paused else "&Pause")
        self.action_step.setEnabled(idle or paused)
        self.action_step_epoch.setEnabled(idle or paused)
        self.action_stop.setEnabled(not idle)
        self.action_reset.setEnabled(idle)

    # ------------------------------------------------------------------ the user's commands
    @Slot()
    def train(self) -> bool:
        """Start a run (or continue a paused one). False if it cannot start (problems are shown)."""
        if self.state == PAUSED:
            self._control.resume()
            self._set_state(RUNNING)
            return True
        if self.state != IDLE:
            return False
        return self._start()

    @Slot()
    def step_batch(self) -> None:
        """One batch, then pause (starting a paused run when idle)."""
        if self.state == IDLE:
            self._start(step="batch")
        elif self._control is not None:
            self._control.step_batch()
            self._set_state(PAUSED)

    @Slot()
    def step_epoch(self) -> None:
        """To the end of the epoch, then pause (a whole first epoch when idle)."""
        if self.state == IDLE:
            self._start(step="epoch")
        elif self._control is not None:
            self._control.step_epoch()
            self._set_state(PAUSED)

    @Slot(bool)
    def _pause_toggled(self, paused: bool) -> None:
        if paused:
            self.pause()
        else:
            self.resume()

    def pause(self) -> None:
        if self.state == RUNNING:
            self._control.pause()
            self._set_state(PAUSED)
            self._status("Paused: Continue (F5) or step one batch (F10) or epoch (Shift+F10).")

    def resume(self) -> None:
        if self.state == PAUSED:
            self._control.resume()
            self._set_state(RUNNING)

    @Slot()
    def stop(self) -> None:
        """Ask the loop to stop before its next batch; the run ends as ``stopped``."""
        if self._control is not None:
            self._control.stop()
            if self._worker is not None:
                self._worker.cancel_load.set()  # still loading the data: stop that
            self.action_stop.setEnabled(False)
            self._status("Stopping…")

    @Slot()
    def reset_weights(self) -> None:
        """Forget the trained weights; the history of runs stays."""
        if self.busy:
            return
        project = self.window.project
        if project.weights is None:
            return
        project.store_weights(None)
        self.weights = None
        self._show_weights(None)
        self.clear_insight()
        self._report_run_problem(None)
        self.learned_view.clear("Weights reset. Train the network to see what it learns.")
        self._mark_modified()
        self._status("Weights reset: the next run starts from random weights.")
        self._show_message_in_status_bar("Weights reset", 4000)

    def update_hyperparameters(self, **values: Any) -> None:
        """New learning rate (momentum, l1, l2) for the run in progress, from its next batch on.

        Bad values raise :class:`~designer.training.TrainingError` (a ``ValueError``) naming them.
        Outside a run this does nothing: the next run reads the project's training block.
        """
        live = {k: v for k, v in values.items() if k in LIVE_SETTINGS}
        if not live or self._control is None or not self.busy:
            return
        self._control.update(**live)
        text = change_text({k: v for k, v in live.items()})
        self.loss_plot.add_marker(self._position, text)
        self._status(f"From the next batch: {text}")

    # ------------------------------------------------------------------ starting and ending a run
    def _start(self, step: str | None = None) -> bool:
        window = self.window
        blocking = errors(window.validate_now())
        if blocking:
            window.problems_dock.show()
            window.problems_dock.raise_()
            self._show_message_in_status_bar(f"Cannot train: fix the {len(blocking)} problem"
                                             f"{'s' if len(blocking) != 1 else ''} listed under Problems first",
                                             8000)
            return False
        from designer.training import Control

        # the live loss is what a person watches: never train with its dock closed or tabbed away
        self.loss_dock.show()
        self.loss_dock.raise_()
        self._end_preview()
        project = window.project
        dataset, load = self._loaded_data()
        job = TrainingJob(self._snapshot(), dataset=dataset, load=load)
        control = Control()
        if step == "batch":
            control.step_batch()
        elif step == "epoch":
            control.step_epoch()
        thread = QThread(self)
        thread.setObjectName("training_thread")
        worker = TrainingWorker(job, control)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.run_started.connect(self._on_run_started)
        worker.batches_finished.connect(self._on_batches_finished)
        worker.epochs_finished.connect(self._on_epochs_finished)
        worker.predictions_changed.connect(self._on_predictions_changed)
        worker.weights_changed.connect(self._on_weights_changed)
        worker.pictures_changed.connect(self._on_pictures_changed)
        worker.health_changed.connect(self._on_health_changed)
        worker.results_changed.connect(self._on_results_changed)
        worker.run_finished.connect(self._on_run_finished)
        worker.run_failed.connect(self._on_run_failed)
        worker.data_progressed.connect(self._on_data_progressed)
        worker.data_loaded.connect(self._on_data_loaded)
        worker.load_cancelled.connect(self._on_load_cancelled)
        thread.finished.connect(self._on_thread_finished)
        worker.set_wanted(predictions=self._learned_in_sight(), weights=True, pictures=self.pictures_wanted)
        self.health_history = []
        self._thread, self._worker, self._control = thread, worker, control
        self._run_project = project
        self._failure = None
        self._load_cancelled = False
        if dataset is None and window.data_loader.cache is not None:
            # the worker loads the data: its progress in the window's bar, whose Cancel stops the run's load
            window.data_loader.begin_external(project.dataset, self._base_dir(project), self.stop)
        self._position = 0.0
        self._epochs_total = int(project.training.get("epochs", 0) or 0)
        self.last_error = None
        self._report_run_problem(None)
        self.loss_plot.set_history(project.history)
        self.loss_plot.begin_run(epochs=self._epochs_total)
        self._live_settings = {k: project.training[k] for k in LIVE_SETTINGS if k in project.training}
        self._lock_editing(True)
        self._set_state(PAUSED if step else RUNNING)
        self._status("Starting…")
        self._collector.hold(thread)  # no garbage collection on the worker (see .collector)
        thread.start(QThread.Priority.LowPriority)  # the GUI thread wins the CPU (see lower_thread_priority)
        return True

    def _snapshot(self) -> Project:
        """A copy of the window's project for a worker: nothing in it is shared with the window."""
        project = self.window.project
        return Project(
            name=project.name, graph=self.window.graph.copy(), dataset=copy.deepcopy(project.dataset),
            training=copy.deepcopy(project.training), history=copy.deepcopy(project.history),
            weights=None if project.weights is None else {k: np.array(v, copy=True)
                                                           for k, v in project.weights.items()},
            path=project.path, trained_design=copy.copy(project.trained_design))

    @staticmethod
    def _base_dir(project: Any) -> Any:
        from pathlib import Path

        return Path(project.path).resolve().parent if project.path else None

    def _loaded_data(self) -> tuple[Any, Any]:
        """``(dataset, load)``: the project's data when the window's check has it loaded (else None), and
        the window's cache's ``load`` for a worker that loads it (None before the engine is loaded)."""
        loader = self.window.data_loader
        cache = loader.cache
        if cache is None:
            return None, None
        project = self.window.project
        try:
            found = cache.peek(project.dataset, self._base_dir(project))
        except (TypeError, ValueError):  # a malformed block: the worker says what is wrong with it
            found = None
        return (found if found is not None and not isinstance(found, Exception) else None), cache.load

    @Slot(str)
    def _data_load_ended(self, _outcome: str) -> None:
        if self._preview_waits:
            self._start_preview()

    def _start_preview(self) -> None:
        """Show what a project's stored weights predict, computed on a worker thread (no training)."""
        self._preview_waits = False
        if self.busy or self._preview is not None or self.window.project.weights is None:
            return
        dataset, load = self._loaded_data()
        if dataset is None and load is not None and is_slow(self.window.project.dataset):
            self._preview_waits = True  # the window's check loads the data (off this thread): preview it then
            return
        thread = QThread(self)
        thread.setObjectName("training_preview_thread")
        worker = TrainingWorker(TrainingJob(self._snapshot(), preview=True, dataset=dataset, load=load), None)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.run_started.connect(self._on_preview_started)
        worker.predictions_changed.connect(self._on_preview_predictions)
        worker.pictures_changed.connect(self._on_preview_pictures)
        worker.results_changed.connect(self._on_preview_results)
        worker.run_failed.connect(self._on_preview_failed)
        worker.set_wanted(predictions=True, weights=False, pictures=self.pictures_wanted)
        thread.finished.connect(self._end_preview)
        self._preview = (thread, worker)
        self._collector.hold(thread)
        thread.start(QThread.Priority.LowPriority)

    @Slot()
    def _end_preview(self) -> None:
        """Join the preview thread (it only loads, compiles and evaluates once: it ends soon)."""
        if self._preview is None:
            return
        thread, worker = self._preview
        self._preview = None
        worker.cancel_load.set()  # still loading the data: stop, rather than keep the window waiting
        thread.wait()
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        _delete_worker(worker)
        thread.deleteLater()
        self._collector.prune()

    @Slot(object)
    def _on_preview_started(self, info: dict[str, Any]) -> None:
        if not self.busy:
            self._view_info = info
            self.learned_view.set_info(info)
            if self.followed is not None:
                self.learned_view.mark_sample(self.followed["sample"], self.followed["step"])

    @Slot(object)
    def _on_preview_predictions(self, payload: dict[str, Any]) -> None:
        if not self.busy:
            self.learned_view.set_predictions(payload)

    @Slot(object)
    def _on_preview_pictures(self, payload: dict[str, Any]) -> None:
        if not self.busy:
            self._show_pictures(payload)

    @Slot(object)
    def _on_preview_results(self, payload: dict[str, Any]) -> None:
        if not self.busy:
            self.results = payload
            self.results_changed.emit(payload)

    @Slot(str, bool)
    def _on_preview_failed(self, message: str, _is_user_error: bool) -> None:
        if not self.busy:
            self.learned_view.clear(f"Nothing to show yet: {message}")

    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Stop a run and join its thread (closing, another project); True if nothing is left running."""
        self._end_preview()
        thread = self._thread
        if thread is None:
            self.loss_plot.end_run()
            return True
        self._control.stop()
        if self._worker is not None:
            self._worker.cancel_load.set()
        done = thread.wait(timeout_ms)
        # deliver what the worker reported before it ended (the run, its weights), now, not later
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        if self._thread is thread and done:
            self._on_thread_finished()
        elif not done:
            # The loop is inside one very long batch and stops at its end. The thread must outlive
            # the window (destroying a running QThread aborts the process) and is never terminated.
            _outlive_the_window(thread, self._worker)
            self._collector.forget(thread)
            self._thread = self._worker = self._control = None
            self.loss_plot.end_run()
            self._lock_editing(False)
            self._set_state(IDLE)
        return done

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window and event.type() == QEvent.Type.Close and self.busy:
            # Stop first, so the run and its weights are in the project when the window asks to save.
            self.shutdown()
        return False

    # ------------------------------------------------------------------ the worker's reports
    @Slot(object)
    def _on_run_started(self, info: dict[str, Any]) -> None:
        before = self._view_info.get("inputs")
        self._info = info
        self._view_info = info
        if self.followed is not None:
            after = info.get("inputs")
            if before is None or after is None or np.shape(before) != np.shape(after) or not np.array_equal(
                    before, after):
                self.follow_sample(None)  # the run's samples are others (another split, other data)
        self.loss_plot.set_classification(bool(info.get("classification")))
        self.learned_view.set_info(info)
        if self.followed is not None:
            self.learned_view.mark_sample(self.followed["sample"], self.followed["step"])
        note = info.get("weights_note")
        if note:
            self._status(f"Training: {note}.")
            self._show_message_in_status_bar(note[:1].upper() + note[1:], 8000)
        elif self.state == RUNNING:
            self._status("Training…")

    @Slot(object)
    def _on_batches_finished(self, stats: dict[str, Any]) -> None:
        self._position = float(stats["position"])
        self.loss_plot.add_batches(self._position, float(stats["loss"]), stats.get("learning_rate"))
        now = time.monotonic()
        # a status line is read, not watched: 4 times a second is plenty (and each change repaints)
        if self.state == RUNNING and now - self._status_time < STATUS_INTERVAL:
            return
        self._status_time = now
        total = f"/{self._epochs_total}" if self._epochs_total else ""
        self._status(f"Epoch {stats['epoch']}{total}, batch {stats['batch']}/{stats['batches']} · "
                     f"loss {stats['loss']:.4g}" + (" · paused" if self.state == PAUSED else ""))

    @Slot(object)
    def _on_epochs_finished(self, epochs: list[dict[str, Any]]) -> None:
        for stats in epochs:
            self.loss_plot.add_epoch(stats)
        if epochs:
            self._position = float(epochs[-1]["epoch"])

    @Slot(object)
    def _on_predictions_changed(self, payload: dict[str, Any]) -> None:
        self.learned_view.set_predictions(payload)

    @Slot(object)
    def _on_weights_changed(self, weights: dict[str, np.ndarray]) -> None:
        if self._run_project is not self.window.project:
            return
        self.weights = weights
        self._show_weights(weights)
        self._refollow()

    @Slot(object)
    def _on_pictures_changed(self, payload: dict[str, Any]) -> None:
        if self._run_project is not self.window.project:
            return
        self._show_pictures(payload)

    def _show_pictures(self, payload: dict[str, Any]) -> None:
        info = self._view_info or self._info
        payload = dict(payload)
        payload.setdefault("classification", bool(info.get("classification", True)))
        payload.setdefault("num_classes", int(info.get("num_classes") or 2))
        if payload.get("kind") is None and self.pictures is None:
            self._show_message_in_status_bar("Neuron pictures are drawn for two inputs (a map over the plane), "
                                             "images (the incoming weights) and sequences; this data is a table of "
                                             "numbers, so the neurons show their activation glyphs", 8000)
        self.pictures = payload
        self.window.canvas.set_neuron_pictures(payload)
        self.pictures_changed.emit(payload)

    @Slot(object)
    def _on_health_changed(self, payload: dict[str, Any]) -> None:
        if self._run_project is not self.window.project:
            return
        from designer.insight import health_problems

        layers = payload.get("layers") or {}
        self.health_history.append(layers)
        try:
            problems = health_problems(self.window.graph, self.health_history)
        except Exception:  # noqa: BLE001 (a warning is not worth a crash)
            problems = []
        self.health_changed.emit({
            "epoch": int(payload.get("epoch") or 0),
            "layers": {lid: {"dead_share": h.dead_share, "saturated_share": h.saturated_share,
                             "gradient_norm": h.gradient_norm, "activation": h.activation, "units": h.units}
                       for lid, h in layers.items()},
            "problems": problems})

    @Slot(object)
    def _on_results_changed(self, payload: dict[str, Any]) -> None:
        if self._run_project is not self.window.project:
            return
        self.results = payload
        self.results_changed.emit(payload)

    def clear_insight(self) -> None:
        """Forget the pictures, health, results and the followed sample (they were for other weights or data)."""
        self.pictures = None
        self.results = None
        self.health_history = []
        self.window.canvas.set_neuron_pictures(None)
        self.follow_sample(None)
        self.insight_cleared.emit()

    # ------------------------------------------------------------------ following one sample
    @Slot(int, int)
    def _sample_clicked(self, index: int, step: int) -> None:
        if index < 0:
            self.follow_sample(None)
        else:
            self.follow_sample(index, None if step < 0 else step)

    def follow_sample(self, index: int | None, step: int | None = None) -> bool:
        """Follow sample ``index`` of the learned view's samples (``info["inputs"]``) through the network, at
        time ``step`` of a sequence (default: the last); None stops. False (and a word in the status bar)
        when it cannot: no samples, no weights that fit the design, a design that does not compile."""
        if index is None:
            changed = self.followed is not None
            self.followed = None
            self.window.canvas.set_sample_values(None)
            self.window.inspector.set_followed(None)
            self.learned_view.mark_sample(None)
            if changed:
                self.sample_changed.emit(None)
            return True
        inputs = self._view_info.get("inputs")
        if inputs is None or not 0 <= index < len(inputs):
            return False
        try:
            followed = self._trace_sample(int(index), step)
        except Exception as exc:  # noqa: BLE001 (anything that stops the trace is said, not raised)
            self._show_message_in_status_bar(f"Cannot follow the sample: {exc}", 6000)
            self.follow_sample(None)
            return False
        if followed is None:
            self._show_message_in_status_bar("Train the network first: following a sample needs weights that fit "
                                             "the design", 6000)
            self.follow_sample(None)
            return False
        self.followed = followed
        self._show_followed()
        self.sample_changed.emit(dict(followed))
        return True

    def set_follow_step(self, step: int) -> None:
        """Show the followed sequence at time step ``step``."""
        followed = self.followed
        if followed is None or followed.get("steps") is None:
            return
        step = int(min(max(step, 0), followed["steps"] - 1))
        if step == followed["step"]:
            return
        from designer.insight import sample_values

        followed["step"] = step
        followed["values"] = sample_values(followed["traced"], 0, step)
        self._show_followed()

    def _follow_weights(self) -> dict[str, np.ndarray] | None:
        """The weights now: a run's latest, else the project's that fit the design (None: none fit it all)."""
        if self.busy and self.weights is not None:
            return self.weights
        project = self.window.project
        if project.weights is None:
            return None
        weights, stale = project.fitting_weights()
        return None if stale or not weights else weights

    def _trace_sample(self, index: int, step: int | None) -> dict[str, Any] | None:
        from designer.compiler import compile_graph
        from designer.insight import sample_values, trace

        weights = self._follow_weights()
        if weights is None:
            return None
        if self._follow_module is None:
            self._follow_module = compile_graph(self.window.graph)
        module = self._follow_module
        module.load_named_weights(weights, allow_missing=False)
        x = np.asarray(self._view_info["inputs"][index], dtype=np.float32)
        sequence = bool(getattr(module, "is_sequence", False))
        x = x.reshape(1, -1, *module.input_shape) if sequence else x.reshape(1, *module.input_shape)
        traced = trace(module, x)
        steps = int(x.shape[1]) if sequence else None
        if steps is not None:
            step = steps - 1 if step is None else int(min(max(step, 0), steps - 1))
        else:
            step = None
        kind = self._view_info.get("kind")
        where = {"plane": "validation point", "images": "validation image", "sequence": "validation sequence"}
        label = f"{where.get(kind, 'validation sample')} {index}"
        if kind == "plane":
            label += " at (" + ", ".join(f"{v:.3g}" for v in x.reshape(-1)[:2]) + ")"
        return {"sample": index, "x": x, "traced": traced, "weights": weights, "step": step, "steps": steps,
                "values": sample_values(traced, 0, step), "label": label}

    def _show_followed(self) -> None:
        followed = self.followed
        if followed is None:
            return
        self.window.canvas.set_sample_values(followed["values"])
        self.window.inspector.set_followed(followed)
        self.learned_view.mark_sample(followed["sample"], followed["step"])

    def _refollow(self) -> None:
        """New weights: the followed sample through them."""
        if self.followed is None:
            return
        try:
            followed = self._trace_sample(self.followed["sample"], self.followed["step"])
        except Exception:  # noqa: BLE001
            followed = None
        if followed is None:
            self.follow_sample(None)
            return
        self.followed = followed
        self._show_followed()

    def _design_edited(self, *_args) -> None:
        """The design changed: its copy for following samples is stale, and so are the values shown."""
        self._follow_module = None
        if self.followed is not None and not self.busy:
            self.follow_sample(None)

    def _layer_edited(self, _layer, names) -> None:
        if set(names) - {"position", "label"}:
            self._design_edited()

    @Slot(object)
    def _on_run_finished(self, result: dict[str, Any]) -> None:
        """Store the run and its weights in the project it trained, as ``nn-designer train`` does.

        The worker recorded them with :func:`designer.training.record_run` into its copy of the
        project (whose history is a copy of this one's): a diverged run keeps its last finite weights.
        """
        project = self._run_project
        run = dict(result["run"])
        status = run.get("status", result.get("status"))
        project.history.append(run)
        if result.get("weights") is not None:
            project.store_weights(result["weights"])  # editing is locked during a run: made for this design
        diverged = status == "diverged"
        self.last_run = run
        self.last_result = result
        current = project is self.window.project
        if current:
            self._mark_modified()
            self.weights = project.weights
            self._show_weights(project.weights)
            self._refollow()
        seconds = float(result.get("seconds") or 0.0)
        speed = f" · {result['samples'] / seconds:,.0f} samples/s" if seconds > 0 and result.get("samples") else ""
        epochs = len(run.get("epochs") or [])
        results, line_results = run_figures(run)
        s = "s" if epochs != 1 else ""
        if diverged:
            message = run.get("message") or "the loss became NaN or infinite; lower the learning rate"
            text = (f"Training diverged: {message}. The project keeps the last finite weights of the run; "
                    "Reset Weights starts again from random ones.")
            self.last_error = text
            self._report_run_problem(text)
            self._show_message_in_status_bar(f"Training diverged: {message}")
            self._status(f"Diverged after {epochs} epoch{'s' if epochs != 1 else ''}.")
        elif status == "stopped":
            # (the speed only in the window-wide status bar: in the dock it pushed the figures to a third line)
            self._status(f"Stopped after {epochs} epoch{s}{line_results}.")
            self._show_message_in_status_bar(f"Training stopped after {epochs} epoch{s}{results}{speed}", 5000)
        else:
            self._status(f"Trained {epochs} epoch{s}{line_results}.")
            self._show_message_in_status_bar(f"Training finished: {epochs} epoch{s}{results}{speed}", 5000)

    @Slot(int, int, str)
    def _on_data_progressed(self, done: int, total: int, text: str) -> None:
        self.window.data_loader.external_progress(done, total, text)
        self._status("Loading the data…")

    @Slot()
    def _on_data_loaded(self) -> None:
        self.window.data_loader.end_external("loaded")
        if self.state == RUNNING:
            self._status("Starting…")

    @Slot()
    def _on_load_cancelled(self) -> None:
        self._load_cancelled = True

    @Slot(str, bool)
    def _on_run_failed(self, message: str, is_user_error: bool) -> None:
        self._failure = (message, is_user_error)
        self.last_error = message
        self._report_run_problem(f"Training could not run: {message}")
        self._status("Training could not run.")

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        if thread is None:
            return
        self._thread = self._worker = self._control = None
        thread.wait()  # already finished: returns at once, and makes sure of it
        _delete_worker(worker)
        thread.deleteLater()
        self._collector.prune()
        self.loss_plot.end_run()
        if not self.pictures_wanted and self.pictures is not None:
            # not drawn while it trained: what they showed is the weights before the run (switched on again,
            # the run's weights are drawn afresh)
            self.pictures = None
            self.window.canvas.set_neuron_pictures(None)
        self._lock_editing(False)
        self._set_state(IDLE)
        failure, self._failure = self._failure, None
        cancelled, self._load_cancelled = self._load_cancelled, False
        self.window.data_loader.end_external("cancelled" if cancelled else "failed" if failure else "loaded")
        if cancelled:
            self._status("Loading the data was cancelled: nothing was trained.")
            self.run_finished.emit("cancelled")
        elif failure is not None:
            self.run_finished.emit("failed")
            from designer.ui import dialogs
            title = "Cannot train" if failure[1] else "Training failed"
            dialogs.show_error(self.window, title, failure[0])
        elif self.last_run is not None:
            self.run_finished.emit(self.last_run.get("status", ""))

    # ------------------------------------------------------------------ the window's events
    @Slot()
    def project_loaded(self) -> None:
        """Show the (new) project's weights and runs: call after a project is opened."""
        if self.busy and self._run_project is not self.window.project:
            self.shutdown()  # the run belongs to the project that was closed
        project = self.window.project
        self.weights = project.weights
        self._show_weights(project.weights)
        self._view_info = {}
        self._follow_module = None
        self.clear_insight()
        self.learned_view.clear("Train the network to see what it learns.")
        self._report_run_problem(None)
        history = list(project.history or [])
        if history:
            self.loss_plot.set_history(history[:-1])
            self.loss_plot.show_run(history[-1])
            last = history[-1]
            epochs = len(last.get("epochs") or [])
            from designer.training.jobs import run_origin

            origin = run_origin(last)
            where = f" ({origin})" if origin != "this machine" else ""  # said only for a run trained elsewhere
            self._status(f"Last run{where}: {last.get('status', '?')} after {count(epochs, 'epoch')}"
                         f"{run_figures(last)[1]}.")
        else:
            self.loss_plot.clear()
            self._status("Not trained yet. Press Train (F5).")
        self._sync_learning_rate()
        self._end_preview()
        self._start_preview()

    @Slot(str)
    def _on_settings_changed(self, block: str) -> None:
        if block == "dataset" and not self.busy:
            # what the weights predicted on the old data says nothing of the new: show them on the new data
            self.learned_view.clear("The data changed. Train the network to see what it learns.")
            self._view_info = {}
            self.clear_insight()
            self._end_preview()
            self._start_preview()
        if block != "training":
            return
        self._sync_learning_rate()
        if self.busy and self._run_project is self.window.project:
            training = self.window.project.training
            self._apply_live({k: training[k] for k in LIVE_SETTINGS if k in training})

    def _apply_live(self, values: dict[str, Any]) -> None:
        """Pass the settings that changed since the run started (or last changed) to the loop."""
        current = self._live_settings
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        if not changed:
            return
        try:
            self.update_hyperparameters(**changed)
        except ValueError as exc:
            self._show_message_in_status_bar(f"Not applied: {exc}", 8000)
            return
        self._live_settings = {**current, **changed}

    @Slot(float)
    def _learning_rate_edited(self, value: float) -> None:
        """The loss plot's learning-rate box: an undoable settings change, like the panel's own box
        (the panel's ``settings_changed`` then passes it to a run in progress)."""
        if self._syncing:
            return
        self.window.dataset_panel.set_training_value("learning_rate", round(value, 9))

    def _sync_learning_rate(self) -> None:
        value = self.window.project.training.get("learning_rate", 0.1)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return
        self._syncing = True
        try:
            self.learning_rate.setValue(value)
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ helpers
    def _lock_editing(self, locked: bool) -> None:
        window = self.window
        window.canvas.set_read_only(locked)
        # the inspector keeps showing the selection (a neuron's live weights): only its fields lock
        window.inspector.set_read_only(locked)
        window.palette.setEnabled(not locked)
        # Deleting edits the design; New and Open would replace the project the run belongs to:
        # the user stops the run first (its weights then go into the project they can save).
        for widget in (window.action_delete, window.action_new, window.action_open, window.menu_recent,
                       window.menu_examples):
            widget.setEnabled(not locked)
        self._keep_editing_locked()

    @Slot()
    def _keep_editing_locked(self, *_args) -> None:
        window, stack = self.window, self.window.undo_stack
        if not shiboken6.isValid(stack):  # the window is being destroyed
            return
        window.action_undo.setEnabled(not self.busy and stack.canUndo())
        window.action_redo.setEnabled(not self.busy and stack.canRedo())

    def _show_weights(self, weights: dict[str, np.ndarray] | None) -> None:
        """On the canvas (links, biases) and in the inspector (the selected neuron's)."""
        self.window.canvas.set_weights(weights)
        self.window.inspector.set_weights(weights)

    def _mark_modified(self) -> None:
        self.window.mark_modified()

    def _status(self, text: str) -> None:
        self.status_label.setText(text)

    def _report_run_problem(self, text: str | None) -> None:
        """List what went wrong with the run in the problems panel, in sight (None clears it)."""
        self.window.problems.set_run_message(text)
        if text:
            self.window.problems_dock.show()
            self.window.problems_dock.raise_()

    def _show_message_in_status_bar(self, text: str, timeout_ms: int = 0) -> None:
        self.window.statusBar().showMessage(text, timeout_ms)

"""The training worker: runs ``designer.training.train`` on its own thread and reports in plain values.

The worker trains a *copy* of the design (made on the GUI thread before it starts), so edits in the
window can never race the training loop. It reports through Qt signals carrying only Python numbers,
dicts and copied numpy arrays, never live tensors, and at most about 5 times a second: per-batch
statistics and finished epochs are coalesced here, in the worker, so a fast model (the spiral
example trains 80 epochs a second) cannot flood the GUI's event queue. Every epoch is delivered,
in lists, and at once when the loop is about to hold (a pause, a step) or ends. About twice a
second it also evaluates the model on a grid over the data (see :mod:`.predictions`), and once a
second it copies the weights for the canvas; the window switches either off while nobody can see
it (:meth:`TrainingWorker.set_wanted`).

Every report wakes the GUI thread, which then holds the GIL that the training loop needs for its
own Python: fewer, fuller reports train faster and look just as live.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

#: seconds between reports of batch statistics (5 a second: the loss plot redraws as often)
REPORT_INTERVAL = 0.2
#: seconds between evaluations of the model for the "what the network learned" view (a little
#: more than twice a second: each one costs the loop a forward pass and the window a repaint)
PREDICTION_INTERVAL = 0.45
#: seconds between copies of the weights for the canvas: once a second, as each one repaints every
#: link and neuron of the design (in Python, holding the GIL), the GUI's largest cost per report
WEIGHTS_INTERVAL = 1.0


@dataclass
class TrainingJob:
    """What to train: a snapshot of the project (design copied, settings and weights copied).

    Made on the GUI thread before the run, so nothing the worker touches is shared with the window.
    """

    project: Any
    epochs: int | None = None
    #: only show what the stored weights predict (an opened project): no training, no run
    preview: bool = False


def worker_threads() -> int:
    """Threads for torch's intra-op pool: every core but one, which stays with the GUI."""
    return max(1, (os.cpu_count() or 1) - 1)


#: how much nicer than the GUI thread the training thread runs (Linux nice steps)
WORKER_NICENESS = 10


def lower_thread_priority(steps: int | None = None) -> None:
    """Make the calling thread yield the CPU to the GUI thread when both want it.

    On Linux the nice value is per thread (setpriority with the thread id); a training thread at
    nice +10 keeps the window's timers on time on a busy machine and, when a core is free, trains
    as fast as before. (Other systems honour ``QThread.Priority.LowPriority``, set at start.)
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        steps = WORKER_NICENESS if steps is None else steps
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except (OSError, AttributeError):
        pass  # not allowed or not supported: train at normal priority


class TrainingWorker(QObject):
    """Lives on a :class:`QThread`; :meth:`run` trains once and then quits that thread.

    Signals (all payloads are plain Python values or copied numpy arrays):

    - ``run_started(info)``: the task, classes, and the data the views draw (see :mod:`.predictions`)
    - ``batches_finished(stats)``: ``epoch``, ``batch``, ``batches``, ``position`` (fractional epoch),
      ``loss`` (mean over the batches since the last report), ``learning_rate``
    - ``epochs_finished(list of stats)``: the epochs ended since the last report, in order, each with
      ``epoch``, ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``
    - ``predictions_changed(payload)``, ``weights_changed(weights)``
    - ``run_finished(result)``: ``run`` (a history.json run) and ``weights``, as
      :func:`designer.training.record_run` stored them into the job's project, ``status``, ``samples``
      (trained) and ``seconds`` (in the loop), ``weights_note`` (why stored weights were not used)
    - ``run_failed(message, is_user_error)``: training could not start or crashed
    """

    run_started = Signal(object)
    batches_finished = Signal(object)
    epochs_finished = Signal(object)
    predictions_changed = Signal(object)
    weights_changed = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str, bool)

    def __init__(self, job: TrainingJob, control: Any) -> None:
        super().__init__()
        self.job = job
        self.control = control
        self._module = None
        self._probe = None
        self._pending_loss = 0.0
        self._pending_batches = 0
        self._pending_epochs: list[dict[str, Any]] = []
        self._last_batch: Any = None
        self._last_report = 0.0
        self._last_prediction = 0.0
        self._last_weights = 0.0
        # what the window can show now (plain bools: written by the GUI thread, read by the loop)
        self.wants_predictions = True
        self.wants_weights = True

    def set_wanted(self, predictions: bool, weights: bool) -> None:
        """Which live reports the window can show (a hidden dock needs none); thread-safe.

        Reports switched back on are sent at the next batch, so a dock shown again is current at once.
        """
        if predictions and not self.wants_predictions:
            self._last_prediction = 0.0
        if weights and not self.wants_weights:
            self._last_weights = 0.0
        self.wants_predictions, self.wants_weights = bool(predictions), bool(weights)

    # ---------------------------------------------------------------- the thread's work
    @Slot()
    def run(self) -> None:
        try:
            self._train()
        except Exception as exc:  # a worker must never take the app down: report and end
            self.run_failed.emit(*_describe_failure(exc))
        finally:
            self._module = None
            self._probe = None
            QThread.currentThread().quit()

    def _train(self) -> None:
        import torch

        from designer.training import prepare_project, record_run, suggested_threads, train

        from .predictions import Probe

        lower_thread_priority()
        # the same preparation as `nn-designer train`: data, input shape, compiling, stored weights
        prepared = prepare_project(self.job.project, epochs=self.job.epochs)
        module, dataset = prepared.module, prepared.dataset
        # as many threads as the design deserves (one for small ones), and never the GUI's core
        torch.set_num_threads(min(worker_threads(), suggested_threads(self.job.project.graph, dataset,
                                                                      prepared.config.batch_size)))
        self._module = module
        # the run's loss: the map draws the class that training's accuracy counts (see .predictions)
        self._probe = Probe(module, dataset, prepared.config.loss)
        info = self._probe.info()
        info.update(initial_weights=prepared.initial_weights, weights_note=prepared.weights_note,
                    train_samples=len(dataset.x_train))
        self.run_started.emit(info)
        if self.job.preview:
            if prepared.initial_weights == "stored":  # fresh weights would show nothing learned
                self._emit_predictions()
            return
        self._report_all(time.monotonic())
        run = train(module, dataset, prepared.config, control=self.control, on_batch=self._on_batch,
                    on_epoch=self._on_epoch)
        run.initial_weights = prepared.initial_weights
        self._flush()
        self._emit_predictions()
        # What `nn-designer train` stores, by the same function: the run's weights whatever its
        # status (a diverged run's last finite ones), and the run numbered after the project's.
        project = self.job.project
        record_run(project, module, run)
        self.run_finished.emit({"run": project.history[-1], "status": run.status, "weights": project.weights,
                                "samples": run.samples_trained, "seconds": run.seconds,
                                "weights_note": prepared.weights_note})

    # ---------------------------------------------------------------- callbacks from the loop
    def _on_batch(self, stats: Any) -> None:
        loss = float(stats.loss)
        if math.isfinite(loss):
            self._pending_loss += loss
            self._pending_batches += 1
        self._last_batch = stats
        now = time.monotonic()
        if self._pausing():
            self._report_all(now)
            return
        if now - self._last_report >= REPORT_INTERVAL:
            self._flush(now)
        if self.wants_predictions and now - self._last_prediction >= PREDICTION_INTERVAL:
            self._emit_predictions(now)
        if self.wants_weights and now - self._last_weights >= WEIGHTS_INTERVAL:
            self._emit_weights(now)

    def _report_all(self, now: float) -> None:
        """The loop is about to hold: everything the window shows, as it is now (a paused run's
        plot, picture and canvas show the weights it holds, not those of up to a second ago)."""
        self._flush(now)
        if self.wants_predictions:
            self._emit_predictions(now)
        if self.wants_weights:
            self._emit_weights(now)

    def _pausing(self) -> bool:
        """The loop will hold before the next batch (a single step, or Pause pressed): report now,
        or the batches just trained would wait unseen until the user goes on. (A step to the end
        of the epoch is reported as usual: the epoch's end flushes it.)"""
        control = self.control
        return control is not None and control.paused and not control.stepping_to_epoch_end

    def _on_epoch(self, stats: Any) -> None:
        self._pending_epochs.append({
            "epoch": int(stats.epoch),
            "train_loss": _number(stats.train_loss),
            "val_loss": _number(stats.val_loss),
            "train_accuracy": _number(stats.train_accuracy),
            "val_accuracy": _number(stats.val_accuracy),
        })
        now = time.monotonic()
        if self.control is not None and self.control.paused:
            self._report_all(now)  # the loop holds after this epoch (a step to its end, or Pause)
        elif now - self._last_report >= REPORT_INTERVAL:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        """Report the batches since the last report as one point (their mean loss), then the epochs."""
        self._last_report = time.monotonic() if now is None else now
        self._flush_batches()
        if self._pending_epochs:
            epochs, self._pending_epochs = self._pending_epochs, []
            self.epochs_finished.emit(epochs)

    def _flush_batches(self) -> None:
        if not self._pending_batches:
            return
        stats = self._last_batch
        batches = max(1, int(stats.batches))
        self.batches_finished.emit({
            "epoch": int(stats.epoch),
            "batch": int(stats.batch),
            "batches": batches,
            # the batch's end within the run, in epochs: epoch 1, batch 5 of 10 is 0.5
            "position": (int(stats.epoch) - 1) + int(stats.batch) / batches,
            "loss": self._pending_loss / self._pending_batches,
            "learning_rate": _number(getattr(stats, "learning_rate", None)),
        })
        self._pending_loss = 0.0
        self._pending_batches = 0

    def _emit_predictions(self, now: float | None = None) -> None:
        self._last_prediction = time.monotonic() if now is None else now
        if self._probe is not None:
            payload = self._probe.predict()
            if payload is not None:
                self.predictions_changed.emit(payload)

    def _emit_weights(self, now: float | None = None) -> None:
        self._last_weights = time.monotonic() if now is None else now
        if self._module is not None:
            self.weights_changed.emit(self._module.named_weights())


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _describe_failure(exc: Exception) -> tuple[str, bool]:
    """The message for the user, and whether it is their input (not a bug in the app)."""
    if isinstance(exc, ValueError) and type(exc).__module__.startswith("designer"):
        return str(exc), True
    traceback.print_exception(exc)
    return (f"Training stopped because of an internal error ({type(exc).__name__}: {exc}). "
            "Please report this, with the project file if you can."), False

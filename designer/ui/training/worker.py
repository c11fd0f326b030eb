"""The training worker: runs ``designer.training.train`` on its own thread and reports in plain values.

The worker trains a *copy* of the design (made on the GUI thread before it starts), so edits in the
window can never race the training loop. It reports through Qt signals carrying only Python numbers,
dicts and copied numpy arrays, never live tensors, and at most about 20 times a second: per-batch
statistics are coalesced here, in the worker, so a fast model cannot flood the GUI's event queue.
Epoch ends are always delivered. Every ~200 ms it also evaluates the model on a grid over the data
(see :mod:`.predictions`) and copies the weights for the canvas, a few times a second.
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

#: seconds between reports of batch statistics (about 20 a second)
REPORT_INTERVAL = 0.05
#: seconds between evaluations of the model for the "what the network learned" view
PREDICTION_INTERVAL = 0.2
#: seconds between copies of the weights for the canvas (2 a second: each repaints every link)
WEIGHTS_INTERVAL = 0.5


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
    - ``epoch_finished(stats)``: ``epoch``, ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``
    - ``predictions_changed(payload)``, ``weights_changed(weights)``
    - ``run_finished(result)``: ``run`` (a history.json run), ``weights``, ``status``, ``samples``
      (trained) and ``seconds`` (in the loop), ``weights_note`` (why stored weights were not used)
    - ``run_failed(message, is_user_error)``: training could not start or crashed
    """

    run_started = Signal(object)
    batches_finished = Signal(object)
    epoch_finished = Signal(object)
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
        self._last_batch: Any = None
        self._last_report = 0.0
        self._last_prediction = 0.0
        self._last_weights = 0.0

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

        from designer.training import prepare_project, suggested_threads, train

        from .predictions import Probe

        lower_thread_priority()
        # the same preparation as `nn-designer train`: data, input shape, compiling, stored weights
        prepared = prepare_project(self.job.project, epochs=self.job.epochs)
        module, dataset = prepared.module, prepared.dataset
        # as many threads as the design deserves (one for small ones), and never the GUI's core
        torch.set_num_threads(min(worker_threads(), suggested_threads(self.job.project.graph, dataset,
                                                                      prepared.config.batch_size)))
        self._module = module
        self._probe = Probe(module, dataset)
        info = self._probe.info()
        info.update(initial_weights=prepared.initial_weights, weights_note=prepared.weights_note,
                    train_samples=len(dataset.x_train))
        self.run_started.emit(info)
        if self.job.preview:
            if prepared.initial_weights == "stored":  # fresh weights would show nothing learned
                self._emit_predictions()
            return
        self._emit_weights()
        self._emit_predictions()
        run = train(module, dataset, prepared.config, control=self.control, on_batch=self._on_batch,
                    on_epoch=self._on_epoch)
        run.initial_weights = prepared.initial_weights
        self._flush()
        self._emit_predictions()
        self.run_finished.emit({"run": run.to_dict(), "status": run.status, "weights": module.named_weights(),
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
        if now - self._last_report >= REPORT_INTERVAL or self._pausing():
            self._flush(now)
        if now - self._last_prediction >= PREDICTION_INTERVAL:
            self._emit_predictions(now)
        if now - self._last_weights >= WEIGHTS_INTERVAL:
            self._emit_weights(now)

    def _pausing(self) -> bool:
        """The loop will hold before the next batch (a single step, or Pause pressed): report now,
        or the batches just trained would wait unseen until the user goes on. (A step to the end
        of the epoch is reported as usual: the epoch's end flushes it.)"""
        control = self.control
        return control is not None and control.paused and not getattr(control, "_to_epoch_end", False)

    def _on_epoch(self, stats: Any) -> None:
        self._flush()
        self.epoch_finished.emit({
            "epoch": int(stats.epoch),
            "train_loss": _number(stats.train_loss),
            "val_loss": _number(stats.val_loss),
            "train_accuracy": _number(stats.train_accuracy),
            "val_accuracy": _number(stats.val_accuracy),
        })

    def _flush(self, now: float | None = None) -> None:
        """Report the batches since the last report as one point (their mean loss)."""
        self._last_report = time.monotonic() if now is None else now
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

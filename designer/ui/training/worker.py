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

What each neuron computes (issue 9, :mod:`designer.insight`), also measured here, each at a pace that
costs the loop little, spaced by its own measured cost:

- neuron pictures (:class:`designer.insight.NeuronPictures`, for the neurons the canvas shows with
  pictures on), only while the window shows them (``set_wanted(pictures=...)``): at most every
  :data:`PICTURE_INTERVAL` seconds and at most :data:`PICTURE_SHARE` of the worker's time;
- layer health (dead ReLUs, saturated units on up to :data:`HEALTH_SAMPLES` validation samples, and the
  gradient norm per layer) and, for classification, the confusion matrix on up to :data:`RESULT_SAMPLES`
  validation samples: at the end of an epoch, at most every :data:`HEALTH_INTERVAL` seconds and at most
  :data:`HEALTH_SHARE` of the time (every epoch when epochs are slower than that), and always at the last
  epoch and when the loop is about to hold;
- gradient norms: the loop's own :class:`designer.training.loop.GradientNorms`, fed from here on a subset of
  the batches (every epoch's last, and as many others as :data:`NORM_SHARE` of the batch time allows): on
  the spiral example a batch takes a quarter of a millisecond, and measuring every one (``train(...,
  gradient_norms=True)``) cost 8% of the throughput. A layer's norm is then the mean over the batches
  measured since the last health report.
"""
from __future__ import annotations

import math
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from designer.ui.threads import lower_thread_priority

#: seconds between reports of batch statistics (5 a second: the loss plot redraws as often)
REPORT_INTERVAL = 0.2
#: seconds between evaluations of the model for the "what the network learned" view (a little
#: more than twice a second: each one costs the loop a forward pass and the window a repaint)
PREDICTION_INTERVAL = 0.45
#: seconds between copies of the weights for the canvas: once a second, as each one repaints every
#: link and neuron of the design (in Python, holding the GIL), the GUI's largest cost per report
WEIGHTS_INTERVAL = 1.0
#: neuron pictures: at least this many seconds apart, and at most this share of the worker's time
PICTURE_INTERVAL = 0.5
PICTURE_SHARE = 0.05
#: the side of a plane picture's grid while training (a picture is about 30 pixels on the canvas: a quarter of
#: the points of the output map's 64 x 64, and a quarter of the cost, for the worker and for the window), and
#: for the stored weights' pictures, drawn once
LIVE_PICTURE_GRID = 32
STILL_PICTURE_GRID = 64
#: layer health and classification results: at least this many seconds apart, at most this share
HEALTH_INTERVAL = 0.2
HEALTH_SHARE = 0.03
#: validation samples traced for layer health, and classified for the confusion matrix
HEALTH_SAMPLES = 512
RESULT_SAMPLES = 4096
#: the share of the batch time that measuring gradient norms may take (the rest of the batches are skipped)
NORM_SHARE = 0.003


@dataclass
class TrainingJob:
    """What to train: a snapshot of the project (design copied, settings and weights copied).

    Made on the GUI thread before the run, so nothing the worker touches is shared with the window.
    """

    project: Any
    epochs: int | None = None
    #: only show what the stored weights predict (an opened project): no training, no run
    preview: bool = False
    #: the project's data when the window has it loaded already (read only, shared with the window's check)
    dataset: Any = None
    #: ``load(block, base_dir, progress)``, the window's cache's: the data loaded here is kept for its check
    load: Any = None


def worker_threads() -> int:
    """Threads for torch's intra-op pool: every core but one, which stays with the GUI."""
    return max(1, (os.cpu_count() or 1) - 1)


class TrainingWorker(QObject):
    """Lives on a :class:`QThread`; :meth:`run` trains once and then quits that thread.

    Signals (all payloads are plain Python values or copied numpy arrays):

    - ``run_started(info)``: the task, classes, and the data the views draw (see :mod:`.predictions`)
    - ``batches_finished(stats)``: ``epoch``, ``batch``, ``batches``, ``position`` (fractional epoch),
      ``loss`` (mean over the batches since the last report), ``learning_rate``
    - ``epochs_finished(list of stats)``: the epochs ended since the last report, in order, each with
      ``epoch``, ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``
    - ``predictions_changed(payload)``, ``weights_changed(weights)``
    - ``pictures_changed(payload)``: :meth:`designer.insight.NeuronPictures.compute`, with ``info`` (its
      ``info()``, the same object every time), ``epoch`` and ``position``; a payload of kind None once when
      the data gives no pictures
    - ``health_changed(payload)``: ``epoch`` and ``layers``, ``{layer id: LayerHealth}``
    - ``results_changed(payload)``: the validation set's confusion matrix (classification only): ``epoch``,
      ``matrix``, ``class_names``, ``per_class_accuracy``, ``predicted``, ``actual``, ``inputs`` (the samples,
      the same array every time), ``kind``, ``samples`` (classified) and ``total`` (in the validation set)
    - ``run_finished(result)``: ``run`` (a history.json run) and ``weights``, as
      :func:`designer.training.record_run` stored them into the job's project, ``status``, ``samples``
      (trained) and ``seconds`` (in the loop), ``weights_note`` (why stored weights were not used)
    - ``run_failed(message, is_user_error)``: training could not start or crashed
    - ``data_progressed(done, total, text)``: how far loading the data has got (when the job has none loaded),
      ``data_loaded()`` once it is, ``load_cancelled()`` when :attr:`cancel_load` stopped it (nothing trained)
    """

    run_started = Signal(object)
    batches_finished = Signal(object)
    epochs_finished = Signal(object)
    predictions_changed = Signal(object)
    weights_changed = Signal(object)
    pictures_changed = Signal(object)
    health_changed = Signal(object)
    results_changed = Signal(object)
    run_finished = Signal(object)
    run_failed = Signal(str, bool)
    data_progressed = Signal(int, int, str)
    data_loaded = Signal()
    load_cancelled = Signal()

    def __init__(self, job: TrainingJob, control: Any) -> None:
        super().__init__()
        self.job = job
        self.control = control
        #: set (from any thread) to stop loading the data: the run then ends before it starts
        self.cancel_load = threading.Event()
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
        self.wants_pictures = False
        # issue 9: neuron pictures, layer health, classification results, gradient norms (see the module)
        self._graph = None
        self._dataset = None
        self._objective = None
        self._pictures: Any = None  # NeuronPictures, made at the first need; False: the data gives none
        self._next_picture = 0.0
        self._norms: Any = None  # GradientNorms, made at the first batch
        self._batches = 0
        self._next_norm = 0
        self._norm_cost = 0.0
        self._batch_time = 0.0
        self._batch_clock = 0.0
        self._norm_batch = 0
        self._norms_wanted = True  # no batch measured since the last health report: measure an epoch's last
        self._next_health = 0.0
        self._health_epoch: int | None = None
        self._health_x: Any = None
        self._results_data: Any = None
        self._pending_health: dict[str, Any] | None = None
        self._pending_results: dict[str, Any] | None = None
        #: seconds the worker spent on pictures, health and results (for the benchmark)
        self.insight_seconds = {"pictures": 0.0, "health": 0.0, "norms": 0.0}

    def set_wanted(self, predictions: bool, weights: bool, pictures: bool | None = None) -> None:
        """Which live reports the window can show (a hidden dock needs none); thread-safe.

        Reports switched back on are sent at the next batch, so a dock shown again is current at once.
        ``pictures``: the canvas shows neuron pictures (None: as before).
        """
        if predictions and not self.wants_predictions:
            self._last_prediction = 0.0
        if weights and not self.wants_weights:
            self._last_weights = 0.0
        if pictures and not self.wants_pictures:
            self._next_picture = 0.0
        self.wants_predictions, self.wants_weights = bool(predictions), bool(weights)
        if pictures is not None:
            self.wants_pictures = bool(pictures)

    # ---------------------------------------------------------------- the thread's work
    @Slot()
    def run(self) -> None:
        from designer.data.errors import LoadCancelled

        try:
            self._train()
        except LoadCancelled:
            self.load_cancelled.emit()
        except Exception as exc:  # a worker must never take the app down: report and end
            self.run_failed.emit(*_describe_failure(exc))
        finally:
            self._module = None
            self._probe = None
            self._pictures = self._norms = None
            QThread.currentThread().quit()

    def _train(self) -> None:
        import torch

        from designer.training import prepare_project, record_run, suggested_threads, train

        from .predictions import Probe

        lower_thread_priority()
        # the same preparation as `nn-designer train`: data, input shape, compiling, stored weights
        prepared = prepare_project(self.job.project, epochs=self.job.epochs, dataset=self._data())
        module, dataset = prepared.module, prepared.dataset
        # as many threads as the design deserves (one for small ones), and never the GUI's core
        torch.set_num_threads(min(worker_threads(), suggested_threads(self.job.project.graph, dataset,
                                                                      prepared.config.batch_size)))
        self._module = module
        # the run's loss: the map draws the class that training's accuracy counts (see .predictions)
        self._probe = Probe(module, dataset, prepared.config.loss)
        self._graph, self._dataset = self.job.project.graph, dataset  # the job's own copy of the design
        self._objective = self._probe.objective
        info = self._probe.info()
        info.update(initial_weights=prepared.initial_weights, weights_note=prepared.weights_note,
                    train_samples=len(dataset.x_train))
        self.run_started.emit(info)
        if self.job.preview:
            if prepared.initial_weights == "stored":  # fresh weights would show nothing learned
                self._emit_predictions()
                if self.wants_pictures:
                    self._emit_pictures()
                self._measure_results(None)
                self._emit_insight()
            return
        self._report_all(time.monotonic())
        self._epochs = prepared.config.epochs
        run = train(module, dataset, prepared.config, control=self.control, on_batch=self._on_batch,
                    on_epoch=self._on_epoch)
        run.initial_weights = prepared.initial_weights
        if run.epochs and self._health_epoch != run.epochs[-1]:  # stopped, or diverged: the last epoch's
            self._measure_health(run.epochs[-1], time.monotonic())
        self._flush()
        self._emit_predictions()
        if self.wants_pictures and self._pictures is not False:
            self._pictures = None  # the last ones, at rest: at the output map's resolution
            self._emit_pictures(still=True)
        # What `nn-designer train` stores, by the same function: the run's weights whatever its
        # status (a diverged run's last finite ones), and the run numbered after the project's.
        project = self.job.project
        record_run(project, module, run)
        self.run_finished.emit({"run": project.history[-1], "status": run.status, "weights": project.weights,
                                "samples": run.samples_trained, "seconds": run.seconds,
                                "weights_note": prepared.weights_note})

    def _data(self) -> Any:
        """The job's data: the window's, or loaded here with progress reports and the Cancel of ``cancel_load``."""
        if self.job.dataset is not None:
            return self.job.dataset
        from pathlib import Path

        from designer.data import load_dataset
        from designer.data.errors import Progress

        project = self.job.project
        base_dir = Path(project.path).resolve().parent if project.path else None
        load = self.job.load or load_dataset
        dataset = load(project.dataset, base_dir, Progress(self.data_progressed.emit, self.cancel_load))
        self.data_loaded.emit()
        return dataset

    # ---------------------------------------------------------------- callbacks from the loop
    def _on_batch(self, stats: Any) -> None:
        loss = float(stats.loss)
        if math.isfinite(loss):
            self._pending_loss += loss
            self._pending_batches += 1
        self._last_batch = stats
        self._batches += 1
        if self._batches >= self._next_norm or (self._norms_wanted and stats.batch == stats.batches):
            self._measure_norms()
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
        if self.wants_pictures and now >= self._next_picture:
            self._emit_pictures(now)

    def _report_all(self, now: float) -> None:
        """The loop is about to hold: everything the window shows, as it is now (a paused run's
        plot, picture and canvas show the weights it holds, not those of up to a second ago)."""
        self._flush(now)
        if self.wants_predictions:
            self._emit_predictions(now)
        if self.wants_weights:
            self._emit_weights(now)
        if self.wants_pictures:
            self._emit_pictures(now)

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
        paused = self.control is not None and self.control.paused
        last = int(stats.epoch) >= int(getattr(self, "_epochs", 0) or 0)
        stopping = self.control is not None and getattr(self.control, "stopped", False)
        if paused or last or stopping or now >= self._next_health:
            self._measure_health(int(stats.epoch), now)
        if paused:
            self._report_all(now)  # the loop holds after this epoch (a step to its end, or Pause)
        elif now - self._last_report >= REPORT_INTERVAL or last:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        """Report the batches since the last report as one point (their mean loss), then the epochs."""
        self._last_report = time.monotonic() if now is None else now
        self._flush_batches()
        if self._pending_epochs:
            epochs, self._pending_epochs = self._pending_epochs, []
            self.epochs_finished.emit(epochs)
        self._emit_insight()

    def _emit_insight(self) -> None:
        """The layer health and classification results measured since the last report (after the epochs)."""
        if self._pending_health is not None:
            health, self._pending_health = self._pending_health, None
            self.health_changed.emit(health)
        if self._pending_results is not None:
            results, self._pending_results = self._pending_results, None
            self.results_changed.emit(results)

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

    # ---------------------------------------------------------------- what each neuron computes (issue 9)
    def _emit_pictures(self, now: float | None = None, still: bool = False) -> None:
        """Every shown neuron's picture now; the next one no sooner than its cost allows (PICTURE_SHARE).
        ``still``: at rest (a preview, the end of a run): planes on the output map's finer grid."""
        now = time.monotonic() if now is None else now
        if self._module is None or self._pictures is False:
            self._next_picture = math.inf
            return
        started = time.perf_counter()
        try:
            if self._pictures is None:
                from designer.insight import NeuronPictures

                from designer.ui.canvas.layout import shown_neurons

                graph = self._graph
                shown = {lid: shown_neurons(layer.shape) for lid, layer in graph.layers.items()
                         if layer.kind != "input"}
                size = STILL_PICTURE_GRID if self.job.preview or still else LIVE_PICTURE_GRID
                pictures = NeuronPictures(self._module, graph, self._dataset, shown=shown, size=size)
                if pictures.kind is None:
                    self._pictures = False
                    self._next_picture = math.inf
                    self.pictures_changed.emit({"kind": None, "layers": {}, "neurons": {}, "info": pictures.info()})
                    return
                self._pictures = pictures
                self._pictures_info = pictures.info()
            payload = self._pictures.compute()
        except Exception:  # pictures must never stop a run: none, then
            traceback.print_exc()
            self._pictures = False
            self._next_picture = math.inf
            return
        payload["info"] = self._pictures_info
        stats = self._last_batch
        if stats is not None:
            payload["epoch"] = int(stats.epoch)
            payload["position"] = (int(stats.epoch) - 1) + int(stats.batch) / max(1, int(stats.batches))
        self.pictures_changed.emit(payload)
        cost = time.perf_counter() - started
        self.insight_seconds["pictures"] += cost
        self._next_picture = now + max(PICTURE_INTERVAL, cost / PICTURE_SHARE)

    def _measure_norms(self) -> None:
        """Keep this batch's gradient norms (one of those measured: see the module's notes), and choose the next
        batch measured so that measuring takes about NORM_SHARE of the time."""
        clock = time.perf_counter()
        if self._batch_clock:  # the mean batch time since the last batch measured
            self._batch_time = (clock - self._batch_clock) / max(1, self._batches - self._norm_batch)
        if self._module is None:
            return
        try:
            if self._norms is None:
                from designer.insight.tracing import module_device
                from designer.training.loop import GradientNorms

                module = self._module
                parameters = [p for p in module.parameters() if p.requires_grad]
                self._norms = GradientNorms(module, parameters, self._graph, module_device(module))
            self._norms.add_batch()
        except Exception:  # never let a measurement stop a run: no gradient norms then
            self._norms = False
            self._next_norm = math.inf
            self._norms_wanted = False
            return
        self._norms_wanted = False
        done = time.perf_counter()
        cost = done - clock
        self.insight_seconds["norms"] += cost
        self._norm_cost = 0.8 * self._norm_cost + 0.2 * cost if self._norm_cost else cost
        stride = math.ceil(self._norm_cost / max(NORM_SHARE * self._batch_time, 1e-9)) if self._batch_time else 1
        self._next_norm = self._batches + min(max(stride, 1), 10_000)
        self._norm_batch, self._batch_clock = self._batches, done

    def _measure_health(self, epoch: int, now: float) -> None:
        """Layer health (and classification results) after this epoch, for the next report."""
        if self._module is None:
            return
        started = time.perf_counter()
        try:
            from designer.insight import layer_health, trace

            if self._health_x is None:
                data = self._dataset
                x = data.x_val if len(data.x_val) else data.x_train
                self._health_x = x[:HEALTH_SAMPLES]
            norms = self._norms.epoch() if self._norms else None
            self._norms_wanted = self._norms is not False
            graph = self._graph
            layers = [lid for lid, layer in graph.layers.items() if layer.kind != "input"]
            values = trace(self._module, self._health_x, layers)["values"] if len(self._health_x) else None
            self._pending_health = {"epoch": epoch, "layers": layer_health(graph, values, norms)}
            self._health_epoch = epoch
        except Exception:  # a measurement must never stop a run
            traceback.print_exc()
            self._pending_health = None
        self._measure_results(epoch)
        cost = time.perf_counter() - started
        self.insight_seconds["health"] += cost
        self._next_health = now + max(HEALTH_INTERVAL, cost / HEALTH_SHARE)

    def _measure_results(self, epoch: int | None) -> None:
        """The validation set's confusion matrix (classification only), for the next report."""
        data = self._dataset
        if self._module is None or data is None or data.task != "classification" or self._objective is None:
            return
        try:
            from types import SimpleNamespace

            from designer.insight import classification_results

            if self._results_data is None:
                x, y = (data.x_val, data.y_val) if len(data.x_val) else (data.x_train, data.y_train)
                capped = SimpleNamespace(task=data.task, num_classes=data.num_classes, class_names=data.class_names,
                                         name=data.name, x_val=x[:RESULT_SAMPLES], y_val=y[:RESULT_SAMPLES],
                                         x_train=x[:0], y_train=y[:0])
                self._results_data = (capped, _drawable(x[:RESULT_SAMPLES], self._probe.kind), len(x))
            capped, inputs, total = self._results_data
            results = classification_results(self._module, capped, self._objective)
        except Exception:  # a measurement must never stop a run
            traceback.print_exc()
            return
        self._pending_results = {
            "epoch": epoch, "matrix": results.matrix, "class_names": list(results.class_names),
            "per_class_accuracy": results.accuracy, "predicted": results.predicted, "actual": results.actual,
            "inputs": inputs, "kind": self._probe.kind, "samples": len(results.actual), "total": total}


def _drawable(x: Any, kind: str) -> Any:
    """Samples as the views draw them: points ``[n, 2]``, images ``[n, h, w]`` (``[n, h, w, c]`` in colour),
    sequences ``[n, steps, features]``, rows ``[n, features]``; a numpy copy."""
    import numpy as np

    a = x.detach().cpu().numpy().copy() if hasattr(x, "detach") else np.array(x, copy=True)
    n = len(a)
    if kind == "plane":
        return a.reshape(n, 2)
    if kind == "sequence":
        return a.reshape(n, a.shape[1] if a.ndim > 1 else 1, -1)
    if kind == "images" and a.ndim == 4:  # [n, channels, h, w] -> [n, h, w, channels], one channel -> [n, h, w]
        a = np.moveaxis(a, 1, -1)
        return a[..., 0] if a.shape[-1] == 1 else a
    if kind == "images":
        return a
    return a.reshape(n, -1)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _describe_failure(exc: Exception) -> tuple[str, bool]:
    """The message for the user, and whether it is their input (not a bug in the app)."""
    if isinstance(exc, ValueError) and type(exc).__module__.startswith("designer"):
        return str(exc), True
    traceback.print_exception(exc)
    return (f"Training stopped because of an internal error ({type(exc).__name__}: {exc}). "
            "Please report this, with the project file if you can."), False

"""Steering a training run from another thread: pause, resume, step, stop, change settings.

The GUI thread calls the public methods; the training loop calls :meth:`Control.wait_for_batch`
before every batch. One :class:`Control` steers one run: once stopped it stays stopped.
"""
from __future__ import annotations

import threading
from typing import Any

from .config import TrainingError, check_hyperparameter


class Control:
    """Thread-safe commands for a running :func:`~designer.training.train`.

    - ``pause()`` / ``resume()``: hold the loop before its next batch / let it go on.
    - ``step_batch()``: run exactly one more batch, then be paused (pauses a running loop too).
    - ``step_epoch()``: run to the end of the current epoch (a whole one when paused between
      epochs), validate it, then be paused.
    - ``stop()``: end the run before its next batch; it finishes with status ``stopped``.
    - ``update(learning_rate=0.01, ...)``: new values for ``learning_rate``, ``momentum``, ``l1``
      or ``l2``, checked here (a bad value raises :class:`TrainingError` in the caller's thread)
      and applied before the next batch; the run records each change. With a learning-rate
      schedule, ``learning_rate`` is the schedule's base rate: the schedule is rescaled by
      ``new / old`` and goes on from where it is, as if the run had started with the new rate.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stopped = False
        self._batches_allowed = 0
        self._to_epoch_end = False
        self._waiting = False
        self._updates: dict[str, float] = {}
        self._optimizer: str | None = None
        self._nesterov = False

    # ------------------------------------------------------------ for the controlling thread
    def pause(self) -> None:
        with self._condition:
            self._paused = True
            self._condition.notify_all()

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._batches_allowed = 0
            self._to_epoch_end = False
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def step_batch(self) -> None:
        with self._condition:
            self._paused = True
            self._batches_allowed += 1
            self._condition.notify_all()

    def step_epoch(self) -> None:
        with self._condition:
            self._paused = True
            self._to_epoch_end = True
            self._condition.notify_all()

    def update(self, **hyperparameters: Any) -> None:
        checked = {name: check_hyperparameter(name, value) for name, value in hyperparameters.items()}
        if "momentum" in checked and self._optimizer in ("adam", "adamw"):
            raise TrainingError(f"momentum applies to the sgd optimizer (and rmsprop); {self._optimizer} keeps "
                                f"its own running averages")
        if checked.get("momentum") == 0 and self._optimizer == "sgd" and self._nesterov:
            raise TrainingError("training: nesterov momentum needs a momentum above 0, got 0.0; keep a momentum "
                                "above 0 (e.g. 0.9) while this run trains with nesterov")
        with self._condition:
            self._updates.update(checked)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def stepping_to_epoch_end(self) -> bool:
        """True after ``step_epoch()`` until the loop reaches the end of that epoch and pauses."""
        return self._to_epoch_end

    @property
    def waiting(self) -> bool:
        """True while the loop is held by a pause (between batches, nothing computing)."""
        return self._waiting

    def wait_until_waiting(self, timeout: float | None = None) -> bool:
        """Block until the loop is held by a pause; False if ``timeout`` seconds passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._waiting, timeout)

    # ------------------------------------------------------------ for the training loop
    def attach(self, optimizer: str | None, nesterov: bool = False) -> None:
        """The loop says which optimizer it runs (None when it ends), so updates can be checked."""
        self._optimizer = optimizer
        self._nesterov = bool(nesterov) and optimizer is not None

    def wait_for_batch(self) -> bool:
        """Called before every batch: block while paused; False means stop now."""
        # Fast path without the lock: plain attribute reads are atomic, and a command that
        # races with this read is seen at the next batch.
        if not self._paused and not self._stopped:
            return True
        with self._condition:
            try:
                while True:
                    if self._stopped:
                        return False
                    if not self._paused or self._to_epoch_end:
                        return True
                    if self._batches_allowed > 0:
                        self._batches_allowed -= 1
                        return True
                    self._waiting = True
                    self._condition.notify_all()
                    self._condition.wait()
            finally:
                if self._waiting:
                    self._waiting = False

    def take_updates(self) -> dict[str, float]:
        """The settings changed since the last call (empty almost always, so no lock then)."""
        if not self._updates:
            return {}
        with self._condition:
            updates, self._updates = self._updates, {}
        return updates

    def epoch_finished(self) -> None:
        """Called after each epoch: a ``step_epoch`` is done, the loop pauses before the next one."""
        if self._to_epoch_end:
            with self._condition:
                self._to_epoch_end = False

"""Steering a run from another thread, as the window's buttons do: pause, step, resume, stop, change settings."""
import threading

import pytest

from designer.training import Control, TrainingError, train

WAIT = 20  # seconds: generous, the machine is shared; a healthy run needs milliseconds


class Background:
    """train() on a worker thread, recording what its callbacks saw."""

    def __init__(self, module, dataset, settings, control, on_batch=None):
        self.batches, self.epochs, self.run, self.error = [], [], None, None
        self._extra = on_batch

        def on_batch_(stats):
            self.batches.append(stats)
            if self._extra:
                self._extra(stats)

        def work():
            try:
                self.run = train(module, dataset, settings, control=control, on_batch=on_batch_,
                                 on_epoch=self.epochs.append)
            except Exception as exc:  # surfaced by join()
                self.error = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the training thread did not finish"
        if self.error:
            raise self.error
        return self.run


SETTINGS = {"batch_size": 20, "epochs": 3, "learning_rate": 0.1, "device": "cpu"}  # 160 samples: 8 batches


def test_pause_step_batch_step_epoch_update_and_resume(tiny, xor_data):
    control = Control()
    control.pause()
    worker = Background(tiny(), xor_data, SETTINGS, control)
    assert control.wait_until_waiting(WAIT)
    assert worker.batches == []  # paused before the first batch

    control.step_batch()
    assert _waiting_after(control, worker, batches=1)
    control.step_batch()
    assert _waiting_after(control, worker, batches=2)
    assert worker.epochs == []

    control.step_epoch()  # the rest of epoch 1, then its validation
    assert _waiting_after(control, worker, batches=8)
    assert [e.epoch for e in worker.epochs] == [1]

    control.update(learning_rate=0.05)
    control.step_epoch()  # a whole epoch when paused between epochs
    assert _waiting_after(control, worker, batches=16)
    assert not control.stepping_to_epoch_end
    assert [e.epoch for e in worker.epochs] == [1, 2]

    control.resume()
    run = worker.join()
    assert run.status == "completed" and run.epochs == [1, 2, 3]
    assert [b.learning_rate for b in worker.batches] == [0.1] * 8 + [0.05] * 16
    assert run.changes == [{"epoch": 2, "batch": 1, "batches": 8, "name": "learning_rate", "value": 0.05}]
    assert run.to_dict()["changes"] == run.changes


def test_step_batch_while_running_pauses_after_one_more_batch(tiny, xor_data):
    control = Control()

    def step_at_third(stats):
        if stats.batch == 3 and stats.epoch == 1:
            control.step_batch()

    worker = Background(tiny(), xor_data, SETTINGS, control, on_batch=step_at_third)
    assert control.wait_until_waiting(WAIT)
    assert len(worker.batches) == 4
    control.stop()
    assert worker.join().status == "stopped"


def test_stop_ends_the_run_before_the_next_batch(tiny, xor_data):
    control = Control()

    def stop_at_fifth(stats):
        if stats.batch == 5:
            control.stop()

    worker = Background(tiny(), xor_data, {**SETTINGS, "epochs": 100}, control, on_batch=stop_at_fifth)
    run = worker.join()
    assert run.status == "stopped" and "epoch 1" in run.message
    assert len(worker.batches) == 5
    assert run.epochs == [] and run.to_dict()["status"] == "stopped"


def test_stop_wakes_a_paused_run(tiny, xor_data):
    control = Control()
    control.pause()
    worker = Background(tiny(), xor_data, SETTINGS, control)
    assert control.wait_until_waiting(WAIT)
    control.stop()
    assert worker.join().status == "stopped"
    assert worker.batches == []


def test_learning_rate_change_reaches_the_optimizer_mid_epoch(tiny, xor_data):
    control = Control()
    module = tiny()

    def change_at_second(stats):
        if stats.epoch == 1 and stats.batch == 2:
            control.update(learning_rate=0.0001, momentum=0.5)

    worker = Background(module, xor_data, SETTINGS, control, on_batch=change_at_second)
    run = worker.join()
    assert run.changes == [{"epoch": 1, "batch": 3, "batches": 8, "name": "learning_rate", "value": 0.0001},
                           {"epoch": 1, "batch": 3, "batches": 8, "name": "momentum", "value": 0.5}]
    assert [b.learning_rate for b in worker.batches[:4]] == [0.1, 0.1, 0.0001, 0.0001]


def test_bad_updates_are_refused_in_the_callers_thread(tiny, xor_data):
    control = Control()
    for bad in ({"learning_rate": 0}, {"learning_rate": float("nan")}, {"momentum": 1.0}, {"l2": -1},
                {"batch_size": 4}):
        with pytest.raises(TrainingError):
            control.update(**bad)
    control.pause()
    worker = Background(tiny(), xor_data, {**SETTINGS, "optimizer": "adam"}, control)
    assert control.wait_until_waiting(WAIT)
    with pytest.raises(TrainingError, match="momentum applies to the sgd optimizer"):
        control.update(momentum=0.9)
    control.stop()
    worker.join()


def _waiting_after(control, worker, batches):
    """Wait until the loop is held again, then say whether exactly ``batches`` batches ran."""
    deadline = threading.Event()
    for _ in range(WAIT * 100):
        if control.waiting and len(worker.batches) >= batches:
            break
        deadline.wait(0.01)
    return control.waiting and len(worker.batches) == batches

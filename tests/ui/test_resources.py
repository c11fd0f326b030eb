"""Many runs and many windows leave nothing behind: no thread, no ticking timer, no file descriptor, no memory.

A real main window (off-screen) trains the XOR example on its real worker thread 50 times, each run started
with the toolbar's Train button, left to do a few batches and stopped with Stop; then 50 fresh windows are
each opened, trained briefly and closed (closing stops the run and joins its thread). After each series:
no QThread runs, no QTimer of a closed window is active, the process holds no more file descriptors than
after the first cycle (``/proc/self/fd``), and its resident memory (``/proc/self/statm``) after cycle 50
exceeds that after cycle 10 by less than a generous bound. The figures are printed (run with ``-s``).

Nothing is timed: the bounds are on counts and bytes. Linux only (``/proc``).
"""
from __future__ import annotations

import faulthandler
import gc
import os
import sys

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QThread, QTimer, Qt
from PySide6.QtWidgets import QApplication

from designer.project import Project
from designer.ui import dialogs
from designer.ui.main_window import MainWindow

from .test_training import xor_project as training_xor_project

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux)")]

CYCLES = 50
LONG_RUN = 100_000  # epochs: a run that only ends when stopped
#: growth of the resident memory allowed between cycle 10 and cycle 50 (a leak of a window per cycle is more)
RSS_BOUND = 60 * 1024 * 1024


@pytest.fixture
def answers(monkeypatch):
    """The window's questions answered without a modal box (discard the unsaved run), as test_training does."""
    record = {"save_changes": 0, "errors": []}
    monkeypatch.setattr(dialogs, "ask_save_changes",
                        lambda _parent, _name: record.__setitem__("save_changes", record["save_changes"] + 1)
                        or "discard")
    monkeypatch.setattr(dialogs, "show_error", lambda _parent, title, message: record["errors"].append(
        (title, message)))
    return record


def xor_project() -> Project:
    """The XOR example on the CPU, for a run that only Stop ends (test_training's builder, many more epochs)."""
    return training_xor_project(epochs=LONG_RUN)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> dict[int, str]:
    """What each open descriptor leads to (the one listdir itself holds is gone by the time it is read)."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # listdir's own descriptor, closed already
    return fds


def settled() -> tuple[int, dict[int, str]]:
    """RSS and descriptors once deferred deletions ran and the garbage was collected."""
    for _ in range(2):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        gc.collect()
    return rss(), open_fds()


def running_threads() -> list[QThread]:
    return [t for t in QApplication.instance().findChildren(QThread) if t.isRunning()]


def press(qtbot, window: MainWindow, action) -> None:
    """Click the action's toolbar button, as a person does (trigger it when it has none)."""
    button = window.toolbar.widgetForAction(action)
    if button is not None and button.isVisible():
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    else:
        action.trigger()


def train_a_little(qtbot, window: MainWindow) -> None:
    """Train until a few batches are reported, then press Stop and wait until the window is idle again."""
    controller = window.training
    press(qtbot, window, controller.action_train)
    assert controller.state == "running"
    qtbot.waitUntil(lambda: len(controller.loss_plot.batch.x) >= 3 or len(controller.loss_plot.train.x) >= 1,
                    timeout=30_000)
    press(qtbot, window, controller.action_stop)
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=30_000)


def active_timers(window: MainWindow, timers: list[QTimer]) -> list[str]:
    """The timers of ``window`` still ticking, less Qt's own timer of the status bar: a message shown for
    some seconds (``showMessage(text, 5000)``) keeps it running until the message goes, and it calls no
    code of the app."""
    status_bar = window.statusBar()
    return [t.objectName() or repr(t) for t in timers
            if shiboken6.isValid(t) and t.isActive() and not (t.parent() is status_bar and not t.objectName())]


def make_window() -> MainWindow:
    window = MainWindow(xor_project())
    window.resize(1000, 700)
    window.show()
    return window


@pytest.mark.timeout(900)  # a hundred windows and runs: minutes on a loaded 2-core machine
def test_fifty_runs_in_one_window_and_fifty_windows_leave_nothing_behind(qapp, qtbot, answers):
    # This test runs for minutes by design (its timeout is above). pytest's faulthandler_timeout (120 s) would
    # dump every thread's stack midway, and a dump taken while a worker thread runs can itself crash the
    # process (seen: status 139 in a full run): the hang guard here is pytest-timeout's.
    faulthandler.cancel_dump_traceback_later()
    figures = {"start": settled()}
    samples: dict[int, tuple[int, int]] = {}

    # ---- 50 train/stop cycles in one window
    window = make_window()
    qtbot.waitExposed(window)
    for cycle in range(1, CYCLES + 1):
        train_a_little(qtbot, window)
        assert window.project.history[-1]["status"] == "stopped"
        assert running_threads() == [], f"cycle {cycle}: a thread still runs after Stop"
        figures_now = settled()  # every cycle, for the reason given for the windows below
        if cycle in (1, 10, CYCLES):
            samples[cycle] = figures_now
    assert len(window.project.history) == CYCLES
    timers = window.findChildren(QTimer)
    assert window.close()
    assert running_threads() == []
    assert active_timers(window, timers) == []
    window.deleteLater()
    del window, timers
    runs = {"rss": samples, "after close": settled()}

    # ---- 50 windows, each opened, trained briefly and closed
    destroyed = []
    samples = {}
    for cycle in range(1, CYCLES + 1):
        window = make_window()
        qtbot.waitExposed(window)
        window.destroyed.connect(lambda *_: destroyed.append(1))
        train_a_little(qtbot, window)
        timers = window.findChildren(QTimer)
        assert window.close()
        assert running_threads() == [], f"window {cycle}: a thread still runs after closing"
        active = active_timers(window, timers)
        assert active == [], f"window {cycle}: timers of the closed window still tick: {active}"
        # A closed window is not deleted by Qt (the app sets no WA_DeleteOnClose); release it as the app's
        # list of windows would, so that what it still holds shows as a leak.
        window.deleteLater()
        del window, timers
        # Delete it and collect its garbage now, not at the end: windows piling up until a full collection
        # happens to run would measure the allocator's fragmentation, not what the windows keep.
        figures_now = settled()
        assert len(destroyed) == cycle, f"window {cycle} was not destroyed when released"
        if cycle in (1, 10, CYCLES):
            samples[cycle] = figures_now
    windows = {"rss": samples, "end": settled()}
    alive = [o for o in gc.get_objects() if type(o) is MainWindow]  # type(), not isinstance: no lazy module's
    # __getattr__ (torch.distributed warns) is called

    mib = 1024 * 1024
    print(f"\nresources: start rss {figures['start'][0] / mib:.1f} MiB, {len(figures['start'][1])} fds")
    for name, series in (("train/stop in one window", runs["rss"]), ("open/train/close windows", windows["rss"])):
        print(f"  {name}: "
              + ", ".join(f"cycle {c}: rss {r / mib:.1f} MiB, {len(f)} fds" for c, (r, f) in series.items())
              + f"; growth 10->{CYCLES}: {(series[CYCLES][0] - series[10][0]) / mib:+.1f} MiB")
    print(f"  windows destroyed: {len(destroyed)} of {CYCLES}; MainWindow objects alive: {len(alive)}")

    assert running_threads() == []
    assert answers["errors"] == []
    for name, series, base in (("one window", runs["rss"], 10), ("fifty windows", windows["rss"], 1)):
        # descriptors: none more than at the baseline. One window keeps the lock of its recovery file open
        # while it has unsaved changes (autosave), from the second run on: its baseline is cycle 10.
        new = {fd: target for fd, target in series[CYCLES][1].items() if series[base][1].get(fd) != target}
        assert len(series[CYCLES][1]) <= len(series[base][1]), f"{name}: file descriptors grew from " \
            f"{len(series[base][1])} at cycle {base} to {len(series[CYCLES][1])}; opened since: {new}"
        growth = series[CYCLES][0] - series[10][0]
        assert growth < RSS_BOUND, f"{name}: resident memory grew {growth / mib:.1f} MiB from cycle 10 to {CYCLES}"
    # every window closed: as many descriptors as after the first run, and no recovery lock left open
    assert len(windows["end"][1]) <= len(runs["rss"][1][1]), (runs["rss"][1][1], windows["end"][1])
    assert not [t for t in windows["end"][1].values() if t.endswith(".lock")], windows["end"][1]
    assert len(destroyed) == CYCLES, "closed and released windows were not destroyed"
    assert alive == [], f"{len(alive)} MainWindow objects are still referenced"


def test_a_finished_run_leaves_no_worker_alive(qapp, qtbot, answers):
    """Each run's worker (and the copy of the project it trained) is freed once the run is over."""
    from designer.ui.training.worker import TrainingJob, TrainingWorker

    def alive() -> tuple[int, int]:
        settled()
        objects = gc.get_objects()
        return (sum(type(o) is TrainingWorker for o in objects), sum(type(o) is TrainingJob for o in objects))

    before = alive()
    window = make_window()
    qtbot.waitExposed(window)
    for _ in range(3):
        train_a_little(qtbot, window)
    assert window.close()
    window.deleteLater()
    del window
    assert alive() == before  # found (3, 3) more: one worker and one job per run, never deleted

"""Loading a project's data in the window: on a thread of its own, with a progress bar and Cancel (issue 11).

A CSV file or an image folder never loads on the GUI thread: the live check lists the design's own problems
and a note while it loads, a determinate bar in the status bar says how far it has got, Cancel stops it and
leaves the window as usable as before, and a load that ends after another project was opened is not taken
for that project's data. The slow loader here is the real one behind a hook (``designer.data.cache``'s
``load_dataset``) that reports rows in steps and waits where the test says, so no test depends on how fast
the machine parses a file.
"""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread, QTimer, Qt
from PySide6.QtWidgets import QApplication

import designer.data.cache as cache_module
from designer.data.loading import load_dataset
from designer.graph import Graph, Layer
from designer.project import Project, read_project
from designer.ui.commands import AddLayerCommand

from .conftest import assert_collected_on_the_gui_thread, wait_for_data
from .test_training import answers, press, wait_idle  # noqa: F401 (answers: a fixture)

ROWS = 200


class SlowLoader:
    """``load_dataset`` that first reports ``steps`` chunks of rows (each ``pause`` seconds apart), then loads.

    ``hold``: before its first report it waits until ``release`` is set (a loader inside one long step, which
    hears no Cancel meanwhile). ``endless``: it reports until cancelled (a file too big to finish in a test).
    """

    def __init__(self, steps: int = 40, pause: float = 0.03) -> None:
        self.steps, self.pause = steps, pause
        self.calls: list[str] = []
        self.release = threading.Event()
        self.hold = False
        self.endless = False
        self.threads: set[str] = set()

    def __call__(self, block, base_dir=None, progress=None):
        from designer.data.errors import SILENT

        progress = progress or SILENT
        self.calls.append(str(block.get("path")))
        self.threads.add(threading.current_thread().name)
        if self.hold:
            self.release.wait(30)
        total = ROWS * 1000
        step = 0
        while self.endless or step < self.steps:
            progress.update(min(step, self.steps) * total // self.steps, total, "rows")
            time.sleep(self.pause)
            step += 1
        progress.update(total, total, "rows")
        return load_dataset(block, base_dir, progress)


@pytest.fixture
def slow(monkeypatch):
    loader = SlowLoader()
    monkeypatch.setattr(cache_module, "load_dataset", loader)
    yield loader
    loader.release.set()
    loader.endless = False


def write_csv(folder, name: str = "big.csv", features: int = 2, rows: int = ROWS) -> None:
    header = ",".join(f"f{i}" for i in range(features)) + ",y"
    lines = [",".join(f"{(r * (i + 3)) % 17 / 17:.3f}" for i in range(features)) + f",{r % 2}" for r in range(rows)]
    (folder / name).write_text("\n".join([header, *lines]) + "\n")


def csv_project(folder, inputs: int = 2, name: str = "big.csv") -> Project:
    """x (inputs) -> h (8 relu) -> out (2 softmax), on ``name`` (two features and a class) in ``folder``."""
    g = Graph()
    g.add_layer(Layer("x", "input", (inputs,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (8,), activation="relu", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (2,), activation="softmax", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    project = Project(name="Big", graph=g, path=folder / "big.nnd")
    project.dataset = {"kind": "csv", "path": name, "target": "y", "task": "classification"}
    project.training.update(epochs=2, device="cpu")
    return project


@pytest.fixture
def window(qtbot, answers):  # noqa: F811 (the fixture above)
    windows = []

    def make(project: Project):
        from designer.ui.main_window import MainWindow

        window = MainWindow(project)
        qtbot.addWidget(window, before_close_func=lambda w: w.undo_stack.setClean())
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.data_loader.shutdown()
        if w.training:
            w.training.shutdown()


def loading_threads(window) -> list[QThread]:
    return [t for t in window.findChildren(QThread) if t.objectName() == "data_loading_thread" and t.isRunning()]


def problem_lines(window) -> list[str]:
    return window.problems.lines()


# ---------------------------------------------------------------------------------------------- tests
def test_a_long_load_shows_a_determinate_bar_that_advances_and_then_the_datas_problems(qtbot, window, slow,
                                                                                       tmp_path):
    write_csv(tmp_path)
    w = window(csv_project(tmp_path, inputs=3))  # the data gives 2 inputs: a problem only the data tells
    bar = w.load_bar
    values: list[int] = []
    bar.progress.valueChanged.connect(values.append)
    # while it loads: the design's own problems, and a note that says the data is on its way
    assert any("big.csv is loading" in line for line in problem_lines(w))
    assert not any("does not match the data" in line for line in problem_lines(w))
    assert "data loading" in w.status_text()
    qtbot.waitUntil(bar.isVisible, timeout=10_000)
    assert bar.progress.maximum() > 0  # determinate
    qtbot.waitUntil(lambda: "rows" in bar.label.text(), timeout=10_000)
    assert bar.label.text().startswith("Loading big.csv — ") and bar.label.text().endswith(" of 200,000 rows")
    wait_for_data(qtbot, w)
    shown = values[:-1] if values and values[-1] == 0 else values  # (the bar is reset once hidden)
    assert len(set(shown)) >= 3 and shown == sorted(shown), values
    assert not bar.isVisible()
    # loaded: the whole check, with what only the data tells
    assert any("the input shape [3] does not match the data" in line for line in problem_lines(w)), problem_lines(w)
    assert not any("is loading" in line for line in problem_lines(w))
    assert w.dataset is not None and w.dataset.name == "big.csv"
    assert slow.threads and "MainThread" not in slow.threads  # never on the GUI thread
    assert loading_threads(w) == []


def test_the_data_loads_off_the_gui_thread_while_its_event_loop_runs(qtbot, window, slow, tmp_path):
    write_csv(tmp_path)
    slow.hold = True
    w = window(csv_project(tmp_path))
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=10_000)  # the loader holds all this while
        assert w.data_loader.loading and loading_threads(w)
        # and the window answers: an edit is checked at once
        w.undo_stack.push(AddLayerCommand(w.graph, Layer("lonely", "neurons", (3,), position=(0, 300))))
        qtbot.waitUntil(lambda: any("lonely" in line for line in problem_lines(w)), timeout=5_000)
    finally:
        timer.stop()
    slow.release.set()
    wait_for_data(qtbot, w)
    assert any("lonely" in line for line in problem_lines(w))
    assert not any("is loading" in line for line in problem_lines(w)) and "data" not in w.status_text()


def test_no_garbage_is_collected_on_the_loading_thread(qtbot, window, slow, tmp_path):
    """A collection on the loading thread freed an old window's widgets there and deadlocked the suite (the
    loader in ~QObject waiting for the GIL, the GUI thread holding it while waiting for the same Qt lock):
    while data loads, the collector runs only on the GUI thread, and afterwards it is automatic again."""
    import gc

    write_csv(tmp_path)
    slow.hold = True
    assert gc.isenabled()
    w = window(csv_project(tmp_path))
    qtbot.waitUntil(lambda: bool(loading_threads(w)), timeout=10_000)
    assert_collected_on_the_gui_thread(qtbot)
    slow.release.set()
    wait_for_data(qtbot, w)
    qtbot.waitUntil(lambda: not loading_threads(w), timeout=10_000)
    qtbot.waitUntil(gc.isenabled, timeout=5_000)


def test_cancel_stops_the_load_and_leaves_the_window_usable(qtbot, window, slow, tmp_path):
    write_csv(tmp_path)
    slow.endless = True
    w = window(csv_project(tmp_path))
    bar = w.load_bar
    qtbot.waitUntil(lambda: bar.isVisible() and bar.progress.value() > 0, timeout=10_000)
    qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
    assert w.statusBar().currentMessage() == "Loading cancelled"
    assert bar.label.text() == "Loading big.csv cancelled" and bar.reload_button.isVisible()
    assert not bar.progress.isVisible()
    qtbot.waitUntil(lambda: loading_threads(w) == [], timeout=10_000)  # the loader heard it at its next chunk
    assert any("loading big.csv was cancelled" in line for line in problem_lines(w))
    assert "data not loaded" in w.status_text()
    calls = len(slow.calls)

    # editing, undo and saving work, and an edit does not start the cancelled load again
    w.undo_stack.push(AddLayerCommand(w.graph, Layer("more", "neurons", (3,), position=(0, 300))))
    QApplication.processEvents()
    assert "more" in w.graph.layers and any("more" in line for line in problem_lines(w))
    w.action_undo.trigger()
    assert "more" not in w.graph.layers
    w.undo_stack.push(AddLayerCommand(w.graph, Layer("kept", "neurons", (3,), position=(0, 300))))
    assert w.save()
    assert "kept" in read_project(tmp_path / "big.nnd").graph.layers
    QApplication.processEvents()
    assert len(slow.calls) == calls and not w.data_loader.loading
    assert any("was cancelled" in line for line in problem_lines(w))

    # Load Again loads it (quickly now) and the check has the data
    slow.endless, slow.steps = False, 2
    qtbot.mouseClick(bar.reload_button, Qt.MouseButton.LeftButton)
    wait_for_data(qtbot, w)
    assert len(slow.calls) == calls + 1
    assert not any("big.csv" in line for line in problem_lines(w)), problem_lines(w)
    assert w.dataset is not None and w.dataset.name == "big.csv"
    assert not bar.isVisible()


def test_a_load_that_ends_after_another_project_was_opened_is_not_taken_for_its_data(qtbot, window, slow,
                                                                                      tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_csv(first, features=2)
    write_csv(second, features=3)
    slow.hold = True  # the first load sits inside one long step: it hears no Cancel until it ends
    w = window(csv_project(first, inputs=2))
    qtbot.waitUntil(lambda: loading_threads(w) != [], timeout=5_000)
    slow.steps = 2
    w.open_project(csv_project(second, inputs=3))
    slow.release.set()
    wait_for_data(qtbot, w)
    qtbot.waitUntil(lambda: loading_threads(w) == [], timeout=10_000)
    # the window's data is the second project's (3 features), whatever order the loads ended in
    assert w.dataset is not None and w.dataset.input_shape == (3,), w.dataset
    assert problem_lines(w) == [], problem_lines(w)
    assert w.status_text().startswith("Valid ·")


def test_train_passes_loaded_data_to_the_worker_which_does_not_load_again(qtbot, window, slow, tmp_path):
    write_csv(tmp_path)
    slow.steps = 2
    w = window(csv_project(tmp_path))
    wait_for_data(qtbot, w)
    assert len(slow.calls) == 1
    press(qtbot, w, w.training.action_train)
    wait_idle(qtbot, w)
    assert w.project.history[-1]["status"] == "completed", w.training.last_error
    assert len(slow.calls) == 1


def test_training_loads_data_not_yet_loaded_with_progress_and_cancel_ends_the_run_with_nothing_lost(
        qtbot, window, slow, tmp_path, answers):  # noqa: F811
    write_csv(tmp_path)
    slow.endless = True
    w = window(csv_project(tmp_path))
    qtbot.waitUntil(lambda: w.load_bar.isVisible(), timeout=10_000)
    w.load_bar.cancel_button.click()  # the window's own load: cancelled
    qtbot.waitUntil(lambda: loading_threads(w) == [], timeout=10_000)
    history = list(w.project.history)
    controller = w.training
    finished = []
    controller.run_finished.connect(finished.append)
    press(qtbot, w, controller.action_train)  # the data is not loaded: the worker loads it
    assert controller.busy
    bar = w.load_bar
    qtbot.waitUntil(lambda: bar.progress.isVisible() and bar.progress.value() > 0, timeout=10_000)
    assert "Loading big.csv" in bar.label.text()
    bar.cancel_button.click()
    wait_idle(qtbot, w)
    assert finished == ["cancelled"]
    assert w.project.history == history and answers["errors"] == []
    assert "cancelled" in controller.status_label.text()
    assert bar.label.text() == "Loading big.csv cancelled"
    assert not w.canvas.is_read_only() and controller.action_train.isEnabled()
    # and the window goes on: an edit is checked, Train again trains (now loading to the end)
    w.undo_stack.push(AddLayerCommand(w.graph, Layer("more", "neurons", (3,), position=(0, 300))))
    QApplication.processEvents()
    assert any("more" in line for line in problem_lines(w))
    w.action_undo.trigger()
    slow.endless, slow.steps = False, 2
    press(qtbot, w, controller.action_train)
    wait_idle(qtbot, w)
    assert finished[-1] == "completed", controller.last_error
    assert not bar.isVisible()
    wait_for_data(qtbot, w)
    assert w.dataset is not None  # the worker's load went into the window's cache: the check has it


def test_a_real_csv_file_loads_on_a_thread_and_is_checked(qtbot, window, tmp_path):
    write_csv(tmp_path, rows=3000)
    w = window(csv_project(tmp_path, inputs=3))
    wait_for_data(qtbot, w)
    assert any("the input shape [3] does not match the data" in line for line in problem_lines(w)), problem_lines(w)
    assert loading_threads(w) == []


def test_closing_the_window_while_it_loads_cancels_and_joins_the_load(qtbot, window, slow, tmp_path):
    write_csv(tmp_path)
    slow.endless = True
    w = window(csv_project(tmp_path))
    qtbot.waitUntil(lambda: loading_threads(w) != [], timeout=5_000)
    assert w.close()
    assert loading_threads(w) == []

"""`nn-designer --self-test`: prove that an installed copy works, without anyone at the screen.

Starts the window off-screen as :func:`designer.app.main` does (the same QApplication, the default example,
the first paint before torch, the engine warmed up on a background thread), trains one epoch through the
window's own :class:`~designer.ui.training.TrainingController` (the worker thread, the live loss plot),
checks that the plot received points, saves the trained project and reads it back, and opens the About
dialog (torch, the icons). It prints one line per check and returns 0 when all passed, 1 otherwise.
A watchdog ends a hung run after ``timeout`` seconds with the stacks of every thread, so a broken bundle
never hangs CI.

It leaves nothing behind: settings (recent files, window layout) go to a temporary folder, and the
messages the window would show in modal dialogs are reported instead (no one is there to press OK).
"""
from __future__ import annotations

import faulthandler
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

#: seconds after which a self-test that has not finished is ended as failed
DEFAULT_TIMEOUT = 120.0


class SelfTestFailure(Exception):
    """One check failed; the message says what the user would have seen."""


class _Watchdog:
    """Ends the process if the self-test has not finished in time, even when the GUI thread is stuck."""

    def __init__(self, timeout: float, out: TextIO) -> None:
        self.timeout, self.out = timeout, out
        self.step = "starting"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="self-test watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(self.timeout):
            return
        print(f"  FAIL  no result after {self.timeout:.0f} s, stuck at: {self.step}", file=self.out, flush=True)
        print("self-test FAILED (timed out); the stacks of all threads follow on stderr", file=self.out,
              flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)  # the GUI thread is stuck: no clean way out


def _choose_platform() -> str:
    """Off-screen unless the caller asked for a platform (QT_QPA_PLATFORM=xcb tests the real one)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return os.environ["QT_QPA_PLATFORM"]


def _quiet_offscreen_notice() -> None:
    """Drop the one line the off-screen platform prints whenever a window shows; pass on every other message."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(kind, context, message: str) -> None:
        if "does not support propagateSizeHints" not in message:
            print(message, file=sys.stderr, flush=True)

    qInstallMessageHandler(handler)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Process events until ``condition()`` holds; raise naming ``what`` if it does not in time."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QThread

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SelfTestFailure(f"{what}: nothing after {timeout:.0f} s")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        QThread.msleep(5)


class SelfTest:
    """The checks, in order; each returns the text of its report line."""

    def __init__(self, folder: Path) -> None:
        self.window: Any = None
        self.messages: list[str] = []
        self.save_target = folder / "self-test.nnd"

    def _silence_modal_dialogs(self) -> None:
        """Report what the window would show in a message box, and answer its questions, instead of waiting."""
        from designer.ui import dialogs

        def show_error(parent, title: str, message: str) -> None:
            self.messages.append(f"{title}: {message}")

        dialogs.show_error = show_error
        dialogs.ask_save_changes = lambda parent, name: "discard"
        dialogs.ask_save_path = lambda parent, suggested: str(self.save_target)
        dialogs.ask_open_path = lambda parent, folder: None

    def open_window(self) -> str:
        from designer.app import DEFAULT_EXAMPLE, initial_project
        from designer.ui.main_window import MainWindow

        self._silence_modal_dialogs()
        start = time.perf_counter()
        project, is_example, problem = initial_project(None)  # what `nn-designer` opens with no file
        if project is None:
            raise SelfTestFailure(f"the default example {'/'.join(DEFAULT_EXAMPLE)} is missing or broken "
                                  f"in this installation{': ' + problem if problem else ''}")
        window = self.window = MainWindow(training=False)
        window.open_project(project, is_example=is_example)
        painted: list[bool] = []
        window.first_painted.connect(lambda: painted.append(True))
        window.show()
        _wait_until(lambda: bool(painted), 30, "the window's first paint")
        seconds = time.perf_counter() - start
        return f"window painted in {seconds:.2f} s on the example {DEFAULT_EXAMPLE[-1]}"

    def load_engine(self) -> str:
        """pyqtgraph, the training docks and torch, loaded on a background thread as at every start."""
        from designer.app import EngineWarmup

        window = self.window
        warmup = EngineWarmup(window)
        views, engine = [], []
        warmup.views_ready.connect(window.install_training)
        warmup.views_ready.connect(window.set_views_ready)
        warmup.views_ready.connect(lambda: views.append(time.perf_counter()))
        warmup.engine_ready.connect(window.set_engine_ready)
        warmup.engine_ready.connect(lambda: engine.append(time.perf_counter()))
        start = time.perf_counter()
        warmup.start()
        _wait_until(lambda: bool(engine), 60, "loading the training views and torch in the background")
        if not window.training:
            raise SelfTestFailure("the training views did not load (see the message above)")
        if "torch" not in sys.modules:
            raise SelfTestFailure("torch did not load (see the message above)")
        return (f"training views in {views[0] - start:.2f} s and torch in {engine[0] - start:.2f} s, "
                f"loaded in the background")

    def check_design(self) -> str:
        from designer.graph import errors, parameter_count

        window = self.window
        problems = errors(window.validate_now())
        if problems:
            raise SelfTestFailure(f"the default example has problems: {problems[0]}")
        graph = window.graph
        layers, connections = len(graph.layers), len(graph.connections)
        return f"design valid: {layers} layers, {connections} connections, {parameter_count(graph):,} parameters"

    def train_one_epoch(self) -> str:
        from PySide6.QtCore import QThread

        window = self.window
        controller = window.training
        if not controller:
            raise SelfTestFailure("the window has no training controller (designer.ui.training did not load)")
        window.project.training["epochs"] = 1
        finished: list[str] = []
        controller.run_finished.connect(finished.append)
        start = time.perf_counter()
        controller.action_train.trigger()
        thread = window.findChild(QThread, "training_thread")
        if not controller.busy or thread is None:
            raise SelfTestFailure("pressing Train started no run: " + ("; ".join(self.messages) or
                                                                        str(controller.last_error)))
        if thread is QThread.currentThread():
            raise SelfTestFailure("training runs on the GUI thread")
        _wait_until(lambda: bool(finished), DEFAULT_TIMEOUT, "one epoch of training")
        seconds = time.perf_counter() - start
        status = finished[0]
        if status != "completed":
            raise SelfTestFailure(f"the run ended {status}: {controller.last_error or '; '.join(self.messages)}")
        run = controller.last_run or {}
        losses = run.get("train_loss") or []
        if len(run.get("epochs") or []) != 1 or not losses or not math.isfinite(losses[-1]):
            raise SelfTestFailure(f"the run has no finite loss for its one epoch: {run.get('train_loss')}")
        if window.project.weights is None:
            raise SelfTestFailure("the trained weights did not reach the project")
        val = (run.get("val_loss") or [None])[-1]
        val_text = f", validation loss {val:.4g}" if isinstance(val, float) else ""
        return f"trained 1 epoch on the worker thread in {seconds:.2f} s: training loss {losses[-1]:.4g}{val_text}"

    def check_loss_plot(self) -> str:
        plot = self.window.training.loss_plot
        counts = {}
        for name in ("batch_curve", "train_curve"):
            x, _y = getattr(plot, name).getData()
            counts[name] = 0 if x is None else len(x)
        if not counts["train_curve"] or not counts["batch_curve"]:
            raise SelfTestFailure(f"the loss plot got no points (batches: {counts['batch_curve']}, "
                                  f"epochs: {counts['train_curve']})")
        return f"loss plot shows {counts['batch_curve']} batch points and {counts['train_curve']} epoch point(s)"

    def save_and_reopen(self) -> str:
        from designer.project import read_project

        window = self.window
        path = self.save_target
        # Save As, as a user saves a trained example: the file dialog answers with a temporary path.
        if not window.save_as() or not path.is_file():
            raise SelfTestFailure(f"cannot save {path}: {'; '.join(self.messages)}")
        project = read_project(path)
        if not project.weights or not project.history:
            raise SelfTestFailure("the saved project lost its weights or its run")
        return f"saved the trained project and read it back ({len(project.weights)} weight tensors, " \
               f"{path.stat().st_size:,} bytes)"

    def about(self) -> str:
        from designer.ui.about import AboutDialog

        dialog = AboutDialog(self.window)
        dialog.show()
        values = dialog.values
        dialog.close()
        dialog.deleteLater()
        if values["torch"].startswith("not available"):
            raise SelfTestFailure(f"torch: {values['torch']}")
        if self.window.windowIcon().isNull():
            raise SelfTestFailure("the window has no icon (resources/icons missing)")
        return (f"Python {values['Python'].split()[0]}, PySide6 {values['PySide6']}, Qt {values['Qt']}, "
                f"torch {values['torch']}")

    def read_tables(self) -> str:
        """The table readers, through the bundled pyarrow: the CSV example, and the same table as Parquet."""
        import pyarrow.csv as pyarrow_csv
        import pyarrow.parquet as parquet

        from designer.data import load_dataset
        from designer.resources import resource_path

        folder = self.save_target.parent
        csv = resource_path("examples", "weather.csv")
        block = {"kind": "csv", "path": str(csv), "target": "weather"}
        from_csv = load_dataset(block, folder)
        table = pyarrow_csv.read_csv(csv)
        parquet.write_table(table, folder / "weather.parquet")
        from_parquet = load_dataset({**block, "path": str(folder / "weather.parquet")}, folder)
        if not (from_csv.x_train.equal(from_parquet.x_train) and from_csv.y_val.equal(from_parquet.y_val)):
            raise SelfTestFailure("the Parquet copy of weather.csv loads other values than the CSV file")
        rows = len(from_csv.x_train) + len(from_csv.x_val)
        return f"read weather.csv and its Parquet copy: {rows} rows, {len(from_csv.feature_names)} inputs, the same"

    def close(self) -> str:
        from PySide6.QtCore import QThread

        window = self.window
        window.close()
        _wait_until(lambda: not window.isVisible(), 10, "closing the window")
        running = [t for t in window.findChildren(QThread) if t.isRunning()]
        if running:
            raise SelfTestFailure(f"closing the window left {len(running)} thread(s) running")
        window.deleteLater()
        return "closed the window; no thread left running"

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        return [("opening the window", self.open_window), ("loading the engine", self.load_engine),
                ("checking the design", self.check_design),
                ("training one epoch", self.train_one_epoch), ("checking the loss plot", self.check_loss_plot),
                ("saving the project", self.save_and_reopen), ("the About dialog", self.about),
                ("reading tables", self.read_tables), ("closing the window", self.close)]


def run_self_test(timeout: float = DEFAULT_TIMEOUT, out: TextIO | None = None) -> int:
    """Run every check, print a line for each, and return the exit status (0 when all passed)."""
    out = out or sys.stdout
    platform_name = _choose_platform()
    watchdog = _Watchdog(timeout, out)
    watchdog.start()
    started = time.perf_counter()
    import designer

    where = "bundle" if getattr(sys, "frozen", False) else "source"
    print(f"NN Designer {designer.__version__} self-test ({where}, Qt platform {platform_name})", file=out,
          flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="nn-designer-self-test-") as folder:
            from PySide6.QtCore import QSettings

            # Recent files and the window layout go here, not into the user's settings.
            for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
                QSettings.setPath(QSettings.Format.IniFormat, scope, folder)
            _quiet_offscreen_notice()
            from designer.app import create_application

            app = create_application()  # the app's name, icon, style and theme
            test = SelfTest(Path(folder))
            failed = False
            for step, check in test.checks():
                watchdog.step = step
                try:
                    line = check()
                except SelfTestFailure as failure:
                    print(f"  FAIL  {step}: {failure}", file=out, flush=True)
                    failed = True
                    break
                except Exception as error:  # a bug: show where, this is a diagnostic tool
                    import traceback
                    print(f"  FAIL  {step}: {type(error).__name__}: {error}", file=out, flush=True)
                    traceback.print_exc(file=sys.stderr)
                    failed = True
                    break
                print(f"  ok    {line}", file=out, flush=True)
            if failed and test.window is not None:
                _abandon(test.window)
            app.processEvents()
    finally:
        watchdog.stop()
    seconds = time.perf_counter() - started
    if failed:
        print(f"self-test FAILED after {seconds:.1f} s", file=out, flush=True)
        return 1
    print(f"self-test passed in {seconds:.1f} s", file=out, flush=True)
    return 0


def _abandon(window: Any) -> None:
    """After a failure: stop a run that may still go on, so the process can exit."""
    controller = getattr(window, "training", None)
    if controller:
        controller.shutdown()
    window.hide()


def main() -> int:
    return run_self_test()


if __name__ == "__main__":
    sys.exit(main())

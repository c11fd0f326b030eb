"""Start-up of the window: the QApplication, the theme, the first paint, then the engine in the background.

The window shows and paints before torch is imported (torch takes longer to load than the whole
window). After the first paint a background thread imports pyqtgraph and the training views (the
window then adds its training docks) and then torch, building a throwaway optimizer: the first
optimizer of a process imports ``torch._dynamo``, about a second, and pressing Train should not wait.

``NND_STARTUP_PROBE`` (for tests and ``benchmarks/bench_startup.py``): ``paint`` prints one JSON line
at the first paint (wall-clock time, whether torch was loaded, what the window shows) and quits;
``ready`` does the same once the engine has warmed up.

After the first paint, designs that a crashed or killed process had autosaved and not saved are offered
(:mod:`designer.ui.recovery`); ``NND_TEST_EDITS=stdin`` then takes edits from standard input (tests only,
see :mod:`designer.ui.autosave`).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from designer.project import Project, ProjectError, read_project
from designer.ui import dialogs, recovery, resource_path
from designer.ui.autosave import install_test_edits
from designer.ui.main_window import MainWindow, app_icon
from designer.ui.settings import APPLICATION, ORGANIZATION

PROBE_VARIABLE = "NND_STARTUP_PROBE"
DEFAULT_EXAMPLE = ("examples", "spiral.nnd")

STYLE_SHEET = """
QMainWindow::separator { background: #E4E7EC; width: 1px; height: 1px; }
QDockWidget { font-weight: 600; color: #344054; }
QDockWidget::title { background: #F2F4F7; padding: 5px 8px; border-bottom: 1px solid #E4E7EC; }
QDockWidget > QWidget { font-weight: normal; }
QToolBar { background: #FFFFFF; border: none; border-bottom: 1px solid #E4E7EC; spacing: 2px; padding: 3px 6px; }
QToolButton { border: 1px solid transparent; border-radius: 6px; padding: 4px; }
QToolButton:hover { background: #EEF4FF; border-color: #D1E0FF; }
QToolButton:pressed, QToolButton:checked { background: #D1E0FF; }
QStatusBar { background: #FFFFFF; border-top: 1px solid #E4E7EC; color: #475467; }
QGroupBox { border: 1px solid #E4E7EC; border-radius: 8px; margin-top: 14px; padding-top: 6px;
            background: #FFFFFF; font-weight: 600; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #344054; }
QListWidget { border: none; background: #FFFFFF; outline: 0; }
QListWidget#palette_list::item { border-radius: 8px; padding: 2px 4px; }
QListWidget#palette_list::item:hover { background: #F2F4F7; }
QListWidget#palette_list::item:selected { background: #EEF4FF; color: #1D2433; }
QLineEdit { border: 1px solid #D0D5DD; border-radius: 4px; padding: 2px 6px; background: #FFFFFF; min-height: 20px; }
QLineEdit:focus { border-color: #2F6FEB; }
QLineEdit[readOnly="true"] { background: #F9FAFB; color: #667085; }
QMenu { background: #FFFFFF; border: 1px solid #E4E7EC; padding: 4px; }
QMenu::item { padding: 5px 24px 5px 22px; border-radius: 4px; }
QMenu::item:selected { background: #EEF4FF; color: #1D2433; }
"""


def apply_theme(app: QApplication) -> None:
    """A light, quiet theme on the Fusion style: white panels, grey chrome, one blue accent."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#F5F6F8", QPalette.ColorRole.WindowText: "#1D2433",
        QPalette.ColorRole.Base: "#FFFFFF", QPalette.ColorRole.AlternateBase: "#F9FAFB",
        QPalette.ColorRole.Text: "#1D2433", QPalette.ColorRole.Button: "#FFFFFF",
        QPalette.ColorRole.ButtonText: "#1D2433", QPalette.ColorRole.Highlight: "#2F6FEB",
        QPalette.ColorRole.HighlightedText: "#FFFFFF", QPalette.ColorRole.ToolTipBase: "#1D2433",
        QPalette.ColorRole.ToolTipText: "#FFFFFF", QPalette.ColorRole.PlaceholderText: "#98A2B3",
        QPalette.ColorRole.Mid: "#D0D5DD", QPalette.ColorRole.Midlight: "#E4E7EC",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#98A2B3"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#98A2B3"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#98A2B3"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)


def create_application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANIZATION)
    # Wayland and desktop shells match the window to packaging/linux/nn-designer.desktop by this name.
    app.setDesktopFileName("nn-designer")
    app.setWindowIcon(app_icon())
    apply_theme(app)
    return app


def initial_project(path: str | os.PathLike | None) -> tuple[Project | None, bool, str | None]:
    """``(project, is_example, problem)`` to open at start: ``path``, else the default example.

    A file that cannot be read gives no project and the message to show once the window is up.
    """
    if path is None:
        example = resource_path(*DEFAULT_EXAMPLE)
        try:
            return read_project(example), True, None
        except ProjectError as exc:  # an incomplete install: start empty, say why on the console
            print(f"nn-designer: the default example is missing or broken: {exc}", file=sys.stderr)
            return None, False, None
    try:
        return read_project(path), False, None
    except ProjectError as exc:
        return None, False, str(exc)


class EngineWarmup(QObject):
    """Loads the slow parts on a background thread, once the window is on screen."""

    #: pyqtgraph and the training views are imported: the window can add its training docks
    views_ready = Signal()
    #: torch is imported and its first optimizer built: Train starts at once
    engine_ready = Signal()

    def start(self) -> None:
        threading.Thread(target=self._run, name="engine-warmup", daemon=True).start()

    def _run(self) -> None:
        try:
            import pyqtgraph  # noqa: F401
            import designer.ui.training  # noqa: F401
        except Exception as exc:  # the window still works without them: say so, do not crash
            print(f"nn-designer: could not load the training views: {exc}", file=sys.stderr)
        self._emit(self.views_ready)
        try:
            import torch

            weight = torch.nn.Parameter(torch.zeros(2))
            weight.grad = torch.ones(2)
            for optimizer in (torch.optim.SGD([weight], lr=0.1, momentum=0.9), torch.optim.Adam([weight])):
                optimizer.step()
            import designer.compiler  # noqa: F401
            import designer.training  # noqa: F401
        except Exception as exc:
            print(f"nn-designer: could not warm up torch: {exc}", file=sys.stderr)
        self._emit(self.engine_ready)

    @staticmethod
    def _emit(signal) -> None:
        try:
            signal.emit()  # queued to the GUI thread
        except RuntimeError:
            pass  # the window closed while this thread was loading: nobody is left to tell


def _probe_report(window: MainWindow, started: float, stage: str) -> None:
    report = {
        "stage": stage,
        "wall_time": time.time(),
        "since_main_s": time.perf_counter() - started,
        "torch_imported": "torch" in sys.modules,
        "pyqtgraph_imported": "pyqtgraph" in sys.modules,
        "title": window.windowTitle(),
        "layers": len(window.graph.layers),
        "status": window.status_text(),
        "training_installed": bool(window.training),
    }
    print(json.dumps(report), flush=True)


def main(path: str | os.PathLike | None = None) -> int:
    """Open the window on ``path`` (or the default example) and run until it closes."""
    started = time.perf_counter()
    probe = os.environ.get(PROBE_VARIABLE, "").strip().lower()
    app = create_application()
    project, is_example, problem = initial_project(path)
    window = MainWindow(training=False)
    if project is not None:
        window.open_project(project, is_example=is_example)
    warmup = EngineWarmup(window)
    warmup.views_ready.connect(window.install_training)
    warmup.views_ready.connect(window.set_views_ready)
    warmup.engine_ready.connect(window.set_engine_ready)
    loaded = {"views": False, "engine": False}
    warmup.views_ready.connect(lambda: loaded.update(views=True))
    warmup.engine_ready.connect(lambda: loaded.update(engine=True))
    recovered_windows: list[MainWindow] = []  # kept referenced while they are open

    def another_window() -> MainWindow:
        """A window for a second recovered design, with the engine as far as it has loaded."""
        other = MainWindow(training=False)
        for signal, slots, done in ((warmup.views_ready, (other.install_training, other.set_views_ready), "views"),
                                    (warmup.engine_ready, (other.set_engine_ready,), "engine")):
            for slot in slots:
                if loaded[done]:
                    slot()
                else:
                    signal.connect(slot)
        other.show()
        recovered_windows.append(other)
        return other

    def painted() -> None:
        if probe == "paint":
            _probe_report(window, started, "paint")
            QTimer.singleShot(0, app.quit)
            return
        warmup.start()
        if problem is not None:
            dialogs.show_error(window, "Cannot open project", problem)
        # after a crash or a kill: offer what the autosave kept (the engine keeps loading meanwhile)
        recovery.offer_recovery(window, new_window=another_window)
        install_test_edits(window)

    def warmed() -> None:
        if probe == "ready":
            _probe_report(window, started, "ready")
            QTimer.singleShot(0, app.quit)

    window.first_painted.connect(painted)
    warmup.engine_ready.connect(warmed)
    window.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))

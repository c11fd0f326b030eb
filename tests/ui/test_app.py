"""Start-up: the window paints before torch is imported, opens the default example or the file given,
and a file that cannot be opened leaves an empty design and a message."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

from designer import app
from designer.ui import dialogs, resource_path
from designer.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, *args: str, stage: str = "paint") -> dict:
    """Run the real start-up in a fresh process, off-screen, until the probe reports; return its report."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NND_STARTUP_PROBE=stage, HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    code = "import sys; from designer.app import main; sys.exit(main(*sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr
    return json.loads(lines[-1])


def test_the_window_paints_before_torch_is_imported(tmp_path):
    report = start(tmp_path)
    assert report["stage"] == "paint"
    assert report["torch_imported"] is False
    assert report["pyqtgraph_imported"] is False  # the live plot loads after the first paint too
    if resource_path("examples", "spiral.nnd").is_file():  # the default example is on show
        assert report["layers"] > 0 and report["title"].startswith("Spiral")
        assert report["status"].startswith("Valid")


def test_after_the_first_paint_the_engine_warms_up_and_training_arrives(tmp_path):
    report = start(tmp_path, stage="ready")
    assert report["torch_imported"] is True
    assert report["training_installed"] is True


def test_the_file_given_is_opened(tmp_path):
    from designer.graph import Graph, Layer
    from designer.project import Project, write_project
    g = Graph()
    g.add_layer(Layer("x", "input", (2,)))
    g.add_layer(Layer("y", "neurons", (1,), activation="sigmoid", position=(200, 0)))
    g.connect("x", "y")
    write_project(Project(name="Tiny", graph=g), tmp_path / "tiny.nnd")
    report = start(tmp_path, str(tmp_path / "tiny.nnd"))
    assert report["title"] == "Tiny[*] — NN Designer" and report["layers"] == 2
    assert report["status"] == "Valid · 3 parameters"


def test_a_bad_path_gives_an_empty_design_and_a_message(tmp_path):
    report = start(tmp_path, str(tmp_path / "nowhere.nnd"))
    assert report["layers"] == 0 and report["title"].startswith("Untitled")
    project, is_example, problem = app.initial_project(tmp_path / "nowhere.nnd")
    assert project is None and not is_example
    assert "nowhere.nnd" in problem and "no such file" in problem


def test_the_message_for_a_bad_path_shows_once_the_window_is_up(qtbot, tmp_path, monkeypatch):
    """The in-process half: the first paint shows the message (the warm-up thread is left out here)."""
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message: shown.append((title, message)))
    monkeypatch.setattr(app.EngineWarmup, "start", lambda self: None)
    monkeypatch.setattr(QApplication, "exec", lambda *args: 0)  # return at once; qtbot runs the events
    assert app.main(str(tmp_path / "gone.nnd")) == 0
    (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(shown))
    assert shown[0][0] == "Cannot open project" and "gone.nnd" in shown[0][1]
    assert window.graph.layers == {} and window.windowTitle().startswith("Untitled")
    QStandardPaths.setTestModeEnabled(False)


@pytest.mark.parametrize("module", ["designer.ui.main_window", "designer.app"])
def test_nothing_on_the_window_path_imports_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.stdout.strip() == "False", result.stderr

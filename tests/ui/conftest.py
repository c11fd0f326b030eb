"""Fixtures shared by the UI tests: settings kept away from the user's, a small design, an undo stack."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtGui import QUndoStack

from designer.graph import Graph, Layer


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings, recent files and Documents live in a temporary home, never the user's real ones."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    QStandardPaths.setTestModeEnabled(False)


@pytest.fixture
def graph() -> Graph:
    """x (2 inputs) -> h (4 tanh) -> out (1 sigmoid), connected densely as x-h and h-out."""
    g = Graph()
    g.add_layer(Layer("x", "input", (2,), position=(0, 0)))
    g.add_layer(Layer("h", "neurons", (4,), activation="tanh", position=(220, 0)))
    g.add_layer(Layer("out", "neurons", (1,), activation="sigmoid", position=(440, 0)))
    g.connect("x", "h", connection_id="x-h")
    g.connect("h", "out", connection_id="h-out")
    return g


@pytest.fixture
def stack(qapp):
    s = QUndoStack()
    yield s
    s.clear()

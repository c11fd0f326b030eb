"""The About dialog shows the versions NN Designer runs on and copies them for a bug report."""
import platform
import subprocess
import sys

import numpy
import PySide6
import torch
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QApplication, QLabel

import designer
from designer.ui.about import AboutDialog


def test_about_dialog_shows_the_versions_of_the_app_python_qt_and_torch(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)

    assert dialog.objectName() == "about_dialog"
    shown = "\n".join(label.text() for label in dialog.findChildren(QLabel))
    for version in (designer.__version__, platform.python_version(), PySide6.__version__, qVersion(),
                    torch.__version__, numpy.__version__):
        assert version in shown
    assert "CPU only" in shown or "CUDA" in shown or "MPS" in shown


def test_copy_puts_every_version_on_the_clipboard(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.clipboard().clear()

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)

    copied = QApplication.clipboard().text()
    lines = dict(line.split(": ", 1) for line in copied.strip().splitlines())
    assert lines["NN Designer"].startswith(designer.__version__)
    assert lines["Python"].startswith(platform.python_version())
    assert lines["PySide6"] == PySide6.__version__
    assert lines["Qt"].startswith(qVersion())
    assert lines["torch"].startswith(torch.__version__)
    assert dialog.copy_button.text() == "Copied"


def test_close_button_closes_the_dialog(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_importing_the_dialog_does_not_import_torch():
    # The window imports its menus' modules before it paints, and torch must load only after that.
    code = "import sys, designer.ui.about; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

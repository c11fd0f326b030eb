"""The About dialog: the versions of NN Designer and of everything it runs on, with a button to copy them.

A bug report is only as good as the versions it names, so the dialog lists the app, Python, PySide6 and the
Qt it runs, torch (with its device support), numpy and pyqtgraph, and the operating system, and copies
them as plain text. torch is imported when the dialog opens, never when this module is imported: the
window must paint before torch loads.
"""
from __future__ import annotations

import platform
import sys
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, Slot, qVersion
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

import designer

APP_ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "app" / "nn-designer.svg"


def torch_description() -> str:
    """torch's version and what it can compute on, e.g. ``2.13.0+cpu (CPU only)``."""
    try:
        import torch
    except Exception as error:  # a broken install must not stop the dialog that helps report it
        return f"not available ({type(error).__name__}: {error})"
    devices = []
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        devices.append(f"CUDA {torch.version.cuda}, {count} GPU{'s' if count != 1 else ''}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("Apple MPS")
    return f"{torch.__version__} ({', '.join(devices) if devices else 'CPU only'})"


def _module_version(name: str) -> str:
    try:
        module = __import__(name)
    except Exception:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def versions() -> dict[str, str]:
    """Everything a bug report needs, in the order the dialog shows it (imports torch)."""
    frozen = " (bundled)" if getattr(sys, "frozen", False) else ""
    return {
        "NN Designer": designer.__version__ + frozen,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "PySide6": pyside_version,
        "Qt": qVersion(),
        "torch": torch_description(),
        "numpy": _module_version("numpy"),
        "pyqtgraph": _module_version("pyqtgraph"),
        "Operating system": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


def version_report(values: dict[str, str] | None = None) -> str:
    """The versions as plain text lines, ``name: version``, ready to paste into an issue."""
    values = versions() if values is None else values
    return "\n".join(f"{name}: {value}" for name, value in values.items()) + "\n"


class AboutDialog(QDialog):
    """Shows what NN Designer is and the versions it runs on; Copy puts them on the clipboard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About NN Designer")
        self.values = versions()

        icon = QLabel()
        icon.setPixmap(QIcon(str(APP_ICON)).pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<h2>NN Designer {designer.__version__}</h2>"
                       "<p>Draw a neural network, train it with PyTorch and watch it learn.</p>")
        title.setWordWrap(True)

        form = QFormLayout()
        self.value_labels: dict[str, QLabel] = {}
        for name, value in self.values.items():
            label = QLabel(value)
            # Selectable, so a user can copy one line as well as all of them.
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setObjectName(f"version_{name.lower().replace(' ', '_')}")
            self.value_labels[name] = label
            form.addRow(f"{name}:", label)

        text = QVBoxLayout()
        text.addWidget(title)
        text.addLayout(form)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy Versions")
        self.copy_button.setObjectName("copy_versions")
        self.copy_button.setToolTip("Copy these versions to the clipboard, for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_versions)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)

    @Slot()
    def copy_versions(self) -> None:
        """Put the version report on the clipboard and say so on the button."""
        QGuiApplication.clipboard().setText(version_report(self.values))
        self.copy_button.setText("Copied")

"""The few questions and messages the window puts to the user, as plain functions.

Each returns a plain value, so the window's logic reads simply and tests can replace one
function with a recorder while every other widget stays real.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILE_FILTER = "NN Designer projects (*.nnd)"
MODEL_FILTER = "ONNX models (*.onnx)"


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """Tell the user something went wrong and what to do about it (no traceback)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("error_message")
    box.exec()


def show_info(parent: QWidget | None, title: str, message: str) -> None:
    """Tell the user what was done (a job written, with the command that runs it); the text can be selected."""
    box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("info_message")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


def ask_save_changes(parent: QWidget | None, name: str) -> str:
    """``"save"``, ``"discard"`` or ``"cancel"``: what to do with unsaved changes to ``name``."""
    box = QMessageBox(parent)
    box.setObjectName("save_changes_question")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to “{name}”?")
    box.setInformativeText("Your changes will be lost if you don't save them.")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    if answer == QMessageBox.StandardButton.Discard:
        return "discard"
    return "cancel"


def ask_open_path(parent: QWidget | None, folder: str) -> str | None:
    """A project file the user picked to open, or ``None``."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open project", folder, f"{FILE_FILTER};;All files (*)")
    return path or None


def ask_import_path(parent: QWidget | None, folder: str) -> str | None:
    """A model file (ONNX) the user picked to import as a design, or ``None``."""
    path, _ = QFileDialog.getOpenFileName(parent, "Import model", folder, f"{MODEL_FILTER};;All files (*)")
    return path or None


def ask_job_folder(parent: QWidget | None, folder: str) -> str | None:
    """File › Export › Training Job…: the folder to write the job into (a new or empty one), or ``None``."""
    path = QFileDialog.getExistingDirectory(parent, "Export training job into folder", folder)
    return path or None


def ask_run_folder(parent: QWidget | None, folder: str) -> str | None:
    """File › Import Run…: a finished training job's folder (the one holding ``result.nnd``), or ``None``."""
    path = QFileDialog.getExistingDirectory(parent, "Import run: the training job's folder", folder)
    return path or None


def ask_save_path(parent: QWidget | None, suggested: str) -> str | None:
    """Where the user wants the project saved (with the ``.nnd`` suffix), or ``None``."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save project as", suggested, FILE_FILTER)
    if not path:
        return None
    if not path.lower().endswith(".nnd"):
        path += ".nnd"
    return path


def ask_recovery(parent: QWidget | None, entries: list[dict]) -> dict[str, str]:
    """What to do with each design a crash left unsaved: ``{id: "recover" | "discard" | "keep"}``.

    ``entries`` are :meth:`designer.ui.recovery.Recoverable.entry` dicts (id, name, time, changes, original_path).
    """
    from .recovery import RecoveryDialog  # the recovery module asks through this one: import it when asked

    dialog = RecoveryDialog(entries, parent)
    dialog.exec()
    return dialog.answers()

"""File › Export › Training Job…: the project written as a ``torchrun`` job folder, off the GUI thread.

:func:`designer.training.jobs.write_job` loads the project's data (a big table may take a while), compiles the
design and writes the folder; :class:`JobWriter` does that on a ``QThread`` of its own, on a copy of the project
as it was when asked (unsaved edits included), so that the window stays usable and an edit made meanwhile does
not reach the job half-way. The window learns the outcome from ``finished`` (queued to the GUI thread): ``files``
on success, else ``error`` (a message for the user) and ``is_user_error``.
"""
from __future__ import annotations

import copy
import dataclasses
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread

#: how long closing the window waits for a job being written (it cannot be interrupted half-way)
JOIN_TIMEOUT_MS = 120_000


def project_copy(project: Any, graph: Any) -> Any:
    """A copy of ``project`` with ``graph`` (the window's, copied too) that shares nothing with the window."""
    return dataclasses.replace(
        project, graph=graph.copy(), dataset=copy.deepcopy(project.dataset),
        training=copy.deepcopy(project.training), history=copy.deepcopy(project.history),
        weights=None if project.weights is None else {k: np.array(v, copy=True) for k, v in project.weights.items()},
        extra=copy.deepcopy(project.extra), other_entries=dict(project.other_entries),
        trained_design=copy.copy(project.trained_design))


def describe_failure(exc: BaseException) -> tuple[str, bool]:
    """The message for the user, and whether it is about their project or folder (not a bug in the app)."""
    if isinstance(exc, ValueError) and type(exc).__module__.startswith("designer"):
        return str(exc), True  # JobError, DataError, CompileError, TrainingError, ProjectError ...
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}", True
    traceback.print_exception(exc)
    return f"The job could not be written because of an internal error ({type(exc).__name__}: {exc}).", False


def first_commands(readme: str, limit: int = 2) -> list[str]:
    """The first commands of the job's ``README.md`` (its first ``sh`` block, comments dropped)."""
    commands: list[str] = []
    inside = False
    for line in readme.splitlines():
        if line.strip().startswith("```"):
            if inside:
                break
            inside = line.strip() in ("```sh", "```bash", "```shell")
            continue
        if inside:
            command = line.split("#", 1)[0].strip()
            if command:
                commands.append(command)
                if len(commands) == limit:
                    break
    return commands


class JobWriter(QThread):
    """Writes one job folder (:func:`designer.training.jobs.write_job`) on its own thread; see the module."""

    def __init__(self, project: Any, folder: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("job_writer")
        self.project = project
        self.folder = Path(folder)
        self.files: list[Path] | None = None
        self.error: str | None = None
        self.is_user_error = True

    def run(self) -> None:  # on the thread
        try:
            from designer.training.jobs import write_job  # the engine (torch): loaded when a job is written

            self.files = write_job(self.project, self.folder)
        except Exception as exc:  # a thread must never take the app down: report it
            self.error, self.is_user_error = describe_failure(exc)

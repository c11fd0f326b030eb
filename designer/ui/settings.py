"""What the window remembers between sessions (QSettings): recent files, geometry, the last folder.

Everything goes through :func:`app_settings`, so tests can redirect it with ``QSettings.setPath``
and never touch the real user's settings.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION = "NN Designer"
APPLICATION = "NN Designer"
MAX_RECENT_FILES = 10

_RECENT = "files/recent"
_LAST_FOLDER = "files/last_folder"
_GEOMETRY = "window/geometry"
_STATE = "window/state"


def app_settings() -> QSettings:
    """The application's settings store (INI format, so that tests can point it at a folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def _string_list(value) -> list[str]:
    # QSettings gives back a str for a one-element list and None for nothing.
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def recent_files() -> list[str]:
    """Recently opened or saved files, newest first; files that no longer exist are dropped."""
    settings = app_settings()
    files = _string_list(settings.value(_RECENT))
    existing = [f for f in files if os.path.isfile(f)]
    if existing != files:
        settings.setValue(_RECENT, existing)
    return existing


def add_recent_file(path: str | os.PathLike) -> list[str]:
    """Put ``path`` first in the recent files (once), keeping at most :data:`MAX_RECENT_FILES`."""
    path = str(Path(path).resolve())
    files = [f for f in recent_files() if f != path]
    files.insert(0, path)
    del files[MAX_RECENT_FILES:]
    settings = app_settings()
    settings.setValue(_RECENT, files)
    settings.setValue(_LAST_FOLDER, str(Path(path).parent))
    return files


def clear_recent_files() -> None:
    app_settings().setValue(_RECENT, [])


def documents_folder() -> str:
    """Where a new or copied project is saved unless the user picks elsewhere."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if not folder:
        return str(Path.home())
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)  # a fresh account may not have one yet
    except OSError:
        return str(Path.home())
    return folder


def remember_folder(path: str | os.PathLike) -> None:
    """The folder of a file the user just opened (one that is no project: an imported model), for the next dialog."""
    app_settings().setValue(_LAST_FOLDER, str(Path(path).resolve().parent))


def last_folder() -> str:
    """The folder of the last file opened or saved, else the user's documents."""
    folder = app_settings().value(_LAST_FOLDER)
    if isinstance(folder, str) and os.path.isdir(folder):
        return folder
    return documents_folder()


def save_window_layout(geometry: QByteArray, state: QByteArray) -> None:
    settings = app_settings()
    settings.setValue(_GEOMETRY, geometry)
    settings.setValue(_STATE, state)


def window_layout() -> tuple[QByteArray | None, QByteArray | None]:
    """The saved window geometry and dock/toolbar state, or ``None`` where there is none."""
    settings = app_settings()
    geometry, state = settings.value(_GEOMETRY), settings.value(_STATE)
    return (geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None)


_AUTOSAVE_DELAY = "autosave/delay_ms"
#: idle time after the last change before the design is written to its recovery file
DEFAULT_AUTOSAVE_DELAY_MS = 3000


def autosave_delay_ms() -> int:
    """Milliseconds of idle time before an unsaved design is written to its recovery file (at least 50)."""
    value = app_settings().value(_AUTOSAVE_DELAY)
    try:
        return max(50, int(value)) if value is not None else DEFAULT_AUTOSAVE_DELAY_MS
    except (TypeError, ValueError):
        return DEFAULT_AUTOSAVE_DELAY_MS


def recovery_folder() -> Path:
    """Where unsaved designs are autosaved: ``<user data>/NN Designer/NN Designer/recovery``.

    Built from the generic data folder and the fixed organisation and application names rather than
    ``AppDataLocation``, so that it does not depend on the names a QApplication was given: a test process and
    the app it starts agree on it. On Linux and macOS it is the same folder ``AppDataLocation`` gives.
    """
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    if not base:
        base = str(Path.home() / ".local" / "share")
    return Path(base) / ORGANIZATION / APPLICATION / "recovery"

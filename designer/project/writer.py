"""Saving an ``.nnd`` file: ``project.json`` in a stable form, weights, history, atomically.

The whole archive is encoded in memory before the disk is touched, so a project that cannot
be written (a value JSON cannot hold, a weight that is not numbers) leaves the previous file
as it was; the write itself is atomic (see :mod:`designer.project.archive`). Unknown entries
are the exception: they are copied, in chunks, from the file they were read from.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import designer

from . import archive, jsonfile, weights
from .model import Project, ProjectError
from .reader import FORMAT, FORMAT_VERSION, KNOWN_ENTRIES, KNOWN_KEYS

#: Weights are stored, not deflated: trained float weights shrink by about 7% under deflate,
#: which costs about 35 ms per MB to save; every reader of ZIP reads stored entries.
WEIGHTS_COMPRESSION = zipfile.ZIP_STORED


def project_to_dict(project: Project, *, dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``project.json``, keys in the spec's order, unknown top-level keys last.

    ``dataset`` replaces the project's dataset block (the writer passes it as seen from the new folder).
    Raises :class:`ProjectError` naming a field that a JSON file cannot hold.
    """
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "app_version": designer.__version__,
        "name": project.name,
        "description": project.description,
        "graph": project.graph.to_dict(),
        "dataset": project.dataset if dataset is None else dataset,
        "training": project.training,
    }
    for key, value in project.extra.items():
        if key not in KNOWN_KEYS:
            document[key] = value
    for key in ("name", "description"):
        if not isinstance(document[key], str):
            raise ProjectError(f"the project's {key} must be text, got {document[key]!r}")
    for key in ("dataset", "training"):
        if not isinstance(document[key], dict):
            raise ProjectError(f"the project's {key} block must be a dict, got {document[key]!r}")
    try:
        return jsonfile.plain(document, "project")
    except jsonfile.JsonProblem as exc:
        raise ProjectError(str(exc)) from exc
    except RecursionError:
        raise ProjectError("the project holds values nested too deeply to write") from None


def write_project(project: Project, path: str | os.PathLike, *, max_bytes: int | None = None) -> None:
    """Save ``project`` to ``path`` atomically and set ``project.path``.

    Raises :class:`ProjectError` naming the path; the previous file is then left intact.
    ``max_bytes`` is the limit on the unpacked size (default: what :func:`read_project` accepts).
    """
    path = Path(path)
    limit = archive.MAX_UNCOMPRESSED_BYTES if max_bytes is None else max_bytes
    dataset = dataset_seen_from(project, path)
    try:
        entries = _entries(project, dataset)
    except (ProjectError, jsonfile.JsonProblem, weights.WeightsProblem) as exc:
        raise ProjectError(f"Cannot save {path}: {exc}", path) from exc
    except RecursionError:
        raise ProjectError(f"Cannot save {path}: it holds values nested too deeply to write", path) from None
    total = sum(archive.content_size(data) for _, data, _ in entries)
    if total > limit:
        raise ProjectError(f"Cannot save {path}: the project takes {total:,} bytes, more than the {limit:,} "
                           f"a project file may hold (it could not be opened again)", path)
    try:
        archive.write_atomically(path, entries)
    except archive.ArchiveProblem as exc:  # an unknown entry kept in the file it was read from: gone or changed
        raise ProjectError(f"Cannot save {path}: {exc}", path) from exc
    except OSError as exc:
        raise ProjectError(f"Cannot save {path}: {exc.strerror or exc}", path) from exc
    project.dataset = dataset
    project.path = path


def dataset_seen_from(project: Project, path: str | os.PathLike) -> dict[str, Any]:
    """The project's dataset block for a file saved at ``path``.

    A relative data ``path`` is relative to the project file's folder (spec), so saving into another folder
    ("Save As", ``nn-designer train --out``) rewrites it to lead to the same data from there; otherwise the
    saved project could not find its data. Only data that is there is followed: a path that leads nowhere from
    the old folder is kept as written (a script may set it for the folder it saves into). The block itself is
    returned when nothing changes.
    """
    raw = project.dataset.get("path") if isinstance(project.dataset, dict) else None
    if project.path is None or not isinstance(raw, str) or not raw.strip() or raw.startswith("~"):
        return project.dataset
    if Path(raw).is_absolute():
        return project.dataset
    old, new = Path(project.path).resolve().parent, Path(path).resolve().parent
    if old == new:
        return project.dataset
    data = old / raw
    if not data.exists():
        return project.dataset
    try:
        moved = Path(os.path.relpath(data, new)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path leads there
        moved = str(data)
    return {**project.dataset, "path": moved}


def _entries(project: Project, dataset: dict[str, Any]) -> list[tuple[str, archive.Content, int]]:
    entries = [
        ("mimetype", archive.MIMETYPE, zipfile.ZIP_STORED),  # first and stored, so `file` can tell
        ("project.json", jsonfile.dump(project_to_dict(project, dataset=dataset)), zipfile.ZIP_DEFLATED),
    ]
    fitting, _stale = project.fitting_weights()  # weights made for a function a layer no longer has stay out
    if fitting is not None:
        entries.append(("weights.safetensors", weights.encode_weights(fitting), WEIGHTS_COMPRESSION))
    if project.history:
        runs = jsonfile.plain(project.history, "history", non_finite_as_null=True)
        # compact: curves are long lists of numbers, and indenting puts each number on a line
        entries.append(("history.json", jsonfile.dump({"runs": runs}, indent=None), zipfile.ZIP_DEFLATED))
    for name, data in project.other_entries.items():
        problem = archive.unsafe_name_problem(name)
        if problem or name in KNOWN_ENTRIES or not name or name.endswith("/"):
            raise ProjectError(f"the extra archive entry {name!r} cannot be written")
        kept = data if isinstance(data, archive.ArchiveMember) else bytes(data)  # left in its file: copied on write
        entries.append((name, kept, zipfile.ZIP_DEFLATED))
    return entries

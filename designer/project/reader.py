"""Opening an ``.nnd`` file: every check of the spec, each refusal naming the file and the problem.

Nothing is extracted to disk and the file is only ever opened for reading, so a refused file
is left exactly as it was. Entries this version does not know are not read at all: they stay in
the file (:class:`archive.ArchiveMember`) until a save copies them. Opening a file also removes the
temporaries that writers killed mid-save left beside it (:func:`archive.remove_stale_temporaries`).
The ``mimetype`` entry must hold exactly the spec's bytes; it is
accepted anywhere in the archive (the writer always puts it first, stored, for ``file``).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from designer.graph import Graph

from . import archive, jsonfile, weights
from .model import DEFAULT_DATASET, DEFAULT_TRAINING, Project, ProjectError

FORMAT = "nnd"
FORMAT_VERSION = 1
#: the entries this version reads; any other is kept, unread, in ``Project.other_entries``
KNOWN_ENTRIES = ("mimetype", "project.json", "weights.safetensors", "history.json")
KNOWN_KEYS = ("format", "version", "app_version", "name", "description", "graph", "dataset", "training")


#: fields of the dataset and training blocks that name an entry of one of the app's tables
_NAMES = {"dataset": ("kind", "name"), "training": ("loss", "optimizer", "device")}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Refused(Exception):
    """A problem found while reading; :func:`read_project` names the file."""


def read_project(path: str | os.PathLike, *, max_bytes: int | None = None) -> Project:
    """Open the ``.nnd`` file at ``path``.

    ``max_bytes`` lowers the limit on what the archive may unpack to (default
    :data:`archive.MAX_UNCOMPRESSED_BYTES`, the spec's 2 GiB). Raises :class:`ProjectError`.
    """
    path = Path(path)
    limit = archive.MAX_UNCOMPRESSED_BYTES if max_bytes is None else max_bytes
    try:
        archive.remove_stale_temporaries(path)
        entries = archive.read_entries(path, limit, wanted=KNOWN_ENTRIES)
        project = _project_from_entries(entries)
    except (archive.ArchiveProblem, jsonfile.JsonProblem, weights.WeightsProblem, _Refused) as exc:
        raise ProjectError(f"Cannot open {path}: {exc}", path) from exc
    except FileNotFoundError:
        raise ProjectError(f"Cannot open {path}: there is no such file", path) from None
    except IsADirectoryError:
        raise ProjectError(f"Cannot open {path}: it is a folder, not a project file", path) from None
    except PermissionError:
        raise ProjectError(f"Cannot open {path}: permission denied", path) from None
    except OSError as exc:
        raise ProjectError(f"Cannot open {path}: {exc.strerror or exc}", path) from exc
    except MemoryError:
        raise ProjectError(f"Cannot open {path}: there is not enough memory to read it", path) from None
    project.path = path
    return project


def _project_from_entries(entries: dict[str, Any]) -> Project:
    if "project.json" not in entries:
        raise _Refused("the archive has no 'project.json' entry")
    document = jsonfile.load(entries["project.json"], "project.json")
    project = _project_from_json(document)
    if "weights.safetensors" in entries:
        project.store_weights(weights.decode_weights(entries["weights.safetensors"]))
    if "history.json" in entries:
        project.history = _history_from_json(jsonfile.load(entries["history.json"], "history.json"))
    project.other_entries = {name: data for name, data in entries.items() if name not in KNOWN_ENTRIES}
    return project


def _project_from_json(document: Any) -> Project:
    if not isinstance(document, dict):
        raise _Refused("project.json must hold a JSON object")
    fmt = document.get("format")
    if fmt != FORMAT:
        raise _Refused(f"project.json says format {fmt!r}, not {FORMAT!r}: it is not an NN Designer project")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Refused(f"project.json has an invalid version {version!r} (a whole number from 1 is expected)")
    if version > FORMAT_VERSION:
        raise _Refused(f"it was made by a newer NN Designer (file format version {version}; this app reads "
                       f"version {FORMAT_VERSION}); update the app to open it")
    name = document.get("name", "Untitled")
    description = document.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise _Refused(f"project.json: {key!r} must be text, got {value!r}")
    if "graph" not in document:
        raise _Refused("project.json has no 'graph' (the design)")
    try:
        graph = Graph.from_dict(document["graph"])
    except (ValueError, TypeError) as exc:  # GraphError, or a field of a type nobody expects there
        raise _Refused(f"the design in project.json is malformed: {exc}") from exc
    blocks = {}
    for key, default in (("dataset", DEFAULT_DATASET), ("training", DEFAULT_TRAINING)):
        value = document.get(key, default)
        if not isinstance(value, dict):
            raise _Refused(f"project.json: {key!r} must be a JSON object, got {value!r}")
        for field in _NAMES.get(key, ()):
            # names looked up in the app's tables: a list or an object there is not a name of anything
            if field in value and value[field] is not None and not isinstance(value[field], str):
                raise _Refused(f"project.json: {key} {field!r} must be text, got {_shown(value[field])}")
        blocks[key] = dict(value) if value is not default else copy.deepcopy(default)
    return Project(
        name=name, description=description, graph=graph, dataset=blocks["dataset"], training=blocks["training"],
        extra={key: value for key, value in document.items() if key not in KNOWN_KEYS},
    )


def _history_from_json(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise _Refused('history.json is malformed: it must hold {"runs": [...]}')
    for index, run in enumerate(document["runs"]):
        if not isinstance(run, dict):
            raise _Refused(f"history.json is malformed: run {index + 1} is not a JSON object")
    return document["runs"]

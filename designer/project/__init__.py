"""Reading and writing ``.nnd`` project files (see ``docs/file-format.md``).

A project file is a ZIP archive: ``mimetype`` (stored, first), ``project.json``, and optionally
``weights.safetensors`` and ``history.json``. numpy and safetensors only; nothing is ever
unpickled or extracted to disk.

What survives a re-save that this version does not understand: unknown top-level keys of
``project.json`` (``Project.extra``), unknown keys inside layers, connections and their
connectivity (kept by :mod:`designer.graph`), inside ``dataset`` and ``training`` (kept as plain
dicts), and unknown archive entries (``Project.other_entries``, written back unchanged). Not
kept: ``app_version`` (rewritten from this app's version) and keys of ``history.json`` other
than ``runs``. Non-finite losses in history (a diverged run) are written as ``null``.

``project.json`` is deflated and indented; ``history.json`` is deflated and compact;
``weights.safetensors`` is stored (float weights barely deflate, and storing keeps saves fast).
Saving the same project twice gives byte-identical files. ``read_project(path, max_bytes=...)``
and ``write_project(..., max_bytes=...)`` lower the 2 GiB limit (tests, tools).
"""
from .archive import MAX_UNCOMPRESSED_BYTES, MIMETYPE
from .model import DEFAULT_DATASET, DEFAULT_TRAINING, Project, ProjectError
from .reader import FORMAT_VERSION, read_project
from .writer import project_to_dict, write_project

__all__ = [
    "DEFAULT_DATASET", "DEFAULT_TRAINING", "FORMAT_VERSION", "MAX_UNCOMPRESSED_BYTES", "MIMETYPE", "Project",
    "ProjectError", "project_to_dict", "read_project", "write_project",
]

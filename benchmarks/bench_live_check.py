"""The window's live check after an edit: the whole check of ``nn-designer check`` (data, compile, loss)
against the design-only validation the window ran before, in the same process.

For each shipped example and for a large dense design (784 -> 1024 -> 1024 -> 10 on a CSV-free built-in
stand-in) it prints the median time of ``project_problems`` with the data already loaded (what an edit
costs once the data is cached), the design-only ``validate``, and their ratio. The data loads once per
dataset change; that cost is printed apart.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from timing import median_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.data.cache import DatasetCache  # noqa: E402
from designer.graph import Graph, Layer, validate  # noqa: E402
from designer.project import Project, read_project  # noqa: E402
from designer.training.checks import project_problems  # noqa: E402


def big_project() -> Project:
    graph = Graph()
    sizes = [("x", "input", (16, 16)), ("h1", "neurons", (1024,)), ("h2", "neurons", (1024,)),
             ("out", "neurons", (4,))]
    for i, (lid, kind, shape) in enumerate(sizes):
        graph.add_layer(Layer(lid, kind, shape, activation="softmax" if lid == "out" else "relu",
                              position=(i * 200, 0)))
    for a, b in zip(sizes, sizes[1:]):
        graph.connect(a[0], b[0], connection_id=f"{a[0]}-{b[0]}")
    project = Project(name="big", graph=graph)
    project.dataset = {"kind": "builtin", "name": "shapes", "samples": 1000}
    return project


def main() -> None:
    projects = [(path.stem, read_project(path)) for path in sorted((ROOT / "resources" / "examples").glob("*.nnd"))]
    projects.append(("dense 256-1024-1024-4", big_project()))
    print(f"{'design':<24} {'params':>10} {'load data':>10} {'live check':>11} {'design only':>12} {'ratio':>7}")
    for name, project in projects:
        cache = DatasetCache()
        start = time.perf_counter()
        project_problems(project, load=cache.load)  # loads the data once, as after a dataset change
        first = time.perf_counter() - start
        live = median_seconds(lambda: project_problems(project, load=cache.load), 7)
        quick = median_seconds(lambda: validate(project.graph, (2,)), 7)
        print(f"{name:<24} {project.graph.parameter_count():>10,} {first * 1000:>8.1f}ms {live * 1000:>9.2f}ms "
              f"{quick * 1000:>10.3f}ms {live / quick:>7.0f}x")


if __name__ == "__main__":
    main()

"""Saving and opening a project with 1M float32 weights, against plain safetensors files.

The baseline writes and reads the same arrays with ``safetensors.numpy.save_file`` /
``load_file``, measured in the same process. Our save also builds the ZIP archive, writes
project.json and fsyncs (the baseline does not fsync); our open checks the archive and reads
it into memory. Prints medians of repeats and their ratios.

    .venv/bin/python benchmarks/bench_project.py
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from designer.graph import Graph, Layer
from designer.project import Project, read_project, write_project
from timing import median_seconds as _median_seconds

REPEATS = 15


def median_seconds(action, repeats: int = REPEATS) -> float:
    return _median_seconds(action, repeats)


def save_and_sync(weights, path: Path) -> None:
    """The baseline made as durable as our save: the same file, flushed to the disk."""
    save_file(weights, str(path))
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def million_weight_project() -> Project:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (1000,)))
    graph.add_layer(Layer("h", "neurons", (1000,), "relu"))
    graph.add_layer(Layer("out", "neurons", (10,), "softmax"))
    graph.connect("x", "h")
    graph.connect("h", "out")
    rng = np.random.default_rng(0)
    project = Project.new("bench")
    project.graph = graph
    project.weights = {
        "x-h.weight": (rng.standard_normal((1000, 1000)) * 0.03).astype(np.float32),
        "h.bias": np.zeros(1000, np.float32),
        "h-out.weight": (rng.standard_normal((10, 1000)) * 0.03).astype(np.float32),
        "out.bias": np.zeros(10, np.float32),
    }
    project.history = [{"id": "run-1", "status": "completed", "epochs": list(range(1, 201)),
                        "train_loss": rng.random(200).tolist(), "val_loss": rng.random(200).tolist()}]
    return project


def main() -> None:
    project = million_weight_project()
    count = sum(a.size for a in project.weights.values())
    with tempfile.TemporaryDirectory() as folder:
        nnd, plain = Path(folder) / "bench.nnd", Path(folder) / "bench.safetensors"
        write_project(project, nnd)
        save_file(project.weights, str(plain))

        save_ours = median_seconds(lambda: write_project(project, nnd))
        save_base = median_seconds(lambda: save_file(project.weights, str(plain)))
        save_base_synced = median_seconds(lambda: save_and_sync(project.weights, plain))
        load_ours = median_seconds(lambda: read_project(nnd))
        load_base = median_seconds(lambda: load_file(str(plain)))
        size_ours, size_base = nnd.stat().st_size, plain.stat().st_size

    print(f"{count:,} float32 weights; medians of {REPEATS} repeats")
    print(f"save  write_project {save_ours * 1e3:7.2f} ms   save_file {save_base * 1e3:7.2f} ms   "
          f"ratio {save_ours / save_base:5.2f}  (ours fsyncs, the baseline does not)")
    print(f"save  write_project {save_ours * 1e3:7.2f} ms   save_file + fsync {save_base_synced * 1e3:7.2f} ms   "
          f"ratio {save_ours / save_base_synced:5.2f}")
    print(f"open  read_project  {load_ours * 1e3:7.2f} ms   load_file {load_base * 1e3:7.2f} ms   "
          f"ratio {load_ours / load_base:5.2f}")
    print(f"size  .nnd {size_ours:,} bytes   .safetensors {size_base:,} bytes   "
          f"ratio {size_ours / size_base:5.3f}")


if __name__ == "__main__":
    main()

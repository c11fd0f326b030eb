"""How long datasets take to build: each built-in at its default size, and a 100,000-row CSV file.

The CSV figure is a ratio against ``numpy.loadtxt`` reading the same file in the same process (loadtxt only
parses numbers; load_dataset also checks every value, infers the task, splits and standardises).
Medians of repeats, because the machine is shared and noisy; the CSV baseline and load_dataset alternate
within each repeat and the ratio is the median of the per-repeat ratios, so a burst of load hits both.
Run: ``.venv/bin/python benchmarks/bench_data.py``.
"""
from __future__ import annotations

import csv
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from designer.data import BUILTIN_DATASETS, load_dataset
from designer.data.builtin import CATALOGUE
from timing import median_seconds

ROWS = 100_000


def paired_ratio(baseline, ours, repeats: int) -> tuple[float, float, float]:
    """Median seconds of each and the median of their per-repeat ratios, the two timed back to back."""
    base_times, our_times = [], []
    for _ in range(repeats):
        base_times.append(median_seconds(baseline, 1))
        our_times.append(median_seconds(ours, 1))
    ratios = [o / b for o, b in zip(our_times, base_times)]
    return statistics.median(base_times), statistics.median(our_times), statistics.median(ratios)


def write_csv(path: Path, labels: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 4))
    classes = np.array(["alpha", "beta", "gamma"]) if labels == "text" else np.arange(3).astype(str)
    y = classes[rng.integers(0, 3, ROWS)]
    with open(path, "w") as handle:
        handle.write("x1,x2,x3,x4,label\n")
        handle.writelines(f"{a:.6f},{b:.6f},{c:.6f},{d:.6f},{t}\n" for (a, b, c, d), t in zip(x, y))


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def main() -> int:
    load_dataset({"kind": "builtin", "name": "xor"})  # import torch once, outside the timings
    print(f"{'built-in':<12}{'samples':>9}{'median ms':>12}")
    for name in BUILTIN_DATASETS:
        seconds = median_seconds(lambda: load_dataset({"kind": "builtin", "name": name}), repeats=7)
        print(f"{name:<12}{CATALOGUE[name].samples:>9}{seconds * 1000:>12.2f}")
    seconds = median_seconds(lambda: load_dataset({"kind": "builtin", "name": "shapes", "samples": 2000}), 7)
    print(f"{'shapes':<12}{2000:>9}{seconds * 1000:>12.2f}")

    with tempfile.TemporaryDirectory() as folder:
        print(f"\n{ROWS:,}-row CSV, 4 numeric features + label, ratio = load_dataset / numpy.loadtxt")
        for labels in ("numeric", "text"):
            path = Path(folder) / f"{labels}.csv"
            write_csv(path, labels)
            baseline_cols = (0, 1, 2, 3, 4) if labels == "numeric" else (0, 1, 2, 3)
            baseline, ours, ratio = paired_ratio(
                lambda: np.loadtxt(path, delimiter=",", skiprows=1, usecols=baseline_cols),
                lambda: load_dataset({"kind": "csv", "path": str(path)}), repeats=9)
            print(f"  labels {labels:<8} loadtxt {baseline * 1000:7.1f} ms   load_dataset {ours * 1000:7.1f} ms"
                  f"   ratio {ratio:5.2f}")
        # For scale: only splitting the lines into lists of strings, what any csv-module reader must do.
        _, floor, ratio = paired_ratio(lambda: np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 2, 3)),
                                       lambda: read_rows(path), repeats=9)
        print(f"  (plain list(csv.reader(file)), no checks or conversion: {floor * 1000:.1f} ms, "
              f"ratio {ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

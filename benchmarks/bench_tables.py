"""Tables at scale: loading a 1M-row CSV, its peak memory, and training streamed from the cache.

Figures, each a ratio measured in this run on this machine (20 numeric features + a 0/1 label):

- load: ``load_dataset`` of a 1,000,000-row CSV (a fresh cache folder each time, so the text is parsed every
  time) against ``pyarrow.csv.read_csv`` of the same file (target at most 1.5x), and against
  ``pandas.read_csv`` when pandas is installed (target below 1x; skipped otherwise: pandas is no dependency);
  medians of per-repeat ratios, timed back to back: once with the memory each reader leaves behind given back
  before the next is timed, once without (pyarrow's pool then reads into memory it kept, and the next reader
  pays for its deferred release).
- memory: the peak resident memory a child process gains while loading that file, against the size of the
  float32 array it loads (target at most 1.5x).
- streaming: samples per second of one epoch over a 2,000,000-row table streamed from the cache
  (``NN_DESIGNER_MEMORY_BUDGET`` forced below its size) against the same table held in memory, each in a
  child process of its own (target at least 0.8x).
- ``--rows 20000000``: ``nn-designer train --epochs 1`` on a table that size (about 4 GB of CSV, written under
  /tmp and deleted afterwards), reporting its wall time, peak resident memory (target under 2 GB) and samples
  per second.

Run: ``.venv/bin/python benchmarks/bench_tables.py [--rows N] [--repeats R]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

FEATURES = 20
PYTHON = sys.executable


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """A CSV of ``rows`` rows: 20 features rounded to 4 decimals and a 0/1 label, written by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(FEATURES)] + ["label"]
    with pacsv.CSVWriter(str(path), pa.schema([(n, pa.float64()) for n in names[:-1]] + [("label", pa.int8())]),
                         write_options=pacsv.WriteOptions(quoting_style="none")) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            x = np.round(rng.normal(size=(n, FEATURES)), 4)
            y = (x[:, 0] + x[:, 1] > 0).astype(np.int8)
            writer.write_table(pa.table([*x.T, y], names=names))


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def load_ratios(path: Path, repeats: int) -> None:
    import pyarrow.csv as pacsv

    from designer.data import load_dataset
    from designer.data.table_read import free_unused_memory

    try:
        import pandas
    except ImportError:
        pandas = None

    def ours():
        with tempfile.TemporaryDirectory() as cache:
            os.environ["NN_DESIGNER_CACHE"] = cache
            load_dataset({"kind": "csv", "path": str(path)})

    def measure(release: bool) -> tuple[list, list, list]:
        # release: what each reader leaves behind is given back before the next one is timed. pyarrow's default
        # pool keeps the ~460 MB of columns it read, and releases them lazily: on the threads whoever reads
        # next uses, who then pays for it. Not released, pyarrow reads again into memory it already holds.
        def timed(action) -> float:
            seconds = _timed(action)
            if release:
                free_unused_memory()
            return seconds

        arrow_t, pandas_t, ours_t = [], [], []
        for _ in range(repeats):
            arrow_t.append(timed(lambda: pacsv.read_csv(path)))
            if pandas is not None:
                pandas_t.append(timed(lambda: pandas.read_csv(path)))
            ours_t.append(timed(ours))
        return arrow_t, pandas_t, ours_t

    ours()  # imports torch and warms the file cache
    print(f"1M-row CSV ({path.stat().st_size / 2**20:.0f} MiB) load, medians of {repeats}, back to back:")
    for release in (True, False):
        arrow_t, pandas_t, ours_t = measure(release)
        print("  each reader starting with the memory the one before left given back:" if release else
              "  each reader leaving what it keeps (pyarrow's pool) to the next:")
        print(f"    pyarrow.csv.read_csv {statistics.median(arrow_t):6.2f} s")
        if pandas is not None:
            print(f"    pandas.read_csv      {statistics.median(pandas_t):6.2f} s")
        print(f"    load_dataset         {statistics.median(ours_t):6.2f} s")
        ratio = statistics.median(o / a for o, a in zip(ours_t, arrow_t))
        print(f"    ratio load_dataset / pyarrow.read_csv  {ratio:5.2f}   (target <= 1.5)")
        if pandas is not None:
            ratio = statistics.median(o / p for o, p in zip(ours_t, pandas_t))
            print(f"    ratio load_dataset / pandas.read_csv   {ratio:5.2f}   (target < 1)")
        else:
            print("    pandas is not installed: the pandas comparison is skipped")
        free_unused_memory()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NN_DESIGNER_CACHE"] = cache
        load_dataset({"kind": "csv", "path": str(path)})
        again = _timed(lambda: load_dataset({"kind": "csv", "path": str(path)}))
        entries = len(os.listdir(cache))
    print(f"  (a second load: {again:.2f} s; {entries} cache entries: a table whose dataset fits in memory is "
          f"read again)")


MEMORY_CHILD = textwrap.dedent("""
    import resource, sys, json
    import numpy, torch, pyarrow, pyarrow.csv
    from designer.data import load_dataset
    load_dataset({"kind": "builtin", "name": "xor"})
    def status(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))
    try:  # Linux: reset the peak to the current size, so the imports' transient peak is not counted either way
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ds = load_dataset({"kind": "csv", "path": sys.argv[1]})
    try:
        peak = status("VmHWM")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = (ds.x_train.numel() + ds.x_val.numel()) * 4
    print(json.dumps({"before": before, "peak": peak, "array": size}))
""")


def memory_ratio(path: Path) -> None:
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([PYTHON, "-c", MEMORY_CHILD, str(path)], capture_output=True, text=True, check=True,
                             env={**os.environ, "NN_DESIGNER_CACHE": cache})
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    grown = figures["peak"] - figures["before"]
    print(f"peak memory while loading it: +{grown / 2**20:.0f} MiB for a float32 array of "
          f"{figures['array'] / 2**20:.0f} MiB: ratio {grown / figures['array']:.2f}   (target <= 1.5)")


TRAIN_CHILD = textwrap.dedent("""
    import json, sys, time, resource
    import torch
    from designer.data import load_dataset
    from designer.graph import Graph, Layer
    from designer.project import DEFAULT_TRAINING, Project
    from designer.training import train_project
    torch.set_num_threads(1)
    graph = Graph()
    graph.add_layer(Layer("x", "input", (20,)))
    graph.add_layer(Layer("h", "neurons", (32,), activation="tanh"))
    graph.add_layer(Layer("out", "neurons", (2,), activation="softmax"))
    graph.connect("x", "h")
    graph.connect("h", "out")
    block = {"kind": "csv", "path": sys.argv[1]}
    load_dataset(block)  # decode (and, when streamed, write the cache) outside the timing
    project = Project(name="bench", graph=graph, dataset=block,
                      training={**DEFAULT_TRAINING, "batch_size": int(sys.argv[2]), "epochs": 1, "seed": 1})
    run = train_project(project, device="cpu")
    print(json.dumps({"samples_per_second": run.samples_per_second, "streamed": load_dataset(block).streamed,
                      "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")


def streaming_ratio(path: Path, repeats: int, batch_size: int) -> None:
    rates = {"memory": [], "streamed": []}
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(repeats):
            for how, budget in (("memory", "8G"), ("streamed", "64M")):
                env = {**os.environ, "NN_DESIGNER_CACHE": cache, "NN_DESIGNER_MEMORY_BUDGET": budget}
                out = subprocess.run([PYTHON, "-c", TRAIN_CHILD, str(path), str(batch_size)], capture_output=True,
                                     text=True, check=True, env=env)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                assert figures["streamed"] == (how == "streamed")
                rates[how].append(figures["samples_per_second"])
    memory, streamed = statistics.median(rates["memory"]), statistics.median(rates["streamed"])
    print(f"training one epoch, batch {batch_size}, 20-32(tanh)-2 design, one thread, medians of {repeats}: in memory "
          f"{memory:,.0f} samples/s, streamed {streamed:,.0f} samples/s: ratio {streamed / memory:.2f}   "
          f"(target >= 0.8)")


def big_run(rows: int, folder: Path) -> None:
    from designer.graph import Graph, Layer
    from designer.project import DEFAULT_TRAINING, Project, read_project, write_project

    path = folder / "big.csv"
    started = time.perf_counter()
    write_table(path, rows)
    print(f"{rows:,}-row CSV written: {path.stat().st_size / 2**30:.1f} GiB in {time.perf_counter() - started:.0f} s")
    graph = Graph()
    graph.add_layer(Layer("x", "input", (FEATURES,)))
    graph.add_layer(Layer("h", "neurons", (32,), activation="tanh"))
    graph.add_layer(Layer("out", "neurons", (2,), activation="softmax"))
    graph.connect("x", "h")
    graph.connect("h", "out")
    project = Project(name="big", graph=graph, dataset={"kind": "csv", "path": "big.csv"},
                      training={**DEFAULT_TRAINING, "batch_size": 256, "epochs": 1, "seed": 1})
    write_project(project, folder / "big.nnd")
    command = shutil.which("nn-designer", path=str(Path(PYTHON).parent)) or "nn-designer"
    measure = textwrap.dedent(f"""
        import resource, subprocess, sys, time
        started = time.perf_counter()
        done = subprocess.run([{command!r}, "train", "--epochs", "1", sys.argv[1], "--out", sys.argv[2]])
        print(done.returncode, time.perf_counter() - started,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    """)
    cache = folder / "cache"
    out = subprocess.run([PYTHON, "-c", measure, str(folder / "big.nnd"), str(folder / "trained.nnd")],
                         capture_output=True, text=True, env={**os.environ, "NN_DESIGNER_CACHE": str(cache)})
    code, seconds, peak = out.stdout.strip().splitlines()[-1].split()
    if code != "0":
        print(out.stderr[-3000:])
        raise SystemExit(f"nn-designer train failed with status {code}")
    run = read_project(folder / "trained.nnd").history[-1]
    samples = rows - int(np.floor(rows * 0.2 + 0.5))  # the training rows of the default split, one epoch
    rate = samples / run["seconds"]
    print(f"nn-designer train --epochs 1 on {rows:,} rows x {FEATURES} features: {float(seconds):.0f} s in all "
          f"(reading, caching and one epoch of {samples:,} samples in {run['seconds']:.0f} s, "
          f"{rate:,.0f} samples/s); peak resident memory {int(peak) / 2**30:.2f} GiB   (target < 2 GiB)")
    shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="also train once on a CSV of this many rows")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stream-rows", type=int, default=2_000_000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        folder = Path(folder)
        million = folder / "million.csv"
        write_table(million, 1_000_000)
        load_ratios(million, args.repeats)
        memory_ratio(million)
        million.unlink()
        if args.stream_rows:
            table = folder / "stream.csv"
            write_table(table, args.stream_rows, seed=1)
            streaming_ratio(table, max(1, args.repeats // 2), args.batch_size)
            table.unlink()
        if args.rows:
            big_run(args.rows, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())

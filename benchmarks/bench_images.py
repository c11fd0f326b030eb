"""How long an image folder takes to load, cold and from the dataset cache, against a plain Pillow loop.

60,000 random 28x28 grey PNGs in 10 class folders (made once under the temporary folder, reused after).
Figures, as ratios measured in one process (the machine is shared and noisy: each pair is timed back to back,
and the ratio is the median of the per-pair ratios):

- first load: ``load_dataset`` with an empty dataset cache (lists, stamps, decodes into a cache entry: on a
  pool of spawned processes, one per core but one, beside this process, for a folder of
  ``PROCESS_MIN_IMAGES`` or more, starting the processes included; checks the entry, cuts the split) / a
  single-threaded Pillow loop (open, convert to L, resize, to a float array). Issue 11 asks for at most 0.6.
  ``--in-process`` times the in-process path too.
- second check: ``nn-designer check`` on a project using the folder, in process, once the cache holds the
  folder / the first ``check`` (empty cache). Issue 11 asks for at most 0.1.

Peak memory (maximum resident set) is measured in a fresh process per case: the Pillow loop keeping its arrays,
the first load, a load from the cache, and the same forced to stream (``NN_DESIGNER_MEMORY_BUDGET`` a quarter of its floats).
Run: ``.venv/bin/python benchmarks/bench_images.py`` (``--images N`` for another folder size).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLASSES = 10
SIDE = 28
DEFAULT_IMAGES = 60_000


def folder_for(images: int) -> Path:
    return Path(tempfile.gettempdir()) / "nn-designer-bench-images" / f"digits{images}"


def ensure_folder(images: int) -> Path:
    """The benchmark's folder, made once: ``images`` random grey PNGs, class ``digit<k>`` for image ``i % 10``."""
    from PIL import Image

    folder = folder_for(images)
    done = folder / ".complete"
    if done.exists():
        return folder
    print(f"making {images:,} PNGs in {folder} (once) ...", flush=True)
    rng = np.random.default_rng(0)
    for k in range(CLASSES):
        (folder / f"digit{k}").mkdir(parents=True, exist_ok=True)
    for i in range(images):
        pixels = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"digit{i % CLASSES}" / f"{i:06d}.png")
    done.write_text("")
    return folder


def image_files(folder: Path) -> list[Path]:
    return [file for cls in sorted(folder.iterdir()) if cls.is_dir() and not cls.name.startswith(".")
            for file in sorted(cls.iterdir())]


def pillow_loop(files: list[Path]) -> list[np.ndarray]:
    """The baseline: what anyone would write first, one picture after another on one thread."""
    from PIL import Image

    out = []
    for file in files:
        with Image.open(file) as image:
            pixels = image.convert("L").resize((SIDE, SIDE), Image.Resampling.BILINEAR)
            out.append(np.asarray(pixels, dtype=np.float32) / np.float32(255))
    return out


def spec_for(folder: Path) -> dict:
    return {"kind": "images", "path": str(folder), "size": [SIDE, SIDE], "grayscale": True, "seed": 0}


@contextlib.contextmanager
def fresh_cache():
    """An empty dataset cache folder for the duration (NN_DESIGNER_CACHE), removed afterwards."""
    old = os.environ.get("NN_DESIGNER_CACHE")
    folder = tempfile.mkdtemp(prefix="nn-designer-bench-cache-")
    os.environ["NN_DESIGNER_CACHE"] = folder
    try:
        yield Path(folder)
    finally:
        if old is None:
            os.environ.pop("NN_DESIGNER_CACHE", None)
        else:
            os.environ["NN_DESIGNER_CACHE"] = old
        shutil.rmtree(folder, ignore_errors=True)


def seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def write_project_for(folder: Path, path: Path) -> None:
    from designer.graph import Graph, Layer
    from designer.project import Project, write_project

    project = Project.new("digits")
    graph = Graph()
    graph.add_layer(Layer("x", "input", (1, SIDE, SIDE)))
    graph.add_layer(Layer("out", "neurons", (CLASSES,), activation="softmax", position=(220, 0)))
    graph.connect("x", "out", connection_id="x-out")
    project.graph = graph
    project.dataset = spec_for(folder)
    write_project(project, path)


def run_check(path: Path) -> None:
    from designer.cli import main as cli

    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = cli(["check", str(path)])
    if code != 0:
        raise SystemExit(f"check failed:\n{out.getvalue()}")


def peak(case: str, images: int) -> None:
    """In a fresh process (see main): run ``case`` and print the maximum resident set in MB."""
    folder = ensure_folder(images)
    if case == "pillow":
        kept = pillow_loop(image_files(folder))
        assert len(kept) == images
    else:
        from designer.data import load_dataset

        if case == "torch":
            import torch  # noqa: F401  (what importing torch alone costs, for scale)
        else:
            dataset = load_dataset(spec_for(folder))
            assert len(dataset.x_train) + len(dataset.x_val) == images
            if case == "streamed":
                assert dataset.streamed
                for start in range(0, len(dataset.x_train), 4096):  # read it all, as an epoch would
                    float(dataset.x_train[start:start + 4096].sum())
                    dataset.release()
    # VmHWM, not getrusage's ru_maxrss: Linux carries the latter over from the parent through exec
    status = Path("/proc/self/status").read_text()
    high = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), None)
    print(int(high) / 1024 if high else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_in_child(case: str, images: int, env: dict | None = None) -> float:
    result = subprocess.run([sys.executable, __file__, "--peak", case, "--images", str(images)],
                            capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def first_loads(files, folder, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """``repeats`` pairs back to back: the Pillow loop's seconds, a first load's (empty cache), and their ratio."""
    from designer.data import load_dataset

    base_times, first_times, ratios = [], [], []
    for _ in range(repeats):
        base = seconds(lambda: pillow_loop(files))
        with fresh_cache():
            first = seconds(lambda: load_dataset(spec_for(folder)))
        base_times.append(base)
        first_times.append(first)
        ratios.append(first / base)
    return base_times, first_times, ratios


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peak", help=argparse.SUPPRESS)
    parser.add_argument("--in-process", action="store_true", help="also time the first load without processes")
    args = parser.parse_args()
    if args.peak:
        peak(args.peak, args.images)
        return 0

    folder = ensure_folder(args.images)
    from designer.data import load_dataset
    from designer.data import images
    from designer.data.cores import usable_cores

    files = image_files(folder)
    load_dataset({"kind": "builtin", "name": "xor"})  # torch imported outside the timings
    pillow_loop(files[:200])
    cores = usable_cores()
    pooled = cores > 1 and len(files) >= images.PROCESS_MIN_IMAGES
    print(f"{len(files):,} {SIDE}x{SIDE} PNGs in {folder}; decoded on "
          + (f"{images._processes(cores)} spawned process(es) and this one" if pooled
             else f"this process ({cores} cores)"))

    base_times, first_times, ratios = first_loads(files, folder, args.repeats)
    print(f"first load   Pillow loop {statistics.median(base_times):6.2f} s   load_dataset, empty cache "
          f"{statistics.median(first_times):6.2f} s   ratio {statistics.median(ratios):.2f} (at most 0.6)")
    if args.in_process and pooled:
        threshold, images.PROCESS_MIN_IMAGES = images.PROCESS_MIN_IMAGES, len(files) + 1
        try:
            base_times, first_times, ratios = first_loads(files, folder, args.repeats)
        finally:
            images.PROCESS_MIN_IMAGES = threshold
        print(f"  in process Pillow loop {statistics.median(base_times):6.2f} s   load_dataset, empty cache "
              f"{statistics.median(first_times):6.2f} s   ratio {statistics.median(ratios):.2f}")

    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "digits.nnd"
        write_project_for(folder, project)
        run_check(project)  # the command's own imports, outside the timings
        cold_times, warm_times, ratios = [], [], []
        for _ in range(args.repeats):
            with fresh_cache():
                cold = seconds(lambda: run_check(project))
                warm = min(seconds(lambda: run_check(project)) for _ in range(3))
            cold_times.append(cold)
            warm_times.append(warm)
            ratios.append(warm / cold)
        print(f"check        first {statistics.median(cold_times):6.2f} s   second, from the cache "
              f"{statistics.median(warm_times):6.3f} s   ratio {statistics.median(ratios):.3f} (at most 0.1)")

        with fresh_cache():
            load_dataset(spec_for(folder))
            parts = {}
            from designer.data.images import class_folders
            from designer.data.store import key_of, open_entry, stamp_of

            parts["list"] = seconds(lambda: class_folders(spec_for(folder), None))
            _, _, found = class_folders(spec_for(folder), None)
            listed = [file for _, names in found for file in names]
            parts["stamp"] = seconds(lambda: stamp_of(folder, listed))
            key = key_of("images", stamp_of(folder, listed), {"size": [SIDE, SIDE], "grayscale": True})
            parts["open+crc"] = seconds(lambda: open_entry(key))
            entry = open_entry(key)
            from designer.data.dataset import split_indices

            y = entry.arrays["y"]
            train, val = split_indices(len(y), 0.2, np.random.default_rng(0), np.asarray(y))
            parts["split"] = seconds(lambda: images._split_rows(entry.arrays["x"], train, val, entry.release))
            parts["whole load"] = seconds(lambda: load_dataset(spec_for(folder)))
            print("  a load from the cache: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in parts.items()))

    print("peak memory (maximum resident set, fresh process each)")
    budget = max(1 << 20, args.images * SIDE * SIDE)  # a quarter of the floats: the folder streams
    with fresh_cache() as cache:
        env = {"NN_DESIGNER_CACHE": str(cache)}
        figures = [("Pillow loop keeping its arrays (no torch)", peak_in_child("pillow", args.images)),
                   ("importing torch alone", peak_in_child("torch", args.images)),
                   ("first load, empty cache", peak_in_child("first", args.images, env)),
                   ("load from the cache", peak_in_child("cached", args.images, env)),
                   (f"streamed ({budget >> 20} MB budget), one pass over x_train",
                    peak_in_child("streamed", args.images, {**env, "NN_DESIGNER_MEMORY_BUDGET": str(budget)}))]
    for what, mb in figures:
        print(f"  {what:<50}{mb:8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

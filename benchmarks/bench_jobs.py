"""Training jobs (``export --to torchrun -o JOB/``) on the shapes example: processes, and what checkpoints cost.

- 1, 2 and 4 processes on gloo (``torchrun --standalone --nproc-per-node=N``, one CPU thread each), the same
  design and data: samples per second of the training loop (from the run the job records in result.nnd:
  its epochs' samples over its ``seconds``) and the final losses. Four processes on a machine with fewer
  cores only show what sharing the cores costs.
- The 1-process job against ``nn-designer train``'s engine on one thread too: the largest relative difference of
  the training losses, epoch by epoch (the same loss, optimizer, shuffling and batches).
- Checkpoints: the 1-process job (its ``main()`` run in this process, on one thread) with a checkpoint after
  every epoch (the default) against one with only the final checkpoint, interleaved, median loop time of each;
  the overhead must be at most 5%. Beside them, for information, one with a checkpoint inside every epoch too
  (``--checkpoint-batches`` half an epoch's batches): what one checkpoint inside an epoch costs, which also
  holds the epoch's starting weights.

Exit status 1 when the overhead is above 5% or the 1-process job's losses leave the engine's by more than 1e-4.

    .venv/bin/python benchmarks/bench_jobs.py [--epochs 10] [--repeats 5]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from designer.project import read_project
from designer.training import train_project
from designer.training.jobs import read_job, write_job

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ROOT / "resources" / "examples" / "shapes-local.nnd"
BIN = Path(sys.executable).parent
OVERHEAD_LIMIT = 0.05
LOSS_TOLERANCE = 1e-4


def run_job(job: Path, processes: int, *args: str) -> dict:
    """Run the job from scratch with ``processes`` processes on gloo; the run it recorded."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if processes == 1:
        command = [sys.executable, "train.py"]
    else:
        command = [str(BIN / "torchrun"), "--standalone", f"--nproc-per-node={processes}", "train.py"]
    result = subprocess.run([*command, "--device", "cpu", "--fresh", *args], cwd=job, capture_output=True,
                            text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"the job failed ({processes} processes):\n{result.stderr[-3000:]}")
    return read_job(job).run


def samples_per_second(run: dict, train_samples: int) -> float:
    processes = run["origin"]["processes"]
    return len(run["epochs"]) * (train_samples // processes) * processes / run["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    project = read_project(SHAPES)
    project.training["epochs"] = args.epochs
    folder = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    try:
        job = folder / "job"
        write_job(project, job)
        from safetensors.torch import load_file

        train_samples = len(load_file(str(job / "data.safetensors"))["x_train"])
        print(f"shapes-local.nnd, {args.epochs} epochs, {train_samples} training samples, batch "
              f"{project.training['batch_size']} per process, gloo, 1 thread per process, {os.cpu_count()} cores")
        print(f"{'processes':>9}  {'samples/s':>10}  {'final train loss':>16}  {'final val loss':>14}")
        runs = {}
        for processes in (1, 2, 4):
            run = runs[processes] = run_job(job, processes)
            print(f"{processes:>9}  {samples_per_second(run, train_samples):>10,.0f}  {run['train_loss'][-1]:>16.5f}  "
                  f"{run['val_loss'][-1]:>14.5f}")

        torch.set_num_threads(1)  # as the job's process: sums over other threads round otherwise
        engine = train_project(read_project(SHAPES), epochs=args.epochs, device="cpu")
        worst = max(abs(a - b) / abs(b) for a, b in zip(runs[1]["train_loss"], engine.train_loss))
        print(f"1-process job against nn-designer train, epoch by epoch: largest relative difference of the "
              f"training loss {worst:.2e}")

        # in this process (the script's own main(), one thread), interleaved, so that the machine's drift
        # touches both alike and no start-up is timed
        spec = importlib.util.spec_from_file_location("job_train", job / "train.py")
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        batches = len(range(0, train_samples, project.training["batch_size"]))
        variants = {"every": ["--checkpoint-every", "1"], "final": ["--checkpoint-every", "0"],
                    "inside": ["--checkpoint-every", "1", "--checkpoint-batches", str(max(1, batches // 2))]}
        times = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, options in variants.items():
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    assert script.main(["--fresh", "--device", "cpu", *options]) == 0
                times[name].append(read_job(job).run["seconds"])
        with_, without = statistics.median(times["every"]), statistics.median(times["final"])
        inside = statistics.median(times["inside"])
        overhead = with_ / without - 1
        print(f"checkpoints: {with_ / args.epochs * 1000:.0f} ms per epoch with one after every epoch, "
              f"{without / args.epochs * 1000:.0f} ms with only the final one: {overhead:+.1%} "
              f"(at most {OVERHEAD_LIMIT:.0%})")
        print(f"inside epochs too (--checkpoint-batches {max(1, batches // 2)} of {batches} an epoch): "
              f"{inside / args.epochs * 1000:.0f} ms per epoch, {inside / with_ - 1:+.1%} on the default")
        failed = overhead > OVERHEAD_LIMIT or worst > LOSS_TOLERANCE
        return 1 if failed else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

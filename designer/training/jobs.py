"""Training jobs: a project exported to a folder that trains under ``torchrun`` elsewhere, and its run brought home.

:func:`write_job` writes the job folder (:data:`JOB_FILES` names its files): the training script
(:mod:`designer.training.script`), the data, the starting weights, the project itself (``project.nnd``),
``README.md`` with the exact commands (one machine, several machines, Slurm, CUDA) and ``slurm.sbatch``.
Where it runs, only torch and safetensors are needed. The script keeps checkpoints in ``checkpoints/`` and,
at the end, writes ``result.nnd``: ``project.nnd`` with the trained weights and the run (with its
``origin``) in its history.

:func:`import_run` brings that run home: the open project with the job's weights and run, refused with a
:class:`JobError` naming the layers and connections that differ when the design no longer matches.
:func:`run_origin` says in words where a run of a project's history was trained.

No Qt, and nothing here imports torch beyond what :mod:`designer.training` does.
"""
from __future__ import annotations

import dataclasses
import re
import shlex
import uuid
from pathlib import Path
from typing import Any

from designer.graph import signatures
from designer.project import ProjectError, read_project, write_project
from designer.project.archive import atomic_file

from .projects import next_run_id
from .script import JOB_FILES, script_files

#: the files :func:`write_job` writes, in order (the script's own names plus the two texts)
README = "README.md"
SLURM = "slurm.sbatch"


class JobError(ValueError):
    """A job folder that cannot be written, or whose run cannot be brought into a project.

    ``differences`` names the layers and connections whose function differs between the job's design and the
    project's, when that is why (each as ``"layer h"``, ``"connection x-h"``); empty otherwise.
    """

    def __init__(self, message: str, differences: list[str] | None = None) -> None:
        super().__init__(message)
        self.differences = list(differences or [])


@dataclasses.dataclass
class JobRun:
    """What a finished job brings home: its trained weights and its run (a ``history.json`` run, with ``origin``).

    ``project`` is the job's ``result.nnd`` as read; ``summary`` one line for the user.
    """

    project: Any
    weights: dict | None
    run: dict[str, Any]
    summary: str


def job_paths(folder: str | Path) -> dict[str, Path]:
    """``{role: path}`` of a job folder's files (``script``, ``data``, ``project``, ``result``, ``readme`` ...)."""
    folder = Path(folder)
    paths = {role: folder / name for role, name in JOB_FILES.items()}
    paths.update(readme=folder / README, slurm=folder / SLURM)
    return paths


def write_job(project, folder: str | Path) -> list[Path]:
    """Write ``project``'s training job into ``folder`` and return the files written, the script first.

    ``folder`` is created when missing (its parent must exist); an existing one must be empty or hold an
    earlier export that never ran (its files are replaced). A folder holding a run's checkpoints or
    ``result.nnd`` is refused, so that no run is lost and no checkpoint of another export is resumed from.
    Every file is written atomically. Raises :class:`JobError` for the folder, and the engine's user errors
    (``DataError``, ``CompileError``, ``TrainingError`` ...) when the project cannot train.
    """
    folder = Path(folder)
    _check_folder(folder)
    paths = job_paths(folder)
    job_id = _new_id()
    files = script_files(project, JOB_FILES, job_id=job_id, usage=_script_usage())
    folder.mkdir(exist_ok=True)
    written = []
    for name, data in files.items():
        _write(folder / name, data)
        written.append(folder / name)
    copy = dataclasses.replace(project)  # write_project sets the copy's path and dataset, not the caller's
    try:
        write_project(copy, paths["project"])
    except ProjectError as exc:
        raise JobError(f"cannot write the job's project: {exc}") from exc
    written.append(paths["project"])
    for path, text in ((paths["readme"], readme_text(project, folder)), (paths["slurm"], slurm_text(project))):
        _write(path, text.encode("utf-8"))
        written.append(path)
    return written


def _check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise JobError(f"{folder}: that is a file; a training job is a folder (give a new folder's name)")
    if not folder.exists():
        if not folder.resolve().parent.is_dir():
            raise JobError(f"{folder}: the folder {folder.resolve().parent} does not exist")
        return
    paths = job_paths(folder)
    entries = [entry.name for entry in folder.iterdir()]
    if not entries:
        return
    if not paths["script"].is_file() or not paths["project"].is_file():
        raise JobError(f"{folder} is not empty and holds no training job; give a new or empty folder")
    ran = [name for name in (JOB_FILES["result"], JOB_FILES["trained"]) if (folder / name).exists()]
    checkpoints = paths["checkpoints"]
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        ran.append(f"{JOB_FILES['checkpoints']}/")
    if ran:
        raise JobError(f"{folder} holds a job that has run ({', '.join(ran)}); bring its run home with "
                       f"nn-designer import-run {shlex.quote(str(folder))} -o DESIGN.nnd, then export into a new "
                       f"folder (or remove those files)")


def _write(path: Path, data: bytes) -> None:
    with atomic_file(path) as handle:
        handle.write(data)


def _new_id() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------- the run, brought home
def read_job(folder: str | Path) -> JobRun:
    """The finished job in ``folder``: ``result.nnd`` read (and checked as any project is), its last run.

    Raises :class:`JobError` when the folder is no job, or the job has not finished (saying how far its
    checkpoints got), and ``ProjectError`` when ``result.nnd`` is damaged.
    """
    folder = Path(folder)
    paths = job_paths(folder)
    if folder.is_file() and folder.suffix == ".nnd":
        paths["result"] = folder  # a result.nnd given directly
    elif not folder.is_dir():
        raise JobError(f"{folder}: no such job folder (export one with: nn-designer export DESIGN.nnd --to torchrun "
                       f"-o {shlex.quote(str(folder))})")
    elif not paths["result"].is_file():
        if not paths["script"].is_file():
            raise JobError(f"{folder} is not a training job folder: it has no {JOB_FILES['script']} and no "
                           f"{JOB_FILES['result']}")
        raise JobError(f"{folder}: the job has not finished: there is no {JOB_FILES['result']} yet"
                       f"{_progress(paths['checkpoints'])}; run it (see {paths['readme']}), then import it")
    result = read_project(paths["result"])
    runs = [run for run in result.history if isinstance(run.get("origin"), dict)
            and run["origin"].get("kind") == "job"]
    if not runs:
        raise JobError(f"{paths['result']} holds no run of a training job")
    run = runs[-1]
    return JobRun(result, result.weights, dict(run), _run_summary(run))


def _checkpoint_positions(checkpoints: Path) -> list[tuple[int, int]]:
    """``[(epochs, batches)]`` of the checkpoints in ``checkpoints/``, oldest first: each after ``epochs`` epochs
    and ``batches`` batches of the next (``epoch-000002.ckpt``, ``epoch-000002-batch-000033.ckpt``)."""
    found = []
    try:
        paths = list(checkpoints.glob("epoch-*.ckpt")) if checkpoints.is_dir() else []
    except OSError:
        return []
    for path in paths:
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2) or 0)))
    return sorted(found)


_CHECKPOINT_NAME = re.compile(r"epoch-(\d+)(?:-batch-(\d+))?\.ckpt")


def _progress(checkpoints: Path) -> str:
    positions = _checkpoint_positions(checkpoints)
    if not positions:
        return ""
    epoch, batch = positions[-1]
    where = f"after epoch {epoch}" + (f" and {batch} batches of epoch {epoch + 1}" if batch else "")
    return f" (its last checkpoint is {where}; run it again to carry on)"


def design_differences(job_graph, graph) -> list[str]:
    """``["layer h", "connection x-h", ...]``: what computes something else in ``graph`` than in ``job_graph``,
    or is in only one of them. Positions, labels, dropout and initialisations do not count."""
    theirs, ours = signatures(job_graph), signatures(graph)
    differing = []
    for owner in dict.fromkeys([*ours, *theirs]):
        if theirs.get(owner) != ours.get(owner):
            kind = "layer" if owner in graph.layers or owner in job_graph.layers else "connection"
            differing.append(f"{kind} {owner}")
    return differing


def import_run(project, folder: str | Path) -> tuple[Any, str]:
    """``project`` with the finished job's weights and run added, and one line saying what came in.

    The project returned is a copy sharing ``project``'s graph (the caller's project is not changed): its
    weights are the job's, made for the design as it is, and its history ends with the job's run, numbered
    after the project's own runs. Raises :class:`JobError` when the job has not finished, when its run is
    already in the history, or when the design differs (``differences`` names each layer and connection),
    and ``ProjectError`` for a damaged ``result.nnd``.
    """
    job = read_job(folder)
    differing = design_differences(job.project.graph, project.graph)
    if differing:
        shown = ", ".join(differing[:8]) + (f" and {len(differing) - 8} more" if len(differing) > 8 else "")
        raise JobError(f"{folder}: the job trained another design; these differ from the open one: {shown}. "
                       f"Open {job_paths(folder)['result'] if Path(folder).is_dir() else folder} as a project of "
                       f"its own, or export a new job from this design", differing)
    job_id = job.run["origin"].get("job")
    for old in project.history:
        origin = old.get("origin") if isinstance(old, dict) else None
        if job_id and isinstance(origin, dict) and origin.get("job") == job_id and old.get("started") == \
                job.run.get("started"):
            raise JobError(f"{folder}: this job's run is already in the project ({old.get('id', 'a run')})")
    run = dict(job.run, id=next_run_id(project.history))
    imported = dataclasses.replace(project, history=[*project.history, run])
    imported.store_weights(dict(job.weights) if job.weights is not None else None)
    return imported, f"{run['id']}: {job.summary}"


def _run_summary(run: dict[str, Any]) -> str:
    epochs = run.get("epochs") or []
    parts = [f"{run.get('status', 'unknown')} after {len(epochs)} epoch{'s' if len(epochs) != 1 else ''}"]
    for key, label, digits in (("train_loss", "train loss", ".4g"), ("val_loss", "val loss", ".4g"),
                               ("val_accuracy", "val accuracy", ".3f")):
        values = run.get(key) or []
        if values and isinstance(values[-1], (int, float)):
            parts.append(f"{label} {values[-1]:{digits}}")
    return ", ".join(parts) + f" ({run_origin(run)})"


def run_origin(run: dict[str, Any]) -> str:
    """Where a run of ``history.json`` was trained, in words: ``"this machine"`` for a run without ``origin``,
    else e.g. ``"a job: 4 processes on 2 nodes, cuda (NVIDIA H100), resumed 1 time"``."""
    origin = run.get("origin") if isinstance(run, dict) else None
    if not isinstance(origin, dict) or origin.get("kind") != "job":
        return "this machine"
    processes, nodes = origin.get("processes", 1), origin.get("nodes", 1)
    text = f"a job: {processes} process{'es' if processes != 1 else ''}"
    if isinstance(nodes, int) and nodes > 1:
        text += f" on {nodes} nodes"
    device = origin.get("device") or run.get("device") or "cpu"
    text += f", {device}" + (f" ({origin['device_name']})" if origin.get("device_name") else "")
    resumed = origin.get("resumed")
    if resumed:
        text += f", resumed {resumed} time{'s' if resumed != 1 else ''}"
    return text


# ---------------------------------------------------------------- the texts
def _script_usage() -> str:
    return ("#     python train.py                                   # one process (CPU, or the first GPU)\n"
            "#     torchrun --standalone --nproc-per-node=4 --max-restarts=3 train.py   # four processes\n"
            "#     torchrun --standalone --nproc-per-node=gpu train.py                  # one per GPU (nccl)\n"
            "#     several machines, Slurm: see README.md beside this file\n")


def readme_text(project, folder: Path) -> str:
    """The job folder's ``README.md``: what is in it and the exact commands that run it."""
    name = project.name or "Untitled"
    training = project.training if isinstance(project.training, dict) else {}
    epochs, batch = training.get("epochs", "?"), training.get("batch_size", "?")
    job = shlex.quote(folder.name)
    return f"""# Training job: {name}

Written by `nn-designer export --to torchrun`. It trains the design with PyTorch's DistributedDataParallel
and needs only Python with `torch` and `safetensors` where it runs: copy this whole folder there.

| file | what it is |
| --- | --- |
| `train.py` | the model and its training loop (the loop of `nn-designer train`: same loss, optimizer, shuffling) |
| `data.safetensors` | the training and validation data, as NN Designer loaded them |
| `start.safetensors` | the starting weights |
| `project.nnd` | the project itself, as exported |
| `slurm.sbatch` | a Slurm batch file for several machines |
| `checkpoints/` | written while it trains: a checkpoint per epoch (and inside epochs when asked), the last two kept |
| `trained.safetensors` | written at the end: the trained weights, named as in the `.nnd` file |
| `result.nnd` | written at the end: the project with the trained weights and the run in its history |

The project trains {epochs} epochs in batches of {batch} per process (`--epochs N` changes the
length). With N processes each takes every N-th sample of each epoch's shuffled order, so the
effective batch is {batch} x N.

## One machine

```sh
python train.py                                                   # one process
torchrun --standalone --nproc-per-node=4 --max-restarts=3 train.py   # four processes (gloo on the CPU)
```

## GPUs (CUDA)

When PyTorch sees a GPU, each process takes the GPU of its local rank and the processes talk over
nccl; on the CPU they use gloo. One process per GPU:

```sh
torchrun --standalone --nproc-per-node=gpu --max-restarts=3 train.py
```

`--device cpu` keeps a run on the CPU; `--device cuda` insists on a GPU.

## Several machines

Run the same command on every machine, with this folder at the same place (a shared file system
is best: rank 0 writes the checkpoints and the result into its copy). `HOST` is one of the machines,
reachable from the others; `29500` a free port there.

```sh
torchrun --nnodes=2 --nproc-per-node=4 --max-restarts=3 \\
    --rdzv-id=nnd-{folder.name} --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 train.py
```

## Slurm

```sh
cd {job} && sbatch slurm.sbatch
```

`slurm.sbatch` asks for 2 nodes; edit its `#SBATCH` lines for your cluster (partition, GPUs, time).
It starts torchrun on each node with the first node as the rendezvous endpoint, and is marked
`--requeue`: a requeued job resumes from its last checkpoint.

## Faults and restarts

Rank 0 saves a checkpoint after every epoch (`--checkpoint-every K` for every K epochs). When an
epoch lasts long, checkpoint inside it too: `--checkpoint-minutes M` saves one as soon as M minutes
have passed since the last (inside an epoch or at its end; rank 0's clock decides, and tells the other
processes with the batch's gradients), `--checkpoint-batches K` one every K batches. A checkpoint holds
the weights, optimizer and schedule state, the shuffling generator as the epoch began and the batches
done, every process's random generator and running sums, the curves so far. Each is written to a
temporary file and renamed into place, and the one before is kept. A restarted job (torchrun's
`--max-restarts`, or the same command run again) resumes from the newest checkpoint that reads back
whole (a damaged or half-written one is skipped for the one before, saying so on stderr): inside an
epoch, it shuffles the epoch again, skips the batches done and carries on. It ends with exactly the
weights of a run that never stopped, with the same number of processes. `--fresh` starts again from
epoch 1.

## Bringing the result home

```sh
nn-designer result.nnd                          # open it as a project
nn-designer import-run {job} -o DESIGN.nnd     # add the weights and the run to your design
```

or, in the window, File > Import Run... The import is refused, naming the layers that differ, when the
design has changed since the export.
"""


def slurm_text(project) -> str:
    """The job folder's ``slurm.sbatch``: torchrun on every node, the first one as rendezvous endpoint."""
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in (project.name or "job"))[:40] or "job"
    return f"""#!/bin/bash
# Slurm batch file for this training job (written by nn-designer export --to torchrun).
# Submit it from the job folder: cd JOB && sbatch slurm.sbatch. Edit the lines below for your cluster.
#SBATCH --job-name=nnd-{name}
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=8
##SBATCH --gpus-per-node=4
##SBATCH --partition=gpu
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=slurm-%j.out
set -euo pipefail
cd "$SLURM_SUBMIT_DIR"

# one process per GPU when the nodes have GPUs (nccl), else NPROC_PER_NODE processes on the CPU (gloo)
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    NPROC=gpu
else
    NPROC=${{NPROC_PER_NODE:-2}}
fi
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)

srun torchrun --nnodes="$SLURM_JOB_NUM_NODES" --nproc-per-node="$NPROC" --max-restarts=3 \\
    --rdzv-id="$SLURM_JOB_ID" --rdzv-backend=c10d --rdzv-endpoint="$HEAD:29500" train.py
"""


def job_summary(folder: str | Path) -> dict[str, Any]:
    """What a job folder holds, for a window to show: ``{"finished": bool, "checkpoint_epoch": int | None,
    "checkpoint_batch": int | None}``: its newest checkpoint is after ``checkpoint_epoch`` epochs and
    ``checkpoint_batch`` batches of the next (0 at an epoch's end)."""
    paths = job_paths(folder)
    positions = _checkpoint_positions(paths["checkpoints"])
    epoch, batch = positions[-1] if positions else (None, None)
    return {"finished": paths["result"].is_file(), "checkpoint_epoch": epoch, "checkpoint_batch": batch}

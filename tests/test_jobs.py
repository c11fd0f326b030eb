"""Training jobs (``export --to torchrun -o JOB/``, ``import-run``): a job folder runs under torchrun, survives a
killed process by resuming from its checkpoint (at an epoch's end or inside an epoch: --checkpoint-batches,
--checkpoint-minutes) with exactly the weights of a run that never stopped, skips a
damaged checkpoint for the one before, and its result comes home into the design it was exported from.

The jobs run for real, in their own processes, with the venv's torchrun on gloo; the designs are tiny so that a
test takes seconds.
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from designer.compiler import compile_graph
from designer.project import read_project
from designer.training import train_project
from designer.training.jobs import JobError, import_run, read_job, run_origin, write_job

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
BIN = Path(sys.executable).parent
TORCHRUN = BIN / "torchrun"
SCRIPT = BIN / "nn-designer"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "designer.cli"]
TIMEOUT = 120


def _env(**extra):
    # one thread per process: two processes share this machine's cores without fighting over them
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", **extra}


def _run(*args, cwd, env=None):
    return subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=_env(**(env or {})))


def _torchrun(job, *args, processes=2, restarts=0, env=None):
    return _run(TORCHRUN, "--standalone", f"--nproc-per-node={processes}", f"--max-restarts={restarts}",
                "train.py", *args, cwd=job, env=env)


def _checkpoints(job):
    return sorted(path.name for path in (job / "checkpoints").iterdir())


def _records(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _xor(epochs=20, batch_size=2):
    """The XOR example with dropout (so that each process's random stream matters), small batches (so that an
    epoch lasts long enough to kill a process in it) and a one-cycle schedule (state that moves every batch)."""
    project = read_project(EXAMPLES / "xor.nnd")
    project.graph.update_layer("h", dropout=0.2)
    project.training.update(epochs=epochs, batch_size=batch_size, optimizer="adam", learning_rate=0.05,
                            schedule="one_cycle")
    return project


def _job(tmp_path, name, project=None):
    job = tmp_path / name
    write_job(project or _xor(), job)
    return job


def _assert_same_weights(a: Path, b: Path):
    first, second = load_file(str(a)), load_file(str(b))
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key  # exactly, not nearly


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    """A 2-process job on gloo, run from start to end without a fault."""
    job = _job(tmp_path_factory.mktemp("jobs"), "uninterrupted")
    result = _torchrun(job)
    assert result.returncode == 0, result.stderr
    return job, result


def _workers(agent: int) -> dict[int, int]:
    """``{local rank: pid}`` of the worker processes that torchrun's agent ``agent`` started (Linux's /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent != agent:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for variable in environ:
            if variable.startswith(b"LOCAL_RANK="):
                found[int(variable.split(b"=", 1)[1])] = int(entry.name)
    return found


def _kill_rank_1_after(job: Path, ready, *args) -> str:
    """Run the 2-process ``job`` under torchrun with ``--max-restarts=1``, SIGKILL rank 1 once ``ready()`` (a
    checkpoint has appeared), let torchrun restart both processes; the run's stderr once it has ended well."""
    agent = subprocess.Popen([str(TORCHRUN), "--standalone", "--nproc-per-node=2", "--max-restarts=1", "train.py",
                              *args], cwd=job, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                             start_new_session=True)  # its own process group: ended with its workers on a failure
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert agent.poll() is None and time.monotonic() < deadline, "the job ended before the checkpoint"
            time.sleep(0.01)
        victim = _workers(agent.pid)[1]
        os.kill(victim, signal.SIGKILL)  # rank 1, mid-run: torchrun restarts both processes
        out, err = agent.communicate(timeout=TIMEOUT)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)  # the group this test started: torchrun and its workers
            agent.communicate()
    assert agent.returncode == 0, err
    assert "resuming from checkpoints/epoch-0000" in err, err
    return err


def _assert_same_run(job: Path, reference: Path):
    _assert_same_weights(job / "trained.safetensors", reference / "trained.safetensors")
    run = read_job(job).run
    unbroken = read_job(reference).run
    assert run["epochs"] == list(range(1, 21))
    for curve in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "learning_rate"):
        assert run[curve] == unbroken[curve], curve  # the resumed run's curves join up exactly
    assert run["origin"]["resumed"] == 1 and "resumed" not in unbroken["origin"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds torchrun's workers through Linux's /proc")
def test_a_killed_process_resumes_from_the_checkpoint_with_the_weights_of_an_uninterrupted_run(tmp_path,
                                                                                            finished_job):
    reference, _ = finished_job
    job = _job(tmp_path, "killed")  # another export of the same project: the same data and starting weights
    err = _kill_rank_1_after(job, (job / "checkpoints" / "epoch-000002.ckpt").exists)
    resumed_at = int(err.split("resuming from checkpoints/epoch-")[1][:6])
    assert 2 <= resumed_at < 20, "the process was killed after the run had ended"
    _assert_same_run(job, reference)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds torchrun's workers through Linux's /proc")
def test_a_process_killed_inside_an_epoch_resumes_there_with_the_weights_of_an_uninterrupted_run(tmp_path,
                                                                                              finished_job):
    reference, _ = finished_job
    job = _job(tmp_path, "killed-inside")
    # 80 batches an epoch in each process, 1600 in all: every 33rd batch is inside an epoch (33 x 80 > 1600), so
    # every checkpoint but the last is one inside an epoch, and the job resumes from one
    folder = job / "checkpoints"

    def inside_an_epoch():
        return folder.is_dir() and any("-batch-" in name for name in os.listdir(folder))

    err = _kill_rank_1_after(job, inside_an_epoch, "--checkpoint-batches", "33", "--checkpoint-every", "0")
    line = err.split("resuming from checkpoints/")[1].splitlines()[0]
    assert "-batch-" in line and "batches of epoch" in line, line
    epochs, batches = int(line[6:12]), int(line[19:25])
    assert ((epochs * 80 + batches) % 33 == 0 and 0 < batches < 80), line
    _assert_same_run(job, reference)  # the same order, the same dropout, one_cycle's rate at the same step


def test_checkpoint_minutes_save_inside_an_epoch_when_rank_0s_clock_says_so(tmp_path):
    project = _xor(epochs=3, batch_size=16)  # 10 batches an epoch in each of 2 processes
    plain = _job(tmp_path, "plain", project)
    assert _torchrun(plain).returncode == 0
    assert _checkpoints(plain) == ["epoch-000002.ckpt", "epoch-000003.ckpt"]  # one per epoch, the last two kept
    hour = _job(tmp_path, "hour", project)
    result = _torchrun(hour, "--checkpoint-minutes", "60")
    assert result.returncode == 0, result.stderr
    assert _checkpoints(hour) == ["epoch-000003.ckpt"]  # an hour never passed: only the final one
    # minutes passing a trillion times faster (for tests only): every batch is due, as rank 0 sees it, and the
    # other process learns so with the batch's gradients (else they would not meet to save it)
    fast = _job(tmp_path, "fast", project)
    result = _torchrun(fast, "--checkpoint-minutes", "1", env={"NND_JOB_CLOCK_SCALE": "1e12"})
    assert result.returncode == 0, result.stderr
    assert _checkpoints(fast) == ["epoch-000002-batch-000009.ckpt", "epoch-000003.ckpt"]
    for job in (hour, fast):  # checkpoints change nothing in the run
        _assert_same_weights(job / "trained.safetensors", plain / "trained.safetensors")
        assert read_job(job).run["train_loss"] == read_job(plain).run["train_loss"]

    # a checkpoint inside an epoch carries on only with the processes that made it
    for name in ("checkpoints/epoch-000003.ckpt", "result.nnd", "trained.safetensors"):
        (fast / name).unlink()
    alone = _run(sys.executable, "train.py", cwd=fast)
    assert alone.returncode == 2
    assert "made inside epoch 3 by 2 processes" in alone.stderr and "run it with 2 processes" in alone.stderr
    unfinished = _run(*COMMAND, "import-run", fast, "-o", tmp_path / "x.nnd", cwd=tmp_path)
    assert "after epoch 2 and 9 batches of epoch 3" in unfinished.stderr, unfinished.stderr
    resumed = _torchrun(fast)
    assert resumed.returncode == 0, resumed.stderr
    assert "(epoch 2 of 3 done, and 9 of the 10 batches of epoch 3)" in resumed.stderr
    _assert_same_weights(fast / "trained.safetensors", plain / "trained.safetensors")


def test_the_result_comes_home_and_predicts_as_the_jobs_own_weights(tmp_path, finished_job):
    job, result = finished_job
    assert len(_records(result.stdout)) == 20
    design = _xor()
    imported, summary = import_run(design, job)
    assert design.weights is None and design.history == []  # the caller's project is left as it was
    run = imported.history[-1]
    assert run["id"] == "run-1" and run["status"] == "completed" and run["epochs"] == list(range(1, 21))
    assert run["origin"]["kind"] == "job" and run["origin"]["processes"] == 2 and run["origin"]["backend"] == "gloo"
    assert run["device"] == "cpu" and run["seconds"] > 0
    assert run_origin(run) == "a job: 2 processes, cpu" and run_origin({"id": "run-0"}) == "this machine"
    assert "completed after 20 epochs" in summary

    module = compile_graph(imported.graph, seed=0)
    module.load_named_weights(imported.weights)
    module.eval()
    spec = importlib.util.spec_from_file_location("job_train", job / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # the script's own model and load(), as a user of the job would
    own = script.load(job / "trained.safetensors")
    x = load_file(str(job / "data.safetensors"))["x_val"]
    with torch.no_grad():
        assert torch.equal(module(x), own(x))

    # nn-designer opens the result like any project, and import-run saves the run into a design file
    opened = read_project(job / "result.nnd")
    assert opened.history[-1]["origin"]["job"] == run["origin"]["job"]
    target = tmp_path / "design.nnd"
    from designer.project import write_project
    write_project(_xor(), target)
    done = _run(*COMMAND, "import-run", job, "-o", target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = read_project(target)
    assert saved.history[-1]["origin"]["processes"] == 2
    assert all((saved.weights[name] == imported.weights[name]).all() for name in imported.weights)
    again = _run(*COMMAND, "import-run", job, "-o", target, cwd=tmp_path)
    assert again.returncode == 2 and "already in the project (run-1)" in again.stderr


def test_a_job_of_a_design_that_changed_since_is_refused_naming_the_layers(tmp_path, finished_job):
    job, _ = finished_job
    design = _xor()
    design.graph.update_layer("h", activation="relu")
    with pytest.raises(JobError) as refused:
        import_run(design, job)
    assert refused.value.differences == ["layer h", "connection x-h"]
    assert "layer h" in str(refused.value) and "differ" in str(refused.value)

    from designer.project import write_project
    target = tmp_path / "changed.nnd"
    write_project(design, target)
    before = target.read_bytes()
    result = _run(*COMMAND, "import-run", job, "-o", target, cwd=tmp_path)
    assert result.returncode == 2
    assert "layer h" in result.stderr and "Traceback" not in result.stderr
    assert target.read_bytes() == before  # nothing written


@pytest.mark.parametrize("damage", ["half-written", "corrupt"])
def test_a_damaged_checkpoint_is_skipped_for_the_one_before(tmp_path, damage):
    project = _xor(epochs=4, batch_size=16)
    # run to epoch 3, then on to 4: a schedule that does not depend on the run's length (one_cycle does)
    project.training.update(schedule="step", step_size=1, gamma=0.8)
    whole = _job(tmp_path, "whole", project)
    assert _run(sys.executable, "train.py", cwd=whole).returncode == 0
    job = _job(tmp_path, "damaged", project)
    first = _run(sys.executable, "train.py", "--epochs", "3", cwd=job)
    assert first.returncode == 0, first.stderr
    newest = job / "checkpoints" / "epoch-000003.ckpt"
    data = bytearray(newest.read_bytes())
    if damage == "half-written":
        newest.write_bytes(data[:len(data) // 2])
    else:
        data[len(data) // 2] ^= 0x40  # one bit gone wrong on disk
        newest.write_bytes(bytes(data))
    second = _run(sys.executable, "train.py", "--epochs", "4", cwd=job)
    assert second.returncode == 0, second.stderr
    assert "skipping checkpoint checkpoints/epoch-000003.ckpt: damaged or half-written" in second.stderr
    assert "resuming from checkpoints/epoch-000002.ckpt" in second.stderr
    assert [r["epoch"] for r in _records(second.stdout)] == [3, 4]
    _assert_same_weights(job / "trained.safetensors", whole / "trained.safetensors")


class _Trap:
    """Unpickled, it writes a file: what a pickle planted in a checkpoint could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return Path.write_text, (self.path, "ran")


def test_a_checkpoint_is_a_safetensors_file_and_a_planted_pickle_runs_nothing(tmp_path):
    import hashlib
    import pickle

    from safetensors import safe_open

    project = _xor(epochs=3, batch_size=16)
    project.training.update(schedule="step", step_size=1, gamma=0.8)
    job = _job(tmp_path, "job", project)
    first = _run(sys.executable, "train.py", "--epochs", "2", cwd=job)
    assert first.returncode == 0, first.stderr
    newest = job / "checkpoints" / "epoch-000002.ckpt"
    data = newest.read_bytes()
    magic = data[:data.index(b"\n") + 1]
    payload = data[len(magic) + 32:]
    (tmp_path / "payload.safetensors").write_bytes(payload)
    with safe_open(str(tmp_path / "payload.safetensors"), "pt") as opened:  # tensors, and the rest as JSON
        assert json.loads(opened.metadata()["state"]) and opened.keys()
    # a pickle under the same header and a checksum that matches: refused as unreadable, never unpickled
    marker = tmp_path / "unpickled"
    planted = pickle.dumps(_Trap(marker))
    newest.write_bytes(magic + hashlib.sha256(planted).digest() + planted)
    second = _run(sys.executable, "train.py", "--epochs", "3", cwd=job)
    assert second.returncode == 0, second.stderr
    assert not marker.exists()
    assert "skipping checkpoint checkpoints/epoch-000002.ckpt" in second.stderr
    assert "resuming from checkpoints/epoch-000001.ckpt" in second.stderr


def test_one_process_repeats_the_engines_losses_and_records_the_run(tmp_path):
    project = read_project(EXAMPLES / "spiral.nnd")
    job = _job(tmp_path, "one", project)
    result = _run(sys.executable, "train.py", "--epochs", "3", "--device", "cpu", cwd=job)
    assert result.returncode == 0, result.stderr
    engine = train_project(read_project(EXAMPLES / "spiral.nnd"), epochs=3, device="cpu")
    run = read_job(job).run
    assert run["train_loss"] == pytest.approx(engine.train_loss, rel=1e-5)
    assert run["val_accuracy"] == pytest.approx(engine.val_accuracy)
    assert run["training"]["epochs"] == 3 and run["loss"] == engine.loss and run["initial_weights"] == "fresh"
    assert run["origin"] == {"kind": "job", "job": run["origin"]["job"], "processes": 1, "nodes": 1,
                             "device": "cpu"}


def test_export_writes_a_job_folder_with_the_commands_to_run_it(tmp_path):
    job = tmp_path / "job"
    result = _run(*COMMAND, "export", EXAMPLES / "xor.nnd", "--to", "torchrun", "-o", job, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in job.iterdir()) == ["README.md", "data.safetensors", "project.nnd",
                                                     "slurm.sbatch", "start.safetensors", "train.py"]
    readme = (job / "README.md").read_text(encoding="utf-8")
    for command in ("torchrun --standalone --nproc-per-node=4", "--nnodes=2", "--rdzv-backend=c10d",
                    "--rdzv-endpoint=HOST:29500", "sbatch slurm.sbatch", "--nproc-per-node=gpu",
                    "nn-designer import-run job -o DESIGN.nnd"):
        assert command in readme, command
    slurm = (job / "slurm.sbatch").read_text(encoding="utf-8")
    assert slurm.startswith("#!/bin/bash") and "--rdzv-backend=c10d" in slurm and "srun torchrun" in slurm
    assert read_project(job / "project.nnd").graph.to_dict() == read_project(EXAMPLES / "xor.nnd").graph.to_dict()
    # exported again into the same folder, before it ran: replaced
    assert _run(*COMMAND, "export", EXAMPLES / "xor.nnd", "--to", "torchrun", "-o", job, cwd=tmp_path).returncode == 0

    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "epoch-000001.ckpt").write_bytes(b"x")
    refused = _run(*COMMAND, "export", EXAMPLES / "xor.nnd", "--to", "torchrun", "-o", job, cwd=tmp_path)
    assert refused.returncode == 2 and "holds a job that has run (checkpoints/)" in refused.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused = _run(*COMMAND, "export", EXAMPLES / "xor.nnd", "--to", "torchrun", "-o", other, cwd=tmp_path)
    assert refused.returncode == 2 and "is not empty and holds no training job" in refused.stderr
    unfinished = _run(*COMMAND, "import-run", job, "-o", tmp_path / "x.nnd", cwd=tmp_path)
    assert unfinished.returncode == 2 and "the job has not finished" in unfinished.stderr
    assert "after epoch 1" in unfinished.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the nccl path, one process per GPU, "
                                                          "runs only where PyTorch sees a GPU")
def test_on_gpus_the_job_trains_one_process_per_gpu_over_nccl(tmp_path):
    job = _job(tmp_path, "gpu", _xor(epochs=3, batch_size=16))
    processes = min(torch.cuda.device_count(), 2)
    result = _torchrun(job, processes=processes)
    assert result.returncode == 0, result.stderr
    origin = read_job(job).run["origin"]
    assert origin["device"] == "cuda" and origin["processes"] == processes and origin.get("device_name")
    assert origin.get("backend") == ("nccl" if processes > 1 else None)
    imported, _ = import_run(_xor(epochs=3, batch_size=16), job)
    assert imported.history[-1]["device"] == "cuda"

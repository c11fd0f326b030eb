"""A save killed at any moment, a full disk, a read-only folder: the project file is never lost nor partial.

A real child process (``tests/project/saver.py``) saves two different projects alternately over one
target with ``write_project``; the test SIGKILLs it at random moments (``random.Random(seed)`` delays,
so a failing run can be replayed) and after every kill reads the target back: it must always be exactly
one of the two projects (name, weights and a 1-1.5 MiB payload compared), never a partial file. The
suite kills 30 times; ``NND_KILLS=200`` gives the full figure, printed at the end (run with ``-s``).

A killed save cannot remove its temporary file; the next normal save of the same target must not leave
such stale temporaries (``.NAME.PID-<hex>.tmp``, see ``designer/project/archive.py`` ``atomic_file``) beside it,
and must leave alone the temporary of a writer that is alive but paused (SIGSTOP) in the middle of its save.

The full disk is a real 1 MiB tmpfs (skipped where mounting is not allowed), the read-only folder a real
``chattr +i`` folder as root (root ignores permission bits) or a ``chmod 555`` one otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import random
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from designer.project import Project, ProjectError, read_project, write_project

ROOT = Path(__file__).resolve().parents[2]
SAVER = Path(__file__).with_name("saver.py")
KILLS = int(os.environ.get("NND_KILLS", "30"))
SEED = 20261130


def _saver_module():
    """saver.py loaded by path (tests/ is not a package, so it cannot be imported by name everywhere)."""
    spec = importlib.util.spec_from_file_location("nnd_kill_saver", SAVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same_project(path: Path, expected: Project) -> bool:
    """``read_project(path)`` is ``expected``: name, design, weights, and the payload entry byte for byte."""
    read = read_project(path)
    if not (read.name == expected.name and read.graph.to_dict() == expected.graph.to_dict()
            and read.weights is not None and set(read.weights) == set(expected.weights)
            and all(np.array_equal(read.weights[k], expected.weights[k]) for k in expected.weights)
            and set(read.other_entries) == set(expected.other_entries)):
        return False
    # The reader may keep unknown entries in the archive rather than in memory: compare the stored bytes
    # (zipfile checks each entry's CRC as it reads it).
    with zipfile.ZipFile(path) as archive:
        return all(archive.read(name) == bytes(data) for name, data in expected.other_entries.items())


def temporaries(target: Path) -> list[Path]:
    """The temporary files atomic_file makes beside ``target``: ``.NAME.PID-<hex>.tmp`` (``.NAME.<hex>.tmp``
    before the process id was part of the name)."""
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


@pytest.fixture(scope="module")
def killed_saves(tmp_path_factory):
    """Kill a saving child ``KILLS`` times; return the target, the expected projects and what happened."""
    projects = _saver_module().two_projects()
    folder = tmp_path_factory.mktemp("kills")
    target = folder / "work.nnd"
    write_project(projects[0], target)  # the user's file exists before the first save is killed
    rng = random.Random(SEED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    stats = {"kills": 0, "lost": 0, "old or new": {p.name: 0 for p in projects},
             "killed before its first save": 0, "killed mid-write": 0, "problems": []}
    for kill in range(KILLS):
        child = subprocess.Popen([sys.executable, str(SAVER), str(target)], stdout=subprocess.PIPE, cwd=ROOT,
                                 env=env)
        try:
            assert child.stdout.readline().strip() == b"ready", "the saver did not start"
            before = target.stat().st_mtime_ns
            # anywhere from inside the first save to a few saves in (each takes some tens of milliseconds)
            delay = rng.uniform(0.0, 0.25)
            try:
                child.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                pass
            assert child.poll() is None, f"the saver ended by itself with {child.returncode}"
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        stats["kills"] += 1
        if temporaries(target):
            # the kill landed inside a write (read_project below removes this stale temporary)
            stats["killed mid-write"] += 1
        if target.stat().st_mtime_ns == before:
            stats["killed before its first save"] += 1
        try:
            matches = [p for p in projects if same_project(target, p)]
        except (ProjectError, zipfile.BadZipFile) as exc:
            stats["lost"] += 1
            stats["problems"].append(f"kill {kill} after {delay:.3f} s: {exc}")
            write_project(projects[0], target)  # go on counting from a good file
            continue
        if not matches:
            stats["lost"] += 1
            stats["problems"].append(f"kill {kill} after {delay:.3f} s: {target.name} is neither project exactly")
            write_project(projects[0], target)
            continue
        stats["old or new"][matches[0].name] += 1
    print(f"\nkill during save: {stats['kills']} kills, {stats['lost']} lost, "
          f"found {stats['old or new']}, {stats['killed mid-write']} killed inside a write, "
          f"{stats['killed before its first save']} before their first save completed")
    return target, projects, stats


def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_project(killed_saves):
    target, _projects, stats = killed_saves
    assert stats["kills"] == KILLS
    assert temporaries(target) == [], "read_project leaves no stale temporary of a killed save"
    assert stats["lost"] == 0, "\n".join(stats["problems"])
    # the kills really landed at different moments: both projects were found on disk after some of them
    assert all(stats["old or new"].values()), stats["old or new"]


def _saver(target: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, str(SAVER), str(target)], stdout=subprocess.PIPE, cwd=ROOT, env=env)
    assert child.stdout.readline().strip() == b"ready", "the saver did not start"
    return child


def _caught_writing(child: subprocess.Popen, target: Path, sig: int) -> list[Path]:
    """Send ``sig`` to the saver the moment one of its temporaries is seen (the child is inside a write)."""
    for _ in range(100_000):
        if temporaries(target):
            break
    os.kill(child.pid, sig)
    return temporaries(target)


def test_the_next_save_leaves_no_temporary_of_the_killed_saves(killed_saves):
    target, projects, _stats = killed_saves
    stale = []
    for _attempt in range(20):  # the reads above removed the earlier ones; kill until one is left
        child = _saver(target)
        try:
            stale = _caught_writing(child, target, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        if stale:
            break
    assert stale, "no kill landed inside a write: nothing stale to clean up"
    write_project(projects[1], target)
    assert temporaries(target) == [], f"the temporaries of the killed save are still there: {stale}"
    assert same_project(target, projects[1])


def test_a_save_leaves_the_temporary_of_a_live_writer_alone(killed_saves):
    """A writer that is only paused (SIGSTOP) in the middle of its save is not a dead one."""
    target, projects, _stats = killed_saves
    child = _saver(target)
    try:
        busy = _caught_writing(child, target, signal.SIGSTOP)
        assert busy, "the saver was not caught inside a write"
        write_project(projects[1], target)
        assert temporaries(target) == busy, "the paused writer's temporary file was removed under it"
        assert same_project(target, projects[1])
        os.kill(child.pid, signal.SIGCONT)
        try:
            child.wait(timeout=0.3)  # let it finish that save (and a few more)
        except subprocess.TimeoutExpired:
            pass
        assert child.poll() is None, f"the resumed saver failed with {child.returncode}"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert any(same_project(target, p) for p in projects)


# ---------------------------------------------------------------------------------------------- full disk
@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs), mounted for the test and unmounted after."""
    if os.name != "posix" or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs a POSIX system with mount")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs to fill (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_gives_a_clear_message_and_keeps_the_old_file(small_disk):
    small, big = _saver_module().two_projects()
    small.other_entries = {}  # a few KiB: fits
    target = small_disk / "work.nnd"
    write_project(small, target)
    before = target.read_bytes()
    big.other_entries = {"padding.bin": np.random.default_rng(1).bytes(2 * 1024 * 1024)}  # twice the disk
    with pytest.raises(ProjectError) as info:
        write_project(big, target)
    message = str(info.value)
    assert message.startswith(f"Cannot save {target}: "), message
    assert "No space left on device" in message, message
    assert info.value.path == target
    assert target.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["work.nnd"], "a temporary file was left behind"
    assert same_project(target, small)
    # the space is free again: a project that fits saves
    small.name = "after the full disk"
    write_project(small, target)
    assert read_project(target).name == "after the full disk"


# ---------------------------------------------------------------------------------------------- read-only
@pytest.fixture
def read_only_folder(tmp_path):
    """A folder holding a saved project, that cannot be written: ``chattr +i`` as root, else ``chmod 555``."""
    folder = tmp_path / "locked"
    folder.mkdir()
    project = _saver_module().two_projects()[0]
    project.other_entries = {}
    write_project(project, folder / "work.nnd")
    if os.name != "posix":
        pytest.skip("read-only folders are tested on POSIX")
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root ignores permission bits and chattr is not installed to make an immutable folder")
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"root ignores permission bits and this file system refuses chattr +i: {done.stderr}")
        unlock = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        unlock = None
    try:
        yield folder
    finally:
        if unlock:
            subprocess.run(unlock, check=True)
        else:
            folder.chmod(0o755)


def test_a_read_only_folder_gives_a_clear_message_and_keeps_the_old_file(read_only_folder):
    target = read_only_folder / "work.nnd"
    before = target.read_bytes()
    project = read_project(target)
    project.name = "changed"
    with pytest.raises(ProjectError) as info:
        write_project(project, target)
    message = str(info.value)
    assert message.startswith(f"Cannot save {target}: "), message
    # EACCES for a chmod 555 folder, EPERM for an immutable one
    assert "Permission denied" in message or "Operation not permitted" in message, message
    assert target.read_bytes() == before
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["work.nnd"]
    assert read_project(target).name == "XOR"

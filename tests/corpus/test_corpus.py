"""Replay the regression corpus: each crash kind the fuzzer found is now an exit-2 message naming the part.

Both the committed files and ones rebuilt by ``make_corpus.py`` in a temporary folder are replayed, so the
corpus cannot drift from its generator. The huge unknown entry is built here, never committed.
"""
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from designer import cli
from designer.project import read_project, write_project
from designer.project.archive import remove_stale_temporaries

from . import make_corpus

HERE = Path(__file__).resolve().parent
SCRIPT = Path(sys.executable).with_name("nn-designer")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "designer.cli"]


def _run(capsys, *argv):
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.fixture(params=["committed", "rebuilt"])
def corpus(request, tmp_path):
    if request.param == "committed":
        return HERE
    make_corpus.build(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", list(make_corpus.CASES))
def test_each_crash_kind_is_refused_naming_the_part_by_check_and_train(corpus, name, capsys, tmp_path):
    words = make_corpus.CASES[name][1]
    path = corpus / name
    before = path.read_bytes()
    for argv in (["check", path], ["train", path, "--epochs", "1", "--out", tmp_path / "out.nnd"]):
        status, output = _run(capsys, *argv)
        assert status == 2, output
        assert "internal error" not in output and "Traceback" not in output
        assert name in output, output
        for word in words:
            assert word in output, output
    assert path.read_bytes() == before
    assert not (tmp_path / "out.nnd").exists()


@pytest.mark.parametrize("name", list(make_corpus.UNSAVABLE))
def test_a_run_that_cannot_be_saved_where_asked_is_kept_beside_it(corpus, name, capsys, tmp_path):
    path = corpus / name
    assert _run(capsys, "check", path)[0] == 0  # opening does not read the unknown entry
    out = tmp_path / "trained.nnd"
    status, output = _run(capsys, "train", path, "--epochs", "1", "--out", out)
    assert status == 2, output
    for word in make_corpus.UNSAVABLE[name][1]:
        assert word in output, output
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("trained-recovered-")]
    assert len(kept) == 1 and str(kept[0]) in output and not out.exists()
    assert read_project(kept[0]).history[-1]["status"] == "completed"


def test_the_recovery_folder_is_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform.startswith("linux"):
        assert cli.recovery_folder() == tmp_path / "data" / "nn-designer" / "recovered"


def test_a_huge_unknown_entry_is_checked_fast_in_little_memory_and_saved_back(tmp_path):
    # 1.8 GiB of zeros, under the 2 GiB limit and declared truly: check read it whole (3.3 GB, > 20 s).
    size = int(1.8 * 1024 ** 3)
    path = make_corpus.big_member_archive(tmp_path / "big.nnd", size)
    script = ("import resource, sys; from designer.cli import main; status = main(sys.argv[1:]); "
              "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(status)")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script, "check", str(path)], capture_output=True, text=True,
                            timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    print(f"check of a 1.8 GiB unknown entry: {took:.2f} s")  # the figures, with -s
    peak_kib = int(result.stdout.split("RSS ")[1].split()[0])
    print(f"peak RSS {peak_kib / 1024:.0f} MiB")
    assert took < 20 and peak_kib < 1024 * 1024, (took, peak_kib)  # under 1 GiB, where it was 3.3 GB

    # saved again, the entry is copied in chunks from the file it stays in, byte for byte
    project = read_project(path)
    assert set(project.other_entries) == {"big.bin"} and len(project.other_entries["big.bin"]) == size
    copy = tmp_path / "copy.nnd"
    write_project(project, copy)
    with zipfile.ZipFile(copy) as archive:
        info = archive.getinfo("big.bin")
        with zipfile.ZipFile(path) as source:
            assert (info.file_size, info.CRC) == (size, source.getinfo("big.bin").CRC)


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "p.nnd"
    write_project(read_project(make_corpus.XOR), target)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".p.nnd.{dead}-0123abcd.tmp"
    live = tmp_path / f".p.nnd.{os.getpid()}-89abcdef.tmp"
    old_style = tmp_path / ".p.nnd.deadbeef.tmp"
    other = tmp_path / ".q.nnd.1-0123abcd.tmp"
    for path in (stale, live, old_style, other):
        path.write_bytes(b"half a project")
    an_hour_ago = time.time() - 3700
    os.utime(old_style, (an_hour_ago, an_hour_ago))
    read_project(target)  # opening removes the dead writer's temporary
    assert not stale.exists() and not old_style.exists()
    assert live.exists() and other.exists()
    stale.write_bytes(b"again")
    write_project(read_project(target), target)  # and so does saving
    assert not stale.exists() and live.exists()
    assert remove_stale_temporaries(target) == []


def test_a_train_killed_mid_write_leaves_a_temporary_the_next_save_removes(tmp_path, capsys):
    out = tmp_path / "trained.nnd"
    # what a kill during the write leaves: the temporary with the (now dead) writer's id
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    leftover = tmp_path / f".trained.nnd.{child.pid}-00c0ffee.tmp"
    leftover.write_bytes(b"PK\x03\x04 half written")
    child.kill()
    child.wait()
    status, output = _run(capsys, "train", make_corpus.XOR, "--epochs", "1", "--out", out)
    assert status == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained.nnd"]

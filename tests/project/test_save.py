"""Saving is atomic: a save that fails leaves the previous file byte-identical and no litter."""
import contextlib
import os
import signal
import stat
import zipfile

import numpy as np
import pytest

from designer.project import ProjectError, read_project, write_project


@pytest.fixture
def saved(tmp_path, project):
    """A project already saved once, as a user's file on disk."""
    path = tmp_path / "work.nnd"
    write_project(project, path)
    return path


def assert_untouched(path, before: bytes):
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left
    read_project(path)


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Make writes past ``limit`` bytes fail with EFBIG, as a full disk would fail them."""
    resource = pytest.importorskip("resource")  # POSIX only
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_write_failing_midway_keeps_the_old_file(saved, project):
    before = saved.read_bytes()
    project.weights = {"big.weight": np.ones((256, 1024), np.float32)}  # 1 MiB, past the limit below
    with file_size_limit(64 * 1024), pytest.raises(ProjectError) as info:
        write_project(project, saved)
    assert str(info.value).startswith(f"Cannot save {saved}: ")
    assert "File too large" in str(info.value)
    assert_untouched(saved, before)


def test_weights_that_cannot_be_saved_keep_the_old_file(saved, project):
    before = saved.read_bytes()
    project.weights["h.bias"] = np.array(["not", "numbers"])
    with pytest.raises(ProjectError, match=r"Cannot save .*work\.nnd: weight 'h\.bias' holds <U7 values"):
        write_project(project, saved)
    assert_untouched(saved, before)


def test_values_json_cannot_hold_are_named(saved, project):
    before = saved.read_bytes()
    project.dataset["features"] = {"a", "b"}
    with pytest.raises(ProjectError, match=r"project\.dataset\.features is a set"):
        write_project(project, saved)
    project.dataset["features"] = ["a", "b"]
    project.training["learning_rate"] = float("nan")
    with pytest.raises(ProjectError, match=r"project\.training\.learning_rate is nan"):
        write_project(project, saved)
    assert_untouched(saved, before)


def test_missing_folder(tmp_path, project):
    target = tmp_path / "no" / "such" / "folder" / "p.nnd"
    with pytest.raises(ProjectError, match="Cannot save .*p\\.nnd: the folder .* does not exist"):
        write_project(project, target)
    assert list(tmp_path.iterdir()) == []
    assert project.path is None


def test_target_is_a_folder(tmp_path, project):
    (tmp_path / "taken.nnd").mkdir()
    with pytest.raises(ProjectError, match="Cannot save .*taken\\.nnd"):
        write_project(project, tmp_path / "taken.nnd")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.nnd"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(saved, project):
    before = saved.read_bytes()
    saved.parent.chmod(0o500)
    try:
        with pytest.raises(ProjectError, match="Permission denied"):
            write_project(project, saved)
    finally:
        saved.parent.chmod(0o700)
    assert_untouched(saved, before)


def test_too_large_a_project_is_not_written(saved, project):
    before = saved.read_bytes()
    project.weights = {"big.weight": np.zeros(300_000, np.float32)}
    with pytest.raises(ProjectError, match="more than the 1,000,000 a project file may hold"):
        write_project(project, saved, max_bytes=1_000_000)
    assert_untouched(saved, before)


def test_overwriting_keeps_the_file_permissions(saved, project):
    saved.chmod(0o640)
    project.name = "changed"
    write_project(project, saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o640
    assert read_project(saved).name == "changed"


def test_saving_through_a_link_updates_the_linked_file(saved, project):
    link = saved.parent / "link.nnd"
    link.symlink_to(saved)
    project.name = "through the link"
    write_project(project, link)
    assert link.is_symlink()
    assert read_project(saved).name == "through the link"
    assert project.path == link


def test_a_successful_save_replaces_the_file(saved, project):
    project.description = "second version"
    project.weights = None
    write_project(project, saved)
    opened = read_project(saved)
    assert opened.description == "second version" and opened.weights is None
    with zipfile.ZipFile(saved) as archive:
        assert "weights.safetensors" not in archive.namelist()
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_saving_into_another_folder_keeps_a_relative_data_path_leading_to_the_same_file(tmp_path, project):
    (tmp_path / "a" / "data").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "data" / "table.csv").write_text("x,y\n1,0\n2,1\n")
    project.dataset = {"kind": "csv", "path": "data/table.csv", "target": "y", "custom": 1}
    write_project(project, tmp_path / "a" / "p.nnd")
    assert read_project(tmp_path / "a" / "p.nnd").dataset["path"] == "data/table.csv"  # same folder: as written

    write_project(project, tmp_path / "b" / "copy.nnd")  # "Save As" elsewhere
    moved = read_project(tmp_path / "b" / "copy.nnd").dataset
    assert moved == {"kind": "csv", "path": "../a/data/table.csv", "target": "y", "custom": 1}
    assert ((tmp_path / "b" / moved["path"]).resolve() == (tmp_path / "a" / "data" / "table.csv").resolve())
    assert project.dataset["path"] == "../a/data/table.csv"  # the open project now reads from its new folder


def test_an_absolute_data_path_an_unsaved_project_or_a_path_to_nothing_keeps_its_path(tmp_path, project):
    absolute = str(tmp_path / "elsewhere.csv")
    project.dataset = {"kind": "csv", "path": absolute}
    write_project(project, tmp_path / "one.nnd")
    (tmp_path / "sub").mkdir()
    write_project(project, tmp_path / "sub" / "two.nnd")
    assert read_project(tmp_path / "sub" / "two.nnd").dataset["path"] == absolute
    project.path = None  # never saved: its relative path is the user's, relative to where they work
    project.dataset = {"kind": "csv", "path": "rel.csv"}
    write_project(project, tmp_path / "sub" / "three.nnd")
    assert read_project(tmp_path / "sub" / "three.nnd").dataset["path"] == "rel.csv"
    # set for the folder it is saved into (a script's way): nothing there from the old folder, kept as written
    project.dataset = {"kind": "csv", "path": "next-to-it.csv"}
    write_project(project, tmp_path / "four.nnd")
    assert read_project(tmp_path / "four.nnd").dataset["path"] == "next-to-it.csv"

"""Saving and opening again gives back the same project, byte for byte."""
import json
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

import designer
from designer.graph import validate
from designer.project import (DEFAULT_DATASET, DEFAULT_TRAINING, MIMETYPE, Project, project_to_dict, read_project,
                              write_project)

from .conftest import grid_project


def entry(path, name) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_save_open_save_gives_the_same_bytes(tmp_path, project):
    first, second = tmp_path / "a.nnd", tmp_path / "b.nnd"
    write_project(project, first)
    reopened = read_project(first)
    write_project(reopened, second)
    for name in ("project.json", "weights.safetensors", "history.json"):
        assert entry(first, name) == entry(second, name), name
    assert first.read_bytes() == second.read_bytes()


def test_opened_project_is_the_saved_one(tmp_path, project):
    write_project(project, tmp_path / "xor.nnd")
    opened = read_project(tmp_path / "xor.nnd")
    assert opened.name == "XOR"
    assert opened.description == project.description
    assert opened.graph.to_dict() == project.graph.to_dict()
    assert opened.graph.connection("x-h").disabled == [(3, 1)]
    assert opened.dataset == project.dataset and opened.training == project.training
    assert opened.history == project.history
    assert set(opened.weights) == set(project.weights)
    for name, array in project.weights.items():
        assert opened.weights[name].dtype == array.dtype
        assert opened.weights[name].shape == array.shape
        np.testing.assert_array_equal(opened.weights[name], array)
    assert validate(opened.graph) == []


def test_local_connectivity_survives(tmp_path):
    project = grid_project()
    write_project(project, tmp_path / "grid.nnd")
    conn = read_project(tmp_path / "grid.nnd").graph.connection("img-conv")
    assert conn.connectivity.kind == "local" and conn.connectivity.window == (3, 3)
    assert conn.connectivity.shared is True


def test_weights_of_other_types_and_foreign_names_are_kept(tmp_path, project):
    project.weights = {
        "h.bias": np.arange(4, dtype=np.float64),
        "not-in-the-graph.weight": np.arange(6, dtype=np.int32).reshape(2, 3),
        "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not contiguous in memory
        "big-endian": np.arange(3, dtype=">f4"),
    }
    write_project(project, tmp_path / "w.nnd")
    weights = read_project(tmp_path / "w.nnd").weights
    assert weights["h.bias"].dtype == np.float64
    np.testing.assert_array_equal(weights["not-in-the-graph.weight"], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(weights["transposed"], np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(weights["big-endian"], [0, 1, 2])
    weights["h.bias"][0] = 5  # the arrays are the caller's to change
    assert weights["h.bias"][0] == 5


def test_untrained_project_has_no_weights_or_history_entries(tmp_path):
    write_project(Project.new("Empty"), tmp_path / "e.nnd")
    with zipfile.ZipFile(tmp_path / "e.nnd") as archive:
        assert archive.namelist() == ["mimetype", "project.json"]
    opened = read_project(tmp_path / "e.nnd")
    assert opened.weights is None and opened.history == []
    assert opened.graph.layers == {} and opened.graph.connections == {}


def test_new_project_uses_the_default_blocks_without_sharing_them():
    project = Project.new()
    assert project.name == "Untitled"
    assert project.dataset == DEFAULT_DATASET and project.training == DEFAULT_TRAINING
    project.dataset["name"] = "spiral"
    project.training["learning_rate"] = 1.0
    assert DEFAULT_DATASET["name"] == "xor" and DEFAULT_TRAINING["learning_rate"] == 0.1
    assert Project.new().dataset["name"] == "xor"


def test_project_json_is_stable_readable_json(tmp_path, project):
    write_project(project, tmp_path / "xor.nnd")
    text = entry(tmp_path / "xor.nnd", "project.json").decode("utf-8")
    document = json.loads(text)
    assert list(document)[:8] == ["format", "version", "app_version", "name", "description", "graph", "dataset",
                                  "training"]
    assert document["format"] == "nnd" and document["version"] == 1
    assert document["app_version"] == designer.__version__
    assert text.startswith('{\n  "format": "nnd",\n')  # two-space indents
    assert "Ünïcode" in text  # UTF-8, not \u escapes
    assert project_to_dict(project) == document


def test_paths_are_remembered(tmp_path, project):
    assert project.path is None
    write_project(project, tmp_path / "saved.nnd")
    assert project.path == tmp_path / "saved.nnd"
    assert read_project(str(tmp_path / "saved.nnd")).path == tmp_path / "saved.nnd"


def test_diverged_losses_are_written_as_null(tmp_path, project):
    project.history[0]["train_loss"] = [0.7, float("nan"), float("inf")]
    project.history[0]["status"] = "diverged"
    write_project(project, tmp_path / "d.nnd")
    assert json.loads(entry(tmp_path / "d.nnd", "history.json"))["runs"][0]["train_loss"] == [0.7, None, None]
    assert read_project(tmp_path / "d.nnd").history[0]["train_loss"] == [0.7, None, None]


def test_numpy_numbers_in_blocks_are_written_as_plain_json(tmp_path, project):
    project.training["learning_rate"] = np.float32(0.5)
    project.training["epochs"] = np.int64(3)
    write_project(project, tmp_path / "n.nnd")
    assert read_project(tmp_path / "n.nnd").training["epochs"] == 3


def test_unknown_keys_and_entries_survive_a_re_save(tmp_path, project):
    document = project_to_dict(project)
    document["future_top"] = {"nested": [1, 2]}
    document["graph"]["layers"][1]["dropout"] = 0.5
    document["graph"]["connections"][0]["colour"] = "red"
    document["graph"]["connections"][0]["connectivity"]["dilation"] = 2
    document["dataset"]["augment"] = True
    document["training"]["schedule"] = "cosine"
    original = tmp_path / "future.nnd"
    with zipfile.ZipFile(original, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", MIMETYPE, zipfile.ZIP_STORED)
        archive.writestr("project.json", json.dumps(document))
        archive.writestr("notes/readme.txt", b"kept as is")

    opened = read_project(original)
    assert opened.extra == {"future_top": {"nested": [1, 2]}}
    write_project(opened, tmp_path / "resaved.nnd")

    resaved = json.loads(entry(tmp_path / "resaved.nnd", "project.json"))
    assert resaved["future_top"] == {"nested": [1, 2]}
    assert resaved["graph"]["layers"][1]["dropout"] == 0.5
    assert resaved["graph"]["connections"][0]["colour"] == "red"
    assert resaved["graph"]["connections"][0]["connectivity"]["dilation"] == 2
    assert resaved["dataset"]["augment"] is True and resaved["training"]["schedule"] == "cosine"
    assert entry(tmp_path / "resaved.nnd", "notes/readme.txt") == b"kept as is"


def test_header_lets_file_tell_the_type(tmp_path, project):
    path = tmp_path / "xor.nnd"
    write_project(project, path)
    data = path.read_bytes()
    assert data[:4] == b"PK\x03\x04"
    assert int.from_bytes(data[8:10], "little") == 0  # stored, not deflated
    assert int.from_bytes(data[26:28], "little") == len("mimetype")
    assert int.from_bytes(data[28:30], "little") == 0  # no extra field, so the content sits at 38
    assert data[30:38] == b"mimetype"
    assert data[38:38 + len(MIMETYPE)] == MIMETYPE
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos][:2] == ["mimetype", "project.json"]
    assert infos[1].compress_type == zipfile.ZIP_DEFLATED


@pytest.mark.skipif(shutil.which("file") is None, reason="the `file` command is not installed")
def test_file_command_recognises_it(tmp_path, project):
    write_project(project, tmp_path / "xor.nnd")
    result = subprocess.run(["file", "-b", str(tmp_path / "xor.nnd")], capture_output=True, text=True, check=True)
    assert "application/vnd.nn-designer+zip" in result.stdout


def test_same_weights_give_the_same_bytes_every_time(tmp_path, project):
    # safetensors orders its header by hash; the file must not change when the weights do not
    project.weights = {f"layer{i}.bias": np.full(3, i, np.float32) for i in range(8)}
    saved = set()
    for attempt in range(5):
        write_project(project, tmp_path / "same.nnd")
        saved.add(entry(tmp_path / "same.nnd", "weights.safetensors"))
    assert len(saved) == 1

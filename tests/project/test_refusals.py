"""Files that are not sound projects are refused with a message naming the file and the problem.

Each bad archive is built here. A refused file is never changed and nothing is extracted.
"""
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

from designer.project import MIMETYPE, ProjectError, project_to_dict, read_project, write_project


def make_archive(path, entries, mimetype=MIMETYPE):
    """A ZIP with ``mimetype`` first (unless None) and then ``entries`` (name -> bytes or str)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype is not None:
            archive.writestr("mimetype", mimetype, zipfile.ZIP_STORED)
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return path


def project_json(project, **changes) -> str:
    document = project_to_dict(project)
    document.update(changes)
    return json.dumps(document, indent=2)


def refused(path, **kwargs) -> str:
    """The message of the refusal, after checking the file is untouched and nothing was extracted."""
    before = path.read_bytes()
    stat = os.stat(path)
    listing = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(ProjectError) as info:
        read_project(path, **kwargs)
    message = str(info.value)
    assert str(path) in message, message
    assert message.startswith(f"Cannot open {path}: ")
    assert info.value.path == path
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in path.parent.iterdir()) == listing
    return message


def test_not_a_zip(tmp_path):
    path = tmp_path / "notes.nnd"
    path.write_text("just some text\n")
    assert "not an NN Designer project (not a ZIP archive" in refused(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.nnd"
    path.write_bytes(b"")
    assert "not a ZIP archive" in refused(path)


def test_truncated_file(tmp_path, project):
    path = tmp_path / "cut.nnd"
    write_project(project, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "truncated" in refused(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ProjectError, match="there is no such file"):
        read_project(tmp_path / "nothing.nnd")
    with pytest.raises(ProjectError, match="it is a folder"):
        read_project(tmp_path)


def test_no_mimetype(tmp_path, project):
    path = make_archive(tmp_path / "p.nnd", {"project.json": project_json(project)}, mimetype=None)
    assert "the archive has no 'mimetype' entry" in refused(path)


def test_wrong_mimetype(tmp_path, project):
    path = make_archive(tmp_path / "book.nnd", {"project.json": project_json(project)},
                        mimetype=b"application/epub+zip")
    assert "its mimetype is 'application/epub+zip', not 'application/vnd.nn-designer+zip'" in refused(path)


def test_overlong_mimetype(tmp_path, project):
    path = make_archive(tmp_path / "long.nnd", {"project.json": project_json(project)}, mimetype=MIMETYPE * 100)
    assert "its mimetype is '(too long to be one)'" in refused(path)


def test_entry_leaving_the_archive(tmp_path, project):
    path = make_archive(tmp_path / "evil.nnd", {"project.json": project_json(project), "../evil": b"boo"})
    message = refused(path)
    assert "an entry whose path leaves the archive ('../evil')" in message
    assert not (tmp_path.parent / "evil").exists()


def test_entry_leaving_the_archive_windows_style(tmp_path, project):
    path = make_archive(tmp_path / "evil.nnd", {"project.json": project_json(project), "a\\..\\..\\evil": b"x"})
    assert "an entry whose path leaves the archive" in refused(path)


def test_mimetype_need_not_come_first_when_reading(tmp_path, project):
    path = make_archive(tmp_path / "late.nnd", {"project.json": project_json(project), "mimetype": MIMETYPE},
                        mimetype=None)
    assert read_project(path).name == "XOR"


def test_entry_with_an_absolute_path(tmp_path, project):
    path = make_archive(tmp_path / "abs.nnd", {"project.json": project_json(project), "/tmp/evil": b"boo"})
    assert "an entry with an absolute path ('/tmp/evil')" in refused(path)
    path = make_archive(tmp_path / "drive.nnd", {"project.json": project_json(project), "C:\\evil": b"boo"})
    assert "absolute path" in refused(path)


def test_duplicate_entries(tmp_path, project):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we make on purpose
        path = make_archive(tmp_path / "twice.nnd", {"project.json": project_json(project)})
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("project.json", "{}")
    assert "two entries named 'project.json'" in refused(path)


def test_archive_unpacking_beyond_the_limit(tmp_path, project):
    # A real, highly compressible entry: 3 MiB of zeros deflate to a few KiB.
    path = make_archive(tmp_path / "bomb.nnd", {"project.json": project_json(project), "pad": bytes(3 << 20)})
    assert path.stat().st_size < 100_000
    message = refused(path, max_bytes=2 << 20)
    assert "it would unpack to 3.0 MiB, more than the 2.0 MiB an NN Designer project may hold" in message
    read_project(path, max_bytes=4 << 20)  # the same file within the limit opens


def _lying(path, name, content):
    """An archive whose entry ``name`` declares 100 bytes and inflates to ``content``."""
    data = bytearray(path.read_bytes())
    local = data.rindex(b"PK\x03\x04", 0, data.index(name.encode()))
    struct.pack_into("<I", data, local + 22, 100)
    central = data.rindex(b"PK\x01\x02", 0, data.rindex(name.encode()))
    struct.pack_into("<I", data, central + 24, 100)
    path.write_bytes(bytes(data))
    return path


def test_archive_lying_about_its_sizes(tmp_path, project):
    # A known entry declares 100 bytes and inflates to 3 MiB: reading stops, the file is refused.
    path = make_archive(tmp_path / "liar.nnd", {"project.json": project_json(project),
                                                 "history.json": b" " * (3 << 20)})
    assert "damaged" in refused(_lying(path, "history.json", None), max_bytes=1 << 20)


def test_an_unknown_entry_lying_about_its_size_is_refused_when_it_is_copied(tmp_path, project):
    # Unknown entries are not read on opening (they may be huge): the lie shows when a save copies it,
    # and that save leaves the previous file as it was.
    path = make_archive(tmp_path / "liar.nnd", {"project.json": project_json(project), "pad": bytes(3 << 20)})
    _lying(path, "pad", None)
    opened = read_project(path)
    target = tmp_path / "copy.nnd"
    target.write_bytes(b"previous")
    with pytest.raises(ProjectError) as info:
        write_project(opened, target)
    assert "'pad'" in str(info.value) and "copy.nnd" in str(info.value)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.nnd", "liar.nnd"]


def test_too_many_entries(tmp_path, project):
    path = make_archive(tmp_path / "many.nnd", {"project.json": project_json(project),
                                                 **{f"junk/{i}": b"" for i in range(1000)}})
    assert "it holds 1002 entries" in refused(path)


def test_newer_version(tmp_path, project):
    path = make_archive(tmp_path / "new.nnd", {"project.json": project_json(project, version=2)})
    message = refused(path)
    assert "made by a newer NN Designer" in message and "update the app" in message


@pytest.mark.parametrize("version", [0, "1", 1.5, None, True])
def test_invalid_version(tmp_path, project, version):
    path = make_archive(tmp_path / "v.nnd", {"project.json": project_json(project, version=version)})
    assert f"invalid version {version!r}" in refused(path)


def test_other_format(tmp_path, project):
    path = make_archive(tmp_path / "f.nnd", {"project.json": project_json(project, format="keras")})
    assert "project.json says format 'keras', not 'nnd'" in refused(path)


def test_missing_project_json(tmp_path):
    path = make_archive(tmp_path / "p.nnd", {"history.json": '{"runs": []}'})
    assert "the archive has no 'project.json' entry" in refused(path)


def test_broken_json_says_line_and_column(tmp_path):
    path = make_archive(tmp_path / "p.nnd", {"project.json": '{\n  "format": "nnd",\n  "version" 1\n}\n'})
    assert "project.json is not valid JSON: Expecting ':' delimiter at line 3, column 13" in refused(path)


def test_project_json_not_utf8(tmp_path):
    path = make_archive(tmp_path / "p.nnd", {"project.json": b'{"name": "\xff"}'})
    assert "project.json is not UTF-8 text" in refused(path)


@pytest.mark.parametrize("graph, expected", [
    ([], "'graph' must be a JSON object"),
    ({"layers": {}}, "'graph.layers' and 'graph.connections' must be lists"),
    ({"layers": [{"id": "h"}, {"id": "h"}]}, "two layers have the id 'h'"),
    ({"layers": [{"id": "h", "shape": [0]}]}, "layer 'h': shape must be a list of 1 to 3 positive integers"),
    ({"layers": [{"kind": "input"}]}, "a layer has no 'id'"),
])
def test_malformed_graph(tmp_path, project, graph, expected):
    path = make_archive(tmp_path / "g.nnd", {"project.json": project_json(project, graph=graph)})
    message = refused(path)
    assert "the design in project.json is malformed" in message and expected in message


@pytest.mark.parametrize("field, value", [("name", 3), ("dataset", [1]), ("training", "fast")])
def test_malformed_fields(tmp_path, project, field, value):
    path = make_archive(tmp_path / "f.nnd", {"project.json": project_json(project, **{field: value})})
    assert f"project.json: '{field}'" in refused(path)


def test_weights_that_are_not_safetensors(tmp_path, project):
    path = make_archive(tmp_path / "w.nnd", {"project.json": project_json(project),
                                              "weights.safetensors": b"\x80\x04pickle? no thanks"})
    assert "weights.safetensors is not a safetensors file" in refused(path)


def test_weights_written_by_another_tool(tmp_path, project):
    foreign = save_safetensors({"w": np.zeros(2, np.float32)}, metadata={"format": "pt"})
    path = make_archive(tmp_path / "w.nnd", {"project.json": project_json(project), "weights.safetensors": foreign})
    assert "weights.safetensors was not written by NN Designer" in refused(path)


def test_weights_of_a_newer_version(tmp_path, project):
    newer = save_safetensors({"w": np.zeros(2, np.float32)}, metadata={"format": "nnd-weights", "version": "2"})
    path = make_archive(tmp_path / "w.nnd", {"project.json": project_json(project), "weights.safetensors": newer})
    assert "newer NN Designer" in refused(path)


def test_damaged_weights(tmp_path, project):
    good = save_safetensors({"w": np.zeros(64, np.float32)}, metadata={"format": "nnd-weights", "version": "1"})
    path = make_archive(tmp_path / "w.nnd", {"project.json": project_json(project),
                                              "weights.safetensors": good[:-16]})
    assert "weights.safetensors is damaged" in refused(path)


@pytest.mark.parametrize("history, expected", [
    ('{"runs": {}}', 'history.json is malformed: it must hold {"runs": [...]}'),
    ('[]', 'history.json is malformed'),
    ('{"runs": [1]}', "history.json is malformed: run 1 is not a JSON object"),
    ('{"runs": [', "history.json is not valid JSON"),
])
def test_malformed_history(tmp_path, project, history, expected):
    path = make_archive(tmp_path / "h.nnd", {"project.json": project_json(project), "history.json": history})
    assert expected in refused(path)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_json_nested_absurdly_deep(tmp_path, project, depth):
    text = project_json(project)[:-2] + ',\n  "deep": ' + "[" * depth + "]" * depth + "\n}"
    path = make_archive(tmp_path / "deep.nnd", {"project.json": text})
    assert "project.json is nested" in refused(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.timeout(20)
def test_a_pipe_or_a_device_is_refused_instead_of_waiting_forever(tmp_path):
    pipe = tmp_path / "pipe.nnd"
    os.mkfifo(pipe)  # opening it for reading would wait for a writer that never comes
    with pytest.raises(ProjectError, match="pipe.nnd: it is not a plain file"):
        read_project(pipe)
    if os.path.exists("/dev/zero"):  # reads zeros forever
        with pytest.raises(ProjectError, match="not a plain file"):
            read_project("/dev/zero")

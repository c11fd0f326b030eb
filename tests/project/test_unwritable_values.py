"""Values a project in memory can hold but no file can: saving refuses them, naming the part, file untouched."""
import pytest

from designer.project import ProjectError, write_project

from .conftest import xor_project


@pytest.mark.parametrize("change, words", [
    (lambda p: setattr(p, "name", "XOR \ud800"), ["not valid Unicode", "'\\ud800'"]),
    (lambda p: p.history[0].update(epochs=[10 ** 5000]), ["more than 4300 digits"]),
])
def test_a_value_no_file_can_hold_is_refused_and_the_previous_file_kept(tmp_path, change, words):
    path = tmp_path / "p.nnd"
    path.write_bytes(b"previous")
    project = xor_project()
    change(project)
    with pytest.raises(ProjectError) as info:
        write_project(project, path)
    message = str(info.value)
    assert message.startswith(f"Cannot save {path}")
    for word in words:
        assert word in message, message
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["p.nnd"]

"""load_dataset's dispatch, describe()'s summaries, and what importing designer.data costs."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from designer.data import BUILTIN_DATASETS, KINDS, DataError, describe, load_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("spec", [{"kind": "parquet", "path": "a.parquet"}, {"name": "xor"}])
def test_unknown_or_missing_kind_lists_the_valid_ones(spec):
    with pytest.raises(DataError) as error:
        load_dataset(spec)
    assert all(kind in str(error.value) for kind in ("builtin", "csv", "images"))
    assert KINDS == ("builtin", "csv", "images")


def test_a_dataset_block_that_is_not_an_object_is_refused():
    with pytest.raises(DataError, match="JSON object"):
        load_dataset(["builtin", "xor"])


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_describe_agrees_with_what_loads(name):
    spec = {"kind": "builtin", "name": name, "samples": 120, "validation_split": 0.25}
    line = describe(spec)
    ds = load_dataset(spec)
    assert line.startswith(f"{name}: 120 ")
    assert "25% for validation" in line
    if ds.task == "classification":
        assert f"{ds.num_classes} classes" in line
    else:
        assert "regression" in line
    size = "x".join(map(str, ds.input_shape))
    assert re.search(rf"\b{size} (inputs?|images)\b", line)


def test_describe_spiral_reads_as_documented():
    assert describe({"kind": "builtin", "name": "spiral", "samples": 400}) == (
        "spiral: 400 samples, 2 classes, 2 inputs, 20% for validation")
    assert describe({"kind": "builtin", "name": "sine"}) == (
        "sine: 500 sequences of 20 steps, regression, 1 input per step, 20% for validation")


def test_describe_raises_the_same_errors_as_loading():
    with pytest.raises(DataError, match="'samples'"):
        describe({"kind": "builtin", "name": "spiral", "samples": 0})
    with pytest.raises(DataError, match="not found"):
        describe({"kind": "csv", "path": "nowhere.csv"})


def test_importing_and_describing_loads_neither_torch_nor_pillow():
    # The window summarises the dataset while it paints, before torch is imported.
    code = ("import sys, designer.data as d; d.describe({'kind': 'builtin', 'name': 'shapes'});"
            "bad = [m for m in ('torch', 'PIL', 'PySide6') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dataset_repr_is_one_readable_line():
    text = repr(load_dataset({"kind": "builtin", "name": "sine"}))
    assert text == "Dataset('sine', regression, 400 train / 100 validation, input_shape=(1,), sequence)"

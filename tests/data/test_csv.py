"""CSV datasets: columns, inferred task, standardisation from training rows only, and every error's message."""
import os

import numpy as np
import pytest
import torch

from designer.data import DataError, load_dataset

IRIS_LIKE = """sepal,petal,species
5.1,1.4,setosa
4.9,1.3,setosa
6.3,4.7,versicolor
6.0,4.5,versicolor
5.8,5.1,virginica
7.1,5.9,virginica
5.0,1.5,setosa
6.4,4.5,versicolor
6.5,5.2,virginica
5.4,1.7,setosa
"""


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(folder, name: str, **fields):
    return load_dataset({"kind": "csv", "path": name, **fields}, base_dir=folder)


def rows_of(ds):
    x = torch.cat([ds.x_train, ds.x_val]).numpy()
    y = torch.cat([ds.y_train, ds.y_val]).numpy()
    return x, y


def test_text_labels_become_sorted_classes_and_rows_keep_their_label(tmp_path):
    write(tmp_path, "iris.csv", IRIS_LIKE)
    ds = load(tmp_path, "iris.csv", standardize=False)
    assert (ds.name, ds.task, ds.class_names, ds.num_classes) == (
        "iris.csv", "classification", ["setosa", "versicolor", "virginica"], 3)
    assert ds.feature_names == ["sepal", "petal"] and ds.input_shape == (2,) and not ds.is_sequence
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    x, y = rows_of(ds)
    written = {(float(a), float(b)): label for a, b, label in
               (line.split(",") for line in IRIS_LIKE.splitlines()[1:])}
    got = {(round(float(a), 4), round(float(b), 4)): ds.class_names[label] for (a, b), label in zip(x, y)}
    assert got == {(round(a, 4), round(b, 4)): label for (a, b), label in written.items()}
    assert set(ds.y_train.tolist()) == {0, 1, 2}  # stratified: every class trains


def test_target_defaults_to_the_last_column_and_features_can_be_chosen(tmp_path):
    write(tmp_path, "t.csv", "a,b,c,y\n" + "".join(f"{i},{i * 2},{i * 3},{i % 2}\n" for i in range(10)))
    ds = load(tmp_path, "t.csv", features=["c", "a"], standardize=False)
    assert ds.feature_names == ["c", "a"] and ds.input_shape == (2,)
    x, y = rows_of(ds)
    assert np.allclose(x[:, 0], 3 * x[:, 1]) and ((x[:, 1] % 2) == y).all()
    ds = load(tmp_path, "t.csv", target="a", task="regression", standardize=False)
    assert ds.feature_names == ["b", "c", "y"]
    x, y = rows_of(ds)
    assert np.allclose(y[:, 0], x[:, 0] / 2)


def test_few_whole_numbers_are_classes_sorted_numerically(tmp_path):
    write(tmp_path, "n.csv", "x,digit\n" + "".join(f"{i},{[2, 10, 3][i % 3]}\n" for i in range(12)))
    ds = load(tmp_path, "n.csv")
    assert ds.task == "classification" and ds.class_names == ["2", "3", "10"]


def test_fractional_targets_are_regression_and_the_task_can_be_forced(tmp_path):
    write(tmp_path, "r.csv", "x,price\n" + "".join(f"{i},{i * 1.5}\n" for i in range(10)))
    ds = load(tmp_path, "r.csv", standardize=False)
    assert ds.task == "regression" and ds.num_classes == 0 and ds.class_names == []
    assert ds.y_train.dtype == torch.float32 and tuple(ds.y_train.shape) == (8, 1)
    x, y = rows_of(ds)
    assert np.allclose(y[:, 0], x[:, 0] * 1.5)
    write(tmp_path, "c.csv", "x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    assert load(tmp_path, "c.csv", task="regression").task == "regression"


def test_standardisation_uses_the_training_rows_only(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal([10.0, -3.0], [5.0, 0.1], size=(200, 2))
    write(tmp_path, "s.csv", "u,v,y\n" + "".join(f"{u:.6f},{v:.6f},{i % 2}\n" for i, (u, v) in enumerate(values)))
    raw = load(tmp_path, "s.csv", standardize=False, validation_split=0.3, seed=4)
    scaled = load(tmp_path, "s.csv", validation_split=0.3, seed=4)
    mean = raw.x_train.double().mean(dim=0)
    std = raw.x_train.double().std(dim=0, unbiased=False)
    assert torch.allclose(scaled.x_train.double(), (raw.x_train.double() - mean) / std, atol=1e-5)
    assert torch.allclose(scaled.x_val.double(), (raw.x_val.double() - mean) / std, atol=1e-5)
    # the validation rows were not part of the statistics: they are not exactly centred themselves
    assert scaled.x_val.mean(dim=0).abs().max() > 1e-3
    assert torch.allclose(scaled.x_train.mean(dim=0), torch.zeros(2), atol=1e-5)
    assert torch.equal(raw.y_train, scaled.y_train) and torch.equal(raw.y_val, scaled.y_val)


def test_a_constant_column_is_centred_not_divided_by_zero(tmp_path):
    write(tmp_path, "k.csv", "k,x,y\n" + "".join(f"7,{i},{i % 2}\n" for i in range(10)))
    ds = load(tmp_path, "k.csv")
    assert torch.isfinite(ds.x_train).all() and (ds.x_train[:, 0] == 0).all()


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    write(tmp_path, "iris.csv", IRIS_LIKE)
    first, again, other = (load(tmp_path, "iris.csv", seed=s) for s in (1, 1, 2))
    assert torch.equal(first.x_val, again.x_val) and torch.equal(first.y_train, again.y_train)
    assert not torch.equal(first.x_val, other.x_val)


def test_path_resolves_against_the_project_folder_or_is_absolute(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    path = write(tmp_path / "data", "iris.csv", IRIS_LIKE)
    assert load(tmp_path, "data/iris.csv").num_classes == 3
    monkeypatch.chdir(tmp_path / "data")  # an absolute path ignores both the base folder and the current one
    assert load_dataset({"kind": "csv", "path": str(path)}, base_dir=tmp_path / "elsewhere").num_classes == 3
    assert load_dataset({"kind": "csv", "path": "iris.csv"}).num_classes == 3  # unsaved project: current folder


def test_semicolons_tabs_quotes_blank_lines_and_a_byte_order_mark_are_read(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffa;b;y\n1;2;x\n\n3;4;z\n5;6;x\n".encode("utf-8"))
    ds = load(tmp_path, "bom.csv", standardize=False)
    assert ds.feature_names == ["a", "b"] and len(ds.x_train) + len(ds.x_val) == 3
    write(tmp_path, "tab.csv", "a\tb\ty\n1\t2\tx\n3\t4\tz\n")
    assert load(tmp_path, "tab.csv").feature_names == ["a", "b"]
    write(tmp_path, "q.csv", '"first, name",y\n"1",a\n2,"b"\n')
    assert load(tmp_path, "q.csv").feature_names == ["first, name"]


ERRORS = [
    # (file content, extra fields, words the message must hold)
    ("a,x2,y\n1,2,0\n1,2,1\n1,2,0\n1,2,1\n1,2,0\n1,abc,1\n", {},
     ["bad.csv", "line 7, column 'x2': 'abc' is not a number"]),
    ("a,x2,y\n1,2,0\n1,,1\n", {}, ["bad.csv", "line 3, column 'x2'", "missing value"]),
    ("a,x2,y\n1,2,0\n1,NaN,1\n", {}, ["bad.csv", "line 3, column 'x2'", "missing value"]),
    ("a,x2,y\n1,2,0\n1,inf,1\n", {}, ["line 3, column 'x2'", "'inf' is not a finite number"]),
    ("a,x2,y\n1,2,0\n\n1,2\n", {}, ["bad.csv", "line 4", "2 values", "names 3 columns"]),
    ("a,x2,y\n1,2,0\n1,2,3,4\n", {}, ["line 3", "4 values"]),
    ("a,x2,y\n1,2,cat\n3,4,cat\n", {}, ["bad.csv", "column 'y'", "single class ('cat')", "at least two"]),
    ("a,x2,y\n1,2,0\n", {}, ["bad.csv", "1 data line", "at least 2"]),
    ("a,x2,y\n", {}, ["bad.csv", "0 data lines", "at least 2"]),
    ("", {}, ["bad.csv", "is empty"]),
    ("\n\n", {}, ["bad.csv", "is empty"]),
    ("1,2,0\n3,4,1\n", {}, ["bad.csv", "no header", "line 1"]),
    ("a,x2,y\n1,2,0\n3,4,1\n", {"target": "label"}, ["bad.csv", "'label'", "'a', 'x2', 'y'"]),
    ("a,x2,y\n1,2,0\n3,4,1\n", {"features": ["a", "x3"]}, ["bad.csv", "'x3'", "'a', 'x2', 'y'"]),
    ("a,x2,y\n1,2,0\n3,4,1\n", {"features": ["a", "y"]}, ["'y' is the target"]),
    ("a,a,y\n1,2,0\n3,4,1\n", {}, ["bad.csv", "line 1", "'a' more than once"]),
    ("a,,y\n1,2,0\n3,4,1\n", {}, ["line 1", "column 2 has no name"]),
    ("y\n0\n1\n", {}, ["no feature columns"]),
    ("name,x,y\nann,1,0\nbob,2,1\n", {}, ["line 2, column 'name': 'ann' is not a number", "'features'"]),
    ("a;b;y\n1,5;2;0\n2,5;3;1\n", {}, ["line 2, column 'a': '1,5' is not a number", "decimal separator"]),
    ("x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)) + "31,oops\n", {},
     ["line 32, column 'y': 'oops' is not a number", "'task'"]),
    ("x,y\n1,2.5\n2,high\n", {"task": "regression"}, ["line 3, column 'y': 'high' is not a number", "regression"]),
    ("x,y\n1,a\n2,\n3,b\n", {}, ["line 3, column 'y'", "missing class label"]),
    ('x,y\n1,"a\nb"\n2,c\n"3\n",d\nbad,e\n', {}, ["line 7, column 'x': 'bad' is not a number"]),
    ("x,y\n1,0\n2,1\n", {"task": "clustering"}, ["'task'", "'clustering'"]),
    ("x,y\n1,0\n2,1\n", {"standardize": "yes"}, ["'standardize'"]),
    ("x,y\n1,0\n2,1\n3," + "9" * 200_000 + "\n", {}, ["bad.csv", "line 4", "field larger than field limit"]),
]


@pytest.mark.parametrize("text, fields, words", ERRORS)
def test_csv_errors_name_the_file_line_and_column(tmp_path, text, fields, words):
    write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError) as error:
        load(tmp_path, "bad.csv", **fields)
    for word in words:
        assert word in str(error.value)


def test_loading_leaves_the_garbage_collector_running_even_after_an_error(tmp_path):
    import gc
    write(tmp_path, "bad.csv", "x,y\n1,0\noops,1\n")
    with pytest.raises(DataError):
        load(tmp_path, "bad.csv")
    assert gc.isenabled()
    write(tmp_path, "good.csv", "x,y\n1,0\n2,1\n")
    load(tmp_path, "good.csv")
    assert gc.isenabled()


def test_line_numbers_stay_right_deep_in_a_large_file(tmp_path):
    lines = [f"{i},{i % 3}\n" for i in range(20_000)]
    lines[12_345] = "12345,\n"
    write(tmp_path, "big.csv", "x,y\n" + "".join(lines))
    with pytest.raises(DataError, match=r"big.csv, line 12347, column 'y'"):
        load(tmp_path, "big.csv", task="classification")


def test_a_missing_file_names_the_path_it_looked_for(tmp_path):
    with pytest.raises(DataError) as error:
        load(tmp_path, "data/missing.csv")
    assert "'data/missing.csv' not found" in str(error.value)
    assert str(tmp_path / "data" / "missing.csv") in str(error.value)


def test_a_folder_or_non_utf8_file_is_refused_with_the_fix(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        load(tmp_path, "folder.csv")
    (tmp_path / "latin.csv").write_bytes("x,y\n1,caf\xe9\n2,b\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv.*UTF-8"):
        load(tmp_path, "latin.csv")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.timeout(20)
def test_a_pipe_is_refused_instead_of_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match="'pipe.csv' is not a plain file"):
        load(tmp_path, "pipe.csv")


def test_no_path_is_refused(tmp_path):
    with pytest.raises(DataError, match="'path'"):
        load_dataset({"kind": "csv"}, base_dir=tmp_path)


def test_describe_counts_rows_and_inputs_without_converting(tmp_path):
    from designer.data import describe
    write(tmp_path, "iris.csv", IRIS_LIKE)
    assert describe({"kind": "csv", "path": "iris.csv", "validation_split": 0.3}, tmp_path) == (
        "csv iris.csv: 10 rows, 2 inputs, target 'species', 30% for validation")

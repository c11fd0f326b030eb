"""Table datasets at scale: the pyarrow reader gives the dataset the csv-module loader gave, in memory,
spilled to the cache and streamed from it; the cache is rebuilt when stale or damaged; Parquet, Feather and
Arrow files load as their CSV twin; a load reports progress and can be cancelled without leaving an entry."""
import csv
import os
import threading

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from designer.data import DataError, LoadCancelled, Progress, load_dataset
from designer.data import store, table_read
from designer.data.dataset import CLASSIFICATION, REGRESSION, split_indices


# ---------------------------------------------------------------- the reference: the loader NN Designer had
# A copy of the csv-module loader of the versions before pyarrow (value parsing, task inference, class
# names, split and standardisation), kept here only as the oracle the new reader must agree with.
def _oracle(path, features=None, target=None, task=None, standardize=True, split=0.2, seed=0):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
        handle.seek(0)
        delimiter = max((",", ";", "\t"), key=first.count) if any(d in first for d in ",;\t") else ","
        rows = [row for row in csv.reader(handle, delimiter=delimiter)
                if row and not (len(row) == 1 and not row[0].strip())]
    header, rows = [name.strip() for name in rows[0]], rows[1:]
    target = target or header[-1]
    features = features or [name for name in header if name != target]
    x = np.column_stack([np.array([float(r[header.index(name)]) for r in rows]) for name in features])
    texts = [r[header.index(target)] for r in rows]
    try:
        values = np.array([float(t) for t in texts])
    except ValueError:
        values = None
    if values is not None:
        if task is None:
            whole = bool(np.all(values == np.round(values)))
            task = CLASSIFICATION if whole and len(np.unique(values)) <= 20 else REGRESSION
        if task == REGRESSION:
            y, names = values[:, None], []
        else:
            distinct, y = np.unique(values, return_inverse=True)
            names = [str(int(v)) if v == int(v) else f"{v:g}" for v in distinct]
    else:
        task = CLASSIFICATION
        names = sorted({t.strip() for t in texts})
        y = np.array([names.index(t.strip()) for t in texts])
    train, val = split_indices(len(x), split, np.random.default_rng(seed), y if task == CLASSIFICATION else None)
    if standardize:
        mean, std = x[train].mean(axis=0), x[train].std(axis=0)
        std[std == 0] = 1.0
        x = (x - mean) / std
    x = x.astype(np.float32)
    y = y.astype(np.int64) if task == CLASSIFICATION else y.astype(np.float32).reshape(len(x), -1)
    return {"x_train": x[train], "y_train": y[train], "x_val": x[val], "y_val": y[val], "task": task,
            "class_names": names if task == CLASSIFICATION else [], "feature_names": features}


def _same(ds, expected):
    for name in ("x_train", "y_train", "x_val", "y_val"):
        got = getattr(ds, name).numpy()
        assert got.dtype == expected[name].dtype and got.shape == expected[name].shape, name
        assert np.array_equal(got, expected[name]), name  # bit for bit, not approximately
    assert (ds.task, ds.class_names, ds.feature_names) == (expected["task"], expected["class_names"],
                                                           expected["feature_names"])


def _tables():
    rng = np.random.default_rng(3)
    values = rng.normal([10.0, -3.0, 0.0], [5.0, 0.1, 1e-3], size=(3000, 3)).tolist()
    return {
        "iris.csv": "sepal,petal,species\n" + "".join(
            f"{a:.1f},{b:.1f},{['setosa', 'versicolor', ' virginica'][i % 3]}\n"
            for i, (a, b) in enumerate(rng.uniform(1, 8, size=(60, 2)))),
        "whole.csv": "x,digit\n" + "".join(f"{i * 0.37:.3f},{[2, 10, 3][i % 3]}\n" for i in range(300)),
        "price.csv": "a,b,price\n" + "".join(f"{u:.5f},{v:.5f},{u * 1.5 + v:.4f}\n"
                                             for u, v, _ in values[:500]),
        "scaled.csv": "u,v,w,y\n" + "".join(f"{u!r},{v!r},{w!r},{i % 4}\n" for i, (u, v, w) in enumerate(values)),
        "one.csv": "u,y\n" + "".join(f"{u!r},{i % 2}\n" for i, (u, _, _) in enumerate(values)),
        "const.csv": "k,x,y\n" + "".join(f"7,{i},{i % 2}\n" for i in range(50)),
        "semi.csv": "\ufeffa;b;y\n" + "".join(f"{i};{i * i}; {'xz'[i % 2]}\n\n" for i in range(40)),
        "tab.csv": "a\tb\ty\n" + "".join(f"{i}\t {i / 3:.4f} \t{'pq'[i % 2]}\n" for i in range(40)),
        "quoted.csv": '"first, name",y\n' + "".join(f'"{i}","a\n{i % 2}"\n' for i in range(40)),
        "crlf.csv": "a,b,y\r\n" + "".join(f"{i},{-i},{i % 3}\r\n" for i in range(90)) + "\r\n",
    }


TABLES = _tables()
OPTIONS = [{}, {"standardize": False, "seed": 5, "validation_split": 0.3}]


@pytest.fixture(params=["memory", "spilled", "streamed"])
def mode(request, monkeypatch):
    """memory: as small tables load; spilled: tiny chunks, the decoded values spilled to a file and read back in
    chunks of five rows on several threads (the statistics combined chunk after chunk); streamed: from the cache."""
    from designer.data import table_prepare

    if request.param != "memory":
        monkeypatch.setattr(table_read, "CHUNK_BYTES", 97)
        monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
        monkeypatch.setattr(table_prepare, "PASS_BYTES", 8 * 3 * 5)
        monkeypatch.setattr(table_prepare, "PASS_CHUNKS", 3)
    if request.param == "streamed":
        monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "1")
    return request.param


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "raw"])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_dataset_is_the_one_the_csv_module_loader_made(tmp_path, name, options, mode):
    (tmp_path / name).write_text(TABLES[name], encoding="utf-8", newline="")
    ds = load_dataset({"kind": "csv", "path": name, **options}, tmp_path)
    expected = _oracle(tmp_path / name, standardize=options.get("standardize", True), seed=options.get("seed", 0),
                       split=options.get("validation_split", 0.2))
    _same(ds, expected)
    assert ds.streamed == (mode == "streamed")
    again = load_dataset({"kind": "csv", "path": name, **options}, tmp_path)  # from the cache, where there is one
    _same(again, expected)


def test_chosen_features_target_and_task_agree_with_the_old_loader(tmp_path, mode):
    (tmp_path / "t.csv").write_text(TABLES["scaled.csv"])
    spec = {"features": ["w", "u"], "target": "v", "task": "regression"}
    ds = load_dataset({"kind": "csv", "path": "t.csv", **spec}, tmp_path)
    _same(ds, _oracle(tmp_path / "t.csv", **spec))


@pytest.mark.parametrize("text, words", [
    ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(300)) + "5,1\n7,\n", ["line 303, column 'y'", "missing"]),
    ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(300)) + "oops,1\n", ["line 302, column 'x': 'oops'"]),
    ("x,y\n" + "".join(f"{i},{i % 2}\n\n" for i in range(300)) + "1,2,3\n", ["line 602", "3 values"]),
    ("x,y\n" + "".join(f'{i},"{i % 2}\n"\n' for i in range(100)) + "1e999,1\n", ["line 202, column 'x'", "finite"]),
    ("x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(300)) + "31,oops\n", ["line 302, column 'y': 'oops'"]),
    ("x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(300)) + "31,inf\n", ["line 302, column 'y'", "finite"]),
    ("x,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(300)) + "31, NA \n", ["line 302", "missing class"]),
])
def test_bad_cells_are_named_by_line_and_column_across_chunks(tmp_path, monkeypatch, text, words):
    monkeypatch.setattr(table_read, "CHUNK_BYTES", 101)
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(DataError) as error:
        load_dataset({"kind": "csv", "path": "bad.csv"}, tmp_path)
    for word in words:
        assert word in str(error.value)
    assert not [name for name in _entries() if name.startswith(".")]  # nothing half-written is left


def _entries():
    root = store.cache_root()
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _spill(monkeypatch, dataset_bytes=3000 * 3 * 4):
    """Tiny chunks, and the decoded values kept in a cache entry for the next load: as for a table whose
    float32 dataset (``dataset_bytes``, scaled.csv's by default) is over half the memory budget, yet fits."""
    monkeypatch.setattr(table_read, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", str(int(dataset_bytes * 1.6)))


def test_a_changed_file_gets_a_new_cache_entry(tmp_path, monkeypatch):
    _spill(monkeypatch)
    path = tmp_path / "s.csv"
    path.write_text(TABLES["scaled.csv"])
    first = load_dataset({"kind": "csv", "path": "s.csv", "standardize": False}, tmp_path)
    [old] = _entries()
    changed = TABLES["scaled.csv"].replace("\n", "\n1000,1000,1000,0\n", 1)
    path.write_text(changed)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = load_dataset({"kind": "csv", "path": "s.csv", "standardize": False}, tmp_path)
    assert len(second.x_train) + len(second.x_val) == len(first.x_train) + len(first.x_val) + 1
    assert 1000.0 in torch.cat([second.x_train, second.x_val])[:, 0]
    _same(second, _oracle(path, standardize=False))
    assert _entries() != [old] and len(_entries()) == 1  # the stale entry is gone


@pytest.mark.parametrize("damage", ["flip", "truncate", "manifest"])
def test_a_damaged_cache_entry_is_never_trusted_but_rebuilt(tmp_path, monkeypatch, damage):
    _spill(monkeypatch)
    (tmp_path / "s.csv").write_text(TABLES["scaled.csv"])
    expected = _oracle(tmp_path / "s.csv")
    _same(load_dataset({"kind": "csv", "path": "s.csv"}, tmp_path), expected)
    [entry] = _entries()
    x = store.cache_root() / entry / "x.npy"
    data = bytearray(x.read_bytes())
    if damage == "flip":
        data[-5] ^= 0xFF
        x.write_bytes(bytes(data))
    elif damage == "truncate":
        x.write_bytes(bytes(data[:-8]))
    else:
        (store.cache_root() / entry / "manifest.json").write_text("{not json")
    _same(load_dataset({"kind": "csv", "path": "s.csv"}, tmp_path), expected)
    assert store.open_entry(entry) is not None  # rebuilt whole


def test_streamed_and_in_memory_training_give_the_same_losses(tmp_path, monkeypatch, csv_losses):
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    (tmp_path / "s.csv").write_text(TABLES["scaled.csv"])

    in_memory = csv_losses(tmp_path / "s.csv", 4, 32, "1G")
    streamed = csv_losses(tmp_path / "s.csv", 4, 32, "1")
    assert len(in_memory[0]) == 2 * 75 and in_memory == streamed


def _arrow_twins(tmp_path, csv_name):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = pacsv.read_csv(tmp_path / csv_name)
    stem = csv_name.rsplit(".", 1)[0]
    pq.write_table(table, tmp_path / f"{stem}.parquet", row_group_size=37)
    feather.write_feather(table, tmp_path / f"{stem}.feather", chunksize=41)
    with pa.ipc.new_file(tmp_path / f"{stem}.arrow", table.schema) as writer:
        writer.write_table(table, max_chunksize=53)
    return [f"{stem}.parquet", f"{stem}.feather", f"{stem}.arrow"]


@pytest.mark.parametrize("name", ["iris.csv", "scaled.csv", "price.csv", "one.csv"])
def test_parquet_feather_and_arrow_files_load_as_their_csv_twin(tmp_path, name, mode):
    (tmp_path / name).write_text(TABLES[name])
    expected = load_dataset({"kind": "csv", "path": name, "seed": 2}, tmp_path)
    for twin in _arrow_twins(tmp_path, name):
        ds = load_dataset({"kind": "csv", "path": twin, "seed": 2}, tmp_path)
        for field in ("x_train", "y_train", "x_val", "y_val"):
            assert torch.equal(getattr(ds, field), getattr(expected, field)), (twin, field)
        assert (ds.task, ds.class_names, ds.feature_names) == (expected.task, expected.class_names,
                                                               expected.feature_names)


def test_a_missing_value_in_a_parquet_file_is_named_by_row_and_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1.0, 2.0, None, 4.0], "y": [0, 1, 0, 1]}), tmp_path / "holes.parquet")
    with pytest.raises(DataError, match=r"holes.parquet, row 3, column 'a': missing value; fill it in or "
                                        r"remove the row"):
        load_dataset({"kind": "csv", "path": "holes.parquet"}, tmp_path)
    (tmp_path / "junk.parquet").write_bytes(b"not a parquet file at all")
    with pytest.raises(DataError, match="junk.parquet.*cannot be read"):
        load_dataset({"kind": "csv", "path": "junk.parquet"}, tmp_path)


@pytest.mark.parametrize("stage", ["at once", "reading", "preparing", "streaming"])
def test_a_cancelled_load_raises_and_leaves_no_cache_entry(tmp_path, monkeypatch, stage):
    from designer.data import table_prepare

    monkeypatch.setattr(table_read, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    monkeypatch.setattr(table_prepare, "PASS_BYTES", 8 * 3 * 50)  # passes of many chunks, on threads
    # preparing: in memory from the spilled values, cancelled in its passes; streaming: from the cache
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "1G" if stage == "preparing" else "1")
    (tmp_path / "s.csv").write_text(TABLES["scaled.csv"])
    cancel = threading.Event()
    if stage == "at once":
        cancel.set()
    reports = []

    def report(done, total, text):
        reports.append((done, total, text))
        if (stage == "reading" and text.startswith("Reading")) or (stage in ("preparing", "streaming")
                                                                   and text.startswith("Preparing")):
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_dataset({"kind": "csv", "path": "s.csv"}, tmp_path, Progress(report, cancel, interval=0))
    if stage == "streaming":  # the file was read whole: its decoded columns stay, complete, for next time
        assert [name.split("-")[0] for name in _entries()] == ["table"]
    else:
        assert _entries() == []
    cancel.clear()
    progress = Progress(lambda *report: reports.append(report), cancel, interval=0)
    reports.clear()
    load_dataset({"kind": "csv", "path": "s.csv"}, tmp_path, progress)
    texts = [text for _, _, text in reports]
    if stage == "streaming":  # read from the cache this time, checked first
        assert "Checking the cache of s.csv" in texts and not any(t.startswith("Reading") for t in texts)
    else:
        assert "Reading s.csv: 3,000 rows" in texts
        done, total, _ = [r for r in reports if r[2].startswith("Reading")][-1]
        assert done == total
    assert texts[-1] == "Preparing s.csv: 3,000 of 3,000 rows"


def test_a_table_over_the_old_million_row_cap_loads(tmp_path):
    rows = 1_000_001
    with open(tmp_path / "big.csv", "w") as handle:
        handle.write("x,y\n")
        handle.write("".join(f"{i % 1000},{i % 2}\n" for i in range(rows)))
    ds = load_dataset({"kind": "csv", "path": "big.csv", "validation_split": 0.1}, tmp_path)
    assert len(ds.x_train) + len(ds.x_val) == rows and ds.num_classes == 2


def test_a_table_the_cache_disk_cannot_hold_is_refused_with_the_fix(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    _spill(monkeypatch)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    (tmp_path / "s.csv").write_text(TABLES["scaled.csv"])
    with pytest.raises(DataError, match=r"s.csv: decoding this table needs about .* GiB in the dataset cache "
                                        r"folder .* NN_DESIGNER_CACHE"):
        load_dataset({"kind": "csv", "path": "s.csv"}, tmp_path)
    assert _entries() == []


def test_describe_counts_rows_of_every_format_without_converting(tmp_path):
    from designer.data import describe
    (tmp_path / "iris.csv").write_text(TABLES["iris.csv"])
    for name in ["iris.csv", *_arrow_twins(tmp_path, "iris.csv")]:
        assert describe({"kind": "csv", "path": name}, tmp_path) == (
            f"csv {name}: 60 rows, 2 inputs, target 'species', 20% for validation")


def test_every_csv_error_reads_the_same_when_the_file_comes_in_many_small_chunks(tmp_path, monkeypatch):
    from tests.data.test_csv import ERRORS

    monkeypatch.setattr(table_read, "CHUNK_BYTES", 7)
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    for text, fields, words in ERRORS:
        (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as error:
            load_dataset({"kind": "csv", "path": "bad.csv", **fields}, tmp_path)
        for word in words:
            assert word in str(error.value), (text[:40], str(error.value))


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "raw"])
@pytest.mark.parametrize("name", ["scaled.csv", "one.csv", "iris.csv", "price.csv"])
def test_the_bucket_shuffle_gives_the_in_memory_dataset_bit_for_bit(tmp_path, monkeypatch, name, options):
    """Spilled tables are put in split order by an external bucket shuffle; tiny buckets and reads exercise it."""
    from designer.data import table_prepare

    (tmp_path / name).write_text(TABLES[name], encoding="utf-8", newline="")
    spec = {"kind": "csv", "path": name, **options}
    in_memory = load_dataset(spec, tmp_path)  # a small table: decoded in memory, rows gathered directly
    assert not in_memory.streamed
    monkeypatch.setattr(table_read, "CHUNK_BYTES", 997)
    monkeypatch.setattr(table_read, "SPILL_BYTES", 0)
    monkeypatch.setattr(table_prepare, "BUCKET_BYTES", 8 * 3 * 7)  # a few rows a bucket: dozens of buckets
    monkeypatch.setattr(table_prepare, "READ_BYTES", 8 * 3 * 11)
    expected = {f: getattr(in_memory, f).numpy() for f in ("x_train", "y_train", "x_val", "y_val")}
    expected.update(task=in_memory.task, class_names=in_memory.class_names, feature_names=in_memory.feature_names)
    for budget in ("1G", "1"):  # from the spilled values into memory, then into a streamed entry
        monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", budget)
        ds = load_dataset(spec, tmp_path)
        assert ds.streamed == (budget == "1")
        _same(ds, expected)
    assert not [p for p in store.cache_root().iterdir() if p.name.startswith(".")]  # no temporary file is left


def test_an_empty_target_field_means_the_last_column_as_a_missing_one_does(tmp_path):
    # the window's "Target" box starts empty when a person picks a CSV file: that is not a column named ''
    (tmp_path / "t.csv").write_text("a,b,kind\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    left_out = load_dataset({"kind": "csv", "path": "t.csv"}, tmp_path)
    for blank in ("", "  "):
        empty = load_dataset({"kind": "csv", "path": "t.csv", "target": blank}, tmp_path)
        assert empty.class_names == left_out.class_names == ["x", "y"] and empty.feature_names == ["a", "b"]
        assert torch.equal(empty.x_train, left_out.x_train)


@given(st.lists(st.integers(-70_000, 70_000), min_size=1, max_size=300), st.integers(0, 3))
def test_labels_counted_are_those_numpy_sorts(values, spread):
    """Whole-number targets get their classes by counting: the classes and each row's index as np.unique's."""
    from designer.data.table import _counted_classes

    values = np.array(values, dtype=np.float64) * (1 + spread)  # spans above and below the counting limit
    counted = _counted_classes(values)
    distinct, labels = np.unique(values, return_inverse=True)
    if values.max() - values.min() < 1 << 16:
        assert counted is not None
        assert counted[0].dtype == distinct.dtype and np.array_equal(counted[0], distinct)
        assert np.array_equal(counted[1], labels.reshape(-1))
    else:
        assert counted is None

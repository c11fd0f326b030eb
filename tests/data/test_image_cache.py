"""Image folders through the dataset cache: the same data as the loader before the cache, a stale or damaged
entry rebuilt (never trusted), streaming, the thread pool, cancelling."""
import multiprocessing
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import designer.data.images as images
from designer.data import DataError, LoadCancelled, Progress, load_dataset
from designer.data.dataset import split_indices
from designer.data.store import MANIFEST

from .test_images import make_folder, picture

GREEN = (0, 255, 0)


def noise(path, seed, size=(7, 5)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), dtype=np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    """As tests/data/test_images.py's folder, plus a palette picture with transparency and a 16-bit one."""
    root = make_folder(tmp_path)
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 255, 0] * 256)
    palette.save(root / "red" / "palette.png", transparency=0)
    Image.fromarray(np.array([[0, 16384], [32768, 65535]], dtype=np.uint16)).save(root / "blue" / "deep.png")
    for i in range(4):
        noise(root / "red" / f"n{i}.png", seed=i)
    return root


@pytest.fixture
def many(tmp_path):
    """40 noisy pictures in two classes: enough chunks for the thread pool."""
    root = tmp_path / "many"
    for i in range(40):
        noise(root / ("a" if i % 2 else "b") / f"{i:03d}.png", seed=i)
    return root


def spec(path, **fields):
    return {"kind": "images", "path": str(path), **fields}


def legacy(path, size=(32, 32), grayscale=False, validation_split=0.2, seed=0):
    """The loader as it was before the cache (one picture at a time into memory), for comparison."""
    classes = sorted(e for e in Path(path).iterdir() if e.is_dir() and not e.name.startswith("."))
    found = [(c.name, sorted((f for f in c.iterdir() if f.is_file() and not f.name.startswith(".")
                              and f.suffix.lower() in images.IMAGE_SUFFIXES), key=lambda f: f.name))
             for c in classes]
    height, width = size
    count = sum(len(files) for _, files in found)
    x = np.empty((count, height, width, 1 if grayscale else 3), dtype=np.float32)
    y = np.empty(count, dtype=np.int64)
    row = 0
    for label, (_, files) in enumerate(found):
        for file in files:
            with Image.open(file) as image:
                image = ImageOps.exif_transpose(image)
                if image.mode.startswith("I") or image.mode == "F":
                    grey = np.asarray(image, dtype=np.float32) / (65535.0 if image.mode.startswith("I") else 1.0)
                    grey = Image.fromarray(np.clip(grey, 0.0, 1.0))
                    resized = np.asarray(grey.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
                    x[row] = np.repeat(np.clip(resized, 0.0, 1.0)[:, :, None], 1 if grayscale else 3, axis=2)
                else:
                    if image.mode in ("P", "PA"):
                        image = image.convert("RGBA")
                    pixels = image.convert("L" if grayscale else "RGB").resize((width, height),
                                                                              Image.Resampling.BILINEAR)
                    x[row] = np.asarray(pixels, dtype=np.float32).reshape(height, width, -1) / np.float32(255)
            y[row] = label
            row += 1
    x = x.transpose(0, 3, 1, 2)
    train, val = split_indices(count, validation_split, np.random.default_rng(seed), y)
    return (np.ascontiguousarray(x[train]), y[train], np.ascontiguousarray(x[val]), y[val])


def assert_same(ds, expected):
    for tensor, array in zip((ds.x_train, ds.y_train, ds.x_val, ds.y_val), expected):
        assert tensor.numpy().dtype == array.dtype and tensor.numpy().shape == array.shape
        assert np.array_equal(tensor.numpy(), array)  # bit for bit: same values, order and split


def entries(cache):
    return sorted(p.name for p in Path(cache).iterdir())


@pytest.fixture
def decodes(monkeypatch):
    """Counts the pictures decoded (a load from the cache decodes none)."""
    count = [0]
    original = images._decode

    def counting(files, *args):
        count[0] += len(files)
        return original(files, *args)

    monkeypatch.setattr(images, "_decode", counting)
    return count


@pytest.mark.parametrize("fields", [dict(size=[4, 3], validation_split=0.4, seed=1),
                                    dict(size=[2, 2], grayscale=True, validation_split=0),
                                    dict(size=[9, 7], seed=5), dict()])
def test_the_same_dataset_as_the_loader_before_the_cache_first_from_the_cache_and_streamed(
        folder, fields, decodes, monkeypatch):
    expected = legacy(folder, **{k: tuple(v) if k == "size" else v for k, v in fields.items()})
    first = load_dataset(spec(folder, **fields))
    assert decodes[0] == 11 and not first.streamed
    assert_same(first, expected)
    again = load_dataset(spec(folder, **fields))
    assert decodes[0] == 11  # from the cache
    assert_same(again, expected)
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "16")
    streamed = load_dataset(spec(folder, **fields))
    assert streamed.streamed and decodes[0] == 11  # arranged from the same decoded entry
    assert_same(streamed, expected)


def test_the_thread_pool_gives_the_same_dataset(many, monkeypatch, decodes):
    monkeypatch.setattr(images, "usable_cores", lambda: 2)
    monkeypatch.setattr(images, "POOL_GAIN", 0.0)  # the pool is always kept
    pooled = load_dataset(spec(many, size=[5, 4], seed=2))
    assert decodes[0] == 40
    assert_same(pooled, legacy(many, size=(5, 4), seed=2))


def test_the_cache_holds_one_entry_per_folder_and_options(folder, _dataset_cache):
    load_dataset(spec(folder, size=[4, 4]))
    load_dataset(spec(folder, size=[4, 4], seed=3))  # the split is cut afterwards: the same entry
    assert len(entries(_dataset_cache)) == 1
    load_dataset(spec(folder, size=[5, 5]))  # another size is another entry; both stay
    assert len(entries(_dataset_cache)) == 2


def replace_keeping_size(path, colour):
    """Write other pixels into ``path`` in place; its modification time moves on (as an editor's save)."""
    before = path.stat()
    picture(path, colour, size=Image.open(path).size)
    os.utime(path, ns=(before.st_atime_ns, max(path.stat().st_mtime_ns, before.st_mtime_ns + 1_000_000_000)))


@pytest.mark.parametrize("change", ["added", "removed", "replaced"])
def test_a_stale_cache_is_rebuilt(folder, change, decodes, _dataset_cache):
    load_dataset(spec(folder, size=[3, 3]))
    assert decodes[0] == 11
    if change == "added":
        picture(folder / "red" / "r9.png", GREEN)
    elif change == "removed":
        (folder / "red" / "r1.png").unlink()
    else:
        replace_keeping_size(folder / "red" / "r1.png", GREEN)
    ds = load_dataset(spec(folder, size=[3, 3]))
    assert decodes[0] == 11 + {"added": 12, "removed": 10, "replaced": 11}[change]
    assert_same(ds, legacy(folder, size=(3, 3)))
    assert len(entries(_dataset_cache)) == 1  # the stale entry is gone


def only_entry(cache):
    (name,) = entries(cache)
    return Path(cache) / name


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "missing manifest", "flipped label"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(folder, damage, decodes, _dataset_cache):
    expected = legacy(folder, size=(4, 4))
    load_dataset(spec(folder, size=[4, 4]))
    entry = only_entry(_dataset_cache)
    if damage in ("flipped byte", "flipped label"):
        path = entry / ("x.npy" if damage == "flipped byte" else "y.npy")
        data = bytearray(path.read_bytes())
        data[-3] ^= 0x40  # inside the values, past the header: only the checksum can tell
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path = entry / "x.npy"
        path.write_bytes(path.read_bytes()[:-7])
    else:
        (entry / MANIFEST).unlink()
    ds = load_dataset(spec(folder, size=[4, 4]))
    assert decodes[0] == 22  # decoded again, not read from the damaged entry
    assert_same(ds, expected)
    load_dataset(spec(folder, size=[4, 4]))
    assert decodes[0] == 22  # and the rebuilt entry is good


def test_a_damaged_streaming_entry_is_rebuilt_too(folder, monkeypatch, decodes, _dataset_cache):
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "16")
    expected = legacy(folder, size=(4, 4))
    load_dataset(spec(folder, size=[4, 4]))
    assert len(entries(_dataset_cache)) == 2  # decoded in file order, arranged in split order
    for entry in entries(_dataset_cache):
        path = Path(_dataset_cache) / entry / "x.npy"
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
    assert_same(load_dataset(spec(folder, size=[4, 4])), expected)
    assert decodes[0] == 22


def test_a_bad_image_is_named_with_folder_class_and_file(tmp_path, many, monkeypatch, _dataset_cache):
    (many / "a" / "017.png").write_bytes(b"this is not a PNG")
    for workers in (1, 2):
        monkeypatch.setattr(images, "usable_cores", lambda: workers)
        monkeypatch.setattr(images, "POOL_GAIN", 0.0)
        with pytest.raises(DataError, match=r"cannot read image 'many/a/017\.png': cannot identify"):
            load_dataset({"kind": "images", "path": "many", "size": [4, 4]}, base_dir=tmp_path)
        assert entries(_dataset_cache) == []  # nothing half-written is left


def test_streaming_and_in_memory_training_give_the_same_losses(folder, monkeypatch):
    from designer.compiler import compile_graph
    from designer.graph import Graph, Layer
    from designer.training import train

    graph = Graph()
    graph.add_layer(Layer("x", "input", (3, 4, 4)))
    graph.add_layer(Layer("h", "neurons", (5,), activation="tanh", position=(200, 0)))
    graph.add_layer(Layer("out", "neurons", (2,), activation="softmax", position=(400, 0)))
    graph.connect("x", "h", connection_id="x-h")
    graph.connect("h", "out", connection_id="h-out")
    config = {"epochs": 4, "batch_size": 3, "learning_rate": 0.5, "seed": 7, "device": "cpu"}
    block = spec(folder, size=[4, 4], validation_split=0.3, seed=2)

    in_memory = load_dataset(block)
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "1K")
    streamed = load_dataset(block)
    assert streamed.streamed and not in_memory.streamed
    released = []
    original = streamed.release
    streamed.release = lambda: (released.append(1), original())[1]
    runs = [train(compile_graph(graph, seed=1), data, config) for data in (in_memory, streamed)]
    assert runs[0].status == runs[1].status == "completed"
    assert runs[0].train_loss == runs[1].train_loss and runs[0].val_loss == runs[1].val_loss
    assert released  # the loop let go of the mapped pages


def cancel_after(updates):
    """A Progress that asks to stop once it has reported ``updates`` times."""
    event = threading.Event()
    heard = []

    def report(done, total, text):
        heard.append((done, total, text))
        if len(heard) >= updates:
            event.set()

    return Progress(report, event, interval=0.0), heard


@pytest.mark.parametrize("workers", [1, 2])
def test_cancelling_raises_and_leaves_no_entry(many, monkeypatch, workers, _dataset_cache):
    monkeypatch.setattr(images, "usable_cores", lambda: workers)
    monkeypatch.setattr(images, "POOL_GAIN", 0.0)
    progress, heard = cancel_after(3)
    with pytest.raises(LoadCancelled):
        load_dataset(spec(many, size=[4, 4]), progress=progress)
    assert heard[0] == (0, 40, images.DECODING) and all(total == 40 for _, total, _ in heard)
    assert entries(_dataset_cache) == []  # no entry, and no temporary folder either
    # and the next load builds it whole
    assert len(load_dataset(spec(many, size=[4, 4])).x_train) == 32


def test_cancelling_while_arranging_for_streaming_leaves_only_the_decoded_entry(many, monkeypatch,
                                                                                   _dataset_cache):
    load_dataset(spec(many, size=[4, 4]))
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "16")
    monkeypatch.setattr(images, "GATHER_BYTES", 64 * 4 * 5)  # five rows a slice: several reports
    event = threading.Event()

    def report(done, total, text):
        if text == images.SPLITTING:
            event.set()

    with pytest.raises(LoadCancelled):
        load_dataset(spec(many, size=[4, 4]), progress=Progress(report, event, interval=0.0))
    assert len(entries(_dataset_cache)) == 1
    assert load_dataset(spec(many, size=[4, 4])).streamed


def test_without_a_writable_cache_a_folder_that_fits_in_memory_still_loads(folder, monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("NN_DESIGNER_CACHE", str(blocked))
    assert_same(load_dataset(spec(folder, size=[4, 4])), legacy(folder, size=(4, 4)))
    monkeypatch.setenv("NN_DESIGNER_MEMORY_BUDGET", "16")
    with pytest.raises(DataError, match="more than fit in memory.*NN_DESIGNER_CACHE"):
        load_dataset(spec(folder, size=[4, 4]))


# ---------------------------------------------------------------- the process pool (large folders)
@pytest.fixture
def processes(monkeypatch):
    """Large-folder decoding forced on: a pool of two spawned processes for any folder."""
    monkeypatch.setattr(images, "PROCESS_MIN_IMAGES", 1)
    monkeypatch.setattr(images, "usable_cores", lambda: 2)
    started = []
    original = images._process_pool

    def pool(workers):
        started.append(original(workers))
        return started[-1]

    monkeypatch.setattr(images, "_process_pool", pool)
    yield started
    assert multiprocessing.active_children() == []  # every worker process has exited


def test_the_process_pool_gives_the_same_dataset_bit_for_bit(many, folder, processes, monkeypatch):
    pooled = load_dataset(spec(many, size=[5, 4], seed=2))
    assert processes and processes[0] is not None  # the pool did start
    assert_same(pooled, legacy(many, size=(5, 4), seed=2))
    # 16-bit, palette, JPEG and resized pictures alike, grey and colour, every chunk decoded by the workers
    monkeypatch.setattr(images, "AHEAD_BYTES", 0)
    assert_same(load_dataset(spec(folder, size=[4, 3], grayscale=True)), legacy(folder, size=(4, 3), grayscale=True))
    assert_same(load_dataset(spec(folder, size=[9, 7], seed=5)), legacy(folder, size=(9, 7), seed=5))
    assert len(processes) == 3


def test_a_bad_image_decoded_in_a_worker_is_named(tmp_path, many, processes, monkeypatch, _dataset_cache):
    monkeypatch.setattr(images, "AHEAD_BYTES", 0)  # the worker decodes it, not this process
    (many / "a" / "017.png").write_bytes(b"this is not a PNG")
    with pytest.raises(DataError, match=r"^cannot read image 'many/a/017\.png': cannot identify") as caught:
        load_dataset({"kind": "images", "path": "many", "size": [4, 4]}, base_dir=tmp_path)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert entries(_dataset_cache) == []


def test_cancelling_a_process_pool_load_leaves_no_entry_and_no_process(many, processes, _dataset_cache):
    progress, heard = cancel_after(3)
    with pytest.raises(LoadCancelled):
        load_dataset(spec(many, size=[4, 4]), progress=progress)
    assert processes[0] is not None and len(heard) == 3
    assert entries(_dataset_cache) == []
    # the fixture checks that no worker process is left


def test_without_processes_the_folder_is_decoded_here(many, monkeypatch):
    monkeypatch.setattr(images, "PROCESS_MIN_IMAGES", 1)
    monkeypatch.setattr(images, "usable_cores", lambda: 2)
    monkeypatch.setattr(images.sys, "executable", "")  # nothing to spawn
    assert images._process_pool(2) is None
    assert_same(load_dataset(spec(many, size=[5, 4], seed=2)), legacy(many, size=(5, 4), seed=2))


def test_a_pool_that_breaks_hands_the_rest_to_this_process(many, processes, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    def broken(*args):
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(images, "AHEAD_BYTES", 0)
    monkeypatch.setattr(images.ProcessPoolExecutor, "submit", lambda self, *args: broken())
    assert_same(load_dataset(spec(many, size=[5, 4], seed=2)), legacy(many, size=(5, 4), seed=2))


def test_a_load_from_the_cache_starts_no_process_and_a_changed_folder_is_decoded_again(many, processes,
                                                                                         _dataset_cache):
    expected = legacy(many, size=(5, 4), seed=2)
    assert_same(load_dataset(spec(many, size=[5, 4], seed=2)), expected)
    assert len(processes) == 1 and processes[0] is not None  # started while the files were stat'ed
    assert_same(load_dataset(spec(many, size=[5, 4], seed=2)), expected)
    assert len(processes) == 1  # the entry of the same folder and options was found: no pool
    replace_keeping_size(many / "a" / "017.png", GREEN)  # the same entry is found, but its key is another
    assert_same(load_dataset(spec(many, size=[5, 4], seed=2)), legacy(many, size=(5, 4), seed=2))
    assert len(processes) == 2 and len(entries(_dataset_cache)) == 1

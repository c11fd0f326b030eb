"""Image-folder datasets: one sub-folder of pictures per class, resized to one size, scaled to [0, 1].

The classes are the sub-folders' names in sorted order; hidden entries (``.DS_Store``, ``.ipynb_checkpoints``)
and files that are not images by their suffix are ignored, as are folders nested inside a class folder.
Pillow reads each picture (EXIF rotation applied), converts it to grey or RGB and resizes it to
``size [height, width]`` with bilinear filtering. ``x`` is ``[n, 1, h, w]`` grey or ``[n, 3, h, w]`` colour.

A folder is decoded once, in file order, into an entry of the dataset cache (``designer.data.store``),
keyed by the folder's path and every file's name, size and modification time, and by ``size`` and
``grayscale``: loading it again, and ``nn-designer check``, read the checked entry instead of the pictures.
The seeded split is cut from it afterwards: into memory (``x[train]``, ``x[val]``), or, for a folder whose
floats exceed :func:`~designer.data.store.memory_budget`, into a second entry in split order (training rows,
then validation rows) whose memory-mapped views the training loop streams.
"""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import pickle
import shutil
import sys
import time
from collections import deque
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Iterator

import numpy as np

from .cores import usable_cores
from .dataset import CLASSIFICATION, Dataset, split_indices
from .errors import SILENT, DataError, Progress
from .options import is_whole, flag_of, path_of, seed_of, validation_split_of
from .store import MANIFEST, Entry, EntryWriter, cache_root, key_of, memory_budget, open_entry, stamp_of

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
DEFAULT_SIZE = (32, 32)
MAX_SIDE = 1024
CHUNK_IMAGES = 256  # images decoded per task, and between two progress reports at most
POOL_GAIN = 1.2  # the thread pool is kept only if it decodes a picture at least this many times faster
#: folders of at least this many images (on at least two cores) are decoded on a pool of processes: fewer
#: and starting the processes (a few tenths of a second) costs more than it saves. Measured with 28x28 PNGs on
#: 2 cores: 6,000 images 0.38 s pooled against 0.28 s in this process, 20,000 images 0.71 s against 0.81 s
PROCESS_MIN_IMAGES = 12_000
#: decoded bytes this process may hold ahead of the next chunk handed on (see _decoded_in_processes);
#: 0: this process only hands on the pool's chunks
AHEAD_BYTES = 64 << 20
GATHER_BYTES = 64 << 20  # rows copied out of a memory-mapped entry between two releases of its pages
TAKE_BYTES = 256 << 20  # an entry up to this size is split in memory in one pass (see _split_rows)
#: where an EXIF orientation can come from (Image.getexif): without any, there is nothing to rotate
_ORIENTATION_SOURCES = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")
DECODING = "reading images"
SPLITTING = "arranging images for streaming"
CHECKING = "checking the image cache"


def _size_of(spec: dict) -> tuple[int, int]:
    value = spec.get("size", list(DEFAULT_SIZE))
    if value is None:
        return DEFAULT_SIZE
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(is_whole(side) and 1 <= side <= MAX_SIDE for side in value)):
        raise DataError(f"dataset field 'size' must be [height, width] in pixels, each from 1 to {MAX_SIDE}, "
                        f"not {value!r}")
    return int(value[0]), int(value[1])


def _listing(folder: str) -> list[os.DirEntry]:
    with os.scandir(folder) as scan:
        return [entry for entry in scan if not entry.name.startswith(".")]


def class_folders(spec: dict, base_dir: Path | str | None) -> tuple[Path, str, list[tuple[str, list[str]]]]:
    """The folder, how the user wrote it, and each class with its image files' paths (both sorted by name).

    One directory listing per folder and no ``stat`` per file (the entry's type comes with the listing), so
    a folder of 60,000 images lists in a few tens of milliseconds.
    """
    folder, shown = path_of(spec, base_dir, "image folder")
    if not folder.exists():
        raise DataError(f"image folder {shown!r} not found (looked for {folder})")
    if not folder.is_dir():
        raise DataError(f"image path {shown!r} is a file; it must be a folder holding one sub-folder per class")
    try:
        classes = sorted((e for e in _listing(str(folder)) if e.is_dir()), key=lambda e: e.name)
        found = []
        for entry in classes:
            # the suffix as os.path.splitext finds it (hidden names are left out already), at a third of the cost
            names = sorted(f.name for f in _listing(entry.path)
                           if f.name[f.name.rfind("."):].lower() in IMAGE_SUFFIXES and f.is_file())
            base = entry.path + os.sep
            found.append((entry.name, [base + name for name in names]))
    except OSError as exc:
        raise DataError(f"cannot read image folder {shown!r}: {exc.strerror or exc}") from None
    if len(found) < 2:
        names = f" (found only {found[0][0]!r})" if found else ""
        raise DataError(f"image folder {shown!r} needs at least two sub-folders, one per class, each holding "
                        f"that class's images{names}")
    for name, files in found:
        if not files:
            raise DataError(f"class folder {name!r} in {shown!r} holds no images "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    return folder, shown, found


# ---------------------------------------------------------------- decoding
def _pixels(image, grayscale: bool, height: int, width: int) -> tuple[np.ndarray, bool]:
    """One picture as ``[height, width, channels]``, and whether it is already scaled to [0, 1].

    8-bit pictures come back as their bytes (the caller divides a whole chunk by 255 at once, which gives
    the same floats as dividing each picture); 16-bit and float pictures as floats in [0, 1].
    """
    from PIL import Image

    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit and float pictures: converting to 8-bit would clip everything above 255 to white, so
        # scale to [0, 1] first (16-bit range for integers, as-is for floats) and resize the grey values.
        grey = np.asarray(image, dtype=np.float32) / (65535.0 if image.mode.startswith("I") else 1.0)
        grey = Image.fromarray(np.clip(grey, 0.0, 1.0))  # float32 array: mode "F"
        resized = np.asarray(grey.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
        return np.repeat(np.clip(resized, 0.0, 1.0)[:, :, None], 1 if grayscale else 3, axis=2), True
    if image.mode in ("P", "PA"):  # via RGBA, or Pillow warns about palette transparency
        image = image.convert("RGBA")
    mode = "L" if grayscale else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    if image.size != (width, height):  # resizing to the same size is a copy
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    # the bytes as np.asarray(image) would give them, without building its array interface (4.8 -> 3.9 us)
    return np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(height, width, -1), False


def _pictures(files: list[str], shown: str, grayscale: bool, height: int, width: int,
              progress: Progress) -> np.ndarray:
    """Pictures as ``[len(files), height, width, channels]``: their bytes (uint8) when every one is 8-bit,
    else float32 already scaled to [0, 1]; a bad one is named. :func:`_finish` makes the floats of either.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    x = np.empty((len(files), height, width, 1 if grayscale else 3), dtype=np.uint8)
    floats = None  # float32 rows, from the first 16-bit or float picture on
    eight_bit = np.ones(len(files), dtype=bool)
    for row, file in enumerate(files):
        progress.check()
        try:
            # One read of the whole file, then Pillow parses it from memory: fewer system calls and file-object
            # calls per picture, which is most of the time for small pictures.
            data = _read(file)
            try:
                opened = Image.open(io.BytesIO(data), formats=_FORMATS.get(file[file.rfind("."):].lower()))
            except UnidentifiedImageError:  # not what its suffix says (a JPEG named .png): as any other file
                opened = Image.open(io.BytesIO(data))
            with opened as image:
                image.load()
                if (getattr(image, "_exif", None) is not None or hasattr(image, "tag_v2")
                        or any(key in image.info for key in _ORIENTATION_SOURCES)):
                    ImageOps.exif_transpose(image, in_place=True)
                pixels, scaled = _pixels(image, grayscale, height, width)
                if scaled and floats is None:
                    floats = x.astype(np.float32)  # the rows so far, exactly (every byte is a float32)
                (x if floats is None else floats)[row] = pixels
                eight_bit[row] = not scaled
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            if isinstance(exc, UnidentifiedImageError):  # its text names the in-memory copy, not the file
                exc = "cannot identify image file: not a picture Pillow can read"
            where = Path(file)
            raise DataError(f"cannot read image {str(Path(shown) / where.parent.name / where.name)!r}: "
                            f"{exc}") from None
    if floats is None:
        return x
    rows = np.flatnonzero(eight_bit)
    floats[rows] /= np.float32(255)
    return floats


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
READ_BYTES = 1 << 16
#: Pillow's reader for a suffix, tried first: each of these formats has a signature no other reader accepts,
#: so the picture is the same as with Pillow trying every reader in turn (1.4 us less a picture)
_FORMATS = {".png": ("PNG",), ".jpg": ("JPEG",), ".jpeg": ("JPEG",), ".bmp": ("BMP",), ".gif": ("GIF",),
            ".webp": ("WEBP",)}


def _read(file: str) -> bytes:
    """The whole file, with plain system calls: 3.7 us a small picture against 7.3 us through open()'s
    buffered file object (which also asks the file's size and position before reading)."""
    handle = os.open(file, _OPEN_FLAGS)
    try:
        data = os.read(handle, READ_BYTES)
        if not data:
            return data
        parts = [data]
        while True:  # up to the end of the file, as handle.read() reads it
            data = os.read(handle, max(READ_BYTES, len(parts) * READ_BYTES))
            if not data:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            parts.append(data)
    finally:
        os.close(handle)


def _finish(block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 ``[n, channels, height, width]`` in [0, 1] from :func:`_pictures`' block (written into ``out``).

    Bytes become floats exactly and are divided by 255 in float32: the same floats as dividing each picture.
    """
    if out is not None:
        if block.dtype == np.uint8:  # one pass: each byte made a float32, then divided, as below
            np.divide(block.transpose(0, 3, 1, 2), np.float32(255), out=out, dtype=np.float32)
        else:
            out[...] = block.transpose(0, 3, 1, 2)
        return out
    if block.dtype == np.uint8:
        block = block.astype(np.float32)
        block /= np.float32(255)
    return block.transpose(0, 3, 1, 2)


def _decode(files: list[str], shown: str, grayscale: bool, height: int, width: int,
            progress: Progress) -> np.ndarray:
    """Pictures as float32 ``[len(files), channels, height, width]`` in [0, 1]; a bad one is named."""
    return _finish(_pictures(files, shown, grayscale, height, width, progress))


def _decode_in_worker(files: list[str], shown: str, grayscale: bool, height: int, width: int) -> np.ndarray:
    """:func:`_pictures` in a worker process: bytes travel back, a quarter of the floats' size."""
    return _pictures(files, shown, grayscale, height, width, SILENT)


def _decoded(files: list[str], shown: str, grayscale: bool, height: int, width: int, progress: Progress,
             workers: int, pool: ProcessPoolExecutor | None = None,
             out: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """The pictures decoded chunk by chunk, in file order, on ``workers`` processes or threads where that pays.

    A folder of at least ``PROCESS_MIN_IMAGES`` is decoded on a pool of processes
    (:func:`_decoded_in_processes`), where processes can be started. Otherwise, on threads: Pillow lets go
    of the GIL while it decodes and resizes, but opening a picture is Python work: for small pictures (a
    28x28 PNG) threads only take turns and a pool is slower than one thread. So the first chunk is decoded
    on this thread and timed, the next ``2 * workers`` chunks on the pool; if the pool was not clearly
    faster per picture, the rest is decoded on this thread. Progress is reported (and a cancel
    noticed) on this thread between chunks; the workers also stop at their next picture once cancelled.
    ``pool``: the processes of :func:`_process_pool` (``workers - 1``), started already; shut down once the
    decoding ends (whoever started it shuts it down too, for a load cancelled before decoding began).
    ``out``: an array for all the floats, ``[len(files), channels, height, width]``; the chunks are its rows.
    """
    done = 0
    for chunk in _chunks(files, shown, grayscale, height, width, progress, workers, pool, out):
        if out is not None and chunk.base is not out:  # decoded on threads: copied into its rows
            out[done:done + len(chunk)] = chunk
            chunk = out[done:done + len(chunk)]
        done += len(chunk)
        yield chunk


def _chunks(files: list[str], shown: str, grayscale: bool, height: int, width: int, progress: Progress,
            workers: int, pool: ProcessPoolExecutor | None, out: np.ndarray | None) -> Iterator[np.ndarray]:
    count = len(files)
    step = max(1, min(CHUNK_IMAGES, -(-count // (workers * 8))))
    starts = list(range(0, count, step))

    def decode(start: int) -> np.ndarray:
        return _decode(files[start:start + step], shown, grayscale, height, width, progress)

    progress.update(0, count, DECODING)
    if pool is None and workers > 1 and count >= PROCESS_MIN_IMAGES:
        pool = _process_pool(workers)
    if pool is not None:  # shut down by _decoded_in_processes, however it ends
        yield from _decoded_in_processes(pool, _processes(workers), files, shown, grayscale, height, width,
                                         progress, step, out)
        return
    clock = time.perf_counter()
    chunk = decode(0)
    serial = (time.perf_counter() - clock) / len(chunk)  # seconds per picture on one thread
    yield chunk
    progress.update(len(chunk), count, DECODING)
    index = 1  # the next chunk to start
    if workers > 1 and len(starts) - index >= 4 * workers:
        pool = ThreadPoolExecutor(workers, thread_name_prefix="nn-designer-images")
        pending: deque = deque()
        trial = index + 2 * workers  # the chunks before this one measure the pool
        useful = True
        try:
            clock = time.perf_counter()
            while index < len(starts) and len(pending) < 2 * workers:
                pending.append((index, pool.submit(decode, starts[index])))
                index += 1
            while pending:
                number, future = pending.popleft()
                chunk = future.result()
                if number == trial - 1:
                    pooled = (time.perf_counter() - clock) / (min(starts[trial - 1] + step, count) - starts[1])
                    useful = pooled * POOL_GAIN < serial
                if useful and index < len(starts):
                    pending.append((index, pool.submit(decode, starts[index])))
                    index += 1
                yield chunk
                progress.update(min(starts[number] + step, count), count, DECODING)
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)
    for number in range(index, len(starts)):
        yield decode(starts[number])
        progress.update(min(starts[number] + step, count), count, DECODING)


def _processes(workers: int) -> int:
    """How many worker processes decode beside this process, which decodes too (see _decoded_in_processes)."""
    return max(1, workers - 1) if AHEAD_BYTES else workers


def _process_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of spawned processes for ``workers`` cores (never forked: the app runs Qt and torch threads), or
    None where processes cannot be started here (no Python executable to spawn, no working semaphores)."""
    if not getattr(sys, "frozen", False) and not (sys.executable and os.path.isfile(sys.executable)):
        return None
    try:
        return ProcessPoolExecutor(_processes(workers), mp_context=multiprocessing.get_context("spawn"))
    except (OSError, ValueError, ImportError, NotImplementedError):
        return None


def _started_pool(workers: int, task: tuple) -> ProcessPoolExecutor | None:
    """:func:`_process_pool`, its workers starting at once: each is asked to decode nothing (``task``: shown,
    grayscale, height, width), which has it import what decoding needs while this process stats the files.

    Workers start when the pool is first asked for something, and starting one takes 0.15 s (a new Python
    importing NumPy and Pillow): beside the 0.15 s this process spends on a ``stat`` of each of 60,000 files,
    on the core that would otherwise wait.
    """
    pool = _process_pool(workers)
    if pool is not None:
        try:
            for _ in range(_processes(workers)):
                pool.submit(_decode_in_worker, [], *task)
        except (OSError, RuntimeError, BrokenExecutor):
            pass  # a pool that cannot start breaks again on its first chunk: the folder is decoded here
    return pool


def _decoded_in_processes(pool: ProcessPoolExecutor, processes: int, files: list[str], shown: str,
                          grayscale: bool, height: int, width: int, progress: Progress, step: int,
                          out: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """:func:`_decoded` on a pool of ``processes`` and on this process: runs of ``step`` files, in file order.

    Processes decode in parallel where threads cannot: opening a small picture is Python work under the GIL.
    The pool is asked for a few chunks at a time (each worker's current and next one); whenever the next
    chunk to hand on is not back yet, this process decodes one itself instead of waiting: the first chunk
    not yet asked for, or, near the end, the last one asked for that no worker has started (cancelled in the
    pool). So this process decodes from the start, while the workers start up (a new Python importing NumPy
    and Pillow: 0.15 s), and beside them to the end, with one worker fewer than cores; chunks decoded here
    wait for their turn, up to ``AHEAD_BYTES`` of them. Measured on 2 cores, 60,000 28x28 PNGs: 1.70 s with
    two workers and this process handing on (decoding only while they started), 1.4 s with one worker and
    this process decoding throughout.
    A picture that cannot be read raises the same DataError as on this process. If the pool breaks (a worker
    killed, processes that cannot start) the rest is decoded here. Cancelling shuts the pool down at once:
    the chunks not started are dropped and the workers exit once their current chunk is done.
    """
    count = len(files)
    starts = list(range(0, count, step))
    task = (shown, grayscale, height, width)
    ahead = AHEAD_BYTES // max(1, step * height * width * (1 if grayscale else 3))  # chunks decoded ahead here
    queued = 2 * processes  # chunks asked of the pool at a time
    window = max(ahead, queued)  # chunks asked for or decoded ahead of the next one handed on
    pending: deque = deque()  # (number, future): the chunks asked of the pool and not handed on, in order
    here: dict[int, np.ndarray] = {}  # chunks decoded on this process, until their turn
    fresh = 0  # the first chunk neither asked of the pool nor decoded here
    decoded = 0
    broken = False

    def decode_here(number: int) -> None:
        nonlocal decoded
        block = here[number] = _pictures(files[starts[number]:starts[number] + step], shown, grayscale, height,
                                         width, progress)
        decoded += len(block)
        progress.update(decoded, count, DECODING)

    try:
        for index in range(len(starts)):
            while index not in here:  # every chunk from index to fresh is pending, or here
                if broken:
                    decode_here(index)
                    break
                try:
                    while fresh < len(starts) and len(pending) < queued and fresh - index < window:
                        pending.append((fresh, pool.submit(_decode_in_worker,
                                                           files[starts[fresh]:starts[fresh] + step], *task)))
                        fresh += 1
                    future = pending[0][1]
                    if not future.done() and ahead:  # not back yet: decode one here rather than wait
                        if fresh < len(starts) and fresh - index < window:
                            fresh += 1
                            decode_here(fresh - 1)
                            continue
                        if len(pending) > 1 and pending[-1][1].cancel():  # not started by any worker
                            decode_here(pending.pop()[0])
                            continue
                    block = future.result()
                    pending.popleft()
                except DataError as exc:  # raised in a worker: the same message, without its traceback
                    raise DataError(str(exc)) from None
                except (OSError, EOFError, RuntimeError, BrokenExecutor, pickle.PickleError):
                    broken = True  # a worker died or none could start: the rest is decoded here
                    for _, future in pending:
                        future.cancel()
                    pending.clear()
                    continue
                here[index] = block
                decoded += len(block)
                progress.update(decoded, count, DECODING)
            yield _finish(here.pop(index), None if out is None else out[starts[index]:starts[index] + step])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- the cache entries
def _valid(entry: Entry | None, rows: int, row_shape: tuple) -> Entry | None:
    """``entry`` if it holds what this load needs; an intact entry of another shape is removed."""
    if entry is None:
        return None
    x, y = entry.arrays.get("x"), entry.arrays.get("y")
    if (x is not None and y is not None and x.dtype == np.float32 and y.dtype == np.int64
            and x.shape == (rows, *row_shape) and y.shape == (rows,)):
        return entry
    shutil.rmtree(entry.folder, ignore_errors=True)
    return None


def _split_rows(x: np.ndarray, train: np.ndarray, val: np.ndarray, release) -> tuple[np.ndarray, np.ndarray]:
    """``x[train]`` and ``x[val]`` copied out of a memory-mapped entry.

    An entry of at most ``TAKE_BYTES`` is gathered in one vectorised pass per part (``np.take``), its pages
    released afterwards: about a third faster than slices, for a moment holding the entry's pages (clean
    pages of the file, which the system can drop) beside the result. A bigger one is read front to back a
    slice at a time (each slice's rows scattered to their places), which touches every page once and
    releases the pages read after each slice: memory holds the result and one slice, not the file as well.
    """
    if x.nbytes <= TAKE_BYTES:
        try:
            return np.take(x, train, axis=0), np.take(x, val, axis=0)
        finally:
            release()
    slot = np.empty(len(x), dtype=np.int64)
    slot[train] = np.arange(len(train))
    slot[val] = np.arange(len(val))
    training = np.zeros(len(x), dtype=bool)
    training[train] = True
    x_train = np.empty((len(train), *x.shape[1:]), dtype=x.dtype)
    x_val = np.empty((len(val), *x.shape[1:]), dtype=x.dtype)
    step = max(1, GATHER_BYTES // max(1, x[0].nbytes))
    for start in range(0, len(x), step):
        rows = x[start:start + step]
        mine, places = training[start:start + step], slot[start:start + step]
        x_train[places[mine]] = rows[mine]
        x_val[places[~mine]] = rows[~mine]
        release()
    return x_train, x_val


def _gather(x: np.ndarray, rows: np.ndarray, release, append) -> None:
    """Hand ``x[rows]`` to ``append`` a slice at a time, each slice read in file order, releasing pages."""
    step = max(1, GATHER_BYTES // max(1, x[0].nbytes))
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        order = np.argsort(part, kind="stable")
        picked = np.empty((len(part), *x.shape[1:]), dtype=x.dtype)
        picked[order] = x[part[order]]  # ascending rows: the mapped file is read forwards
        append(picked)
        release()


def load_images(spec: dict, base_dir: Path | str | None, progress: Progress = SILENT) -> Dataset:
    """Load an ``images`` dataset block, stratified into training and validation by class.

    The key of the folder's cache entry needs a ``stat`` of every picture (0.15 s for 60,000), done on this
    thread; the other core meanwhile does what comes next. The cache's entries name their source (the folder
    and the options, :func:`_cached_key`): where one for this folder is there, it is most likely the one the
    key names, and it is checked (CRC-32) and split on a thread while the files are stat'ed, then used if the
    key is its key; where none is, the folder is decoded, and the pool of processes (for a large folder)
    starts while the files are stat'ed.
    """
    height, width = _size_of(spec)
    grayscale = flag_of(spec, "grayscale", False)
    split = validation_split_of(spec)
    seed = seed_of(spec)
    folder, shown, found = class_folders(spec, base_dir)
    channels = 1 if grayscale else 3
    row_shape = (channels, height, width)
    files = [file for _, names in found for file in names]
    labels = np.repeat(np.arange(len(found), dtype=np.int64), [len(names) for _, names in found])
    count = len(files)
    classes = [name for name, _ in found]
    options = {"size": [height, width], "grayscale": grayscale}
    # stamp_of's path, resolved the same way
    source = f"{folder.resolve()} {height}x{width} {'grey' if grayscale else 'colour'}"
    streamed = count * channels * height * width * 4 > memory_budget()
    cached = _cached_key(source)
    workers = usable_cores()
    pool = None
    if cached is None and workers > 1 and count >= PROCESS_MIN_IMAGES:
        pool = _started_pool(workers, (shown, grayscale, height, width))
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="nn-designer-cache") as opener:
            # the entry checked and split on a thread beside the stat (CRC-32 and copies let go of the GIL)
            opened = None if cached is None else opener.submit(_open_and_split, cached, count, row_shape,
                                                                 None if streamed else (split, seed, labels))
            try:
                stamp = stamp_of(folder, files)
            except OSError as exc:  # a picture removed while the folder was being listed
                raise DataError(f"cannot read image folder {shown!r}: {exc.strerror or exc}") from None
            key = key_of("images", stamp, options)
            entry = parts = None
            if opened is not None and cached == key:
                entry, parts = opened.result()
                progress.check()
            elif opened is not None:
                opened.result()  # another stamp: an out-of-date entry, replaced once this load is written
            if entry is None:
                entry = _valid(open_entry(key, progress=progress, text=CHECKING), count, row_shape)
        if entry is None:
            try:
                writer = EntryWriter(key, source)
            except OSError as exc:
                if streamed:
                    raise DataError(f"image folder {shown!r}: {count:,} images of {channels}x{height}x{width} "
                                    f"are more than fit in memory, and the dataset cache cannot be written "
                                    f"({exc}); set NN_DESIGNER_CACHE to a writable folder") from None
                x = np.empty((count, *row_shape), dtype=np.float32)
                with closing(_decoded(files, shown, grayscale, height, width, progress, workers, pool, x)) as chunks:
                    for _ in chunks:
                        pass
                return _in_memory(x, labels, split, seed, classes, row_shape, folder.name)
            # Not kept in memory to be split from there: a fresh array for all the floats made the first load
            # of 60,000 28x28 pictures 0.55 s slower (its pages faulted in), more than the split from the entry.
            with writer:
                xs = writer.array("x", np.float32, row_shape)
                with closing(_decoded(files, shown, grayscale, height, width, progress, workers, pool)) as chunks:
                    for chunk in chunks:
                        xs.append(chunk)
                writer.put("y", labels)
                entry = writer.commit({"classes": classes, "count": count}, progress)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if not streamed:
        if parts is None:
            parts = _split_entry(entry, split, seed, labels)
        train, val, x_train, x_val = parts
        return _dataset(x_train, labels[train], x_val, labels[val], classes, row_shape, folder.name)
    return _streamed(entry, stamp, options, source, labels, split, seed, classes, row_shape, folder.name,
                     progress)


def _cached_key(source: str) -> str | None:
    """The key of an image entry in the cache built from ``source`` (the folder, size and colour), if any.

    One entry per source is kept (:class:`EntryWriter` removes the others when it commits), so it is the
    entry a load of the folder as it was last loaded finds; whether the folder is still as it was, only the
    key (every file's stamp) tells. Reading the manifests of a cache of 30 entries: about 1 ms.
    """
    root = cache_root()
    try:
        with os.scandir(root) as scan:
            names = [entry.name for entry in scan if entry.name.startswith("images-")]
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(root, name, MANIFEST), "rb") as handle:
                manifest = json.loads(handle.read())
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("source") == source:
            return name
    return None


def _open_and_split(key: str, count: int, row_shape: tuple, split: tuple | None) -> tuple:
    """``(entry, parts)``: the checked entry ``key`` (None where it is not there or not intact), and, for
    ``split`` ``(validation_split, seed, labels)``, :func:`_split_entry`'s parts (else None). On a thread."""
    entry = _valid(open_entry(key), count, row_shape)
    if entry is None or split is None:
        return entry, None
    return entry, _split_entry(entry, *split)


def _split_entry(entry: Entry, split: float, seed: int, labels: np.ndarray) -> tuple:
    """``(train, val, x[train], x[val])`` from the entry's rows."""
    train, val = split_indices(len(labels), split, np.random.default_rng(seed), labels)
    return (train, val, *_split_rows(entry.arrays["x"], train, val, entry.release))


def _in_memory(x: np.ndarray, labels: np.ndarray, split: float, seed: int, classes: list[str], row_shape: tuple,
               name: str) -> Dataset:
    train, val = split_indices(len(x), split, np.random.default_rng(seed), labels)
    return _dataset(x[train], labels[train], x[val], labels[val], classes, row_shape, name)


def _streamed(entry: Entry, stamp: dict, options: dict, source: str, labels: np.ndarray, split: float, seed: int,
              classes: list[str], row_shape: tuple, name: str, progress: Progress) -> Dataset:
    """The split as views of a second entry that holds the training rows, then the validation rows."""
    count = len(labels)
    train, val = split_indices(count, split, np.random.default_rng(seed), labels)
    key = key_of("images", stamp, {**options, "seed": seed, "validation_split": split})
    arranged = _valid(open_entry(key, progress=progress, text=CHECKING), count, row_shape)
    if arranged is None or arranged.meta.get("train") != len(train):
        with EntryWriter(key, f"{source} seed {seed} split {split!r}") as writer:
            xs = writer.array("x", np.float32, row_shape)
            order = np.concatenate([train, val])
            done = 0

            def append(rows: np.ndarray) -> None:
                nonlocal done
                xs.append(rows)
                done += len(rows)
                progress.update(done, count, SPLITTING)

            _gather(entry.arrays["x"], order, entry.release, append=append)
            writer.put("y", labels[order])
            arranged = writer.commit({"classes": classes, "count": count, "train": len(train)}, progress)
    entry.release()
    x = arranged.arrays["x"]
    cut = len(train)
    return _dataset(x[:cut], labels[train], x[cut:], labels[val], classes, row_shape, name,
                    release=arranged.release)


def _dataset(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, classes: list[str],
             row_shape: tuple, name: str, release=None) -> Dataset:
    import torch

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a if release is not None else np.ascontiguousarray(a))

    return Dataset(x_train=tensor(x_train), y_train=torch.from_numpy(np.ascontiguousarray(y_train)),
                   x_val=tensor(x_val), y_val=torch.from_numpy(np.ascontiguousarray(y_val)),
                   task=CLASSIFICATION, num_classes=len(classes), input_shape=tuple(int(d) for d in row_shape),
                   is_sequence=False, class_names=list(classes), feature_names=[], name=name, release=release)


def describe_images(spec: dict, base_dir: Path | str | None) -> str:
    """"images flowers: 120 images, 3 classes, 3x32x32 inputs", from a listing of the folders."""
    height, width = _size_of(spec)
    channels = 1 if flag_of(spec, "grayscale", False) else 3
    folder, _, found = class_folders(spec, base_dir)
    count = sum(len(files) for _, files in found)
    return (f"images {folder.name}: {count} images, {len(found)} classes, {channels}x{height}x{width} inputs, "
            f"{round(validation_split_of(spec) * 100)}% for validation")

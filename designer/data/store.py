"""The on-disk cache of decoded datasets: arrays written once, checked, then memory-mapped.

A big table or image folder is decoded once into NumPy ``.npy`` files in the user's cache folder
(:func:`cache_root`), one entry (a folder) per key. The key names the source by path, size and
modification time (:func:`stamp_of`) and every option that changes the decoded values, so a changed file
or option never meets an old entry: it gets a new one, and the old entry of the same source is removed.

An entry is complete only once its ``manifest.json`` is in place: files are written into a temporary
folder that is renamed into place at the end, so a crash or a cancelled load leaves no entry (only a
temporary folder, swept later). Opening an entry checks the manifest, each file's size and CRC-32; an
entry that fails any check is deleted and reported as absent, so the caller rebuilds it: a cache is
never trusted over the data it came from.

Arrays open as copy-on-write memory maps: torch tensors made from them read the file's pages as they are
used and never write to it. :meth:`Entry.release` drops the pages this process has touched (they stay in
the operating system's file cache), which keeps a streamed epoch's resident memory bounded.
"""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np

from .errors import SILENT, Progress

VERSION = 1
MANIFEST = "manifest.json"
HEADER_BYTES = 256  # every .npy here has a header of this size, written once the shape is known
CHUNK = 8 << 20
DEFAULT_LIMIT = 20 << 30  # the cache folder is pruned, least recently used first, above this many bytes


def cache_root() -> Path:
    """Where decoded datasets are kept: ``$NN_DESIGNER_CACHE``, else the platform's cache folder."""
    override = os.environ.get("NN_DESIGNER_CACHE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "nn-designer" / "datasets"


def _parse_bytes(text: str) -> int | None:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    try:
        value = float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        return None
    return int(value) if value > 0 else None


def physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_budget() -> int:
    """How many bytes of decoded float32 data are held in memory; bigger datasets stream from the cache.

    ``$NN_DESIGNER_MEMORY_BUDGET`` (bytes, or with K/M/G) sets it; by default an eighth of the machine's
    memory, at most 1 GiB: decoding a table briefly needs about three times its float32 size.
    """
    override = _parse_bytes(os.environ.get("NN_DESIGNER_MEMORY_BUDGET", ""))
    if override:
        return override
    memory = physical_memory()
    return min(1 << 30, memory // 8) if memory else 1 << 30


def cache_limit() -> int:
    return _parse_bytes(os.environ.get("NN_DESIGNER_CACHE_LIMIT", "")) or DEFAULT_LIMIT


def stamp_of(path: Path, files: list[Path] | list[str] | None = None) -> dict:
    """What identifies a source's contents cheaply: its resolved path, size and modification time.

    For an image folder pass its ``files``: the digest of their names, sizes and times stands for the
    folder, so an image replaced in place is noticed as well as one added or removed.
    """
    path = Path(path).resolve()
    info = path.stat()
    stamp = {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}
    if files is not None:
        lines = []
        for file in files:  # one stat per file, one digest update for all (60,000 files: about 0.1 s)
            st = os.stat(file)
            lines.append(f"{os.fspath(file)}\0{st.st_size}\0{st.st_mtime_ns}\n")
        digest = hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape"))
        stamp.update(size=len(files), mtime_ns=0, files=digest.hexdigest())
    return stamp


def key_of(kind: str, stamp: dict, options: dict) -> str:
    text = json.dumps({"version": VERSION, "kind": kind, "stamp": stamp, "options": options}, sort_keys=True,
                      default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _header(dtype: np.dtype, shape: tuple) -> bytes:
    described = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(int(d) for d in shape)}
    text = repr(described).encode("latin1")
    room = HEADER_BYTES - 10 - 1
    if len(text) > room:
        raise ValueError(f"array header too long: {text!r}")
    return b"\x93NUMPY\x01\x00" + (HEADER_BYTES - 10).to_bytes(2, "little") + text.ljust(room) + b"\n"


def _crc(path: Path, progress: Progress = SILENT, text: str = "") -> int:
    crc = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = path.stat().st_size
    done = 0
    with open(path, "rb", buffering=0) as handle:
        while True:
            n = handle.readinto(buffer)
            if not n:
                return crc
            crc = zlib.crc32(view[:n], crc)  # zlib lets go of the GIL for big buffers
            done += n
            if text:
                progress.update(done, total, text)


_POSITIONED = threading.Lock()  # where os.pread/os.pwrite are missing (Windows): one seek-and-read at a time


def read_at(fd: int, out: np.ndarray, offset: int) -> None:
    """Fill ``out`` (C-contiguous) with the bytes of file ``fd`` from ``offset``; safe from several threads."""
    view = memoryview(out).cast("B")
    done = 0
    while done < len(view):
        if hasattr(os, "preadv"):
            n = os.preadv(fd, [view[done:]], offset + done)
        else:
            with _POSITIONED:
                os.lseek(fd, offset + done, os.SEEK_SET)
                data = os.read(fd, min(len(view) - done, 1 << 30))
            n = len(data)
            view[done:done + n] = data
        if n <= 0:
            raise OSError(f"the dataset cache file ended early (at byte {offset + done})")
        done += n


def write_at(fd: int, values: np.ndarray, offset: int) -> None:
    """Write the bytes of ``values`` into file ``fd`` at ``offset``; safe from several threads."""
    view = memoryview(np.ascontiguousarray(values)).cast("B")
    done = 0
    while done < len(view):
        if hasattr(os, "pwrite"):
            done += os.pwrite(fd, view[done:], offset + done)
        else:
            with _POSITIONED:
                os.lseek(fd, offset + done, os.SEEK_SET)
                done += os.write(fd, view[done:done + (1 << 30)])


class _Array:
    """One array written front to back: chunks of rows appended, the header written at the end."""

    def __init__(self, path: Path, dtype, row_shape: tuple) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(int(d) for d in row_shape)
        self.rows = 0
        self.handle = open(path, "wb")
        self.handle.write(b"\0" * HEADER_BYTES)

    def append(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        if chunk.shape[1:] != self.row_shape:
            raise ValueError(f"{self.path.name}: rows of shape {chunk.shape[1:]}, expected {self.row_shape}")
        self.handle.write(memoryview(chunk).cast("B"))
        self.rows += len(chunk)

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.seek(0)
            self.handle.write(_header(self.dtype, (self.rows, *self.row_shape)))
            self.handle.close()


class EntryWriter:
    """Build a cache entry: ``with EntryWriter(key, source) as w: w.array(...).append(...); w.commit(meta)``.

    Leaving the block without :meth:`commit` (an error, a cancelled load) removes everything written.
    """

    def __init__(self, key: str, source: str = "", root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root()
        self.key = key
        self.source = source
        self.root.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=self.root))
        self.arrays: dict[str, _Array] = {}
        self.committed: Entry | None = None

    def array(self, name: str, dtype, row_shape: tuple = ()) -> _Array:
        array = self.arrays[name] = _Array(self.folder / f"{name}.npy", dtype, row_shape)
        return array

    def put(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)
        array = self.array(name, values.dtype, values.shape[1:])
        array.append(values)

    def commit(self, meta: dict, progress: Progress = SILENT) -> "Entry":
        files = {}
        for name, array in self.arrays.items():
            array.close()
            files[name] = {"bytes": array.path.stat().st_size, "crc32": _crc(array.path),
                           "dtype": np.lib.format.dtype_to_descr(array.dtype), "shape": [array.rows, *array.row_shape]}
            progress.check()
        manifest = {"version": VERSION, "key": self.key, "source": self.source, "files": files, "meta": meta,
                    "created": time.time()}
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        final = self.root / self.key
        _remove_same_source(self.root, self.source, self.key)
        try:
            os.replace(self.folder, final)
        except OSError:  # another process built the same entry first: use theirs, checked on opening
            shutil.rmtree(self.folder, ignore_errors=True)
            entry = open_entry(self.key, self.root)
        else:  # what was just written and checksummed: mapped without reading it all again
            entry = _opened(final, manifest)
        if entry is None:
            raise OSError(f"the dataset cache entry {final} could not be read back")
        self.committed = entry
        prune(self.root, cache_limit(), keep=self.key)
        return entry

    def __enter__(self) -> "EntryWriter":
        return self

    def __exit__(self, *exc) -> None:
        for array in self.arrays.values():
            if not array.handle.closed:
                array.handle.close()
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)


class Entry:
    """A complete, checked cache entry: ``arrays`` memory-mapped, ``meta`` as written."""

    def __init__(self, folder: Path, manifest: dict, arrays: dict[str, np.ndarray], maps: list[mmap.mmap]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.meta = manifest["meta"]
        self.arrays = arrays
        self._maps = maps

    def release(self) -> None:
        """Drop the pages this process touched; the next read faults them back in from the file cache."""
        for region in self._maps:
            if hasattr(region, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
                try:
                    region.madvise(mmap.MADV_DONTNEED)
                except (OSError, ValueError):
                    pass

    @property
    def nbytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.manifest["files"].values())


def _map(path: Path, spec: dict) -> tuple[np.ndarray, mmap.mmap | None]:
    dtype = np.dtype(np.lib.format.descr_to_dtype(spec["dtype"]))
    shape = tuple(int(d) for d in spec["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return np.empty(shape, dtype=dtype), None
    with open(path, "rb") as handle:
        region = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    array = np.frombuffer(region, dtype=dtype, count=count, offset=HEADER_BYTES).reshape(shape)
    return array, region


def _check(folder: Path, key: str, progress: Progress, text: str) -> dict | None:
    """The manifest of a complete, intact entry, or None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("version") != VERSION or manifest.get("key") != key:
            return None
        files = manifest["files"]
        total = sum(int(spec["bytes"]) for spec in files.values())
        done = 0
        for name, spec in files.items():
            path = folder / f"{name}.npy"
            dtype = np.dtype(np.lib.format.descr_to_dtype(spec["dtype"]))
            expected = HEADER_BYTES + int(np.prod(spec["shape"], dtype=np.int64)) * dtype.itemsize
            if path.stat().st_size != int(spec["bytes"]) or expected != int(spec["bytes"]):
                return None
            with open(path, "rb") as handle:
                if np.lib.format.read_magic(handle) != (1, 0):
                    return None
                shape, _, stored = np.lib.format.read_array_header_1_0(handle)
            if tuple(shape) != tuple(spec["shape"]) or stored != dtype:
                return None
            if _crc(path) != int(spec["crc32"]):
                return None
            done += int(spec["bytes"])
            if text:
                progress.update(done, total, text)
        return manifest
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def open_entry(key: str, root: Path | None = None, progress: Progress = SILENT, text: str = "") -> Entry | None:
    """The entry ``key`` if it is complete and intact; a damaged one is deleted and None returned."""
    root = Path(root) if root is not None else cache_root()
    folder = root / key
    if not folder.is_dir():
        return None
    manifest = _check(folder, key, progress, text)
    if manifest is None:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return _opened(folder, manifest)


def _opened(folder: Path, manifest: dict) -> Entry | None:
    """The entry in ``folder``, its arrays mapped as ``manifest`` describes them; None (and the folder
    deleted) if they cannot be."""
    arrays, maps = {}, []
    try:
        for name, spec in manifest["files"].items():
            array, region = _map(folder / f"{name}.npy", spec)
            arrays[name] = array
            if region is not None:
                maps.append(region)
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    try:
        os.utime(folder / MANIFEST)  # recently used: pruned last
    except OSError:
        pass
    return Entry(folder, manifest, arrays, maps)


def _entries(root: Path):
    try:
        with os.scandir(root) as scan:
            items = [Path(e.path) for e in scan if e.is_dir()]
    except OSError:
        return
    for folder in items:
        yield folder


def _remove_same_source(root: Path, source: str, key: str) -> None:
    """An entry of the same source under another key is out of date: its file changed, or its options."""
    if not source:
        return
    kind = key.split("-", 1)[0]
    for folder in _entries(root):
        if folder.name == key or folder.name.startswith(".") or not folder.name.startswith(kind + "-"):
            continue
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if manifest.get("source") == source:
            shutil.rmtree(folder, ignore_errors=True)


def _size(folder: Path) -> int:
    total = 0
    for file in folder.iterdir():
        try:
            total += file.stat().st_size
        except OSError:
            pass
    return total


def prune(root: Path, limit: int, keep: str = "", stale_after: float = 86400.0) -> None:
    """Remove temporary folders older than a day, then least recently used entries until under ``limit``."""
    now = time.time()
    complete = []
    for folder in _entries(root):
        try:
            if folder.name.startswith("."):
                if now - folder.stat().st_mtime > stale_after:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            used = (folder / MANIFEST).stat().st_mtime
        except OSError:
            continue
        complete.append((used, folder))
    sizes = {folder: _size(folder) for _, folder in complete}
    total = sum(sizes.values())
    for _, folder in sorted(complete):
        if total <= limit:
            break
        if folder.name == keep:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]

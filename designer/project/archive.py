"""The ``.nnd`` container: a ZIP archive read defensively and written atomically.

Reading never extracts anything to disk: the entries asked for are read into memory, after
checking that no entry name is empty, absolute or climbs out with ``..``, and that the archive
does not unpack to more than :data:`MAX_UNCOMPRESSED_BYTES` (checked on the declared sizes first,
then on the bytes actually inflated, since a crafted archive can declare small sizes and inflate
to more). Any other entry stays in the file: it is returned as an :class:`ArchiveMember` (where it
is), and copied from there, in chunks, when the project is saved again.

Writing builds the archive in a temporary file next to the target, flushes and fsyncs it,
then ``os.replace``s it over the target, so a failed or interrupted save leaves the previous
file as it was. The temporary's name holds the writer's process id, so that a later save or
opening of the same target removes the temporaries of writers that died (a kill mid-write).
Entries get a fixed timestamp, so saving the same project twice gives the
same bytes.
"""
from __future__ import annotations

import os
import re
import secrets
import stat
import time
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Collection, Iterator, Sequence, Union

MIMETYPE = b"application/vnd.nn-designer+zip"
#: the most an archive may unpack to (the spec's limit); larger files are refused, not read
MAX_UNCOMPRESSED_BYTES = 2 * 1024 ** 3
#: far more entries than any NN Designer file has; more are refused before any is read
MAX_ENTRIES = 1000
_CHUNK = 1 << 20
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_DRIVE = re.compile(r"^[A-Za-z]:")
#: a temporary left by a writer whose process id cannot be checked (or was reused) is stale after this long
STALE_TEMPORARY_SECONDS = 3600


@dataclass(frozen=True)
class ArchiveMember:
    """An entry left in its archive: where it is, and what it must be (checked again when it is copied).

    Unknown entries can be as large as the archive allows (2 GiB); holding them in memory to write them
    back would cost that much memory for every opening, even a mere ``check``.
    """

    archive: Path
    name: str
    size: int
    crc: int

    def __len__(self) -> int:
        return self.size

    def copy_to(self, out: BinaryIO) -> None:
        """Copy the entry's bytes into ``out`` in chunks. Raises :class:`ArchiveProblem` if it changed."""
        try:
            with zipfile.ZipFile(self.archive) as archive:
                info = archive.getinfo(self.name)
                if (info.file_size, info.CRC) != (self.size, self.crc):
                    raise ArchiveProblem(f"the entry {self.name!r} of {self.archive} changed since it was read")
                with archive.open(info) as stream:
                    copied = 0
                    while chunk := stream.read(_CHUNK):
                        copied += len(chunk)
                        if copied > self.size:
                            raise ArchiveProblem(f"the entry {self.name!r} of {self.archive} unpacks to more "
                                                 f"than its declared {self.size:,} bytes")
                        out.write(chunk)
        except ArchiveProblem:
            raise
        except KeyError:
            raise ArchiveProblem(f"the entry {self.name!r} is no longer in {self.archive}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise ArchiveProblem(f"the entry {self.name!r} of {self.archive} cannot be copied: {exc}") from exc


class ArchiveProblem(Exception):
    """What is wrong with an archive; the reader or writer adds the file's name."""


def unsafe_name_problem(name: str) -> str | None:
    """Why an entry name must not be used, or ``None`` when it is a plain relative name."""
    if not name:
        return "it holds an entry with an empty name"
    plain = name.replace("\\", "/")
    if plain.startswith("/") or _DRIVE.match(plain):
        return f"it holds an entry with an absolute path ({name!r})"
    if ".." in plain.split("/"):
        return f"it holds an entry whose path leaves the archive ({name!r})"
    return None


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def read_entries(path: Path, max_bytes: int,
                 wanted: Collection[str] | None = None) -> dict[str, Union[bytes, ArchiveMember]]:
    """Every file entry of the NN Designer archive at ``path``, in archive order.

    The entries named in ``wanted`` (all when None) are read into memory; any other is an
    :class:`ArchiveMember`, not read at all.

    Raises :class:`ArchiveProblem` for an archive that is not a ZIP, is damaged, is not an NN
    Designer project (no or another ``mimetype``) or breaks a rule above, and ``OSError`` for a
    file that cannot be opened.
    """
    if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
        # a pipe or a device: opening it would wait for a writer, or read zeros forever
        raise ArchiveProblem("it is not a plain file (a pipe or a device), so it was not read")
    with open(path, "rb") as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise ArchiveProblem("it is not an NN Designer project (not a ZIP archive, or a truncated one)") from exc
        except NotImplementedError as exc:  # "zip file version 8.4": a ZIP feature zipfile cannot read
            raise ArchiveProblem(f"it uses a ZIP feature this app cannot read ({exc}); NN Designer projects "
                                 f"never do") from exc
        except OSError as exc:  # a directory whose offsets point before the file's start: seek() refuses
            raise ArchiveProblem(f"it is not an NN Designer project (its ZIP directory is damaged: "
                                 f"{exc.strerror or exc})") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ArchiveProblem(f"it holds {len(infos)} entries; an NN Designer project holds a few")
            names: set[str] = set()
            for info in infos:
                problem = unsafe_name_problem(info.filename)
                if problem:
                    raise ArchiveProblem(f"{problem}, so it was not opened")
                if info.filename in names:
                    raise ArchiveProblem(f"it holds two entries named {info.filename!r}")
                names.add(info.filename)
            declared = sum(info.file_size for info in infos)
            if declared > max_bytes:
                raise ArchiveProblem(f"it would unpack to {_size_text(declared)}, more than the "
                                     f"{_size_text(max_bytes)} an NN Designer project may hold")
            # The mimetype first: a ZIP of something else is refused before its content is read.
            by_name = {info.filename: info for info in infos}
            if "mimetype" not in by_name:
                raise ArchiveProblem("it is not an NN Designer project (the archive has no 'mimetype' entry)")
            mimetype = b"(too long to be one)"
            if by_name["mimetype"].file_size <= len(MIMETYPE):
                mimetype = _read_entry(archive, by_name["mimetype"], len(MIMETYPE), max_bytes)
            if mimetype != MIMETYPE:
                shown = mimetype[:80].decode("utf-8", "replace")
                raise ArchiveProblem(f"it is not an NN Designer project (its mimetype is {shown!r}, "
                                     f"not {MIMETYPE.decode()!r})")
            entries: dict[str, Union[bytes, ArchiveMember]] = {}
            budget = max_bytes - len(mimetype)
            for info in infos:
                if info.is_dir():
                    continue
                if info.filename == "mimetype":
                    entries["mimetype"] = mimetype
                    continue
                if wanted is not None and info.filename not in wanted:
                    # within the declared-size limit above; its real size is checked when it is copied
                    entries[info.filename] = ArchiveMember(Path(os.path.realpath(path)), info.filename,
                                                           info.file_size, info.CRC)
                    continue
                data = _read_entry(archive, info, budget, max_bytes)
                budget -= len(data)
                entries[info.filename] = data
            return entries


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, max_bytes: int) -> bytes:
    chunks = []
    total = 0
    try:
        with archive.open(info) as stream:
            while True:
                # Never trust the declared size: stop as soon as the real bytes pass the budget.
                # A truthful entry comes in one read (zipfile itself stops at the declared size).
                want = info.file_size + 1 if total == 0 else _CHUNK
                chunk = stream.read(min(want, budget - total + 1))
                if not chunk:
                    break
                total += len(chunk)
                if total > budget:
                    raise ArchiveProblem(f"it unpacks to more than the {_size_text(max_bytes)} an NN Designer "
                                         f"project may hold (entry {info.filename!r})")
                chunks.append(chunk)
    except ArchiveProblem:
        raise
    except RuntimeError as exc:  # zipfile's "File is encrypted, password required for extraction"
        raise ArchiveProblem(f"entry {info.filename!r} is encrypted; NN Designer projects never are") from exc
    except NotImplementedError as exc:
        raise ArchiveProblem(f"entry {info.filename!r} uses a compression method this app cannot read") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
        # OSError: an entry offset before the file's start, which seek() refuses (EINVAL)
        raise ArchiveProblem(f"the archive is damaged or truncated (entry {info.filename!r}: {exc})") from exc
    return b"".join(chunks)


#: an entry's content: bytes, consecutive parts written one after the other, or an entry of another archive
Content = Union[bytes, Sequence[Union[bytes, memoryview]], ArchiveMember]


def content_size(data: Content) -> int:
    if isinstance(data, (bytes, ArchiveMember)):
        return len(data)
    return sum(len(part) for part in data)


def write_atomically(path: Path, entries: list[tuple[str, Content, int]]) -> None:
    """Write ``(name, content, compression)`` entries as a ZIP archive replacing ``path`` atomically.

    Raises ``OSError`` or :class:`ArchiveProblem` (an :class:`ArchiveMember` that cannot be copied); the
    previous file is then untouched and no temporary file left behind.
    """
    with atomic_file(path) as handle:
        with zipfile.ZipFile(handle, "w") as archive:
            for name, data, compression in entries:
                info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
                info.compress_type = compression
                info.create_system = 3  # Unix, so that the bytes do not depend on the saving OS
                info.external_attr = 0o644 << 16
                info.file_size = content_size(data)  # lets zipfile choose the header it needs
                with archive.open(info, "w") as entry:
                    if isinstance(data, ArchiveMember):
                        data.copy_to(entry)
                        continue
                    for part in ([data] if isinstance(data, bytes) else data):
                        entry.write(part)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write that replaces ``path`` only when the ``with`` block ends without an error.

    The bytes go to a temporary file in the same folder, flushed and fsynced, then ``os.replace``d over
    ``path`` (through a symbolic link to the file it points at, as editors do); an existing file keeps its
    permissions, a new one gets a plain new file's. Raises ``OSError``; on any failure the previous file
    is untouched and no temporary file is left behind.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(2, f"the folder {str(folder)!r} does not exist")
    remove_stale_temporaries(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = folder / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 filtered by the umask gives the permissions a plain new file would get.
            descriptor = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        except OSError:
            pass  # a new file keeps the umask's permissions
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _sync_folder(folder)


def _alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs; None where that cannot be told (Windows: os.kill would end it)."""
    if os.name == "nt":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or a number no process has: leave it to the age rule
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries ``.NAME.PID-XXXXXXXX.tmp`` that dead writers left beside ``path``; return them.

    A temporary whose writer still runs is left alone (it is being written); one whose writer cannot be
    told (a name without a process id, from an older version, or Windows) only once it is older than
    :data:`STALE_TEMPORARY_SECONDS`. Never raises: a temporary that cannot be removed stays.
    """
    target = Path(os.path.realpath(path))
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.(?:(\d+)-)?[0-9a-f]{8}\.tmp$")
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        candidate = target.parent / name
        try:
            alive = _alive(int(match.group(1))) if match.group(1) else None
            if alive is None or alive:  # a live pid may have been reused: an old temporary still goes
                if time.time() - candidate.lstat().st_mtime < STALE_TEMPORARY_SECONDS:
                    continue
            candidate.unlink()
            removed.append(candidate)
        except (OSError, ValueError):
            continue
    return removed


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible, nor needed, everywhere."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)

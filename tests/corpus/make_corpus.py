"""Build the regression corpus: one small ``.nnd`` per crash kind found by fuzzing the shipped examples.

Run ``python tests/corpus/make_corpus.py`` to rebuild the committed files beside this script; the tests
build them again in a temporary folder and replay both. Each case is derived from
``resources/examples/xor.nnd`` and names the words its refusal must hold. The 1.8 GiB unknown entry is
not in the corpus (see :func:`big_member_archive`): it is built by the test, in a temporary folder.
"""
from __future__ import annotations

import json
import struct
import sys
import zipfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
XOR = HERE.parent.parent / "resources" / "examples" / "xor.nnd"
MIMETYPE = b"application/vnd.nn-designer+zip"


def _entries() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(XOR) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _write(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            # open(), not writestr(): writestr itself fails on an empty name (it looks at its last character)
            with archive.open(info, "w") as entry:
                entry.write(data)
    return path


def _project(change: Callable[[dict], None] | None = None, text: Callable[[str], str] | None = None):
    def build(path: Path) -> Path:
        entries = _entries()
        for index, (name, data) in enumerate(entries):
            if name == "project.json":
                document = json.loads(data)
                if change:
                    change(document)
                body = json.dumps(document, indent=2)
                entries[index] = (name, (text(body) if text else body).encode("utf-8"))
        return _write(path, entries)
    return build


def _huge_number_in_history(path: Path) -> Path:
    history = '{"runs": [{"id": "run-1", "epochs": [' + "9" * 5000 + "]}]}"
    return _write(path, [*(e for e in _entries() if e[0] != "history.json"), ("history.json", history.encode())])


def _empty_member_name(path: Path) -> Path:
    return _write(path, [*_entries(), ("", b"junk")])


def _unknown_entry_lying_about_its_size(path: Path) -> Path:
    """Opens (the unknown entry is not read), but cannot be copied on saving: ``train`` keeps the run."""
    _write(path, [*_entries(), ("pad", bytes(1 << 16))])
    data = bytearray(path.read_bytes())
    local = data.rindex(b"PK\x03\x04", 0, data.index(b"pad"))
    struct.pack_into("<I", data, local + 22, 100)
    central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"pad"))
    struct.pack_into("<I", data, central + 24, 100)
    path.write_bytes(bytes(data))
    return path


def _newer_zip_version(path: Path) -> Path:
    """The central directory says its first entry needs ZIP version 8.4 to extract (zipfile reads up to 6.3)."""
    _write(path, _entries())
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 6, 84)
    path.write_bytes(bytes(data))
    return path


def _name(value):
    def change(document):
        document["dataset"]["name"] = value
    return change


#: file name -> (builder, words the refusal of ``check`` must hold)
CASES: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "huge-number.nnd": (_project(text=lambda body: body.replace('"seed": 1', '"seed": ' + "9" * 5000, 1)),
                        ["project.json", "more than 4300 digits"]),
    "huge-number-in-history.nnd": (_huge_number_in_history, ["history.json", "more than 4300 digits"]),
    "empty-member-name.nnd": (_empty_member_name, ["an entry with an empty name"]),
    "surrogate-name.nnd": (_project(text=lambda body: body.replace('"name": "XOR', '"name": "\\ud800XOR', 1)),
                           ["project.json.name", "not valid Unicode"]),
    "dataset-name-object.nnd": (_project(_name({"xor": 1})), ["dataset 'name' must be text"]),
    "dataset-name-list.nnd": (_project(_name(["xor"])), ["dataset 'name' must be text"]),
    "zip-version.nnd": (_newer_zip_version, ["a ZIP feature this app cannot read", "zip file version 8.4"]),
}
#: opens and checks (exit 0), but its save fails: ``train --out`` keeps the run elsewhere (exit 2)
UNSAVABLE = {"lying-unknown-entry.nnd": (_unknown_entry_lying_about_its_size, ["'pad'", "was kept in"])}


def big_member_archive(path: Path, size: int, chunk: int = 1 << 24) -> Path:
    """xor.nnd plus an unknown entry ``big.bin`` of ``size`` zeros, written in chunks (sizes declared truly).

    Deflated at level 1, so 1.8 GiB of zeros take about 2 MB on disk; never committed.
    """
    entries = _entries()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("big.bin", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.file_size = size  # so that zipfile writes the ZIP64 header it needs before the data
        zeros = bytes(chunk)
        with archive.open(info, "w") as entry:
            left = size
            while left:
                entry.write(zeros[:min(left, chunk)])
                left -= min(left, chunk)
    return path


def build(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [builder(folder / name) for name, (builder, _words) in {**CASES, **UNSAVABLE}.items()]


if __name__ == "__main__":
    for built in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"{built} ({built.stat().st_size:,} bytes)")

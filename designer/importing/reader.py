"""Reading an ONNX file defensively: no code from the file is run, and nothing outside its folder is read.

``onnx.load(..., load_external_data=False)`` parses the protobuf only. Tensors stored outside the file
(external data) are then read here, and only from files inside the model's own folder: a location that is
absolute, climbs out with ``..`` or leads out through a symbolic link is refused, as is one that is not a
plain file or is shorter than the tensor. Declared sizes are checked against the design's limits before
anything is read, so a file that declares a huge tensor is refused, not allocated.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np

from designer.graph.validate import MAX_CONNECTION_WEIGHTS, MAX_PARAMETERS

from .errors import ModelImportError

#: a protobuf message cannot be larger (bigger models keep their weights in external data)
MAX_FILE_BYTES = 2 * 1024 ** 3
#: the most values one tensor may hold: a connection's weights at most
MAX_TENSOR_VALUES = MAX_CONNECTION_WEIGHTS
#: the most values all tensors together may hold: the design's limit, with room for shape constants
MAX_TOTAL_VALUES = MAX_PARAMETERS + 10_000_000
_DRIVE = re.compile(r"^[A-Za-z]:")

#: what a file that is not ONNX most often is, by its first bytes
_OTHER_FORMATS = [
    (lambda head: head.startswith(b"PK\x03\x04"),
     "it is a ZIP archive (a PyTorch checkpoint .pt/.pth, or an NN Designer project), not an ONNX model; export "
     "the model with torch.onnx.export, or open an .nnd project with nn-designer FILE.nnd"),
    (lambda head: len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5,
     "it is a pickled Python file (torch.save), not an ONNX model; NN Designer never unpickles files: export the "
     "model with torch.onnx.export"),
    (lambda head: head.startswith(b"\x89HDF"),
     "it is an HDF5 file (a Keras .h5 model), not an ONNX model; convert it with tf2onnx"),
    (lambda head: head[4:8] == b"TFL3",
     "it is a TensorFlow Lite model, not an ONNX model; convert it with tf2onnx"),
    (lambda head: len(head) >= 10 and head[8:10] in (b'{"', b"{'") and int.from_bytes(head[:8], "little") < 1 << 27,
     "it is a safetensors file: weights without the network; export the model itself with torch.onnx.export"),
    (lambda head: head.lstrip().startswith((b"<", b"{", b"ir_version", b"#")),
     "it is a text file, not an ONNX model (ONNX models are binary protobuf files)"),
]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ModelImportError(None, "importing ONNX models needs the onnx package: "
                                     "pip install 'nn-designer[onnx]'") from None
    return onnx


def load_model(path: str | os.PathLike):
    """The ``ModelProto`` of ``path``, parsed only (external data not loaded). Raises :class:`ModelImportError`."""
    onnx = _onnx()
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelImportError(path, "no such file") from None
    except OSError as exc:
        raise ModelImportError(path, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelImportError(path, "it is a folder; give the .onnx file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelImportError(path, "it is not a plain file (a pipe or a device), so it was not read")
    if info.st_size > MAX_FILE_BYTES:
        raise ModelImportError(path, f"it takes {info.st_size:,} bytes, more than an ONNX file can (2 GiB); "
                                     f"a larger model keeps its weights in external data files")
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise ModelImportError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not head:
        raise ModelImportError(path, "the file is empty")
    for test, message in _OTHER_FORMATS:
        if test(head):
            raise ModelImportError(path, message)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, or a RuntimeWarning-turned error: not ONNX, or truncated
        raise ModelImportError(path, f"it is not an ONNX model, or a truncated one (the protobuf cannot be read: "
                                     f"{_first_line(exc)})") from None
    if not model.HasField("graph") or model.ir_version < 3:
        raise ModelImportError(path, "it is not an ONNX model (no graph, or no IR version): a damaged or "
                                     "truncated file, or another format")
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def check_model(path: Path, model) -> None:
    """``onnx.checker``'s verdict on the parsed model (external data not loaded), as a :class:`ModelImportError`."""
    onnx = _onnx()
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelImportError(path, f"it is not a valid ONNX model ({_first_line(exc)}); a damaged or truncated "
                                     f"file, or one its exporter wrote wrongly") from None


def load_external(path: Path, tensor, folder: Path, what: str, budget: list[int] | None = None) -> None:
    """Check ``tensor``'s declared size, and bring external data into it, read from inside ``folder`` only.

    ``what`` names the tensor in messages (``initializer 'fc.weight'``); ``budget`` (a one-item list) counts
    down the values all tensors may hold together.
    """
    onnx = _onnx()
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims):
        raise ModelImportError(path, f"{what} declares a negative size {dims}")
    count = 1
    for d in dims:
        count *= d
    if count > MAX_TENSOR_VALUES:
        raise ModelImportError(path, f"{what} declares {count:,} values {dims}, more than the "
                                     f"{MAX_TENSOR_VALUES:,} a connection of a design may hold")
    if budget is not None:
        budget[0] -= count
        if budget[0] < 0:
            raise ModelImportError(path, f"its tensors hold more than the {MAX_TOTAL_VALUES:,} values a design may "
                                         f"hold (at {what})")
    if tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        raise ModelImportError(path, f"{what} holds {onnx.TensorProto.DataType.Name(tensor.data_type)} values, "
                                     f"not numbers")
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raw = _external_bytes(path, tensor, folder, what, count)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.raw_data = raw
    elif tensor.HasField("raw_data"):
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
        if tensor.data_type in (onnx.TensorProto.INT4, onnx.TensorProto.UINT4):
            itemsize = 0.5
        if len(tensor.raw_data) != int(np.ceil(count * itemsize)):
            raise ModelImportError(path, f"{what} declares {count:,} values {dims} but holds "
                                         f"{len(tensor.raw_data):,} bytes: a damaged or truncated file")


def tensor_array(path: Path, tensor, what: str) -> np.ndarray:
    """The values of ``tensor`` (a ``TensorProto`` whose data :func:`load_external` brought in)."""
    from onnx import numpy_helper

    count = 1
    for d in tensor.dims:
        count *= int(d)
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as exc:  # mismatched sizes in the typed fields, an unknown type
        raise ModelImportError(path, f"{what} cannot be read ({_first_line(exc)}): a damaged file") from None
    if array.size != count:
        raise ModelImportError(path, f"{what} declares {count:,} values {list(tensor.dims)} but holds {array.size:,}")
    return array


def _external_bytes(path: Path, tensor, folder: Path, what: str, count: int) -> bytes:
    entries = {entry.key: entry.value for entry in tensor.external_data}
    location = entries.get("location", "")
    if not location:
        raise ModelImportError(path, f"{what} keeps its values in an external file but does not say which")
    plain = location.replace("\\", "/")
    if plain.startswith("/") or _DRIVE.match(plain) or os.path.isabs(location):
        raise ModelImportError(path, f"{what} keeps its values in {location!r}, an absolute path; only files "
                                     f"inside the model's folder are read")
    if ".." in plain.split("/"):
        raise ModelImportError(path, f"{what} keeps its values in {location!r}, outside the model's folder; only "
                                     f"files inside it are read")
    base = Path(os.path.realpath(folder))
    target = Path(os.path.realpath(base / plain))
    if not target.is_relative_to(base):
        raise ModelImportError(path, f"{what} keeps its values in {location!r}, which leads outside the model's "
                                     f"folder (a symbolic link); only files inside it are read")
    try:
        offset = int(entries.get("offset", "0") or 0)
        length = int(entries["length"]) if entries.get("length") else None
    except ValueError:
        raise ModelImportError(path, f"{what} gives an offset or length that is not a number") from None
    onnx = _onnx()
    itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    expected = count * itemsize
    if length is None:
        length = expected
    if offset < 0 or length != expected:
        raise ModelImportError(path, f"{what} declares {count:,} values ({expected:,} bytes) but its external "
                                     f"data is {length:,} bytes at offset {offset}")
    try:
        info = os.stat(target)
        if not stat.S_ISREG(info.st_mode):
            raise ModelImportError(path, f"{what} keeps its values in {location!r}, which is not a plain file")
        if info.st_size < offset + length:
            raise ModelImportError(path, f"{what} keeps its values in {location!r}, which is too short "
                                         f"({info.st_size:,} bytes; {offset + length:,} needed): a truncated file")
        with open(target, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
    except FileNotFoundError:
        raise ModelImportError(path, f"{what} keeps its values in {location!r}, which is not beside the model; "
                                     f"copy it into the model's folder") from None
    except OSError as exc:
        raise ModelImportError(path, f"{what}: {location!r} cannot be read: {exc.strerror or exc}") from None
    if len(data) != length:
        raise ModelImportError(path, f"{what}: {location!r} is too short: a truncated file")
    return data

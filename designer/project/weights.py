"""``weights.safetensors``: trained parameters by name, checked on the way in and out.

Only safetensors is used (never pickle): a weights file cannot run code when it is opened.
"""
from __future__ import annotations

import json

import numpy
from safetensors.numpy import load as _load_safetensors
from safetensors.numpy import save as _save_safetensors

WEIGHTS_METADATA = {"format": "nnd-weights", "version": "1"}
WEIGHTS_VERSION = 1
#: a header larger than this is not one that NN Designer wrote (safetensors itself allows 100 MB)
_MAX_HEADER = 100_000_000


class WeightsProblem(Exception):
    """What is wrong with the weights; the caller adds the file's name."""


def encode_weights(weights: dict[str, numpy.ndarray]) -> list[bytes | memoryview]:
    """The bytes of a ``weights.safetensors`` holding ``weights``, as consecutive parts.

    In parts so that the tensor data is written from safetensors' own buffer, never copied.
    """
    if not isinstance(weights, dict):
        raise WeightsProblem(f"weights must be a dict of name -> numpy array, got {type(weights).__name__}")
    arrays: dict[str, numpy.ndarray] = {}
    for name, value in weights.items():
        if not isinstance(name, str) or not name:
            raise WeightsProblem(f"weight names must be non-empty strings, got {name!r}")
        array = numpy.asarray(value)
        if array.dtype.kind not in "biuf":
            raise WeightsProblem(f"weight {name!r} holds {array.dtype} values; only numbers can be saved")
        # safetensors writes raw buffers: it needs C order and the machine's own byte order
        arrays[name] = numpy.ascontiguousarray(array.astype(array.dtype.newbyteorder("="), copy=False))
    try:
        data = _save_safetensors(arrays, metadata=dict(WEIGHTS_METADATA))
    except Exception as exc:  # safetensors raises its own error types from Rust
        raise WeightsProblem(f"the weights could not be encoded: {exc}") from exc
    # safetensors writes the header's keys in hash order, which changes from one process to
    # the next; sorted, the same weights give the same file.
    size = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8:8 + size]), sort_keys=True, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # keep the tensor data 8-byte aligned, as safetensors does
    return [len(header).to_bytes(8, "little") + header, memoryview(data)[8 + size:]]


def decode_weights(data: bytes) -> dict[str, numpy.ndarray]:
    """The arrays of a ``weights.safetensors`` NN Designer wrote (writable copies)."""
    if len(data) < 8:
        raise WeightsProblem("weights.safetensors is not a safetensors file (too short)")
    size = int.from_bytes(data[:8], "little")
    if size > min(len(data) - 8, _MAX_HEADER):
        raise WeightsProblem("weights.safetensors is not a safetensors file (its header size is impossible)")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WeightsProblem("weights.safetensors is not a safetensors file (its header is not JSON)") from exc
    if not isinstance(header, dict):
        raise WeightsProblem("weights.safetensors is not a safetensors file (its header is not a JSON object)")
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or metadata.get("format") != WEIGHTS_METADATA["format"]:
        raise WeightsProblem(f"weights.safetensors was not written by NN Designer (its metadata is {metadata!r}, "
                             f"expected {WEIGHTS_METADATA!r})")
    version = metadata.get("version")
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise WeightsProblem(f"weights.safetensors has an invalid version {version!r}") from None
    if number > WEIGHTS_VERSION:
        raise WeightsProblem(f"weights.safetensors was made by a newer NN Designer (weights version {number}); "
                             f"update the app")
    try:
        loaded = _load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types from Rust
        raise WeightsProblem(f"weights.safetensors is damaged: {exc}") from exc
    return {name: numpy.array(array, copy=True) if not array.flags.writeable else array
            for name, array in loaded.items()}

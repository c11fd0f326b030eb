"""Open existing models: an ONNX file becomes an editable design, with its trained weights.

``import_onnx(path)`` reads the file with the ``onnx`` package (the protobuf only: nothing in it is run, and
tensors kept in external files are read from the model's own folder only), maps its nodes to layers and
connections by what they compute (:mod:`designer.importing.mapper`), keeps the weights in the design's file
layouts, and lays the design out left to right (:mod:`designer.importing.layout`). What cannot be mapped is
refused with :class:`ModelImportError`, one line per node: its op type, its name and what it would need.

Plain Python, numpy and onnx (loaded when a model is read; no torch, no Qt), so the command and the window
both use it.
"""
from .errors import ModelImportError
from .layout import arrange, card_size, overlaps
from .onnx_import import SUPPORTED_OPSETS, ImportResult, import_onnx, read_onnx

__all__ = ["ImportResult", "ModelImportError", "SUPPORTED_OPSETS", "arrange", "card_size", "import_onnx", "overlaps",
           "read_onnx"]

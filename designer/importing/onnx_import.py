"""``import_onnx``: an ONNX file in, a project out (see the package's docstring)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from designer.graph.validate import MAX_LAYER_UNITS

from .design import build_project, describe
from .errors import ModelImportError, NeedsTime, Unsupported
from .mapper import Mapper
from .nodes import fuse_activations, nodes_of
from .reader import MAX_TOTAL_VALUES, check_model, load_external, load_model, tensor_array
from .values import LAST, NO_TIME, LayerDraft, Tensor

#: the opsets of the default ONNX domain this importer was tested with (torch.onnx.export: TorchScript 13 to 20,
#: dynamo 18 to 23); a file with another opset is refused, naming it
SUPPORTED_OPSETS = range(13, 24)
#: the ONNX element types an input may have (float32; float16, bfloat16 and float64 are read as float32)
_FLOAT_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


@dataclass
class ImportResult:
    """What :func:`read_onnx` made: the project, notes for the person importing, and what the model was."""

    project: object  # designer.project.Project
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the project's description: "Imported from model.onnx (ONNX opset 20, pytorch 2.13.0)."
    details: str = ""  # "ONNX opset 20, pytorch 2.13.0"
    opset: int = 0
    sequence: bool = False

    def summary(self) -> list[str]:
        """Lines describing the design: one per layer, then the totals."""
        graph = self.project.graph
        lines = describe(self.project)
        lines.append(f"{len(graph.layers)} layers, {len(graph.connections)} connections, "
                     f"{graph.parameter_count():,} trainable parameters")
        return lines


def import_onnx(path: str | os.PathLike) -> "object":
    """The design an ONNX model computes, as a :class:`~designer.project.Project` with its trained weights.

    Raises :class:`ModelImportError` naming the file and, one line each, the nodes that have no counterpart.
    """
    return read_onnx(path).project


def read_onnx(path: str | os.PathLike) -> ImportResult:
    """:func:`import_onnx` with the notes for the person importing (dataset chosen, dropout not in the graph ...)."""
    path = Path(path)
    model = load_model(path)
    opset = _opset(path, model)
    graph = model.graph
    initializer_names = {t.name for t in graph.initializer}
    if len(graph.sparse_initializer):
        raise ModelImportError(path, "it holds sparse initializers, which the designer cannot read")
    inputs = [i for i in graph.input if i.name not in initializer_names]
    if not inputs:
        raise ModelImportError(path, "it takes no input; a design computes from one input")
    if len(inputs) > 1:
        names = ", ".join(repr(i.name) for i in inputs)
        raise ModelImportError(path, f"it takes {len(inputs)} inputs ({names}); a design has one input layer")
    if not graph.output:
        raise ModelImportError(path, "it has no output")
    if len(graph.output) > 1:
        names = ", ".join(repr(o.name) for o in graph.output)
        raise ModelImportError(path, f"it has {len(graph.output)} outputs ({names}); a design has one output layer")
    if not graph.node:
        raise ModelImportError(path, "its graph is empty (no nodes): there is no network to import")
    value_in = inputs[0]
    dims, static_batch = _input_dims(path, value_in)
    _check_output(path, graph.output[0])
    budget = [MAX_TOTAL_VALUES]
    folder = path.resolve().parent
    arrays: dict[str, np.ndarray] = {}
    for tensor in graph.initializer:  # external data read into the model first, so that the checker sees it all
        load_external(path, tensor, folder, f"initializer {tensor.name!r}", budget)
    check_model(path, model)
    for tensor in graph.initializer:
        arrays[tensor.name] = tensor_array(path, tensor, f"initializer {tensor.name!r}")
        tensor.ClearField("raw_data")  # the array holds the values now: the model's copy would double the memory

    def constant(name: str):
        if name in arrays:
            return arrays[name]
        return constants.get(name)

    nodes = nodes_of(graph)
    constants: dict[str, np.ndarray] = {}
    from onnx import numpy_helper

    for node in nodes:
        if node.op == "Constant" and "value" in node.attrs and node.attrs["value"].data_location != 1:
            try:
                constants[node.outputs[0]] = numpy_helper.to_array(node.attrs["value"])
            except Exception:  # noqa: BLE001 - refused with a message when the node is read
                pass
    output = graph.output[0].name
    nodes = _live(nodes, output)
    nodes = fuse_activations(nodes, constant)
    source = _source(path, model, opset)
    try:
        mapped = _map(path, nodes, arrays, value_in.name, dims, static_batch, opset, output, sequence=False,
                      constant=constant)
    except NeedsTime:
        if len(dims) < 3:
            raise ModelImportError(path, "it works on time steps (a recurrent operator, or slicing the input), but "
                                         "its input has no time axis: a sequence model takes [batch, time, "
                                         "features]") from None
        mapped = _map(path, nodes, arrays, value_in.name, dims, static_batch, opset, output, sequence=True,
                      constant=constant)
    mapper, output_layer = mapped
    project, notes = build_project(path, _used(mapper.drafts, output_layer), output_layer, sequence=mapper.sequence,
                                   steps=mapper.steps, source=source)
    if mapper.dropouts:
        notes[0] += f" ({mapper.dropouts} Dropout node{'s' if mapper.dropouts != 1 else ''} ignored)"
    if value_in.type.tensor_type.elem_type != 1:
        notes.append(f"the input was {_FLOAT_TYPES[value_in.type.tensor_type.elem_type]}; the design computes "
                     f"in float32")
    return ImportResult(project, notes, source, source[source.find("(") + 1:-2], opset, mapper.sequence)


def _opset(path: Path, model) -> int:
    versions = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    opset = versions.get("ai.onnx")
    if opset is None:
        raise ModelImportError(path, "it does not say which ONNX opset it uses (no opset_import for the default "
                                     "domain)")
    if opset not in SUPPORTED_OPSETS:
        newer = opset > SUPPORTED_OPSETS[-1]
        raise ModelImportError(path, f"it uses opset {opset}, {'newer' if newer else 'older'} than the opsets this "
                                     f"importer was tested with ({SUPPORTED_OPSETS[0]} to {SUPPORTED_OPSETS[-1]}); "
                                     f"export it again with torch.onnx.export(..., opset_version=20)")
    return opset


def _source(path: Path, model, opset: int) -> str:
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return f"Imported from {path.name} (ONNX opset {opset}{', ' + producer if producer else ''})."


def _dims_of(value) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in value.type.tensor_type.shape.dim]


def _input_dims(path: Path, value) -> tuple[list, int | None]:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise ModelImportError(path, f"its input {value.name!r} is a {kind or 'value of unknown type'}, not a tensor")
    elem = value.type.tensor_type.elem_type
    if elem not in _FLOAT_TYPES:
        from onnx import TensorProto

        name = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else str(elem)
        raise ModelImportError(path, f"its input {value.name!r} holds {name} values (token ids?); a design takes "
                                     f"numbers (float32)")
    if not value.type.tensor_type.HasField("shape"):
        raise ModelImportError(path, f"its input {value.name!r} has no declared shape; export it with one "
                                     f"(torch.onnx.export does)")
    dims = _dims_of(value)
    if len(dims) < 2:
        plural = "s" if len(dims) != 1 else ""
        raise ModelImportError(path, f"its input {value.name!r} has {len(dims)} dimension{plural}; a design takes "
                                     f"[batch, features ...]")
    if len(dims) > 5:
        raise ModelImportError(path, f"its input {value.name!r} has {len(dims)} dimensions; a design's input is "
                                     f"[batch, features], [batch, height, width], [batch, channels, height, width] or "
                                     f"[batch, time, features]")
    for i, d in enumerate(dims):
        if isinstance(d, int) and d > MAX_LAYER_UNITS:
            raise ModelImportError(path, f"its input {value.name!r} declares a dimension of {d:,} (axis {i}), more "
                                         f"than the {MAX_LAYER_UNITS:,} neurons a layer may have")
    features = dims[1:]
    known = 1
    for d in features:
        if isinstance(d, int):
            known *= max(d, 1)
    if known > MAX_LAYER_UNITS:
        raise ModelImportError(path, f"its input {value.name!r} declares {known:,} values per sample, more than the "
                                     f"{MAX_LAYER_UNITS:,} neurons a layer may have")
    dynamic = [i for i, d in enumerate(dims[1:], 1) if not isinstance(d, int) or d <= 0]
    # a sequence's length may be dynamic (axis 1 of [batch, time, features]); any other axis must be fixed
    if [i for i in dynamic if not (i == 1 and len(dims) >= 3)]:
        i = [i for i in dynamic if not (i == 1 and len(dims) >= 3)][0]
        raise ModelImportError(path, f"its input {value.name!r} has a dynamic size on axis {i} ({dims[i] or '?'}), "
                                     f"which a layer cannot have: export it with fixed sizes except the batch "
                                     f"(dynamic_shapes / dynamic_axes on axis 0 only)")
    batch = dims[0]
    return dims, batch if isinstance(batch, int) and batch > 0 else None


def _check_output(path: Path, value) -> None:
    if value.type.WhichOneof("value") != "tensor_type":
        raise ModelImportError(path, f"its output {value.name!r} is not a tensor")
    for i, d in enumerate(_dims_of(value)):
        if isinstance(d, int) and d > MAX_LAYER_UNITS:
            raise ModelImportError(path, f"its output {value.name!r} declares a dimension of {d:,} (axis {i}), more "
                                         f"than the {MAX_LAYER_UNITS:,} neurons a layer may have")


def _live(nodes, output: str):
    """The nodes the output depends on, in order (nodes whose results go nowhere are not read)."""
    producer = {}
    for node in nodes:
        for name in node.outputs:
            producer[name] = node
    wanted = {output}
    live = set()
    for node in reversed(nodes):
        if any(name in wanted for name in node.outputs):
            live.add(id(node))
            wanted.update(name for name in node.inputs if name)
    return [node for node in nodes if id(node) in live]


def _map(path: Path, nodes, arrays, input_name: str, dims, static_batch, opset: int, output: str, *,
         sequence: bool, constant) -> tuple[Mapper, LayerDraft]:
    mapper = Mapper(opset=opset, input_name=input_name, input_dims=dims, sequence=sequence,
                    static_batch=static_batch, constant=constant, initializer_names=set(arrays))
    from .values import Const

    for name, array in arrays.items():
        if name != input_name:
            mapper.values[name] = Const(array)
    tensor = mapper.run(nodes, output)
    layer = None
    if tensor is not None:
        try:
            layer = _output_layer(mapper, tensor)
        except Unsupported as exc:
            mapper.problems.append(f"the output {output!r}: {exc}")
    if mapper.problems or layer is None:
        if not mapper.problems:
            mapper.problems.append(f"the output {output!r} cannot be computed")
        count = len(mapper.problems)
        headline = "it cannot become a design:"
        if all(" node " in line.split(":")[0] for line in mapper.problems):
            headline = f"{count} node{'s' if count != 1 else ''} cannot become part of a design:"
        raise ModelImportError(path, mapper.problems, headline=headline)
    if sequence:
        _check_sequence(path, mapper, layer)
    return mapper, layer


def _output_layer(mapper: Mapper, tensor: Tensor) -> LayerDraft:
    tensor = mapper._act(mapper._plain(tensor))
    layer = tensor.src.layer
    if layer.kind == "input":
        raise Unsupported("is the input itself; a design computes at least one layer")
    if mapper.sequence:
        last = mapper.steps - 1 if mapper.steps is not None else LAST
        if tensor.time not in (last, LAST):
            raise Unsupported("holds every time step (or one that is not the last); a design's sequence models "
                              "output the last step: take y[:, -1] in the model")
    elif tensor.time is not NO_TIME:
        raise Unsupported("is not computed from the input per sample")
    batchy = [a for a in tensor.axes if a.batchy]
    if len(batchy) != 1 or batchy[0].kind != "B" or any(a.kind == "F" for a in tensor.axes[:tensor.axes.index(
            batchy[0])]):
        raise Unsupported(f"is laid out {[a.kind for a in tensor.axes]}; a design outputs [batch, units] (for "
                          f"sequences, the last step only)")
    return layer


def _check_sequence(path: Path, mapper: Mapper, output: LayerDraft) -> None:
    problems = []
    steps = mapper.steps
    used = _used(mapper.drafts, output)
    for draft in used:
        if draft.time != "steps":
            continue
        times = sorted(draft.steps)
        if steps is not None and (times == list(range(steps)) or times == [steps - 1]):
            continue
        where = f"made by node {draft.node!r}" if draft.node else ""
        problems.append(f"a layer {where} is computed at step{'s' if len(times) != 1 else ''} "
                        f"{', '.join(map(str, times[:6]))}{' ...' if len(times) > 6 else ''} of {steps}; a design "
                        f"computes every layer at every step (an unrolled loop whose steps differ cannot be folded "
                        f"back)")
    recurrent = any(d.kind in ("lstm", "gru") or any(c.recurrent for c in d.incoming) for d in used)
    if not recurrent:
        problems.append("it takes sequences but nothing in it carries a value from one step to the next; as a "
                        "design it would be a feed-forward network on single steps")
    for draft in used:
        if draft.norm == "batch":
            problems.append(f"batch normalisation in a sequence model (layer from node {draft.node!r}); a design "
                            f"allows layer normalisation there only")
    if problems:
        raise ModelImportError(path, problems, headline="its sequence model cannot become a design:")


def _used(drafts: list[LayerDraft], output: LayerDraft) -> list[LayerDraft]:
    """The drafts the output depends on (through any connection), in the order they were made."""
    keep = {id(output)}
    todo = [output]
    while todo:
        draft = todo.pop()
        for conn in draft.incoming:
            if id(conn.source) not in keep:
                keep.add(id(conn.source))
                todo.append(conn.source)
    return [d for d in drafts if id(d) in keep]


__all__ = ["ImportResult", "SUPPORTED_OPSETS", "import_onnx", "read_onnx"]

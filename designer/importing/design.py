"""From layer drafts to a project: ids, layers, connections, weights in the design's layouts, a dataset, a layout."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from designer.graph import Connectivity, Graph, Layer, errors, norm_features, validate
from designer.graph.model import ID_PATTERN
from designer.project import DEFAULT_DATASET, DEFAULT_TRAINING, Project

from .errors import ModelImportError
from .layout import arrange
from .values import LayerDraft

#: how an imported design trains unless the user changes it: it starts from trained weights, so gently
IMPORTED_TRAINING = {**DEFAULT_TRAINING, "optimizer": "adam", "learning_rate": 0.001, "epochs": 20}
#: a built-in dataset that fits an input, by (runs over sequences, input shape)
DATASETS = {
    (True, (1,)): {"kind": "builtin", "name": "sine", "samples": 500, "noise": 0.02, "validation_split": 0.2,
                   "seed": 1},
    (False, (2,)): {"kind": "builtin", "name": "spiral", "samples": 400, "noise": 0.05, "validation_split": 0.2,
                    "seed": 1},
    (False, (16, 16)): {"kind": "builtin", "name": "shapes", "samples": 1000, "noise": 0.05, "validation_split": 0.2,
                        "seed": 1},
    (False, (1, 16, 16)): {"kind": "builtin", "name": "shapes", "samples": 1000, "noise": 0.05,
                           "validation_split": 0.2, "seed": 1},
}

def _role(draft: LayerDraft) -> str:
    if draft.kind in ("lstm", "gru"):
        return draft.kind
    if any(c.recurrent for c in draft.incoming):
        return "rnn"
    if draft.incoming and all(c.pool for c in draft.incoming):
        return "pool"
    if any(c.kind == "local" for c in draft.incoming):
        return "conv"
    return "dense"


def assign_ids(drafts: list[LayerDraft], output: LayerDraft) -> None:
    """Layer ids from the weights' names where they say something (``fc``), else by role (``conv1``)."""
    pattern = ID_PATTERN
    used: set[str] = set()
    counters: dict[str, int] = {}
    for draft in drafts:
        stem = draft.stem
        if stem and stem.isdigit():
            stem = f"{_role(draft)}{stem}"
        if not stem or not pattern.match(stem) or stem in used:
            base = "out" if draft is output and "out" not in used else _role(draft)
            if base == "out":
                stem = base
            else:
                counters[base] = counters.get(base, 0) + 1
                stem = f"{base}{counters[base]}"
                while stem in used:
                    counters[base] += 1
                    stem = f"{base}{counters[base]}"
        used.add(stem)
        draft.id = stem


def build_project(path: Path, drafts: list[LayerDraft], output: LayerDraft, *, sequence: bool, steps: int | None,
                  source: str) -> tuple[Project, list[str]]:
    """The project the drafts make, and notes for the person importing it. Raises :class:`ModelImportError`."""
    assign_ids(drafts, output)
    graph = Graph()
    weights: dict[str, np.ndarray] = {}
    for draft in drafts:
        layer = Layer(draft.id, draft.kind, tuple(draft.shape), label="")
        if draft.kind == "neurons":
            layer.activation = draft.activation
            layer.slope = draft.slope
            layer.bias = draft.bias is not None
            layer.norm = draft.norm
        elif draft.kind in ("lstm", "gru"):
            layer.bias = draft.bias is not None
        graph.add_layer(layer)
        if draft.kind == "neurons" and draft.bias is not None:
            weights[f"{draft.id}.bias"] = _f32(draft.bias.reshape(layer.units))
        if draft.norm != "none":
            features = norm_features(layer)
            for key, array in draft.norm_arrays.items():
                weights[f"{draft.id}.{key}"] = _f32(array.reshape(features))
        if draft.kind in ("lstm", "gru"):
            weights[f"{draft.id}.weight_hh"] = _f32(draft.weight_hh)
            if draft.bias is not None:
                weights[f"{draft.id}.bias"] = _f32(draft.bias)
            if draft.bias_hh is not None:
                weights[f"{draft.id}.bias_hh"] = _f32(draft.bias_hh)
    recurrent_ids = set()
    for recurrent in (False, True):  # forward connections first: the design finds its loops in drawing order
        for draft in drafts:
            for conn in draft.incoming:
                if conn.recurrent != recurrent:
                    continue
                if conn.kind == "local":
                    window = tuple(conn.window)[:1] if len(set(conn.window)) == 1 else tuple(conn.window)
                    connectivity = Connectivity("local", window=window, stride=conn.stride,
                                                padding=conn.padding, shared=conn.shared, pool=conn.pool)
                else:
                    connectivity = Connectivity()
                cid = graph.new_id(f"{conn.source.id}-{conn.target.id}")
                graph.connect(conn.source.id, conn.target.id, connectivity, connection_id=cid)
                conn.id = cid
                if recurrent:
                    recurrent_ids.add(cid)
                if conn.weight is not None:
                    weights[f"{cid}.weight"] = _f32(conn.weight)
    broken = [name for name, array in weights.items() if not np.all(np.isfinite(array))]
    if broken:
        raise ModelImportError(path, f"its weights hold NaN or infinite values ({', '.join(broken[:3])}), which no "
                                     f"design can compute or train with")
    problems = errors(validate(graph))
    if problems:
        raise ModelImportError(path, [str(p) for p in problems],
                               headline="the design it maps to is not valid (a bug of the importer, or a model "
                                        "beyond the design's limits):")
    flow = graph.flow()
    if flow.recurrent != recurrent_ids or flow.outputs != [output.id]:
        raise ModelImportError(path, "its recurrent connections form cycles the design would read in another order; "
                                     "this importer maps self-loops and cycles that close on the way back only")
    _check_weight_shapes(path, graph, weights)
    for lid, position in arrange(graph).items():
        graph.layers[lid].position = position
    name = path.stem
    input_shape = tuple(drafts[0].shape)
    dataset = copy.deepcopy(DATASETS.get((sequence, input_shape), DEFAULT_DATASET))
    project = Project(name=name, description=source, graph=graph, dataset=dataset,
                      training=copy.deepcopy(IMPORTED_TRAINING))
    project.store_weights(weights)
    notes = _notes(project, sequence, steps, input_shape)
    return project, notes


def _notes(project: Project, sequence: bool, steps: int | None, input_shape) -> list[str]:
    notes = ["dropout is not in an inference graph: set it in the inspector where the layers should have it"]
    dataset = project.dataset
    if (sequence, tuple(input_shape)) in DATASETS:
        notes.append(f"dataset: the built-in {dataset['name']!r} data, which fits the input "
                     f"{list(input_shape)}; choose your own data in the dataset panel")
    else:
        notes.append(f"dataset: no built-in data gives {list(input_shape)} per "
                     f"{'time step' if sequence else 'sample'}; choose a CSV file or an image folder in the dataset "
                     f"panel (or the file's dataset block) before training")
    if sequence:
        length = f"; the file was exported for {steps} steps" if steps else ""
        notes.append(f"runs over sequences of any length and outputs the last step{length}")
    notes.append("training: adam, learning rate 0.001, 20 epochs, continuing from the imported weights")
    return notes


def _check_weight_shapes(path: Path, graph: Graph, weights: dict[str, np.ndarray]) -> None:
    """Every tensor in the shape the design computes with (an importer bug otherwise, said as such)."""
    from designer.graph import GATES, local_geometry, local_out_channels

    wrong = []
    for conn in graph.connections.values():
        source, target = graph.layers[conn.source], graph.layers[conn.target]
        name = f"{conn.id}.weight"
        if conn.connectivity.is_pool:
            continue
        if conn.connectivity.kind == "local":
            geo = local_geometry(source.shape, conn.connectivity)
            expected = (local_out_channels(target.shape, geo), geo.in_channels, *geo.window)
        else:
            expected = (GATES.get(target.kind, 1) * target.units, source.units)
        if tuple(weights[name].shape) != expected:
            wrong.append(f"{name}: {list(weights[name].shape)}, expected {list(expected)}")
    if wrong:
        raise ModelImportError(path, wrong, headline="its weights do not fit the design made from it (a bug of the "
                                                     "importer):")


def _f32(array: np.ndarray) -> np.ndarray:
    """float32, C order and writable (as a project read from a file holds them), copied only when needed."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    return array if array.flags.writeable else array.copy()


def describe(project: Project) -> list[str]:
    """One line per layer: ``h1  neurons [8] relu, batch norm  <- x (dense)``."""
    graph = project.graph
    lines = []
    for lid, layer in graph.layers.items():
        what = f"{layer.kind} {list(layer.shape)}"
        if layer.kind == "neurons":
            what += f" {layer.activation}"
            if layer.activation == "leaky_relu":
                what += f" (slope {layer.slope:g})"
            if layer.norm != "none":
                what += f", {layer.norm} norm"
            if not layer.bias:
                what += ", no bias"
        sources = []
        for conn in graph.incoming(lid):
            c = conn.connectivity
            if c.kind == "local":
                how = f"{c.pool} pool" if c.pool else "conv"
                how += f" {'x'.join(map(str, c.window))}"
                if c.stride != 1:
                    how += f" stride {c.stride}"
                if c.padding != "valid":
                    how += f" {c.padding}"
            else:
                how = "dense"
            if conn.id in graph.flow().recurrent:
                how += ", recurrent"
            sources.append(f"{conn.source} ({how})")
        lines.append(f"{lid}: {what}" + (f" <- {', '.join(sources)}" if sources else ""))
    return lines


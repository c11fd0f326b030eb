"""What the project's data asks of a design, and the layers that give it.

A dropped input layer takes the shape the data gives per sample; an output layer takes one unit per
class (one sigmoid unit for two classes, softmax for more) or per value to predict (linear). After the
dataset changes, :func:`adaptation` lists the edits that make the design's input and output fit it,
which the window offers as one undoable step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from designer.graph import Connectivity, Graph, GraphError, local_target_shape
from designer.words import count

CLASSIFICATION = "classification"


@dataclass(frozen=True)
class DataFacts:
    """The data as a design sees it: its name, what one sample gives and what is to be predicted."""

    name: str
    input_shape: tuple[int, ...]
    task: str  # "classification" or "regression"
    classes: int  # classification: how many
    targets: int  # regression: values to predict per sample
    is_sequence: bool

    @property
    def output_units(self) -> int:
        if self.task != CLASSIFICATION:
            return self.targets
        return 1 if self.classes == 2 else self.classes

    @property
    def output_activation(self) -> str:
        if self.task != CLASSIFICATION:
            return "linear"
        return "sigmoid" if self.classes == 2 else "softmax"

    def output_fits(self, units: int, activation: str) -> bool:
        """Whether an output layer of ``units`` with ``activation`` can learn this data (it trains and fits)."""
        if units != self.output_units:
            return False
        if self.task != CLASSIFICATION:
            return activation not in ("sigmoid", "softmax", "step")  # those cannot reach most values
        if self.classes == 2:
            return activation in ("sigmoid", "step", "linear")
        return activation in ("softmax", "linear")

    def describe_output(self) -> str:
        units, activation = self.output_units, self.output_activation
        what = (f"the {self.classes} classes" if self.task == CLASSIFICATION
                else f"{count(self.targets, 'value')} to predict")
        return f"{count(units, activation + ' unit')} for {what}"


def facts_of_dataset(dataset) -> DataFacts:
    """From a loaded :class:`designer.data.Dataset`."""
    from designer.training.objectives import target_width

    regression = dataset.task != CLASSIFICATION
    return DataFacts(dataset.name, tuple(int(v) for v in dataset.input_shape), dataset.task,
                     int(dataset.num_classes), target_width(dataset) if regression else 0, bool(dataset.is_sequence))


def facts_of_builtin(block: dict) -> DataFacts | None:
    """From the catalogue of built-in datasets, without loading anything (None: not a built-in one)."""
    if block.get("kind", "builtin") != "builtin":
        return None
    try:
        from designer.data.builtin import builtin_of
        entry = builtin_of(block)
    except (ImportError, ValueError):
        return None
    classification = entry.task == CLASSIFICATION
    return DataFacts(entry.name, tuple(entry.input_shape), entry.task, len(entry.class_names) if classification else 0,
                     0 if classification else 1, bool(entry.is_sequence))


#: what a new layer of each palette kind is when nothing is known of the data; a hidden layer of
#: 8 tanh neurons learns the built-in 2-D sets with the default training settings
DEFAULT_LAYERS: dict[str, tuple[str, dict]] = {
    "input": ("x", {"kind": "input", "shape": (2,)}),
    "neurons": ("h", {"kind": "neurons", "shape": (8,), "activation": "tanh"}),
    "neuron": ("p", {"kind": "neurons", "shape": (1,), "activation": "sigmoid"}),
    "output": ("out", {"kind": "neurons", "shape": (1,), "activation": "sigmoid"}),
    "lstm": ("lstm", {"kind": "lstm", "shape": (8,)}),
    "gru": ("gru", {"kind": "gru", "shape": (8,)}),
    # a max pooling layer: the values as pooled (linear, no bias of its own); the first connection drawn
    # into it pools (see pooling_connection), and it takes the grid that connection makes
    "pool": ("pool", {"kind": "neurons", "shape": (4, 4), "activation": "linear", "bias": False}),
}

#: what the first connection into a "Max pooling" layer from the palette does: each 2x2 window's
#: maximum, windows side by side (stride 2), as in most image networks
POOL_WINDOW, POOL_STRIDE = 2, 2


def new_layer_fields(kind: str, facts: DataFacts | None) -> tuple[str, dict]:
    """``(id stem, Layer fields)`` of a layer dropped from the palette, following the data where known."""
    stem, fields = DEFAULT_LAYERS[kind]
    if facts is not None and kind == "input":
        fields = {**fields, "shape": facts.input_shape}
    elif facts is not None and kind == "output":
        fields = {**fields, "shape": (facts.output_units,), "activation": facts.output_activation}
    return stem, dict(fields)


def adaptation(graph: Graph, facts: DataFacts) -> dict[str, dict]:
    """``{layer id: changed fields}`` that make the input and output layers fit ``facts`` (empty: they fit)."""
    changes: dict[str, dict] = {}
    inputs = [layer for layer in graph.layers.values() if layer.kind == "input"]
    # the same number of values in another layout (64 as 8x8) is the user's choice, and fits
    if inputs and math.prod(inputs[0].shape) != math.prod(facts.input_shape):
        changes[inputs[0].id] = {"shape": facts.input_shape}
    outputs = graph.flow().outputs if inputs else []
    if len(outputs) == 1:
        out = graph.layers[outputs[0]]
        if out.kind == "neurons" and not facts.output_fits(out.units, out.activation):
            change: dict = {}
            if out.shape != (facts.output_units,):
                change["shape"] = (facts.output_units,)
            if out.activation != facts.output_activation:
                change["activation"] = facts.output_activation
            changes[out.id] = change
    return changes


def pooling_connection(graph: Graph, source_id: str, target_id: str) -> tuple[Connectivity, tuple[int, ...]] | None:
    """The connectivity of a max pooling connection from ``source_id`` into the pooling layer ``target_id`` and
    the shape the target takes (the source's channels over the pooled grid); None where the source cannot be
    pooled (a gated layer, or a connection back into itself)."""
    source, target = graph.layers.get(source_id), graph.layers.get(target_id)
    if source is None or target is None or source_id == target_id or source.kind not in ("input", "neurons"):
        return None
    for padding in ("valid", "same"):  # a grid smaller than the window: pad it
        connectivity = Connectivity("local", (POOL_WINDOW,), POOL_STRIDE, padding, pool="max")
        try:
            return connectivity, tuple(local_target_shape(source.shape, connectivity))
        except GraphError:
            continue
    return None

"""Standalone PyTorch source for a design: the compiled module's own forward code, written out.

The file needs only ``torch`` and ``safetensors``: it defines the helpers the forward code calls
(copied from :mod:`designer.compiler.runtime`), a ``Model(nn.Module)`` class and ``load(path)``,
which builds the model and loads a ``weights.safetensors`` written from ``named_weights()``.
"""
from __future__ import annotations

import inspect

from designer.graph import Graph

from . import runtime
from .program import build_program

_HELPER_DEPENDENCIES = {"step": ["StepFunction", "step"], "sign": ["SignFunction", "sign"],
                        "local_unshared": ["window_slices", "LocalUnshared", "local_unshared"]}


def _has_training_mode(program) -> bool:
    return "self.training" in program.source


def export_source(graph: Graph, name: str = "") -> str:
    """Python source that rebuilds ``graph`` as ``Model`` and loads its weights with ``load(path)``.

    Raises :class:`CompileError` as :func:`compile_graph` does.
    """
    program = build_program(graph)
    helpers = ["disabled_mask"] if program.masks else []
    for helper in program.helpers:
        helpers += _HELPER_DEPENDENCIES.get(helper, [helper])
    if any(spec.window_size for spec in program.weights):
        helpers.append("local_weight_from_file")
    title = f"{name!r} " if name else ""
    shape = ", ".join(["batch", "time"] if program.is_sequence else ["batch"])
    parts = [
        f'"""The design {title}exported from NN Designer as a standalone PyTorch model.',
        "",
        "Usage::",
        "",
        "    model = load(\"weights.safetensors\")",
        f"    y = model(x)  # x: [{shape}, {', '.join(map(str, program.input_shape))}]"
        f" -> y: [{shape.split(',')[0]}, {program.output_units}]"
        + (" (at the last step)" if program.is_sequence else ""),
        "",
        f"``model.logits(x)`` gives the output before its activation ({program.output_activation}).",
        *(["``load`` gives the model in evaluation mode; call ``model.train()`` to train it (dropout and batch",
           "normalisation act differently while training)."] if _has_training_mode(program) else []),
        '"""',
        "import torch",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        "from safetensors.torch import load_file",
        "",
    ]
    for helper in dict.fromkeys(helpers):
        parts += ["", inspect.getsource(getattr(runtime, helper)).rstrip(), ""]
    init = ["    def __init__(self):", "        super().__init__()"]
    for spec in program.weights:
        if spec.trainable:
            init.append(f"        self.{spec.attr} = nn.Parameter(torch.zeros({tuple(spec.shape)}))  # {spec.name}")
        else:
            init.append(f"        self.register_buffer({spec.attr!r}, torch.zeros({tuple(spec.shape)}))  # {spec.name}")
    for mask in program.masks:
        init.append(f"        self.register_buffer({mask.attr!r}, disabled_mask({tuple(mask.shape)}, "
                    f"{mask.zeros!r}), persistent=False)  # disabled links")
    attributes = [
        f"    input_shape = {tuple(program.input_shape)!r}",
        f"    output_units = {program.output_units!r}",
        f"    output_activation = {program.output_activation!r}",
        f"    is_sequence = {program.is_sequence!r}",
    ]
    parts += ["", "class Model(nn.Module):",
              '    """The design; parameters start at zero: use load() for the trained ones."""', "",
              *attributes, "", *init, "", program.source.rstrip(), ""]
    table = ["", "#: name in weights.safetensors -> (attribute, window size of an unshared local weight, or 0)",
             "WEIGHTS = {"]
    for spec in program.weights:
        table.append(f"    {spec.name!r}: ({spec.attr!r}, {spec.window_size}),")
    table.append("}")
    masked = [(spec.attr, spec.mask.attr) for spec in program.weights if spec.mask is not None and spec.mask_on_param]
    table += ["", "#: weights whose disabled links are held at zero, and their masks", f"MASKED = {masked!r}"]
    parts += table
    parts += ["", "", "def load(path=\"weights.safetensors\", device=\"cpu\"):",
              '    """The model with the weights in ``path`` (a safetensors file written by NN Designer)."""',
              "    model = Model()",
              "    tensors = load_file(str(path))",
              "    with torch.no_grad():",
              "        for name, (attr, window_size) in WEIGHTS.items():",
              "            if name not in tensors:",
              "                raise ValueError(f\"{path}: there is no tensor {name!r}\")",
              "            param = getattr(model, attr)",
              "            tensor = tensors[name]",
              ]
    if any(spec.window_size for spec in program.weights):
        parts += ["            if window_size:",
                  "                tensor = local_weight_from_file(tensor, window_size, param.shape)"]
    parts += ["            if tuple(tensor.shape) != tuple(param.shape):",
              "                raise ValueError(f\"{path}: tensor {name!r} has shape {list(tensor.shape)}, \"",
              "                                 f\"the model needs {list(param.shape)}\")",
              "            param.copy_(tensor)",
              "        for attr, mask in MASKED:",
              "            getattr(model, attr).mul_(getattr(model, mask))",
              "    return model.to(device).eval()  # ready to predict; call model.train() to train it",
              ""]
    return "\n".join(parts)

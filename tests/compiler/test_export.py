"""Exported source: a standalone file that rebuilds the design and reproduces the compiled outputs."""
import ast
import importlib.util
import sys

import pytest
import torch
from safetensors.torch import save_file

from designer.compiler import compile_graph, export_source

DESIGNS = {
    "dense": ([("x", "input", [4]), ("h-1", "neurons", [16], "tanh"), ("h.2", "neurons", [8], "leaky_relu"),
               ("y", "neurons", [3], "softmax")],
              [("x", "h-1"), ("h-1", "h.2", {"kind": "dense"}, [(0, 0), (7, 15)]), ("h.2", "y")]),
    "local": ([("x", "input", [1, 10, 10]), ("c", "neurons", [4, 10, 10], "relu"),
               ("u", "neurons", [2, 4, 4], "sigmoid"), ("s", "neurons", [5, 5], "step"), ("y", "neurons", [2])],
              [("x", "c", {"kind": "local", "window": 3, "padding": "same", "shared": True}, [(0, 0)]),
               ("c", "u", {"kind": "local", "window": 3, "stride": 2}, [(0, 0)]),
               ("c", "s", {"kind": "local", "window": 4, "stride": 2, "padding": "same"}),
               ("u", "y"), ("s", "y")]),
    "recurrent": ([("x", "input", [2]), ("h", "neurons", [6], "tanh"), ("l", "lstm", [4]), ("g", "gru", [3]),
                   ("y", "neurons", [1], "sigmoid")],
                  [("x", "h"), ("h", "h"), ("h", "l"), ("l", "g"), ("g", "y"), ("y", "h")]),
    # the layer library: pooling, normalisation, dropout, the newer activations and initialisations
    "library": ([("x", "input", [1, 12, 12]), ("c", "neurons", [4, 8, 8], "relu", {"norm": "batch"}),
                 ("p", "neurons", [4, 4, 4], "linear", {"bias": False}),
                 ("q", "neurons", [4, 4, 4], "elu", {"bias": False}),
                 ("h", "neurons", [10], "leaky_relu", {"slope": 0.2, "dropout": 0.5, "norm": "layer"}),
                 ("s", "neurons", [6], "sign"), ("g", "neurons", [6], "gelu"),
                 ("y", "neurons", [3], "softmax")],
                [("x", "c", {"kind": "local", "window": 5, "shared": True}),
                 ("c", "p", {"kind": "local", "window": 2, "stride": 2, "pool": "max"}),
                 ("c", "q", {"kind": "local", "window": 3, "stride": 2, "padding": "same", "pool": "mean"}),
                 ("p", "h"), ("q", "h"), ("h", "s"), ("h", "g"), ("s", "y"), ("g", "y")]),
    "recurrent-dropout": ([("x", "input", [2]), ("h", "neurons", [6], "silu", {"dropout": 0.3, "norm": "layer"}),
                           ("l", "lstm", [4], "linear", {"dropout": 0.2, "init": "orthogonal"}),
                           ("y", "neurons", [1], "hard_sigmoid")],
                          [("x", "h"), ("h", "h"), ("h", "l"), ("l", "y")]),
}


def import_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_exported_source_reproduces_the_outputs(build, tmp_path, name):
    graph = build(*DESIGNS[name])
    module = compile_graph(graph, seed=3)
    with torch.no_grad():  # trained-looking weights: move every tensor off its initial values
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    module.load_named_weights(module.named_weights())  # disabled links back to zero, as after training
    save_file({k: torch.from_numpy(v) for k, v in module.named_weights().items()},
              str(tmp_path / "weights.safetensors"), metadata={"format": "nnd-weights", "version": "1"})
    source = export_source(graph)
    imports = {node.names[0].name if isinstance(node, ast.Import) else node.module
               for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))}
    assert imports == {"torch", "torch.nn", "torch.nn.functional", "safetensors.torch"}
    (tmp_path / "model.py").write_text(source)
    exported = import_file(tmp_path / "model.py", f"exported_{name}")
    try:
        model = exported.load(tmp_path / "weights.safetensors")
        assert isinstance(model, torch.nn.Module) and type(model).__name__ == "Model"
        shape = (5, 7, *module.input_shape) if module.is_sequence else (5, *module.input_shape)
        x = torch.randn(shape)
        assert not model.training and not module.training  # both ready to predict
        torch.testing.assert_close(model(x), module(x), rtol=0, atol=1e-6)
        torch.testing.assert_close(model.logits(x), module.logits(x), rtol=0, atol=1e-6)
        model.train()
        module.train()  # and while training: the same dropout masks from the same seed, the same batch norm
        torch.manual_seed(7)
        y = model(x)
        torch.manual_seed(7)
        torch.testing.assert_close(y, module(x), rtol=0, atol=1e-6)
        assert {n for n, _ in model.named_buffers() if "running" in n} == \
            {n for n, _ in module.named_buffers() if "running" in n}
        assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in module.parameters())
    finally:
        sys.modules.pop(f"exported_{name}", None)


def test_exported_load_names_a_missing_tensor(build, tmp_path):
    graph = build(*DESIGNS["dense"])
    module = compile_graph(graph, seed=0)
    weights = {k: torch.from_numpy(v) for k, v in module.named_weights().items() if k != "y.bias"}
    save_file(weights, str(tmp_path / "weights.safetensors"))
    (tmp_path / "model.py").write_text(export_source(graph))
    exported = import_file(tmp_path / "model.py", "exported_missing")
    with pytest.raises(ValueError, match="'y.bias'"):
        exported.load(tmp_path / "weights.safetensors")

"""What the import tests share: the nn-designer command, models exported as PyTorch exports them, ONNX made by hand."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
SCRIPT = Path(sys.executable).with_name("nn-designer")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "designer.cli"]


def nnd(*args, cwd=None, timeout=180):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def user_error(result, *words):
    """Exit 2, the words in the message, and no Python traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    for word in words:
        assert word in output, output


def torch_export(model, example, path: Path, exporter: str, opset: int | None = None) -> Path:
    """``model`` written by ``torch.onnx.export`` itself, with a dynamic batch: ``exporter`` is ``dynamo`` or
    ``torchscript`` (``dynamo=False``)."""
    import torch

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    model.eval()
    kwargs = {} if opset is None else {"opset_version": opset}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            torch.onnx.export(model, (example,), str(path), dynamo=True, input_names=["x"], output_names=["y"],
                              dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), external_data=False, **kwargs)
        else:
            torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, **kwargs)
    return path


def designer_export(project, path: Path) -> Path:
    """``project`` exported as ``nn-designer export --to onnx`` does (the command's own function)."""
    from designer.cli import _export_onnx

    with contextlib.redirect_stderr(io.StringIO()):
        _export_onnx(project, path, str(path))
    return path


def compiled(project):
    from designer.compiler import compile_graph

    return compile_graph(project.graph, weights=project.weights)


def outputs(module, x) -> np.ndarray:
    import torch

    with torch.no_grad():
        return module(torch.as_tensor(x, dtype=torch.float32)).numpy()


def run_onnx(path: Path, x) -> np.ndarray:
    import onnxruntime

    return onnxruntime.InferenceSession(str(path)).run(None, {"x": np.asarray(x, dtype=np.float32)})[0]


# ---------------------------------------------------------------------- ONNX made by hand
def tensor_info(name, shape, elem=None):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT if elem is None else elem, shape)


def initializer(name, array):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(array, dtype=np.float32 if np.asarray(array).dtype.kind == "f"
                                              else np.asarray(array).dtype), name)


def make_model(nodes, inputs, outputs, initializers=(), opset=20, ir_version=10):
    """A model made with ``onnx.helper``: real ONNX, as an exporter might write it."""
    from onnx import helper

    graph = helper.make_graph(list(nodes), "test", list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    model.ir_version = ir_version
    return model


def save(model, path: Path) -> Path:
    import onnx

    onnx.save(model, str(path))
    return path


def rng_array(*shape, seed=0):
    return np.random.default_rng(seed).normal(0, 0.5, size=shape).astype(np.float32)

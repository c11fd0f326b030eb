"""Importing a 10M-parameter MLP from ONNX, against loading it with ``onnx.load`` alone.

The model is an MLP of 1024 -> 2048 -> 2048 -> 2048 -> 64 (10.6M parameters, 42 MB), written as PyTorch's
exporters write ``nn.Linear``: ``Gemm`` with ``transB=1`` (the TorchScript exporter, dynamo's default), and again
as ``MatMul`` + ``Add`` with the weight stored transposed (dynamo's form for some shapes), which the importer must
transpose back into the design's ``[target, source]`` layout. The baseline is ``onnx.load`` of the same file:
what any reader of the file pays. ``import`` is ``designer.importing.import_onnx``: load, check, read the
tensors, map the nodes, build the design and its weights, validate it and lay it out (not saving it).

Time: medians of repeats in this process. Peak memory: each measured in a fresh process, as the growth of the
peak resident set size (``VmHWM``, reset before the call) over the process's size after its imports (protobuf
keeps a model outside Python's allocator, so tracemalloc alone would miss ``onnx.load``'s share); tracemalloc's
peak of the import is printed too. Linux.

    .venv/bin/python benchmarks/bench_import.py
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

from timing import median_seconds

REPEATS = 5
SIZES = (1024, 2048, 2048, 2048, 64)


def write_mlp(path: Path, form: str) -> int:
    """The MLP as ONNX; returns its parameter count."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, weights, x, count = [], [], "x", 0
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        w = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
        bias = (rng.standard_normal(b) * 0.01).astype(np.float32)
        count += w.size + bias.size
        out = f"s{i}"
        if form == "gemm":
            weights += [numpy_helper.from_array(w, f"{i}.weight"), numpy_helper.from_array(bias, f"{i}.bias")]
            nodes.append(helper.make_node("Gemm", [x, f"{i}.weight", f"{i}.bias"], [out], name=f"/{i}/Gemm", transB=1))
        else:
            weights += [numpy_helper.from_array(np.ascontiguousarray(w.T), f"val_{i}"),
                        numpy_helper.from_array(bias, f"{i}.bias")]
            nodes += [helper.make_node("MatMul", [x, f"val_{i}"], [f"m{i}"], name=f"node_MatMul_{i}"),
                      helper.make_node("Add", [f"m{i}", f"{i}.bias"], [out], name=f"node_linear_{i}")]
        if i < len(SIZES) - 2:
            nodes.append(helper.make_node("Relu", [out], [f"v{i}"], name=f"/{i}/Relu"))
            x = f"v{i}"
        else:
            nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", SIZES[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", SIZES[-1]])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="bench")
    onnx.save(model, str(path))
    return count


def _load(path: str):
    import onnx

    return onnx.load(path, load_external_data=False)


def _import(path: str):
    from designer.importing import import_onnx

    return import_onnx(path)


def measure_child(what: str, path: str) -> None:
    """In a fresh process: the peak RSS growth of one load or import (printed as JSON)."""
    import importlib

    for module in ("onnx", "onnx.checker", "designer.importing"):  # the imports are not what is measured
        importlib.import_module(module)

    import gc

    gc.collect()
    before = _status("VmRSS")
    try:  # start the peak afresh (Linux 4.0+): the imports' own transient peak is not what is measured
        Path("/proc/self/clear_refs").write_text("5")
        peak = lambda: _status("VmHWM")  # noqa: E731
    except OSError:
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731
    result = (_load if what == "load" else _import)(path)
    after = peak()
    del result
    print(json.dumps({"peak_kib": after - before}))


def _status(key: str) -> int:
    """A ``/proc/self/status`` figure in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(key)


def peak_mib(what: str, path: Path) -> float:
    output = subprocess.run([sys.executable, __file__, "--child", what, str(path)], capture_output=True, text=True,
                            check=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_kib"] / 1024


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        for form in ("gemm", "matmul"):
            path = Path(scratch) / f"mlp-{form}.onnx"
            count = write_mlp(path, form)
            size = path.stat().st_size / 2 ** 20
            project = _import(str(path))
            assert project.graph.parameter_count() == count, (project.graph.parameter_count(), count)
            load_s = median_seconds(lambda: _load(str(path)), REPEATS)
            import_s = median_seconds(lambda: _import(str(path)), REPEATS)
            load_mib, import_mib = peak_mib("load", path), peak_mib("import", path)
            tracemalloc.start()
            _import(str(path))
            traced = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            print(f"{form:6s} {count / 1e6:.1f}M parameters, {size:.0f} MiB file")
            print(f"  time:   onnx.load {load_s * 1000:7.1f} ms   import {import_s * 1000:7.1f} ms   "
                  f"ratio {import_s / load_s:5.2f}")
            print(f"  memory: onnx.load {load_mib:7.1f} MiB  import {import_mib:7.1f} MiB  "
                  f"ratio {import_mib / max(load_mib, 1e-9):5.2f}   (tracemalloc peak of the import {traced:.1f} MiB)")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        measure_child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())

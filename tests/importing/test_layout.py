"""The imported design's layout: left to right by depth, 220 px per column, no overlapping cards (measured on the
canvas's own cards), long chains wrapping to a new row; and the package stays free of torch and Qt."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from designer.graph import Connectivity, Graph, Layer
from designer.importing import arrange, card_size, import_onnx, overlaps
from designer.importing.layout import COLUMN_STEP, COLUMNS_PER_ROW, neuron_area

from .helpers import ROOT, initializer, make_model, rng_array, save, tensor_info

pytest.importorskip("onnx")

SHAPES = [(1,), (4,), (16,), (17,), (300,), (16, 16), (8, 8), (1, 16, 16), (3, 12, 12), (6, 6, 6), (32, 4, 4),
          (10, 10), (11, 11), (2, 40, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_the_neuron_area_is_the_one_the_canvas_draws(shape):
    from designer.ui.canvas.layout import layout_layer

    _, _, width, height = layout_layer(shape).area
    assert neuron_area(shape) == pytest.approx((width, height))


def _chain(count: int, units: int = 8):
    """A Gemm/Tanh chain of ``count`` layers, as an exporter writes an MLP."""
    from onnx import helper

    nodes, weights, x = [], [], "x"
    for i in range(count):
        w = initializer(f"l{i}.weight", rng_array(units, units, seed=i))
        b = initializer(f"l{i}.bias", rng_array(units, seed=100 + i))
        nodes += [helper.make_node("Gemm", [x, w.name, b.name], [f"s{i}"], name=f"gemm{i}", transB=1),
                  helper.make_node("Tanh", [f"s{i}"], [f"v{i}"], name=f"tanh{i}")]
        weights += [w, b]
        x = f"v{i}"
    nodes[-1].output[0] = "y"
    return make_model(nodes, [tensor_info("x", ["batch", units])], [tensor_info("y", ["batch", units])], weights)


def test_a_long_chain_wraps_to_new_rows_without_overlapping(tmp_path):
    project = import_onnx(save(_chain(20), tmp_path / "deep.onnx"))
    positions = {lid: layer.position for lid, layer in project.graph.layers.items()}
    xs = sorted({x for x, _ in positions.values()})
    assert xs == [i * COLUMN_STEP for i in range(COLUMNS_PER_ROW)]
    rows = sorted({y for _, y in positions.values()})
    assert len(rows) == 3  # 21 columns of one card: 8, 8 and 5
    assert overlaps(project.graph) == []
    order = list(project.graph.layers)
    assert positions[order[0]] == (0.0, 0.0)
    assert positions[order[8]][0] == 0.0 and positions[order[8]][1] > 0  # the ninth column starts the second row


def test_branches_stand_in_one_column_one_below_the_other():
    graph = Graph()
    graph.add_layer(Layer("x", "input", (16, 16)))
    for name in ("a", "b", "c", "d"):
        graph.add_layer(Layer(name, "neurons", (4, 14, 14)))
        graph.connect("x", name, Connectivity("local", 3, shared=True))
    graph.add_layer(Layer("y", "neurons", (4,)))
    for name in ("a", "b", "c", "d"):
        graph.connect(name, "y")
    positions = arrange(graph)
    assert {positions[n][0] for n in "abcd"} == {COLUMN_STEP}
    assert positions["y"][0] == 2 * COLUMN_STEP
    assert overlaps(graph, positions) == []
    assert all(x % 20 == 0 and y % 20 == 0 for x, y in positions.values())  # on the canvas's snapping grid


def _frame(item):
    frame = item.frame  # a property of the card (a method in older versions)
    return frame() if callable(frame) else frame


def _cards_overlap(project) -> list[tuple[str, str]]:
    """Pairs of the canvas's own cards (LayerItem frames at the layers' positions) that overlap."""
    from designer.ui.canvas.layer_item import LayerItem

    frames = {}
    for lid, layer in project.graph.layers.items():
        item = LayerItem(layer)
        frames[lid] = _frame(item).translated(*layer.position)
    ids = list(frames)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if frames[a].intersects(frames[b])]


def test_the_canvas_cards_of_imported_designs_do_not_overlap(qapp, tmp_path):
    import torch

    from .helpers import designer_export, torch_export
    from .test_pytorch_models import MODELS

    from designer.importing import read_onnx
    from designer.project import read_project

    from .helpers import EXAMPLES

    projects = [import_onnx(save(_chain(12, units=40), tmp_path / "deep.onnx"))]
    for name in ("lenet-shapes.nnd", "mlp-batchnorm.nnd", "sine-recurrent.nnd"):
        projects.append(read_onnx(designer_export(read_project(EXAMPLES / name), tmp_path / f"{name}.onnx")).project)
    model, shape, _, _ = MODELS["cnn"]
    projects.append(import_onnx(torch_export(model, torch.zeros((2, *shape)), tmp_path / "cnn.onnx", "torchscript")))
    from designer.ui.canvas.layer_item import LayerItem

    for project in projects:
        assert _cards_overlap(project) == []
        for layer in project.graph.layers.values():
            frame = _frame(LayerItem(layer))
            assert frame.height() == pytest.approx(card_size(layer.shape, layer.name)[1])
            assert frame.width() < COLUMN_STEP  # a column's cards never reach into the next


def test_importing_loads_neither_torch_nor_qt(tmp_path):
    path = save(_chain(3), tmp_path / "model.onnx")
    code = ("import sys\nfrom designer.importing import import_onnx\nproject = import_onnx(sys.argv[1])\n"
            "assert len(project.graph.layers) == 4\n"
            "bad = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]\nprint(bad)\n"
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layout_module_needs_no_onnx():
    code = ("import sys\nimport designer.importing.layout\n"
            "sys.exit(1 if 'onnx' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_weights_come_out_writable_float32_in_c_order(tmp_path):
    project = import_onnx(save(_chain(2), tmp_path / "model.onnx"))
    for array in project.weights.values():
        assert array.dtype == np.float32 and array.flags.c_contiguous and array.flags.writeable

"""Local connections: unshared ones against explicit loops, shared ones against convolution."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from designer.compiler import compile_graph
from designer.graph import Connectivity, local_geometry, parameter_count


def loop_reference(x, weight, source_shape, target_shape, connectivity):
    """Each target neuron, one by one: its own weights times the source values in its window.

    ``weight`` in the file layout ``[*target_shape, in_channels, *window]``.
    """
    geo = local_geometry(tuple(source_shape), Connectivity.from_dict(connectivity))
    batch = x.shape[0]
    src = x.reshape(batch, geo.in_channels, *geo.in_spatial)
    out_c = target_shape[0] if len(target_shape) == 3 else 1
    w = weight.reshape(out_c, *geo.out_spatial, geo.in_channels, *geo.window)
    out = torch.zeros(batch, out_c, *geo.out_spatial, dtype=torch.float64)
    for b in range(batch):
        for o in range(out_c):
            for pos in itertools.product(*[range(n) for n in geo.out_spatial]):
                total = 0.0
                for c in range(geo.in_channels):
                    for k in itertools.product(*[range(n) for n in geo.window]):
                        at = [p * geo.stride + kk - pb for p, kk, pb in zip(pos, k, geo.pad_before)]
                        if all(0 <= a < n for a, n in zip(at, geo.in_spatial)):
                            total += float(w[(o, *pos, c, *k)]) * float(src[(b, c, *at)])
                out[(b, o, *pos)] = total
    return out.reshape(batch, -1)


CASES = [
    # source shape, target shape, connectivity
    ([11], [5], {"kind": "local", "window": 3, "stride": 2, "padding": "valid"}),
    ([10], [5], {"kind": "local", "window": 4, "stride": 2, "padding": "same"}),
    ([9], [9], {"kind": "local", "window": 3, "padding": "same"}),
    ([7, 6], [4, 3], {"kind": "local", "window": [3, 2], "stride": 2, "padding": "same"}),
    ([2, 7, 6], [3, 4, 3], {"kind": "local", "window": [3, 2], "stride": 2, "padding": "same"}),
    ([3, 6, 6], [2, 4, 4], {"kind": "local", "window": 3, "padding": "valid"}),
    ([1, 5, 5], [4, 5, 5], {"kind": "local", "window": 3, "padding": "same"}),
]


@pytest.mark.parametrize("source, target, connectivity", CASES)
def test_unshared_local_connection_equals_explicit_loops(build, source, target, connectivity):
    graph = build([("x", "input", source), ("y", "neurons", target)], [("x", "y", connectivity)])
    module = compile_graph(graph, seed=2)
    weights = module.named_weights()
    w = weights["x-y.weight"]
    geo = local_geometry(tuple(source), Connectivity.from_dict(connectivity))
    assert w.shape == (*target, geo.in_channels, *geo.window)
    x = torch.randn(2, int(np.prod(source)), dtype=torch.float64)
    expected = loop_reference(x, torch.from_numpy(w).double(), source, target, connectivity)
    expected += torch.from_numpy(weights["y.bias"]).double()
    torch.testing.assert_close(module.double()(x), expected)
    assert sum(p.numel() for p in module.parameters()) == parameter_count(graph)


@pytest.mark.parametrize("source, target, connectivity", [
    ([2, 7, 6], [3, 4, 3], {"kind": "local", "window": [3, 2], "stride": 2, "padding": "same", "shared": True}),
    ([3, 8, 8], [4, 8, 8], {"kind": "local", "window": 3, "padding": "same", "shared": True}),
    ([28, 28], [26, 26], {"kind": "local", "window": 3, "shared": True}),
])
def test_shared_local_connection_equals_conv2d(build, source, target, connectivity):
    graph = build([("x", "input", source), ("y", "neurons", target, "relu")], [("x", "y", connectivity)])
    module = compile_graph(graph, seed=2)
    weights = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    in_c = source[0] if len(source) == 3 else 1
    geo = local_geometry(tuple(source), Connectivity.from_dict(connectivity))
    x = torch.randn(3, in_c, *source[-2:])
    padded = F.pad(x, (geo.pad_before[1], geo.pad_after[1], geo.pad_before[0], geo.pad_after[0]))
    conv = F.conv2d(padded, weights["x-y.weight"], stride=geo.stride)
    expected = torch.relu(conv.flatten(1) + weights["y.bias"])
    torch.testing.assert_close(module(x), expected)
    assert weights["x-y.weight"].shape == (conv.shape[1], in_c, *geo.window)


def test_shared_1d_local_connection_equals_conv1d(build):
    connectivity = {"kind": "local", "window": 5, "stride": 2, "padding": "same", "shared": True}
    graph = build([("x", "input", [12]), ("y", "neurons", [6])], [("x", "y", connectivity)])
    module = compile_graph(graph, seed=0)
    w = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    x = torch.randn(3, 12)
    expected = F.conv1d(F.pad(x[:, None], (1, 2)), w["x-y.weight"], stride=2).flatten(1) + w["y.bias"]
    torch.testing.assert_close(module(x), expected)


def test_unshared_parameters_grow_with_neurons_times_window_not_source_times_target(build):
    graph = build([("x", "input", [64, 64]), ("y", "neurons", [62, 62])],
                  [("x", "y", {"kind": "local", "window": 3})])
    module = compile_graph(graph, seed=0)
    assert sum(p.numel() for p in module.parameters()) == 62 * 62 * 9 + 62 * 62


def test_local_and_dense_layers_chain_and_train(build):
    graph = build([("x", "input", [1, 8, 8]), ("c", "neurons", [4, 8, 8], "relu"),
                   ("u", "neurons", [2, 4, 4], "tanh"), ("y", "neurons", [3], "softmax")],
                  [("x", "c", {"kind": "local", "window": 3, "padding": "same", "shared": True}),
                   ("c", "u", {"kind": "local", "window": 2, "stride": 2}),
                   ("u", "y")])
    module = compile_graph(graph, seed=0)
    x = torch.randn(16, 1, 8, 8)
    labels = torch.randint(0, 3, (16,))
    optimizer = torch.optim.Adam(module.parameters(), lr=0.02)
    first = None
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(module.logits(x), labels)
        first = first if first is not None else loss.item()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("in_channels, out_channels, grid, window, stride", [
    (1, 1, (9,), (3,), 2),
    (1, 1, (6, 5), (3, 2), 1),
    (1, 3, (6, 5), (2, 2), 2),
    (2, 1, (5, 6), (3, 3), 1),
    (3, 2, (7, 7), (3, 3), 2),
])
def test_locally_connected_gradients_match_finite_differences(in_channels, out_channels, grid, window, stride):
    from designer.compiler.runtime import local_unshared
    out_grid = tuple((n - k) // stride + 1 for n, k in zip(grid, window))
    x = torch.randn(2, in_channels, *grid, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(int(np.prod(window)), out_channels, *out_grid, in_channels, dtype=torch.float64,
                         requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: local_unshared(a, b, window, stride), (x, weight))

"""Neuron pictures against values computed by hand: maps over the plane, weights on the source grid."""
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from designer.compiler import compile_graph
from designer.data import load_dataset
from designer.graph import Connectivity, GraphError, local_geometry
from designer.insight import (NeuronPictures, plane_bounds, plane_pictures, sequence_pictures, strongest_samples,
                              weight_pictures)
from designer.insight.tracing import trace

BOUNDS = (-1.5, 2.0, -0.5, 1.0)  # wider than tall, off-centre: a swapped axis or flipped row shows


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _mlp(build):
    return build([("x", "input", [2]), ("h1", "neurons", [5], "tanh"), ("h2", "neurons", [3], "sigmoid"),
                  ("y", "neurons", [2], "softmax"), ("loose", "neurons", [4], "relu")],
                 [("x", "h1"), ("h1", "h2"), ("h2", "y"), ("loose", "h2")])


def test_a_neurons_plane_picture_is_its_activation_evaluated_by_hand_on_the_grid(build):
    graph = _mlp(build)
    module = compile_graph(graph, seed=3)
    w = module.named_weights()
    size = 17
    pictures = plane_pictures(module, graph, BOUNDS, size=size)
    assert set(pictures) == {"h1", "h2", "y"}  # "loose" is not reached from the input: no picture
    gx = np.linspace(BOUNDS[0], BOUNDS[1], size)
    gy = np.linspace(BOUNDS[2], BOUNDS[3], size)
    X, Y = gx[None, :], gy[:, None]  # row i is y[i], column j is x[j]
    W1, b1 = w["x-h1.weight"].astype(np.float64), w["h1.bias"].astype(np.float64)
    h1 = np.stack([np.tanh(W1[k, 0] * X + W1[k, 1] * Y + b1[k]) for k in range(5)])  # [5, size, size]
    np.testing.assert_allclose(pictures["h1"], h1, atol=1e-5)
    W2, b2 = w["h1-h2.weight"].astype(np.float64), w["h2.bias"].astype(np.float64)
    h2 = _sigmoid(np.einsum("kj,jrc->krc", W2, h1) + b2[:, None, None])
    np.testing.assert_allclose(pictures["h2"], h2, atol=1e-5)
    assert pictures["h1"].shape == (5, size, size) and pictures["h1"].dtype == np.float32
    # the top-right corner is (x high, y low) of the first row
    corner = np.tanh(W1[:, 0] * BOUNDS[1] + W1[:, 1] * BOUNDS[2] + b1)
    np.testing.assert_allclose(pictures["h1"][:, 0, -1], corner, atol=1e-5)


def test_a_big_layer_pictures_its_first_neurons_only(build):
    graph = build([("x", "input", [2]), ("h", "neurons", [100], "relu"), ("y", "neurons", [1], "sigmoid")],
                  [("x", "h"), ("h", "y")])
    module = compile_graph(graph, seed=1)
    full = plane_pictures(module, graph, BOUNDS, size=8, max_neurons=1000)
    some = plane_pictures(module, graph, BOUNDS, size=8, max_neurons=10)
    assert full["h"].shape == (100, 8, 8) and some["h"].shape == (10, 8, 8)
    np.testing.assert_array_equal(some["h"], full["h"][:10])
    np.testing.assert_array_equal(some["y"], full["y"])


def test_plane_pictures_leave_the_module_as_they_found_it(build):
    graph = _mlp(build)
    module = compile_graph(graph, seed=3).train()
    before = {k: v.copy() for k, v in module.named_weights().items()}
    plane_pictures(module, graph, BOUNDS, size=4)
    assert module.training
    for k, v in module.named_weights().items():
        np.testing.assert_array_equal(v, before[k])


def test_dense_weight_pictures_lay_each_neurons_weights_on_its_source_grid(build):
    graph = build([("x", "input", [3, 4]), ("h", "neurons", [2], "tanh"), ("y", "neurons", [1])],
                  [("x", "h", {"kind": "dense"}, [(1, 7)]), ("h", "y")])
    w = compile_graph(graph, seed=2).named_weights()
    pictures = weight_pictures(graph, w, "h")
    assert pictures.shape == (2, 3, 4)
    expected = w["x-h.weight"].reshape(2, 3, 4).copy()
    expected[1, 1, 3] = np.nan  # the disabled link (1, 7): row 1, column 3 of the 3x4 grid
    np.testing.assert_array_equal(pictures, expected)
    # from a column: one row of weights
    column = weight_pictures(graph, w, "y")
    np.testing.assert_array_equal(column, w["h-y.weight"].reshape(1, 1, 2))


def test_a_dense_picture_from_channels_is_the_mean_over_channels(build):
    graph = build([("x", "input", [2, 3, 3]), ("h", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "h", {"kind": "dense"}, [(0, 4)]), ("h", "y")])  # (0, 4): channel 0, place (1, 1)
    w = compile_graph(graph, seed=2).named_weights()
    pictures = weight_pictures(graph, w, "h")
    per_channel = w["x-h.weight"].reshape(4, 2, 3, 3)
    expected = per_channel.mean(axis=1)
    expected[0, 1, 1] = per_channel[0, 1, 1, 1]  # its channel-0 link is off: channel 1 alone
    np.testing.assert_allclose(pictures, expected, rtol=1e-6)


def _window_by_hand(geo, kernel_of, units):
    """Each neuron's picture built tap by tap: NaN grid, window's mean-over-channels weights placed where the
    window sits (stride, padding), taps on the padding dropped."""
    height, width = geo.in_spatial
    out = np.full((units, height, width), np.nan)
    for t in range(units):
        r, c = divmod(t % geo.positions, geo.out_spatial[1])
        kernel = kernel_of(t)  # [in_c, kh, kw]
        for a, b in itertools.product(range(geo.window[0]), range(geo.window[1])):
            row, col = r * geo.stride + a - geo.pad_before[0], c * geo.stride + b - geo.pad_before[1]
            if 0 <= row < height and 0 <= col < width:
                out[t, row, col] = kernel[:, a, b].mean()
    return out


@pytest.mark.parametrize("shared", [True, False])
def test_a_local_neurons_weight_picture_sits_at_its_window_with_stride_and_same_padding(build, shared):
    connectivity = {"kind": "local", "window": 3, "stride": 2, "padding": "same", "shared": shared}
    graph = build([("x", "input", [2, 5, 6]), ("c", "neurons", [4, 3, 3], "relu"), ("y", "neurons", [1])],
                  [("x", "c", connectivity), ("c", "y")])
    w = compile_graph(graph, seed=5).named_weights()
    geo = local_geometry((2, 5, 6), Connectivity.from_dict(connectivity))
    assert geo.pad_before == (1, 0) and geo.out_spatial == (3, 3)
    weight = w["x-c.weight"]
    if shared:
        kernel_of = lambda t: weight[t // geo.positions]  # noqa: E731
    else:
        kernel_of = lambda t: weight.reshape(36, 2, 3, 3)[t]  # noqa: E731
    pictures = weight_pictures(graph, w, "c")
    assert pictures.shape == (36, 5, 6)
    np.testing.assert_allclose(pictures, _window_by_hand(geo, kernel_of, 36), rtol=1e-6)
    # neuron (channel 1, row 0, column 2): its window starts at row -1 (padding, dropped), column 4 and
    # runs off the right edge: rows 0..1, columns 4..5 hold weights, nothing else
    t = 1 * 9 + 0 * 3 + 2
    held = ~np.isnan(pictures[t])
    assert held.sum() == 4 and held[0:2, 4:6].all()
    np.testing.assert_allclose(pictures[t, 0, 4], kernel_of(t)[:, 1, 0].mean(), rtol=1e-6)


def test_a_disabled_local_link_leaves_the_other_channels_or_nothing(build):
    connectivity = {"kind": "local", "window": 2, "stride": 1, "padding": "valid", "shared": True}
    # target neuron 0 (position 0, 0) reads source (c, 0, 0) at flat c * 9 + 0; both channels off at (1, 1)
    disabled = [(0, 0), (0, 4), (0, 9 + 4)]
    graph = build([("x", "input", [2, 3, 3]), ("c", "neurons", [2, 2], "relu"), ("y", "neurons", [1])],
                  [("x", "c", connectivity, disabled), ("c", "y")])
    w = compile_graph(graph, seed=5).named_weights()
    kernel = w["x-c.weight"][0]  # [2, 2, 2]
    pictures = weight_pictures(graph, w, "c")
    assert pictures[0, 0, 0] == pytest.approx(kernel[1, 0, 0])  # channel 0's link is off
    assert np.isnan(pictures[0, 1, 1])  # both channels off: no link
    assert pictures[0, 0, 1] == pytest.approx(kernel[:, 0, 1].mean())
    assert pictures[1, 1, 1] == pytest.approx(kernel[:, 1, 0].mean())  # another neuron keeps its links


def test_a_one_dimensional_local_picture_is_a_row(build):
    connectivity = {"kind": "local", "window": 3, "stride": 2, "padding": "valid"}
    graph = build([("x", "input", [10]), ("c", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "c", connectivity), ("c", "y")])
    w = compile_graph(graph, seed=1).named_weights()
    pictures = weight_pictures(graph, w, "c")
    assert pictures.shape == (4, 1, 10)
    for t in range(4):
        row = pictures[t, 0]
        np.testing.assert_allclose(row[2 * t:2 * t + 3], w["x-c.weight"][t, 0], rtol=1e-6)  # [4, in_c, 3]
        assert np.isnan(np.delete(row, range(2 * t, 2 * t + 3))).all()


def test_weight_pictures_refuse_what_has_no_weights(build):
    graph = build([("x", "input", [1, 4, 4]), ("p", "neurons", [2, 2], "linear", {"bias": False}),
                   ("y", "neurons", [1])],
                  [("x", "p", {"kind": "local", "window": 2, "stride": 2, "pool": "max"}), ("p", "y")])
    w = compile_graph(graph).named_weights()
    with pytest.raises(GraphError, match="no incoming connection with weights"):
        weight_pictures(graph, w, "p")
    with pytest.raises(GraphError, match="no weights to show"):
        weight_pictures(graph, w, "p", "x-p")


def test_strongest_samples_are_the_highest_values_per_neuron_strongest_first():
    values = np.array([[0.1, 5.0], [0.9, -1.0], [0.5, 2.0], [0.9, 3.0]])
    np.testing.assert_array_equal(strongest_samples(values, k=3), [[1, 3, 2], [0, 3, 2]])
    assert strongest_samples(values, k=10).shape == (2, 4)


def test_sequence_pictures_are_each_neurons_values_over_the_steps(build):
    graph = build([("x", "input", [1]), ("h", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=4)
    x = torch.randn(7, 1)
    pictures = sequence_pictures(module, x, graph)
    with torch.no_grad():
        traced = module.trace(x[None])["values"]
    assert set(pictures) == {"h", "y"}
    assert set(sequence_pictures(module, x[None])) == {"h", "y"}  # without the design: all but the input
    np.testing.assert_allclose(pictures["h"], traced["h"][0].T.numpy(), rtol=0, atol=0)
    assert pictures["y"].shape == (1, 1)  # the output runs once, after the last step
    # by hand: h_t = tanh(W x_t + U h_{t-1} + b)
    w = module.named_weights()
    h = np.zeros(4)
    for t in range(7):
        h = np.tanh(w["x-h.weight"] @ x[t].numpy() + w["h-h.weight"] @ h + w["h.bias"])
        np.testing.assert_allclose(pictures["h"][:, t], h, atol=1e-5)


def test_neuron_pictures_on_spiral_data_are_the_plane_pictures_over_the_datas_bounds(build, spiral):
    graph = _mlp(build)
    module = compile_graph(graph, seed=3)
    pictures = NeuronPictures(module, graph, spiral, size=16)
    assert pictures.kind == "plane"
    points = np.concatenate([spiral.x_train.numpy(), spiral.x_val.numpy()])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = (high - low) * 0.1
    np.testing.assert_allclose(pictures.info()["bounds"], (low[0] - margin[0], high[0] + margin[0],
                                                           low[1] - margin[1], high[1] + margin[1]), rtol=1e-6)
    payload = pictures.compute()
    expected = plane_pictures(module, graph, pictures.bounds, size=16)
    assert set(payload["layers"]) == set(expected)
    for lid, picture in expected.items():
        np.testing.assert_array_equal(payload["layers"][lid], picture)
    # given weights, it computes on its own copy of the design: the module it was given is left alone
    other = {name: value * 0.5 for name, value in module.named_weights().items()}
    halved = pictures.compute(other)
    copy = compile_graph(graph, weights=other)
    np.testing.assert_allclose(halved["layers"]["h1"], plane_pictures(copy, graph, pictures.bounds, 16)["h1"])
    assert not np.allclose(halved["layers"]["h1"], payload["layers"]["h1"])
    np.testing.assert_array_equal(pictures.compute()["layers"]["h1"], payload["layers"]["h1"])


def test_neuron_pictures_show_chosen_neurons_of_a_layer(build, spiral):
    graph = _mlp(build)
    module = compile_graph(graph, seed=3)
    pictures = NeuronPictures(module, graph, spiral, size=8, shown={"h1": [4, 0]})
    payload = pictures.compute()
    full = plane_pictures(module, graph, pictures.bounds, size=8)
    np.testing.assert_array_equal(payload["neurons"]["h1"], [4, 0])
    np.testing.assert_array_equal(payload["layers"]["h1"], full["h1"][[4, 0]])
    np.testing.assert_array_equal(payload["layers"]["h2"], full["h2"])


def test_neuron_pictures_of_images_are_weights_and_strongest_images(build):
    shapes = load_dataset({"kind": "builtin", "name": "shapes", "samples": 60, "seed": 2})
    size = shapes.input_shape[0]
    graph = build([("x", "input", list(shapes.input_shape)), ("c", "neurons", [2, size - 2, size - 2], "relu"),
                   ("h", "neurons", [5], "tanh"), ("y", "neurons", [shapes.num_classes], "softmax")],
                  [("x", "c", {"kind": "local", "window": 3, "shared": True}), ("c", "h"), ("h", "y")])
    module = compile_graph(graph, seed=0)
    pictures = NeuronPictures(module, graph, shapes, max_neurons=20)
    assert pictures.kind == "images"
    payload = pictures.compute()
    w = module.named_weights()
    np.testing.assert_array_equal(payload["layers"]["c"], weight_pictures(graph, w, "c")[:20])
    np.testing.assert_array_equal(payload["layers"]["h"], weight_pictures(graph, w, "h"))
    assert payload["connections"] == {"c": "x-c", "h": "c-h", "y": "h-y"}
    values = trace(module, shapes.x_val)["values"]
    np.testing.assert_array_equal(payload["strongest"]["h"], strongest_samples(values["h"]))
    assert payload["strongest"]["c"].shape == (20, 6)
    assert pictures.info()["images"].shape == (len(shapes.x_val), size, size)


def test_neuron_pictures_of_a_sequence_follow_the_first_validation_sequence(build):
    sine = load_dataset({"kind": "builtin", "name": "sine", "samples": 40, "seed": 1})
    graph = build([("x", "input", [1]), ("h", "neurons", [6], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=1)
    pictures = NeuronPictures(module, graph, sine)
    assert pictures.kind == "sequence"
    payload = pictures.compute()
    np.testing.assert_array_equal(payload["layers"]["h"], sequence_pictures(module, sine.x_val[0], graph)["h"])
    assert payload["layers"]["h"].shape == (6, sine.x_val.shape[1])


def test_a_table_of_numbers_has_no_neuron_pictures(build):
    graph = build([("x", "input", [3]), ("y", "neurons", [1])], [("x", "y")])
    data = SimpleNamespace(input_shape=(3,), is_sequence=False, x_train=torch.zeros(4, 3), x_val=torch.zeros(2, 3))
    pictures = NeuronPictures(compile_graph(graph), graph, data)
    assert pictures.kind is None and pictures.compute()["layers"] == {}


def test_plane_bounds_add_a_tenth_of_the_range_on_each_side():
    assert plane_bounds(np.array([[0.0, 1.0], [10.0, 3.0]])) == pytest.approx((-1.0, 11.0, 0.8, 3.2))

"""Local connections' geometry and links, and the parameter count the window shows."""
import pytest

from designer.graph import (Connection, Connectivity, Graph, GraphError, Layer, connection_weight_count,
                            local_geometry, local_links, local_out_channels, local_target_shape)


def test_valid_window_on_a_column():
    links = local_links((5,), (3,), Connectivity("local", 3))
    assert links == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (2, 4)]


def test_same_padding_keeps_the_size_and_drops_links_off_the_edge():
    links = local_links((5,), (5,), Connectivity("local", 3, padding="same"))
    assert len(links) == 2 + 3 + 3 + 3 + 2
    assert [s for t, s in links if t == 0] == [0, 1] and [s for t, s in links if t == 4] == [3, 4]


def test_stride():
    assert local_links((4,), (2,), Connectivity("local", 2, stride=2)) == [(0, 0), (0, 1), (1, 2), (1, 3)]
    geo = local_geometry((8, 8), Connectivity("local", 3, stride=2, padding="same"))
    assert geo.out_spatial == (4, 4) and geo.pad_before == (0, 0) and geo.pad_after == (1, 1)


def test_grid_links_cover_every_channel():
    assert len(local_links((4, 4), (2, 2), Connectivity("local", 3))) == 4 * 9
    links = local_links((2, 4, 4), (3, 2, 2), Connectivity("local", 3))
    assert len(links) == 3 * 4 * 9 * 2
    assert len(set(links)) == len(links)
    assert max(t for t, _ in links) == 3 * 4 - 1 and max(s for _, s in links) == 2 * 16 - 1
    # target 0 sees the top-left 3x3 of both source channels
    assert sorted(s for t, s in links if t == 0) == sorted(
        c * 16 + r * 4 + col for c in range(2) for r in range(3) for col in range(3))


def test_target_shapes():
    assert local_target_shape((8, 8), Connectivity("local", 3)) == (6, 6)
    assert local_target_shape((8, 8), Connectivity("local", 3), channels=4) == (4, 6, 6)
    geo = local_geometry((8, 8), Connectivity("local", 3))
    assert local_out_channels((4, 6, 6), geo) == 4
    with pytest.raises(GraphError, match=r"the window makes a grid of \[6, 6\] but the target's shape is \[36\]"):
        local_out_channels((36,), geo)


def pair(source_shape, target_shape, connectivity=None, target_kind="neurons"):
    source = Layer("s", "input", source_shape)
    target = Layer("t", target_kind, target_shape)
    return source, target, Connection("s-t", "s", "t", connectivity or Connectivity())


def test_weight_counts():
    assert connection_weight_count(*pair((2,), (4,))) == 8
    assert connection_weight_count(*pair((8, 8), (3,))) == 192  # dense over flattened grids
    # local: out_channels x in_channels x window, once (shared) or at every position (unshared)
    assert connection_weight_count(*pair((2, 8, 8), (4, 6, 6), Connectivity("local", 3, shared=True))) == 4 * 2 * 9
    assert connection_weight_count(*pair((2, 8, 8), (4, 6, 6), Connectivity("local", 3))) == 4 * 2 * 9 * 36
    # gated layers: one weight matrix per gate
    assert connection_weight_count(*pair((3,), (5,), target_kind="lstm")) == 4 * 5 * 3
    assert connection_weight_count(*pair((3,), (5,), target_kind="gru")) == 3 * 5 * 3


def test_unshared_weights_equal_links_on_valid_windows():
    source, target, conn = pair((2, 6, 5), (3, 4, 3), Connectivity("local", (3, 3)))
    assert connection_weight_count(source, target, conn) == len(local_links(source.shape, target.shape,
                                                                            conn.connectivity))


def design(*layers, connections=()):
    graph = Graph()
    for layer in layers:
        graph.add_layer(layer)
    for source, target, connectivity in connections:
        graph.connect(source, target, connectivity)
    return graph


def test_parameter_count_dense():
    graph = design(Layer("x", "input", (2,)), Layer("h", "neurons", (4,), "tanh"), Layer("out", "neurons", (1,)),
                   connections=[("x", "h", None), ("h", "out", None)])
    assert graph.parameter_count() == (2 * 4 + 4) + (4 * 1 + 1)
    graph.update_layer("h", bias=False)
    assert graph.parameter_count() == 2 * 4 + 4 * 1 + 1


def test_parameter_count_local_shared_and_unshared():
    shared = design(Layer("img", "input", (1, 8, 8)), Layer("conv", "neurons", (2, 6, 6), "relu"),
                    connections=[("img", "conv", Connectivity("local", 3, shared=True))])
    assert shared.parameter_count() == 2 * 9 + 2 * 36  # kernel, plus one bias per target neuron
    shared.update_connection("img-conv", connectivity=Connectivity("local", 3, shared=False))
    assert shared.parameter_count() == 2 * 9 * 36 + 2 * 36


@pytest.mark.parametrize("kind, gates, bias_vectors", [("lstm", 4, 1), ("gru", 3, 2)])
def test_parameter_count_gated(kind, gates, bias_vectors):
    graph = design(Layer("x", "input", (3,)), Layer("m", kind, (5,)), Layer("out", "neurons", (1,)),
                   connections=[("x", "m", None), ("m", "out", None)])
    # input weights, hidden-to-hidden weights and biases per gate, then the dense output layer
    expected = gates * 5 * 3 + gates * 5 * 5 + bias_vectors * gates * 5 + (5 + 1)
    assert graph.parameter_count() == expected


def test_parameter_count_counts_a_recurrent_loop_and_skips_broken_parts():
    graph = design(Layer("x", "input", (2,)), Layer("h", "neurons", (3,)),
                   connections=[("x", "h", None), ("h", "h", None)])
    assert graph.parameter_count() == 2 * 3 + 3 * 3 + 3
    graph.connect("x", "h", Connectivity("local", 9), connection_id="too-wide")  # does not fit: counts nothing
    assert graph.parameter_count() == 2 * 3 + 3 * 3 + 3

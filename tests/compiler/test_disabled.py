"""Links the user switched off stay off: exactly zero weight, zero gradient, through training."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from designer.compiler import compile_graph
from designer.graph import Connectivity, local_links


def train(module, x, steps=5, **adam):
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05, weight_decay=0.01, **adam)
    sgd = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    for opt in (optimizer, sgd):
        for _ in range(steps):
            opt.zero_grad()
            loss = (module(x) - 1).pow(2).mean() + 0.01 * sum(p.abs().sum() for p in module.parameters())
            loss.backward()
            opt.step()


def test_disabled_dense_links_stay_exactly_zero_after_optimizer_steps(build):
    disabled = [(0, 1), (2, 0), (3, 2)]
    graph = build([("x", "input", [3]), ("h", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "h", {"kind": "dense"}, disabled), ("h", "y")])
    module = compile_graph(graph, seed=0)
    before = module.named_weights()
    x = torch.randn(8, 3)
    train(module, x)
    w = module.named_weights()["x-h.weight"]
    for t, s in disabled:
        assert w[t, s] == 0.0
    enabled = np.ones_like(w, bool)
    for t, s in disabled:
        enabled[t, s] = False
    assert (w[enabled] != before["x-h.weight"][enabled]).all()  # the others trained
    # and loading weights that hold something there does not switch them back on
    module.load_named_weights({**module.named_weights(), "x-h.weight": np.ones((4, 3), np.float32)})
    assert module.named_weights()["x-h.weight"][0, 1] == 0.0


def test_disabled_unshared_local_links_hit_the_right_weight_and_stay_zero(build):
    connectivity = {"kind": "local", "window": 3, "stride": 1, "padding": "same"}
    links = local_links((2, 5, 5), (1, 5, 5), Connectivity.from_dict(connectivity))
    disabled = [links[0], links[40], links[-1]]
    graph = build([("x", "input", [2, 5, 5]), ("y", "neurons", [1, 5, 5])], [("x", "y", connectivity, disabled)])
    module = compile_graph(graph, seed=0)
    x = torch.randn(4, 50, requires_grad=True)
    # the output no longer depends on exactly those links: d y[t] / d x[s] is zero for them
    y = module(x)
    for t, s in disabled:
        grad, = torch.autograd.grad(y[:, t].sum(), x, retain_graph=True)
        assert (grad[:, s] == 0).all()
    # while a neighbour in the same window still counts
    t, s = disabled[1]
    others = [link for link in links if link[0] == t and link not in disabled]
    grad, = torch.autograd.grad(y[:, t].sum(), x, retain_graph=True)
    assert (grad[:, others[0][1]] != 0).all()
    train(module, x.detach())
    assert int((module.named_weights()["x-y.weight"] == 0).sum()) == len(disabled)


@pytest.mark.parametrize("padding, tap", [("valid", (0, 0)), ("same", (1, 1))])
def test_disabled_link_of_a_shared_connection_drops_only_that_position(build, padding, tap):
    connectivity = {"kind": "local", "window": 3, "shared": True, "padding": padding}
    # target neuron 0 (position 0,0) loses its link to source neuron 0 (the window's corner, or its
    # centre with 'same' padding); every other position still uses that kernel entry
    shape = [3, 3] if padding == "valid" else [5, 5]
    graph = build([("x", "input", [5, 5]), ("y", "neurons", shape)], [("x", "y", connectivity, [(0, 0)])])
    module = compile_graph(graph, seed=1)
    w = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    x = torch.randn(2, 1, 5, 5)
    conv = F.conv2d(x, w["x-y.weight"], padding=0 if padding == "valid" else 1).flatten(1) + w["y.bias"]
    expected = conv.clone()
    expected[:, 0] -= w["x-y.weight"][(0, 0, *tap)] * x[:, 0, 0, 0]
    torch.testing.assert_close(module(x), expected)


def test_disabled_links_into_an_lstm_switch_off_every_gate_of_that_unit(build):
    graph = build([("x", "input", [3]), ("l", "lstm", [2]), ("y", "neurons", [1])],
                  [("x", "l", {"kind": "dense"}, [(1, 2)]), ("l", "y")])
    module = compile_graph(graph, seed=0)
    w = module.named_weights()["x-l.weight"]
    assert [w[g * 2 + 1, 2] for g in range(4)] == [0.0] * 4
    assert (w[:, :2] != 0).all()


@pytest.mark.parametrize("pairs", [[(0, 0)], []])
def test_the_mask_is_only_paid_for_when_links_are_disabled(build, pairs):
    graph = build([("x", "input", [2]), ("y", "neurons", [1])], [("x", "y", {"kind": "dense"}, pairs)])
    module = compile_graph(graph, seed=0)
    assert len(list(module.buffers())) == (1 if pairs else 0)
    assert ("*" in module.source) == bool(pairs)

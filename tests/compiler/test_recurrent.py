"""Sequence designs: self-loops, cycles and gated layers against PyTorch's own recurrent modules."""
import numpy as np
import pytest
import torch
from torch import nn

from designer.compiler import compile_graph
from designer.graph import parameter_count


def weights_of(module):
    return {k: torch.from_numpy(v) for k, v in module.named_weights().items()}


def torch_twin(cls, w, connection, layer):
    """PyTorch's own ``cls`` (nn.LSTM or nn.GRU) holding the weights of ``layer`` fed by ``connection``.

    Our lstm has one bias (b_ih + b_hh in PyTorch's terms); a gru keeps b_hh apart, inside its reset gate.
    """
    units = w[f"{layer}.weight_hh"].shape[1]
    twin = cls(w[f"{connection}.weight"].shape[1], units, batch_first=True)
    with torch.no_grad():
        twin.weight_ih_l0.copy_(w[f"{connection}.weight"])
        twin.weight_hh_l0.copy_(w[f"{layer}.weight_hh"])
        twin.bias_ih_l0.copy_(w[f"{layer}.bias"])
        if f"{layer}.bias_hh" in w:
            twin.bias_hh_l0.copy_(w[f"{layer}.bias_hh"])
        else:
            twin.bias_hh_l0.zero_()
    return twin


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_self_loop_layer_is_an_elman_rnn_equal_to_nn_rnn(build, activation):
    graph = build([("x", "input", [3]), ("h", "neurons", [5], activation), ("y", "neurons", [2])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=4)
    assert module.is_sequence
    w = weights_of(module)
    rnn = nn.RNN(3, 5, nonlinearity=activation, batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(w["x-h.weight"])
        rnn.weight_hh_l0.copy_(w["h-h.weight"])
        rnn.bias_ih_l0.copy_(w["h.bias"])  # our one bias is b_ih + b_hh
        rnn.bias_hh_l0.zero_()
    x = torch.randn(4, 9, 3)
    hidden, _ = rnn(x)
    expected = hidden[:, -1] @ w["h-y.weight"].T + w["y.bias"]
    torch.testing.assert_close(module(x), expected)
    # gradients flow back through time as in nn.RNN
    module(x).sum().backward()
    (hidden[:, -1] @ w["h-y.weight"].T).sum().backward()
    torch.testing.assert_close(module.get_parameter("h_h_weight").grad, rnn.weight_hh_l0.grad)


def test_lstm_layer_equals_nn_lstm(build):
    graph = build([("x", "input", [3]), ("l", "lstm", [6]), ("y", "neurons", [1])],
                  [("x", "l"), ("l", "y")])
    module = compile_graph(graph, seed=5)
    w = weights_of(module)
    assert w["x-l.weight"].shape == (24, 3) and w["l.weight_hh"].shape == (24, 6) and w["l.bias"].shape == (24,)
    lstm = torch_twin(nn.LSTM, w, "x-l", "l")
    x = torch.randn(4, 7, 3)
    out, _ = lstm(x)
    torch.testing.assert_close(module(x), out[:, -1] @ w["l-y.weight"].T + w["y.bias"])
    assert sum(p.numel() for p in module.parameters()) == parameter_count(graph)


def test_gru_layer_equals_nn_gru(build):
    graph = build([("x", "input", [2]), ("g", "gru", [5]), ("y", "neurons", [2], "softmax")],
                  [("x", "g"), ("g", "y")])
    module = compile_graph(graph, seed=6)
    w = weights_of(module)
    with torch.no_grad():  # make b_hh matter: it sits inside the reset gate
        module.load_named_weights({**module.named_weights(), "g.bias_hh": np.linspace(-1, 1, 15, dtype=np.float32)})
    w = weights_of(module)
    gru = torch_twin(nn.GRU, w, "x-g", "g")
    x = torch.randn(3, 8, 2)
    out, _ = gru(x)
    torch.testing.assert_close(module(x), torch.softmax(out[:, -1] @ w["g-y.weight"].T + w["y.bias"], 1))
    assert sum(p.numel() for p in module.parameters()) == parameter_count(graph)


def test_a_cycle_reads_the_previous_step_and_every_layer_runs_each_step(build):
    # x -> a -> b -> out, and b -> a closes a cycle: a sees b's value of the step before
    graph = build([("x", "input", [2]), ("a", "neurons", [3], "tanh"), ("b", "neurons", [4], "sigmoid"),
                   ("c", "neurons", [2], "relu"), ("out", "neurons", [2])],
                  [("x", "a"), ("a", "b"), ("b", "a"), ("x", "c"), ("c", "out"), ("b", "out")])
    assert graph.flow().recurrent == {"b-a"}
    module = compile_graph(graph, seed=1)
    w = weights_of(module)
    x = torch.randn(3, 5, 2)
    b = torch.zeros(3, 4)
    for t in range(5):  # every layer, once per step, in order
        xt = x[:, t]
        a = torch.tanh(xt @ w["x-a.weight"].T + b @ w["b-a.weight"].T + w["a.bias"])
        b = torch.sigmoid(a @ w["a-b.weight"].T + w["b.bias"])
        c = torch.relu(xt @ w["x-c.weight"].T + w["c.bias"])
        out = c @ w["c-out.weight"].T + b @ w["b-out.weight"].T + w["out.bias"]
    torch.testing.assert_close(module(x), out)


def test_a_layer_that_only_feeds_a_loop_back_runs_each_step_and_is_not_the_output(build):
    # x -> h -> out, and h -> m -> h: m is h's memory of the step before, not a second output
    graph = build([("x", "input", [2]), ("h", "neurons", [3], "tanh"), ("m", "neurons", [4], "relu"),
                   ("out", "neurons", [1])],
                  [("x", "h"), ("h", "m"), ("m", "h"), ("h", "out")])
    assert graph.flow().outputs == ["out"]
    module = compile_graph(graph, seed=3)
    w = weights_of(module)
    x = torch.randn(3, 6, 2)
    m = torch.zeros(3, 4)
    for t in range(6):
        h = torch.tanh(x[:, t] @ w["x-h.weight"].T + m @ w["m-h.weight"].T + w["h.bias"])
        m = torch.relu(h @ w["h-m.weight"].T + w["m.bias"])
        out = h @ w["h-out.weight"].T + w["out.bias"]
    torch.testing.assert_close(module(x), out)


def test_recurrent_connection_into_an_lstm_and_a_local_layer_before_it(build):
    # a local layer on each step's input, an lstm fed by it and by the output's previous value
    graph = build([("x", "input", [6]), ("c", "neurons", [4], "relu"), ("l", "lstm", [3]),
                   ("y", "neurons", [2], "tanh")],
                  [("x", "c", {"kind": "local", "window": 3}), ("c", "l"), ("l", "y"), ("y", "l")])
    module = compile_graph(graph, seed=2)
    w = weights_of(module)
    x = torch.randn(2, 4, 6)
    h = torch.zeros(2, 3)
    cell = torch.zeros(2, 3)
    y = torch.zeros(2, 2)
    wc = w["x-c.weight"].reshape(4, 3)
    for t in range(4):
        windows = x[:, t].unfold(1, 3, 1)  # [batch, 4 positions, 3]
        c = torch.relu((windows * wc).sum(-1) + w["c.bias"])
        gates = c @ w["c-l.weight"].T + y @ w["y-l.weight"].T + h @ w["l.weight_hh"].T + w["l.bias"]
        i, f, g, o = gates.chunk(4, 1)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(cell)
        y = torch.tanh(h @ w["l-y.weight"].T + w["y.bias"])
    torch.testing.assert_close(module(x), y)
    torch.testing.assert_close(module.logits(x), torch.atanh(y), atol=1e-4, rtol=1e-4)


def test_sequence_input_of_grid_steps(build):
    graph = build([("x", "input", [2, 2]), ("h", "neurons", [3], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=0)
    x = torch.randn(5, 6, 2, 2)
    torch.testing.assert_close(module(x), module(x.reshape(5, 6, 4)))
    assert module(x).shape == (5, 1)


def test_an_lstm_output_layer_gives_its_last_hidden_state(build):
    graph = build([("x", "input", [2]), ("l", "lstm", [3])], [("x", "l")])
    module = compile_graph(graph, seed=0)
    w = weights_of(module)
    lstm = torch_twin(nn.LSTM, w, "x-l", "l")
    x = torch.randn(2, 5, 2)
    _, (h, _) = lstm(x)
    torch.testing.assert_close(module(x), h[0])
    torch.testing.assert_close(module.logits(x), h[0])
    assert module.output_units == 3


def test_a_copied_module_runs_on_its_own_weights(build):
    import copy
    graph = build([("x", "input", [2]), ("h", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "h"), ("h", "y")])
    module = compile_graph(graph, seed=0)
    twin = copy.deepcopy(module)
    x = torch.randn(3, 4, 2)
    torch.testing.assert_close(twin(x), module(x))
    with torch.no_grad():
        twin.get_parameter("y_bias").add_(1.0)
    torch.testing.assert_close(twin(x), module(x) + 1.0)

"""Dense designs: what each neuron computes, activations, the perceptron, initialisation."""
import math

import numpy as np
import pytest
import torch

from designer.compiler import compile_graph
from designer.graph import parameter_count


def test_step_perceptron_with_hand_set_weights_computes_and(build):
    graph = build([("x", "input", [2]), ("y", "neurons", [1], "step")], [("x", "y")])
    module = compile_graph(graph, weights={"x-y.weight": np.array([[1.0, 1.0]], np.float32),
                                           "y.bias": np.array([-1.5], np.float32)})
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert module(inputs).squeeze(1).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert module.output_activation == "step"
    assert module.logits(inputs).squeeze(1).tolist() == [-1.5, -0.5, -0.5, 0.5]


def test_step_trains_through_the_sigmoid_surrogate_gradient(build):
    graph = build([("x", "input", [2]), ("y", "neurons", [1], "step")], [("x", "y")])
    module = compile_graph(graph, seed=3)
    x = torch.tensor([[0.3, -0.7], [1.0, 2.0]])
    module(x).sum().backward()
    z = module.logits(x).detach()
    s = torch.sigmoid(z)
    expected = ((s * (1 - s)) * x).sum(0, keepdim=True)
    torch.testing.assert_close(dict(module.named_parameters())["y_bias"].grad, (s * (1 - s)).sum(0))
    torch.testing.assert_close(dict(module.named_parameters())["x_y_weight"].grad, expected)


@pytest.mark.parametrize("activation, reference", [
    ("linear", lambda z: z),
    ("sigmoid", torch.sigmoid),
    ("tanh", torch.tanh),
    ("relu", torch.relu),
    ("leaky_relu", lambda z: torch.where(z > 0, z, 0.01 * z)),
    ("softmax", lambda z: torch.softmax(z, 1)),
    ("step", lambda z: (z > 0).float()),
])
def test_every_neuron_sums_its_connections_adds_its_bias_and_applies_its_activation(build, activation, reference):
    # two connections into one layer: the sum of both, plus the layer's single bias
    graph = build([("x", "input", [3]), ("a", "neurons", [4], "tanh"), ("y", "neurons", [5], activation)],
                  [("x", "a"), ("a", "y"), ("x", "y")])
    module = compile_graph(graph, seed=1)
    w = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    x = torch.randn(6, 3)
    a = torch.tanh(x @ w["x-a.weight"].T + w["a.bias"])
    z = a @ w["a-y.weight"].T + x @ w["x-y.weight"].T + w["y.bias"]
    torch.testing.assert_close(module.logits(x), z)
    torch.testing.assert_close(module(x), reference(z))
    assert module.output_activation == activation
    if activation == "softmax":
        torch.testing.assert_close(module(x).sum(1), torch.ones(6))


def test_input_of_any_shape_with_the_right_number_of_elements_is_accepted(build):
    graph = build([("x", "input", [2, 3]), ("y", "neurons", [2])], [("x", "y")])
    module = compile_graph(graph, seed=0)
    x = torch.randn(4, 6)
    torch.testing.assert_close(module(x), module(x.view(4, 2, 3)))
    assert module.input_shape == (2, 3) and module.output_units == 2 and not module.is_sequence


def test_layers_off_the_path_from_input_to_output_take_no_part_but_keep_their_weights(build):
    graph = build([("x", "input", [2]), ("h", "neurons", [3], "relu"), ("out", "neurons", [1]),
                   ("stray", "neurons", [7], "tanh")],
                  [("x", "h"), ("h", "out"), ("stray", "h")])
    module = compile_graph(graph, seed=0)
    w = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    assert "stray.bias" in w and "stray-h.weight" in w
    x = torch.randn(5, 2)
    expected = torch.relu(x @ w["x-h.weight"].T + w["h.bias"]) @ w["h-out.weight"].T + w["out.bias"]
    torch.testing.assert_close(module(x), expected)
    assert sum(p.numel() for p in module.parameters()) == parameter_count(graph)


def test_initialisation_is_seeded_and_scaled_by_the_inputs_each_neuron_sees(build):
    graph = build([("x", "input", [400]), ("h", "neurons", [300], "relu"), ("out", "neurons", [2])],
                  [("x", "h"), ("h", "out")])
    one = compile_graph(graph, seed=7).named_weights()
    two = compile_graph(graph, seed=7).named_weights()
    other = compile_graph(graph, seed=8).named_weights()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])
    assert not np.array_equal(one["x-h.weight"], other["x-h.weight"])
    bound = 1 / math.sqrt(400)  # as nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(one["x-h.weight"]).max() <= bound
    assert np.abs(one["x-h.weight"]).max() > 0.95 * bound
    assert abs(one["x-h.weight"].std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(one["h-out.weight"]).max() <= 1 / math.sqrt(300)


def test_compiled_module_trains(build):
    # XOR from four points: a user's first design must learn it
    graph = build([("x", "input", [2]), ("h", "neurons", [8], "tanh"), ("y", "neurons", [1], "sigmoid")],
                  [("x", "h"), ("h", "y")])
    module = compile_graph(graph, seed=0)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(module.logits(x), y)
        loss.backward()
        optimizer.step()
    assert ((module(x) > 0.5).float() == y).all()


def test_module_moves_between_dtypes_and_devices(build):
    graph = build([("x", "input", [2]), ("h", "neurons", [3], "tanh"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "y", {"kind": "dense"}, [(0, 1)])])
    module = compile_graph(graph, seed=0)
    x = torch.randn(4, 2)
    expected = module(x).double()
    module = module.to(torch.float64)
    torch.testing.assert_close(module(x.double()), expected)
    if torch.cuda.is_available():
        module = module.to("cuda")
        torch.testing.assert_close(module(x.double().cuda()).cpu(), expected)


def test_any_valid_ids_compile_even_keywords_digits_and_ids_alike_once_sanitised(build):
    graph = build([("1in", "input", [2]), ("for", "neurons", [3], "tanh"), ("a-b", "neurons", [3], "relu"),
                   ("a_b", "neurons", [3], "sigmoid"), ("self", "neurons", [2]), ("x", "neurons", [1])],
                  [("1in", "for"), ("for", "a-b"), ("for", "a_b"), ("a-b", "self"), ("a_b", "self"), ("self", "x")])
    module = compile_graph(graph, seed=0)
    w = {k: torch.from_numpy(v) for k, v in module.named_weights().items()}
    x = torch.randn(3, 2)
    h = torch.tanh(x @ w["1in-for.weight"].T + w["for.bias"])
    a = torch.relu(h @ w["for-a-b.weight"].T + w["a-b.bias"])
    b = torch.sigmoid(h @ w["for-a_b.weight"].T + w["a_b.bias"])
    s = a @ w["a-b-self.weight"].T + b @ w["a_b-self.weight"].T + w["self.bias"]
    torch.testing.assert_close(module(x), s @ w["self-x.weight"].T + w["x.bias"])

"""Layer health: dead ReLUs, saturated neurons and vanishing gradients are found and reported with their fix."""
import numpy as np
import pytest

from designer.compiler import compile_graph
from designer.insight import LayerHealth, health_problems, health_series, layer_health
from designer.insight.tracing import trace
from designer.training import train


def _relu_design(build):
    return build([("x", "input", [2]), ("h1", "neurons", [8], "relu"), ("h2", "neurons", [6], "tanh"),
                  ("y", "neurons", [1], "sigmoid")], [("x", "h1"), ("h1", "h2"), ("h2", "y")])


def test_a_relu_layer_that_fires_on_nothing_is_reported_dead_with_the_fix(build, spiral):
    graph = _relu_design(build)
    module = compile_graph(graph, seed=0)
    weights = module.named_weights()
    weights["h1.bias"] = np.full(8, -100.0, dtype=np.float32)  # no input of the spiral reaches 0 from there
    module.load_named_weights(weights)
    health = layer_health(graph, trace(module, spiral.x_val)["values"])
    assert health["h1"].dead_share == 1.0 and health["h2"].dead_share is None
    problems = health_problems(graph, [health])
    dead = [p for p in problems if p.layer_id == "h1"]
    assert len(dead) == 1
    assert dead[0].severity == "warning" and dead[0].part == "training"
    assert dead[0].message == ("100% of its ReLU neurons never fire on the validation data: lower the learning "
                               "rate or use leaky relu")


def test_a_layer_with_some_dead_neurons_counts_them_and_warns_from_half(build, spiral):
    graph = _relu_design(build)
    module = compile_graph(graph, seed=0)
    weights = module.named_weights()
    weights["h1.bias"] = np.array([-100.0] * 3 + [0.0] * 5, dtype=np.float32)
    module.load_named_weights(weights)
    values = trace(module, spiral.x_val)["values"]
    alive = values["h1"][:, 3:]
    assert ((alive == 0).any(axis=0) & (alive > 0).any(axis=0)).all()  # they fire on some samples, not all
    health = layer_health(graph, values)
    assert health["h1"].dead_share == pytest.approx(3 / 8)
    assert not [p for p in health_problems(graph, [health]) if p.layer_id == "h1"]
    weights["h1.bias"][3] = -100.0
    module.load_named_weights(weights)
    health = layer_health(graph, trace(module, spiral.x_val))  # a whole trace is accepted too
    assert health["h1"].dead_share == 0.5
    assert "50% of its ReLU neurons never fire" in health_problems(graph, [health])[0].message


def test_saturated_hidden_neurons_are_reported_and_a_sure_output_is_not(build, spiral):
    graph = _relu_design(build)
    module = compile_graph(graph, seed=0)
    weights = module.named_weights()
    weights["h1.bias"] = np.full(8, 1.0, dtype=np.float32)  # all alive
    weights["h1-h2.weight"] = np.sign(weights["h1-h2.weight"]) * 50  # big weights: tanh at +-1
    weights["h2-y.weight"] = weights["h2-y.weight"] * 100  # a sigmoid output sure of everything
    module.load_named_weights(weights)
    health = layer_health(graph, trace(module, spiral.x_val)["values"])
    assert health["h2"].saturated_share == 1.0 and health["y"].saturated_share == 1.0
    assert health["h1"].dead_share == 0.0
    problems = health_problems(graph, [health])
    assert [p.layer_id for p in problems] == ["h2"]
    assert problems[0].message.startswith("100% of its tanh neurons are saturated")
    assert "use smaller initial weights (xavier) or normalisation" in problems[0].message


def test_a_neuron_is_saturated_on_ninety_percent_of_the_samples_or_not_at_all(build):
    graph = build([("x", "input", [1]), ("h", "neurons", [2], "sigmoid"), ("y", "neurons", [1])],
                  [("x", "h"), ("h", "y")])
    values = np.full((10, 2), 0.5)
    values[:9, 0] = 0.99  # 90% of the samples: saturated
    values[:8, 1] = 0.01  # 80%: not
    assert layer_health(graph, {"h": values})["h"].saturated_share == 0.5


def test_vanishing_gradients_in_a_deep_sigmoid_stack_are_reported_as_one_range(build, spiral):
    ids = ["x"] + [f"h{i}" for i in range(1, 9)] + ["y"]
    layers = [("x", "input", [2])] + [(lid, "neurons", [8 if lid != "y" else 1], "sigmoid") for lid in ids[1:]]
    graph = build(layers, list(zip(ids, ids[1:])))
    module = compile_graph(graph, seed=0)
    epochs = []
    train(module, spiral, {"epochs": 2, "learning_rate": 0.1, "device": "cpu"}, on_epoch=epochs.append,
          gradient_norms=True, graph=graph)
    history = [layer_health(graph, None, e.gradient_norms) for e in epochs]
    norms = epochs[-1].gradient_norms
    assert set(norms) == set(ids[1:])
    assert norms["h1"] < 1e-3 * norms["y"]
    problems = health_problems(graph, history)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.layer_id == "h1" and problem.part == "training"
    # each layer of the range is below 1/1000 of the last layer's, the next one is not
    assert problem.message.startswith("vanishing gradient in h1..h5: ")
    assert all(norms[f"h{i}"] < 1e-3 * norms["y"] for i in range(1, 6)) and norms["h6"] >= 1e-3 * norms["y"]
    assert "relu" in problem.message
    series = health_series(history, "h1", "gradient_norm")
    np.testing.assert_array_equal(series, [e.gradient_norms["h1"] for e in epochs])


def test_exploding_gradients_and_healthy_ones(build):
    graph = build([("x", "input", [2]), ("h1", "neurons", [4], "tanh"), ("h2", "neurons", [4], "tanh"),
                   ("h3", "neurons", [4], "tanh"), ("y", "neurons", [1])],
                  [("x", "h1"), ("h1", "h2"), ("h2", "h3"), ("h3", "y")])

    def problems(norms):
        return health_problems(graph, [layer_health(graph, None, norms)])

    (exploding,) = problems({"h1": 5e3, "h2": 2e3, "h3": 0.5, "y": 1.0})
    assert exploding.message.startswith("exploding gradient in h1..h2: ") and exploding.layer_id == "h1"
    assert "lower the learning rate" in exploding.message
    (one,) = problems({"h1": 1e-4, "h2": 0.1, "h3": 1e-5, "y": 1.0})  # the first layers only
    assert one.message.startswith("vanishing gradient in h1: its gradient is")
    assert problems({"h1": 0.01, "h2": 0.1, "h3": 0.5, "y": 1.0}) == []
    assert health_problems(graph, []) == []
    only_last = [{"h1": LayerHealth("h1", "tanh", 4, gradient_norm=1e-9)},
                 {"h1": LayerHealth("h1", "tanh", 4, gradient_norm=1e-9), "y": LayerHealth("y", "linear", 1,
                                                                                          gradient_norm=1.0)}]
    assert len(health_problems(graph, only_last)) == 1  # the last epoch counts

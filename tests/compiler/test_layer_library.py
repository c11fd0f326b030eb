"""The layer library against its torch.nn twins: pooling, batch and layer normalisation, dropout,
the activations and the initialisations, with the same weights: same outputs and gradients."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from designer.compiler import compile_graph
from designer.graph import Connectivity, Graph, Layer, validate


def chain(*layers: Layer, connectivity: dict | None = None) -> Graph:
    """Layers joined one after the other; ``connectivity`` by target id (dense otherwise)."""
    graph = Graph()
    for layer in layers:
        graph.add_layer(layer)
    for source, target in zip(layers, layers[1:]):
        graph.connect(source.id, target.id, (connectivity or {}).get(target.id))
    return graph


def same(actual, expected, atol=1e-6):
    torch.testing.assert_close(actual, expected, rtol=0, atol=atol)


def input_grad(function, x):
    """The gradient of a fixed random projection of ``function(x)`` with respect to ``x``."""
    x = x.detach().clone().requires_grad_(True)
    y = function(x)
    (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
    return y.detach(), x.grad


# ---------------------------------------------------------------- pooling
POOLS = [
    # source shape, window, stride, padding, the twin (on [batch, channels, *grid])
    ((3, 8, 8), 2, 2, "valid", lambda p: (nn.MaxPool2d(2, 2) if p == "max" else nn.AvgPool2d(2, 2))),
    ((2, 7, 7), 3, 2, "same", lambda p: (nn.MaxPool2d(3, 2, padding=1) if p == "max" else nn.AvgPool2d(3, 2, 1))),
    ((9,), 3, 3, "valid", lambda p: (nn.MaxPool1d(3, 3) if p == "max" else nn.AvgPool1d(3, 3))),
    ((6, 6), 2, 1, "same", lambda p: nn.Sequential(  # a window of 2 pads one place, after: asymmetric
        nn.ConstantPad2d((0, 1, 0, 1), float("-inf") if p == "max" else 0.0),
        nn.MaxPool2d(2, 1) if p == "max" else nn.AvgPool2d(2, 1))),
]


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_pooling_matches_torch(pool, case):
    shape, window, stride, padding, twin = POOLS[case]
    connectivity = Connectivity("local", window, stride, padding, pool=pool)
    from designer.graph import local_target_shape

    target = local_target_shape(shape, connectivity)
    graph = chain(Layer("x", "input", shape), Layer("p", "neurons", target, bias=False),
                  connectivity={"p": connectivity})
    assert not validate(graph)
    module = compile_graph(graph, seed=0)
    assert not list(module.parameters())  # pooling learns nothing
    grid = shape if len(shape) == 3 else (1, *shape)
    x = torch.randn(4, *grid)
    y, grad = input_grad(lambda v: module(v.reshape(4, -1)), x)
    y_twin, grad_twin = input_grad(lambda v: twin(pool)(v).flatten(1), x)
    same(y, y_twin)
    same(grad, grad_twin)


def test_pooling_keeps_channels_and_refuses_a_wrong_target():
    graph = chain(Layer("x", "input", (3, 8, 8)), Layer("p", "neurons", (1, 4, 4), bias=False),
                  connectivity={"p": Connectivity("local", 2, 2, pool="max")})
    [problem] = validate(graph)
    assert problem.connection_id == "x-p" and "keeps the source's 3 channels" in problem.message
    assert "[3, 4, 4]" in problem.message


def test_pooling_has_no_links_to_switch_off():
    graph = chain(Layer("x", "input", (4, 4)), Layer("p", "neurons", (2, 2), bias=False),
                  connectivity={"p": Connectivity("local", 2, 2, pool="mean")})
    graph.update_connection("x-p", disabled=[(0, 0)])
    [problem] = validate(graph)
    assert "no weights" in problem.message and problem.connection_id == "x-p"


# ---------------------------------------------------------------- normalisation
def _dense_norm(norm: str, units_in=6, units=5):
    graph = chain(Layer("x", "input", (units_in,)),
                  Layer("h", "neurons", (units,), activation="linear", bias=False, norm=norm))
    module = compile_graph(graph, seed=1)
    with torch.no_grad():
        module.h_norm_weight.copy_(torch.linspace(0.5, 2.0, units))
        module.h_norm_bias.copy_(torch.linspace(-1.0, 1.0, units))
    linear = nn.Linear(units_in, units, bias=False)
    norm_twin = nn.BatchNorm1d(units) if norm == "batch" else nn.LayerNorm(units)
    with torch.no_grad():
        linear.weight.copy_(module.x_h_weight)
        norm_twin.weight.copy_(module.h_norm_weight)
        norm_twin.bias.copy_(module.h_norm_bias)
    return module, nn.Sequential(linear, norm_twin)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_normalisation_matches_torch_while_training_and_after(norm):
    module, twin = _dense_norm(norm)
    module.train()
    twin.train()
    for step in range(3):  # batch norm's running statistics follow the batches alike
        x = torch.randn(8, 6) * (step + 1) + step
        y, grad = input_grad(module, x)
        y_twin, grad_twin = input_grad(twin, x)
        same(y, y_twin, atol=1e-5)
        same(grad, grad_twin, atol=1e-5)
    if norm == "batch":
        same(module.h_running_mean, twin[1].running_mean)
        same(module.h_running_var, twin[1].running_var)
    module.eval()
    twin.eval()
    x = torch.randn(5, 6)
    with torch.no_grad():
        same(module(x), twin(x), atol=1e-5)


def test_batch_norm_of_a_grid_is_per_channel_as_batchnorm2d():
    graph = chain(Layer("x", "input", (1, 6, 6)), Layer("c", "neurons", (3, 4, 4), bias=False, norm="batch"),
                  connectivity={"c": Connectivity("local", 3, shared=True)})
    module = compile_graph(graph, seed=2)
    assert module.c_running_mean.shape == (3,)
    twin = nn.Sequential(nn.Conv2d(1, 3, 3, bias=False), nn.BatchNorm2d(3))
    with torch.no_grad():
        twin[0].weight.copy_(module.x_c_weight)
    module.train()
    x = torch.randn(5, 1, 6, 6)
    y, grad = input_grad(lambda v: module(v.reshape(5, -1)), x)
    y_twin, grad_twin = input_grad(lambda v: twin(v).flatten(1), x)
    same(y, y_twin, atol=1e-5)
    same(grad, grad_twin, atol=1e-5)
    same(module.c_running_var, twin[1].running_var)


def test_layer_norm_of_a_grid_normalises_the_whole_layer():
    graph = chain(Layer("x", "input", (2, 5, 5)), Layer("c", "neurons", (2, 5, 5), bias=False, norm="layer"),
                  connectivity={"c": Connectivity("local", 3, padding="same", shared=True)})
    module = compile_graph(graph, seed=2)
    assert module.c_norm_weight.shape == (2, 5, 5)
    twin = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, bias=False), nn.LayerNorm([2, 5, 5]))
    with torch.no_grad():
        twin[0].weight.copy_(module.x_c_weight)
        module.c_norm_weight.uniform_(0.5, 1.5)
        twin[1].weight.copy_(module.c_norm_weight)
    x = torch.randn(3, 2, 5, 5)
    y, grad = input_grad(lambda v: module(v.reshape(3, -1)), x)
    y_twin, grad_twin = input_grad(lambda v: twin(v).flatten(1), x)
    same(y, y_twin, atol=1e-5)
    same(grad, grad_twin, atol=1e-5)


def test_batch_norm_statistics_are_named_weights_that_reload():
    module, _ = _dense_norm("batch")
    module.train()
    for _ in range(4):
        module(torch.randn(16, 6) + 3.0)
    weights = module.named_weights()
    assert {"h.norm_weight", "h.norm_bias", "h.running_mean", "h.running_var"} <= set(weights)
    assert weights["h.running_mean"].shape == (5,)
    reloaded = compile_graph(chain(Layer("x", "input", (6,)),
                                   Layer("h", "neurons", (5,), bias=False, norm="batch")), weights=weights)
    same(reloaded.h_running_mean, module.h_running_mean)
    x = torch.randn(4, 6)
    module.eval()
    with torch.no_grad():
        same(reloaded(x), module(x))
    # the statistics are saved, not trained: no gradient, no penalty, not counted as parameters
    names = {name for name, _ in reloaded.named_parameters()}
    assert "h_running_mean" not in names and "h_norm_weight" in names


def test_batch_norm_in_a_sequence_design_is_refused():
    graph = chain(Layer("x", "input", (2,)), Layer("h", "neurons", (4,), activation="tanh", norm="batch"),
                  Layer("y", "neurons", (1,)))
    graph.connect("h", "h")
    problems = [p for p in validate(graph) if p.severity == "error"]
    assert [p.layer_id for p in problems] == ["h"] and "layer normalisation" in problems[0].message


# ---------------------------------------------------------------- dropout
def _dropout_design(p: float) -> Graph:
    return chain(Layer("x", "input", (6,)), Layer("h", "neurons", (32,), activation="relu", dropout=p),
                 Layer("y", "neurons", (2,)))


def test_dropout_is_off_at_evaluation_and_torch_dropout_while_training():
    module = compile_graph(_dropout_design(0.5), seed=4)
    plain = compile_graph(_dropout_design(0.0), weights=module.named_weights())
    x = torch.randn(10, 6)
    assert not module.training  # compiled ready to predict
    with torch.no_grad():
        same(module(x), plain(x))
    twin = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 2))
    with torch.no_grad():
        twin[0].weight.copy_(module.x_h_weight)
        twin[0].bias.copy_(module.h_bias)
        twin[3].weight.copy_(module.h_y_weight)
        twin[3].bias.copy_(module.y_bias)
    module.train()
    twin.train()
    torch.manual_seed(11)
    y = module(x)
    torch.manual_seed(11)
    same(y, twin(x))
    assert not torch.allclose(y, plain(x))


def test_dropout_on_the_output_layer_is_refused():
    graph = chain(Layer("x", "input", (2,)), Layer("y", "neurons", (1,), dropout=0.2))
    [problem] = validate(graph)
    assert problem.layer_id == "y" and "output layer" in problem.message


def test_dropout_of_a_recurrent_layer_leaves_its_state_whole():
    """nn.LSTM's dropout: the values passed on are dropped, the state carried to the next step is not."""
    graph = chain(Layer("x", "input", (3,)), Layer("l", "lstm", (8,), dropout=0.5), Layer("y", "neurons", (2,)))
    module = compile_graph(graph, seed=5)
    assert "F.dropout(v_l" in module.source
    loop = module.source.split("for t in range(T):")[1]
    state_line = next(line for line in loop.splitlines() if line.strip().startswith("s_l ="))
    assert state_line.strip() == "s_l = v_l"  # the undropped value


# ---------------------------------------------------------------- activations
ACTIVATIONS = {
    "leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(), "gelu": nn.GELU(), "softplus": nn.Softplus(),
    "silu": nn.SiLU(), "hard_sigmoid": nn.Hardsigmoid(),
}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_matches_torch(activation):
    graph = chain(Layer("x", "input", (4,)), Layer("h", "neurons", (3,), activation=activation, slope=0.2),
                  Layer("y", "neurons", (1,)))
    module = compile_graph(graph, seed=6)
    first = nn.Linear(4, 3)
    with torch.no_grad():
        first.weight.copy_(module.x_h_weight)
        first.bias.copy_(module.h_bias)
        module.h_y_weight.fill_(0.5)
    twin = nn.Sequential(first, ACTIVATIONS[activation], nn.Linear(3, 1))
    with torch.no_grad():
        twin[2].weight.fill_(0.5)
        twin[2].bias.copy_(module.y_bias)
    x = torch.randn(64, 4) * 3
    y, grad = input_grad(module, x)
    y_twin, grad_twin = input_grad(twin, x)
    same(y, y_twin)
    same(grad, grad_twin)


def test_sign_is_minus_one_or_one_and_trains_with_tanh_slope():
    graph = chain(Layer("x", "input", (1,)), Layer("y", "neurons", (1,), activation="sign", bias=False))
    module = compile_graph(graph, seed=0)
    with torch.no_grad():
        module.x_y_weight.fill_(1.0)
    z = torch.tensor([[-2.0], [-0.0], [0.5], [3.0]], requires_grad=True)
    y = module(z)
    assert y.flatten().tolist() == [-1.0, -1.0, 1.0, 1.0]
    y.sum().backward()
    same(z.grad, 1 - torch.tanh(z.detach()) ** 2)


# ---------------------------------------------------------------- initialisation
INITS = {
    "xavier_uniform": lambda w, g: nn.init.xavier_uniform_(w, generator=g),
    "xavier_normal": lambda w, g: nn.init.xavier_normal_(w, generator=g),
    "he_uniform": lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
    "he_normal": lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    "orthogonal": lambda w, g: nn.init.orthogonal_(w, generator=g),
    "zeros": lambda w, g: nn.init.zeros_(w),
    "constant": lambda w, g: nn.init.constant_(w, 0.25),
}


@pytest.mark.parametrize("init", sorted(INITS))
@pytest.mark.parametrize("connectivity", ["dense", "convolution"])
def test_initialisation_matches_torch_init(init, connectivity):
    if connectivity == "dense":
        graph = chain(Layer("x", "input", (5,)), Layer("y", "neurons", (7,), bias=False))
        shape = (7, 5)
    else:
        graph = chain(Layer("x", "input", (2, 6, 6)), Layer("y", "neurons", (4, 4, 4), bias=False),
                      connectivity={"y": Connectivity("local", 3, shared=True)})
        shape = (4, 2, 3, 3)
    graph.update_connection("x-y", init=(init, 0.25))
    assert graph.connection("x-y").to_dict()["init"] == init
    module = compile_graph(graph, seed=9)
    expected = INITS[init](torch.empty(shape), torch.Generator().manual_seed(9))
    same(module.x_y_weight.detach(), expected)


def test_unshared_local_he_start_has_he_spread_per_neuron():
    graph = chain(Layer("x", "input", (3, 20, 20)), Layer("y", "neurons", (8, 16, 16), bias=False),
                  connectivity={"y": Connectivity("local", 5)})
    graph.update_connection("x-y", init=("he_normal", 0.0))
    weights = compile_graph(graph, seed=1).named_weights()["x-y.weight"]
    assert weights.shape == (8, 16, 16, 3, 5, 5)
    assert weights.std() == pytest.approx(math.sqrt(2 / (3 * 25)), rel=0.02)


def test_recurrent_weights_can_start_orthogonal():
    graph = chain(Layer("x", "input", (2,)), Layer("g", "gru", (6,), init="orthogonal"), Layer("y", "neurons", (1,)))
    w = torch.from_numpy(compile_graph(graph, seed=3).named_weights()["g.weight_hh"])  # [3 * 6, 6]
    same(w.T @ w, torch.eye(6), atol=1e-5)


def test_default_start_is_unchanged_by_the_library():
    """Designs that name no initialisation start where they always did (nn.Linear's uniform bound)."""
    graph = chain(Layer("x", "input", (5,)), Layer("y", "neurons", (7,), bias=False))
    generator = torch.Generator().manual_seed(9)
    expected = torch.empty(7, 5).uniform_(-1 / math.sqrt(5), 1 / math.sqrt(5), generator=generator)
    same(compile_graph(graph, seed=9).x_y_weight.detach(), expected)

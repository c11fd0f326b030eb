"""The layer library against torch.nn: each new part, compiled, beside the torch.nn layer it stands for.

For every part (pooling, batch and layer normalisation, dropout, the new activations) a small design
isolates it (input -> part, or input -> part -> dense where the part may not be the output) and an
``nn.Sequential`` twin computes the same thing with ``nn.Linear``/``nn.Conv2d``/``nn.MaxPool2d``/
``nn.BatchNorm1d``/... holding the very same weights. Both run in training mode.

Prints, per part: the largest difference between the two outputs (and, for information, between the
gradients of their weights, or of the input where the part has no weights), then the time of one
forward + backward (loss = output.sum(), gradients cleared before each step) of each and their ratio.
Steps run alternately, compiled, twin, twin, compiled, ...; each round's times are the medians of its
steps, its ratio the median of the ratios of neighbouring steps, and the figures printed are medians
over the rounds: the machine is shared and noisy, so only steps measured side by side are compared.

The issue's target: same outputs (<= 1e-6) and a ratio of at most 1.1. The exit status is 1 if an output
differs by more than 1e-5 (float rounding of an equivalent but differently ordered sum stays well below);
timings are reported, never fail the script.

    .venv/bin/python benchmarks/bench_layers.py [--threads 1] [--rounds 11] [--block 0.4] [--only NAME]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.compiler import compile_graph  # noqa: E402
from designer.graph import Connectivity, Graph, Layer, local_target_shape  # noqa: E402

BATCH = 64
TARGET_DIFF = 1e-6  # the issue's figure
FAIL_DIFF = 1e-5  # beyond this the script fails
TARGET_RATIO = 1.1


def chain(*layers: Layer, connectivity: dict | None = None) -> Graph:
    """Layers joined one after the other; ``connectivity`` by target id (dense otherwise)."""
    graph = Graph()
    for layer in layers:
        graph.add_layer(layer)
    for source, target in zip(layers, layers[1:]):
        graph.connect(source.id, target.id, (connectivity or {}).get(target.id))
    return graph


@dataclass
class Case:
    name: str
    compiled: nn.Module
    twin: nn.Module
    x: torch.Tensor  # the batch both take
    seeded: bool = False  # random (dropout): seed torch alike before each of the two checked forwards


def _copy(dst: torch.Tensor, src: torch.Tensor) -> None:
    with torch.no_grad():
        dst.copy_(src.detach().reshape(dst.shape))


# ---------------------------------------------------------------- the parts
def pooling(pool: str, dims: int) -> Case:
    """2x2 stride 2 on [64, 16, 28, 28] (nn.MaxPool2d/AvgPool2d), or 2 stride 2 on [64, 12544] (…1d)."""
    shape = (16, 28, 28) if dims == 2 else (16 * 28 * 28,)
    connectivity = Connectivity("local", 2, 2, pool=pool)
    graph = chain(Layer("x", "input", shape),
                  Layer("p", "neurons", local_target_shape(shape, connectivity), bias=False),
                  connectivity={"p": connectivity})
    layer = {("max", 2): nn.MaxPool2d(2, 2), ("mean", 2): nn.AvgPool2d(2, 2),
             ("max", 1): nn.MaxPool1d(2, 2), ("mean", 1): nn.AvgPool1d(2, 2)}[pool, dims]
    # nn.MaxPool1d wants [batch, channels, length]: one channel, as the design sees a flat layer
    grid = (BATCH, *shape) if dims == 2 else (BATCH, 1, *shape)
    x = torch.randn(grid).requires_grad_(True)  # pooling learns nothing: the gradient is the input's
    what = f"{pool} pool {dims}-D 2/2 " + ("[16,28,28]" if dims == 2 else "[12544]")
    return Case(what, compile_graph(graph, seed=0), nn.Sequential(layer, nn.Flatten()), x)


def dense_norm(norm: str) -> Case:
    """dense 256 -> 256 (no bias: the norm's shift makes it redundant), then batch or layer norm."""
    graph = chain(Layer("x", "input", (256,)), Layer("h", "neurons", (256,), bias=False, norm=norm))
    module = compile_graph(graph, seed=1)
    with torch.no_grad():  # not the identity they start as, so that a swapped scale and shift would show
        module.h_norm_weight.copy_(torch.linspace(0.5, 2.0, 256))
        module.h_norm_bias.copy_(torch.linspace(-1.0, 1.0, 256))
    linear = nn.Linear(256, 256, bias=False)
    twin_norm = nn.BatchNorm1d(256) if norm == "batch" else nn.LayerNorm(256)
    _copy(linear.weight, module.x_h_weight)
    _copy(twin_norm.weight, module.h_norm_weight)
    _copy(twin_norm.bias, module.h_norm_bias)
    return Case(f"{norm} norm, dense 256->256", module, nn.Sequential(linear, twin_norm), torch.randn(BATCH, 256))


def conv_batch_norm() -> Case:
    """3x3 'same' convolution 16 -> 16 channels on 28x28 (no bias), then batch norm per channel."""
    graph = chain(Layer("x", "input", (16, 28, 28)), Layer("c", "neurons", (16, 28, 28), bias=False, norm="batch"),
                  connectivity={"c": Connectivity("local", 3, 1, "same", shared=True)})
    module = compile_graph(graph, seed=2)
    with torch.no_grad():
        module.c_norm_weight.copy_(torch.linspace(0.5, 2.0, 16))
        module.c_norm_bias.copy_(torch.linspace(-1.0, 1.0, 16))
    conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(16)
    _copy(conv.weight, module.x_c_weight)
    _copy(bn.weight, module.c_norm_weight)
    _copy(bn.bias, module.c_norm_bias)
    return Case("batch norm, conv 3x3 16ch 28x28", module, nn.Sequential(conv, bn, nn.Flatten()),
                torch.randn(BATCH, 16, 28, 28))


def dropout() -> Case:
    """dense 256 -> 256 relu with dropout 0.5 -> dense 256 (dropout may not be on the output layer)."""
    graph = chain(Layer("x", "input", (256,)), Layer("h", "neurons", (256,), activation="relu", dropout=0.5),
                  Layer("y", "neurons", (256,)))
    module = compile_graph(graph, seed=3)
    twin = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 256))
    _copy(twin[0].weight, module.x_h_weight)
    _copy(twin[0].bias, module.h_bias)
    _copy(twin[3].weight, module.h_y_weight)
    _copy(twin[3].bias, module.y_bias)
    return Case("dropout 0.5, dense 256->256->256", module, twin, torch.randn(BATCH, 256), seeded=True)


class _SignFunction(torch.autograd.Function):
    """What a PyTorch user writes for a trainable sign (torch.nn has none): -1/+1, tanh's slope backward."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return torch.where(z > 0, 1.0, -1.0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * (1 - torch.tanh(z) ** 2)


class Sign(nn.Module):
    def forward(self, z):
        return _SignFunction.apply(z)


ACTIVATIONS = {
    "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU, "gelu": nn.GELU, "softplus": nn.Softplus,
    "silu": nn.SiLU, "hard_sigmoid": nn.Hardsigmoid, "sign": Sign,
}


def activation(name: str) -> Case:
    """dense 256 -> 256 with the activation, as the output layer: input -> part."""
    graph = chain(Layer("x", "input", (256,)), Layer("h", "neurons", (256,), activation=name, slope=0.2))
    module = compile_graph(graph, seed=4)
    linear = nn.Linear(256, 256)
    _copy(linear.weight, module.x_h_weight)
    _copy(linear.bias, module.h_bias)
    return Case(f"{name}, dense 256->256", module, nn.Sequential(linear, ACTIVATIONS[name]()),
                torch.randn(BATCH, 256) * 2)


def cases() -> list[Callable[[], Case]]:
    out: list[Callable[[], Case]] = []
    for dims in (2, 1):
        for pool in ("max", "mean"):
            out.append(lambda pool=pool, dims=dims: pooling(pool, dims))
    out += [lambda: dense_norm("batch"), conv_batch_norm, lambda: dense_norm("layer"), dropout]
    out += [lambda name=name: activation(name) for name in ACTIVATIONS]
    return out


# ---------------------------------------------------------------- checking and timing
def _grads(module: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    grads = [p.grad for p in module.parameters()]
    return grads if grads else [x.grad]


def _clear(module: nn.Module, x: torch.Tensor) -> None:
    for p in module.parameters():
        p.grad = None
    x.grad = None


def differences(case: Case) -> tuple[float, float]:
    """Largest |compiled - twin| of the outputs, and of the gradients of a forward + backward."""
    results = []
    for module in (case.compiled, case.twin):
        _clear(module, case.x)
        if case.seeded:
            torch.manual_seed(1234)
        y = module(case.x)
        y.sum().backward()
        results.append((y.detach().flatten(1), [g.clone() for g in _grads(module, case.x)]))
        _clear(module, case.x)
    (y_a, g_a), (y_b, g_b) = results
    if y_a.shape != y_b.shape:
        raise AssertionError(f"{case.name}: output shapes {list(y_a.shape)} and {list(y_b.shape)}")
    # paired by shape, ties in the order held: the design holds its layers' tensors (bias, norm weight,
    # norm bias) before its connections' weights, and every twin holds weight before bias, first layer first
    g_a = sorted(g_a, key=lambda g: (tuple(g.shape), g.numel()))
    g_b = sorted(g_b, key=lambda g: (tuple(g.shape), g.numel()))
    grad_diff = 0.0
    for a, b in zip(g_a, g_b, strict=True):
        grad_diff = max(grad_diff, (a - b.reshape(a.shape)).abs().max().item())
    return (y_a - y_b).abs().max().item(), grad_diff


def _order_grads(case: Case) -> None:
    """Check the gradient pairing above is by like tensors: the same multiset of parameter shapes."""
    shapes = sorted(tuple(p.shape) for p in case.compiled.parameters())
    twin = sorted(tuple(p.shape) for p in case.twin.parameters())
    if shapes != twin:
        raise AssertionError(f"{case.name}: parameters {shapes} against the twin's {twin}")


def timed(case: Case, rounds: int, block: float) -> tuple[float, float, float]:
    """Median seconds per forward + backward of compiled and twin, and the median per-round ratio."""

    def stepper(module):
        x = case.x

        def step():
            _clear(module, x)
            module(x).sum().backward()
        return step

    steps = {"compiled": stepper(case.compiled), "twin": stepper(case.twin)}
    for step in steps.values():  # warm up: allocator, kernels, first calls
        for _ in range(3):
            step()
    start = time.perf_counter()
    for step in steps.values():
        step()
    one = (time.perf_counter() - start) / 2
    pairs = max(3, min(100, round(block / 2 / max(one, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in steps}
    ratios = []
    for _ in range(rounds):
        # step by step, compiled twin twin compiled ...: neighbours share the machine's load of the moment
        block_times: dict[str, list[float]] = {name: [] for name in steps}
        for i in range(pairs):
            for name in (("compiled", "twin") if i % 2 == 0 else ("twin", "compiled")):
                begun = time.perf_counter()
                steps[name]()
                block_times[name].append(time.perf_counter() - begun)
        for name, values in block_times.items():
            times[name].append(statistics.median(values))
        # the round's ratio: the median of its neighbours' ratios, steadier than a ratio of medians on a
        # machine whose load changes from one step to the next
        ratios.append(statistics.median(a / b for a, b in zip(block_times["compiled"], block_times["twin"])))
    return statistics.median(times["compiled"]), statistics.median(times["twin"]), statistics.median(ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier numbers)")
    parser.add_argument("--rounds", type=int, default=11, help="alternating rounds per part (default 11)")
    parser.add_argument("--block", type=float, default=0.4, help="seconds of steps per round (default 0.4)")
    parser.add_argument("--only", default="", help="run the parts whose name contains this")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, cpu, {torch.get_num_threads()} thread(s), batch {BATCH}, training mode; "
          f"forward + backward, median of {args.rounds} alternating rounds")
    print(f"{'part':<34} {'max |diff|':>10} {'grad diff':>10} {'compiled':>10} {'twin':>10} {'ratio':>6}")
    failed, slow = [], []
    started = time.perf_counter()
    for make in cases():
        case = make()
        if args.only and args.only not in case.name:
            continue
        case.compiled.train()
        case.twin.train()
        _order_grads(case)
        diff, grad_diff = differences(case)
        compiled, twin, ratio = timed(case, args.rounds, args.block)
        marks = ("!" if diff > TARGET_DIFF else " ") + ("*" if ratio > TARGET_RATIO else " ")
        print(f"{case.name:<34} {diff:>10.2e} {grad_diff:>10.2e} {compiled * 1e3:>8.3f}ms {twin * 1e3:>8.3f}ms "
              f"{ratio:>6.3f} {marks}", flush=True)
        if diff > FAIL_DIFF:
            failed.append(case.name)
        if ratio > TARGET_RATIO:
            slow.append(case.name)
    print(f"({time.perf_counter() - started:.0f} s) target: max |diff| <= {TARGET_DIFF:g} (! above), "
          f"ratio compiled / twin <= {TARGET_RATIO} (* above); grad diff is for information")
    if slow:
        print(f"above {TARGET_RATIO}x (reported, not failed): {', '.join(slow)}")
    if failed:
        print(f"FAILED: outputs differ by more than {FAIL_DIFF:g}: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

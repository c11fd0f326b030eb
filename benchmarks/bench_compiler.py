"""How fast compiled designs train, against hand-written PyTorch measured in the same process.

Prints, as medians over interleaved repeats (the machine is shared and noisy):

1. compiled MLPs (2-64-64-1 and 784-256-10), forward + backward at batch 128, against an
   ``nn.Sequential`` holding the same weights (target: at most 1.05x);
2. an unshared local connection 28x28 -> 26x26 with a 3x3 window at batch 128, forward + backward,
   against ``conv2d`` of the same shape (target: at most 2x) and against a dense weight matrix
   multiplied by the mask of the local links (target: at most 0.7x);
3. parameters of an unshared 3x3 local connection on a 64x64 grid, against 9 x target neurons +
   biases (target: at most 1.1x);
4. for information, a self-looping layer over 20 steps against ``nn.RNN`` (no target).

Run: ``.venv/bin/python benchmarks/bench_compiler.py [--threads N] [--repeats N] [--device cpu|cuda]``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from designer.compiler import compile_graph
from designer.graph import Connectivity, Graph, Layer, local_links


def mlp_graph(sizes, activations):
    graph = Graph()
    ids = [f"l{i}" for i in range(len(sizes))]
    graph.add_layer(Layer(ids[0], "input", (sizes[0],)))
    for lid, size, act in zip(ids[1:], sizes[1:], activations):
        graph.add_layer(Layer(lid, "neurons", (size,), activation=act))
    for a, b in zip(ids, ids[1:]):
        graph.connect(a, b)
    return graph


def sequential_like(module, sizes, activations):
    """The hand-written equivalent: nn.Linear and activation modules, loaded with the module's weights."""
    parts = []
    weights = module.named_weights()
    for i, (n_in, n_out, act) in enumerate(zip(sizes, sizes[1:], activations)):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[f"l{i}-l{i + 1}.weight"]))
            linear.bias.copy_(torch.from_numpy(weights[f"l{i + 1}.bias"]))
        parts.append(linear)
        parts.append({"tanh": nn.Tanh(), "relu": nn.ReLU(), "linear": nn.Identity()}[act])
    if isinstance(parts[-1], nn.Identity):
        parts.pop()
    return nn.Sequential(*parts)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_step(fn, params, device, iterations):
    sync(device)
    start = time.perf_counter()
    for _ in range(iterations):
        for p in params:
            p.grad = None
        fn().sum().backward()
    sync(device)
    return (time.perf_counter() - start) / iterations


def compare(candidates, device, repeats, iterations):
    """Median seconds per forward+backward of each candidate, timed interleaved; and per-repeat ratios."""
    for fn, params in candidates.values():  # warm up (allocator, kernels, first-call costs)
        time_step(fn, params, device, max(3, iterations // 5))
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, (fn, params) in candidates.items():
            times[name].append(time_step(fn, params, device, iterations))
    return times


def ratio(times, a, b):
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier numbers)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} thread(s), "
          f"median of {args.repeats} interleaved repeats, forward + backward at batch 128")

    # 1. MLPs against nn.Sequential
    for sizes, acts, iterations in (([2, 64, 64, 1], ["tanh", "tanh", "linear"], 400),
                                    ([784, 256, 10], ["relu", "linear"], 60)):
        module = compile_graph(mlp_graph(sizes, acts), seed=0)
        seq = sequential_like(module, sizes, acts).to(device)
        module = module.to(device)
        x = torch.randn(128, sizes[0], device=device)
        torch.testing.assert_close(module(x), seq(x))
        times = compare({"compiled": (lambda: module(x), list(module.parameters())),
                         "sequential": (lambda: seq(x), list(seq.parameters()))}, device, args.repeats, iterations)
        name = "-".join(map(str, sizes))
        print(f"MLP {name:>12}: compiled {statistics.median(times['compiled']) * 1e6:8.1f} us, "
              f"nn.Sequential {statistics.median(times['sequential']) * 1e6:8.1f} us, "
              f"ratio {ratio(times, 'compiled', 'sequential'):.3f} (target <= 1.05)")

    # 2. unshared local 28x28 -> 26x26, 3x3, against conv2d and a dense masked matrix
    connectivity = Connectivity("local", (3,), 1, "valid", False)
    graph = Graph()
    graph.add_layer(Layer("x", "input", (28, 28)))
    graph.add_layer(Layer("y", "neurons", (26, 26)))
    graph.connect("x", "y", connectivity)
    local = compile_graph(graph, seed=0).to(device)
    conv = nn.Conv2d(1, 1, 3).to(device)
    dense = nn.Linear(784, 676).to(device)
    mask = torch.zeros(676, 784)
    for t, s in local_links((28, 28), (26, 26), connectivity):
        mask[t, s] = 1.0
    mask = mask.to(device)
    for grad_input in (False, True):
        x = torch.randn(128, 28, 28, device=device, requires_grad=grad_input)
        x4 = x.view(128, 1, 28, 28)
        times = compare({
            "local": (lambda: local(x), list(local.parameters())),
            "conv2d": (lambda: conv(x4).flatten(1), list(conv.parameters())),
            "dense masked": (lambda: F.linear(x.flatten(1), dense.weight * mask, dense.bias),
                             list(dense.parameters())),
        }, device, args.repeats, 40)
        where = "hidden layer (input needs grad)" if grad_input else "first layer (input is data)"
        print(f"unshared local 28x28->26x26 3x3, {where}: local {statistics.median(times['local']) * 1e6:8.1f} us, "
              f"conv2d {statistics.median(times['conv2d']) * 1e6:8.1f} us, "
              f"dense masked {statistics.median(times['dense masked']) * 1e6:8.1f} us")
        print(f"    local / conv2d {ratio(times, 'local', 'conv2d'):.2f} (target <= 2), "
              f"local / dense masked {ratio(times, 'local', 'dense masked'):.3f} (target <= 0.7)")

    # 3. parameter growth on a 64x64 grid
    big = Graph()
    big.add_layer(Layer("x", "input", (64, 64)))
    big.add_layer(Layer("y", "neurons", (62, 62)))
    big.connect("x", "y", connectivity)
    params = sum(p.numel() for p in compile_graph(big, seed=0).parameters())
    budget = 9 * 62 * 62 + 62 * 62
    print(f"unshared local 64x64->62x62 3x3: {params:,} parameters, 9 x neurons + biases = {budget:,}, "
          f"ratio {params / budget:.3f} (target <= 1.1); a dense connection would hold {64 * 64 * 62 * 62:,}")

    # 4. (for information) an Elman RNN, 1 -> 32 tanh self-loop -> 1, 20 steps, against nn.RNN + nn.Linear
    rnn_graph = Graph()
    rnn_graph.add_layer(Layer("x", "input", (1,)))
    rnn_graph.add_layer(Layer("h", "neurons", (32,), activation="tanh"))
    rnn_graph.add_layer(Layer("y", "neurons", (1,)))
    for a, b in (("x", "h"), ("h", "h"), ("h", "y")):
        rnn_graph.connect(a, b)
    recurrent = compile_graph(rnn_graph, seed=0)
    w = {k: torch.from_numpy(v) for k, v in recurrent.named_weights().items()}
    rnn, head = nn.RNN(1, 32, batch_first=True), nn.Linear(32, 1)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(w["x-h.weight"])
        rnn.weight_hh_l0.copy_(w["h-h.weight"])
        rnn.bias_ih_l0.copy_(w["h.bias"])
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(w["h-y.weight"])
        head.bias.copy_(w["y.bias"])
    recurrent, rnn, head = recurrent.to(device), rnn.to(device), head.to(device)
    seq = torch.randn(128, 20, 1, device=device)
    torch.testing.assert_close(recurrent(seq), head(rnn(seq)[0][:, -1]))
    times = compare({"compiled": (lambda: recurrent(seq), list(recurrent.parameters())),
                     "nn.RNN": (lambda: head(rnn(seq)[0][:, -1]), list(rnn.parameters()) + list(head.parameters()))},
                    device, args.repeats, 40)
    print(f"Elman RNN 1-32-1, 20 steps (no target): compiled {statistics.median(times['compiled']) * 1e6:8.1f} us, "
          f"nn.RNN {statistics.median(times['nn.RNN']) * 1e6:8.1f} us, ratio {ratio(times, 'compiled', 'nn.RNN'):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

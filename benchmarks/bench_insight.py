"""Neuron pictures and gradient norms: what they cost against training, measured in one process.

- pictures: every neuron's picture over the input plane (``NeuronPictures.compute``: one batched trace over
  the grid, copied to numpy) for a design of 4 hidden layers of 64 tanh neurons on the spiral data (2
  inputs), against one epoch of training that design on the spiral (320 training samples, batch 16, adam).
  Required: at most one epoch's time. Then how it scales: the grid (32, 64, 128 per side, 64 neurons a
  layer) and the neurons (16, 64, 256 a layer, all pictured, 64x64 grid), each against its own epoch.
- gradient norms: the spiral example (2 -> 16 -> 16 -> 1) and the 4 x 64 design trained with
  ``gradient_norms=True`` against without (samples per second, interleaved repeats, medians).

One CPU thread, as the window's worker chooses for designs this small. Exit status 1 if pictures take
longer than an epoch.

    .venv/bin/python benchmarks/bench_insight.py [--repeats 7] [--epochs 10]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

from timing import median_seconds

from designer.compiler import compile_graph
from designer.graph import Graph, Layer
from designer.insight import NeuronPictures
from designer.project import read_project
from designer.training import TrainingConfig, prepare_project, train

SPIRAL = Path(__file__).resolve().parent.parent / "resources" / "examples" / "spiral.nnd"
REQUIRED = 1.0  # pictures / one epoch


def deep(width: int, layers: int = 4) -> Graph:
    graph = Graph()
    graph.add_layer(Layer("x", "input", (2,)))
    previous = "x"
    for i in range(1, layers + 1):
        graph.add_layer(Layer(f"h{i}", "neurons", (width,), activation="tanh"))
        graph.connect(previous, f"h{i}")
        previous = f"h{i}"
    graph.add_layer(Layer("out", "neurons", (1,), activation="sigmoid"))
    graph.connect(previous, "out")
    return graph


def epoch_seconds(graph: Graph, data, config: TrainingConfig, epochs: int, repeats: int) -> float:
    """The median time of one epoch (the run's own clock, over ``epochs`` epochs, per epoch)."""
    times = []
    for seed in range(repeats):
        run = train(compile_graph(graph, seed=seed), data, config.replace(epochs=epochs, seed=seed))
        times.append(run.seconds / epochs)
    return statistics.median(times)


def picture_seconds(graph: Graph, data, size: int, neurons: int, repeats: int) -> float:
    module = compile_graph(graph, seed=0).train()  # as the worker holds it: in training mode
    pictures = NeuronPictures(module, graph, data, size=size, max_neurons=neurons)
    pictures.compute()  # the grid goes to the module's device once
    return median_seconds(pictures.compute, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])  # the first optimizer imports torch._dynamo: not timed

    project = read_project(SPIRAL)
    prepared = prepare_project(project, device="cpu")
    data, config = prepared.dataset, prepared.config
    print(f"spiral: {len(data.x_train)} training samples, batch {config.batch_size}, {config.optimizer}, 1 thread, "
          f"torch {torch.__version__}")

    # ---- pictures against an epoch
    epochs = {width: epoch_seconds(deep(width), data, config, args.epochs, args.repeats) for width in (16, 64, 256)}
    base_epoch = epochs[64]
    base = picture_seconds(deep(64), data, 64, 64, args.repeats)
    ratio = base / base_epoch
    print(f"pictures, 4 x 64 tanh, 64x64 grid: {base * 1e3:7.2f} ms; one epoch {base_epoch * 1e3:7.2f} ms; "
          f"pictures / epoch {ratio:.3f} (required <= {REQUIRED})")
    print("  grid (64 neurons a layer)       time      x 64x64   / epoch")
    for size in (32, 64, 128):
        t = base if size == 64 else picture_seconds(deep(64), data, size, 64, args.repeats)
        print(f"  {size:4d} x {size:<4d}                 {t * 1e3:7.2f} ms  {t / base:6.2f}   {t / base_epoch:6.3f}")
    print("  neurons a layer (64x64 grid)    time      x 64      / its epoch")
    for width in (16, 64, 256):
        t = base if width == 64 else picture_seconds(deep(width), data, 64, width, args.repeats)
        print(f"  {width:4d}                          {t * 1e3:7.2f} ms  {t / base:6.2f}   {t / epochs[width]:6.3f}"
              f"   (epoch {epochs[width] * 1e3:.1f} ms)")

    # ---- gradient norms: with against without, interleaved
    for name, graph in (("the spiral example", project.graph), ("4 x 64 tanh", deep(64))):
        rates: dict[bool, list[float]] = {False: [], True: []}
        for repeat in range(2 * args.repeats + 1):  # the first round warms up
            for on in ((False, True) if repeat % 2 else (True, False)):
                run = train(compile_graph(graph, seed=repeat), data, config.replace(epochs=args.epochs, seed=repeat),
                            on_epoch=lambda stats: None, gradient_norms=on, graph=graph)
                if repeat:
                    rates[on].append(run.samples_per_second)
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        print(f"gradient norms, {name} ({args.epochs} epochs x {2 * args.repeats}): without {off:,.0f} "
              f"samples/s, with {on:,.0f}; with / without {on / off:.3f}")
    return 0 if ratio <= REQUIRED else 1


if __name__ == "__main__":
    sys.exit(main())

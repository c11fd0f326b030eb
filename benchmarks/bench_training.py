"""Training speed: NN Designer's engine against a plain hand-written PyTorch loop, on the spiral example.

Both sides train the same network (2 -> 16 tanh -> 16 tanh -> 1 sigmoid) on the same data with the
same batch size and optimizer, and do the same work per epoch: shuffle, every batch forward / loss /
backward / update with the loss read back, training accuracy, then validation loss and accuracy.
Only the training is timed (start-up, data and compiling excluded). Samples per second are the
median of interleaved repeats, in one process, on one CPU thread (as `nn-designer train` chooses for
a design this small).

- engine: ``designer.training.train`` on the module ``designer.compiler`` builds from the example;
- plain: a hand-written ``nn.Sequential`` and loop, as a PyTorch user would write it;
- plain, compiled module: the same hand-written loop around the compiled module (the loop's own cost).

The engine must reach at least 0.9 of the plain loop's samples per second. Exit status 1 if not.

    .venv/bin/python benchmarks/bench_training.py [--epochs 20] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from designer.compiler import compile_graph
from designer.project import read_project
from designer.training import prepare_project, train

SPIRAL = Path(__file__).resolve().parent.parent / "resources" / "examples" / "spiral.nnd"
REQUIRED = 0.9


def plain_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))


def plain_loop(model: nn.Module, data, epochs: int, batch_size: int, lr: float, seed: int) -> float:
    """A tutorial's loop with the engine's bookkeeping, and its economy (one sync per batch); samples/s."""
    x, y = data.x_train, data.y_train.float().reshape(-1, 1)
    xv, yv = data.x_val, data.y_val.float().reshape(-1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    n = len(x)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, correct = 0.0, torch.zeros((), dtype=torch.long)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            logits = model(x[index])
            loss = F.binary_cross_entropy_with_logits(logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            correct += ((logits.detach() > 0) == (y[index] > 0.5)).sum()  # read once per epoch
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            val_loss = F.binary_cross_entropy_with_logits(logits, yv).item()
            val_accuracy = ((logits > 0) == (yv > 0.5)).float().mean().item()
        del total, val_loss, val_accuracy
        correct = correct.item()
    return n * epochs / (time.perf_counter() - started)


class _Logits(nn.Module):
    """The compiled module seen through its logits, for the plain loop."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module.logits(x)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    project = read_project(SPIRAL)
    prepared = prepare_project(project, epochs=args.epochs, device="cpu")
    config, data = prepared.config, prepared.dataset
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])  # the first optimizer imports torch._dynamo: not timed

    results: dict[str, list[float]] = {"engine": [], "plain": [], "plain, compiled module": []}
    contenders = {
        "engine": lambda seed: train(compile_graph(project.graph, seed=seed), data, config).samples_per_second,
        "plain": lambda seed: plain_loop(plain_model(seed), data, args.epochs, config.batch_size,
                                         config.learning_rate, seed),
        "plain, compiled module": lambda seed: plain_loop(_Logits(compile_graph(project.graph, seed=seed)), data,
                                                          args.epochs, config.batch_size, config.learning_rate,
                                                          seed),
    }
    names = list(contenders)
    for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
        # rotate who goes first, so that no contender always gets the warmest (or coldest) turn
        for name in names[repeat % 3:] + names[:repeat % 3]:
            value = contenders[name](repeat)
            if repeat:
                results[name].append(value)

    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"spiral: {len(data.x_train)} samples, batch {config.batch_size}, {config.optimizer}, "
          f"{args.epochs} epochs x {args.repeats} repeats, 1 thread, torch {torch.__version__}")
    for name, value in median.items():
        spread = f"{min(results[name]):,.0f}-{max(results[name]):,.0f}"
        print(f"  {name:24s} {value:10,.0f} samples/s (median; range {spread})")
    ratio = median["engine"] / median["plain"]
    loop_ratio = median["engine"] / median["plain, compiled module"]
    print(f"engine / plain loop: {ratio:.3f} (required >= {REQUIRED})")
    print(f"engine / plain loop on the same compiled module: {loop_ratio:.3f}")
    return 0 if ratio >= REQUIRED else 1


if __name__ == "__main__":
    sys.exit(main())

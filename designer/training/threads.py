"""How many CPU threads a design deserves: intra-op threads help large designs and hurt small ones.

On small tensors every operation's hand-off between threads costs more than the work it splits, and
on a busy machine a thread that waits for a descheduled sibling stalls the whole batch: measured on
a shared 2-core machine, the spiral and shapes examples trained 5-8x faster on 1 thread than on 2.
"""
from __future__ import annotations

import torch

from designer.graph import GATES, GraphError, local_geometry, local_out_channels

#: below this many multiply-adds per batch, one thread is the faster choice
SMALL_BATCH_WORK = 4_000_000


def suggested_threads(graph, dataset, batch_size: int) -> int:
    """1 for a small design, else PyTorch's current setting (the caller applies it)."""
    steps = int(dataset.x_train.shape[1]) if dataset.is_sequence else 1
    work = multiply_adds(graph) * steps * batch_size
    return 1 if work < SMALL_BATCH_WORK else torch.get_num_threads()


def multiply_adds(graph) -> int:
    """Multiply-adds of one forward pass of one sample (one time step), from the design alone."""
    total = 0
    for conn in graph.connections.values():
        source, target = graph.layers.get(conn.source), graph.layers.get(conn.target)
        if source is None or target is None:
            continue
        if conn.connectivity.kind == "local":
            try:
                geo = local_geometry(source.shape, conn.connectivity)
                out_channels = local_out_channels(target.shape, geo, conn.connectivity.pool)
            except GraphError:
                continue  # validation reports it
            in_channels = 1 if conn.connectivity.pool else geo.in_channels  # pooling: each channel on its own
            total += out_channels * geo.positions * in_channels * geo.window_size
        else:
            total += GATES.get(target.kind, 1) * target.units * source.units
    for layer in graph.layers.values():
        if layer.kind in GATES:  # the gated layer's own hidden-to-hidden weights
            total += GATES[layer.kind] * layer.units * layer.units
    return total

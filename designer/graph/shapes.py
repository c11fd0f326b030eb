"""Shapes, links and parameter counts of connections.

A layer's shape is ``(units,)`` (a column of neurons), ``(height, width)`` or
``(channels, height, width)`` (a grid). A local connection slides its window over the grid
dimensions of its source; every target neuron sees all source channels inside its window.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .model import GATES, Connection, Connectivity, GraphError, Layer


def split_grid(shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """``(channels, spatial)`` of a shape: ``(4,)`` -> ``(1, (4,))``, ``(3, 8, 8)`` -> ``(3, (8, 8))``."""
    if len(shape) == 3:
        return shape[0], shape[1:]
    return 1, tuple(shape)


@dataclass(frozen=True)
class LocalGeometry:
    """Everything a local connection's code needs: per grid dimension window, stride, padding."""

    in_channels: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    window: tuple[int, ...]
    stride: int
    pad_before: tuple[int, ...]
    pad_after: tuple[int, ...]

    @property
    def window_size(self) -> int:
        return math.prod(self.window)

    @property
    def positions(self) -> int:
        return math.prod(self.out_spatial)


def local_geometry(source_shape: tuple[int, ...], connectivity: Connectivity) -> LocalGeometry:
    """Where a local connection's windows fall on the source grid.

    Raises :class:`GraphError` naming what does not fit (the window larger than the grid, a
    window with the wrong number of dimensions, a stride below 1, an unknown padding).
    """
    in_channels, spatial = split_grid(tuple(source_shape))
    window = connectivity.window_for(len(spatial))
    if len(window) != len(spatial):
        raise GraphError(
            f"window {list(connectivity.window)} has {len(connectivity.window)} dimensions, "
            f"the source grid {list(spatial)} has {len(spatial)}")
    if any(k < 1 for k in window):
        raise GraphError(f"window {list(window)} must be at least 1 in every dimension")
    stride = connectivity.stride
    if stride < 1:
        raise GraphError(f"stride must be at least 1, got {stride}")
    if connectivity.padding not in ("valid", "same"):
        raise GraphError(f"padding must be 'valid' or 'same', got {connectivity.padding!r}")
    out, before, after = [], [], []
    for n, k in zip(spatial, window):
        if connectivity.padding == "valid":
            if k > n:
                raise GraphError(f"a window of {list(window)} does not fit a source grid of {list(spatial)}; "
                                 f"use a smaller window or padding 'same'")
            o = (n - k) // stride + 1
            out.append(o)
            before.append(0)
            after.append(0)
        else:
            o = -(-n // stride)
            total = max((o - 1) * stride + k - n, 0)
            out.append(o)
            before.append(total // 2)
            after.append(total - total // 2)
    return LocalGeometry(in_channels, tuple(spatial), tuple(out), tuple(window), stride,
                         tuple(before), tuple(after))


def local_target_shape(source_shape: tuple[int, ...], connectivity: Connectivity,
                       channels: int = 1) -> tuple[int, ...]:
    """The shape a local connection's target must have, with ``channels`` output channels.

    A pooling connection keeps the source's channels (``channels`` is ignored): ``[3, 8, 8]`` pooled
    by 2x2 windows with stride 2 gives ``[3, 4, 4]``.
    """
    geo = local_geometry(source_shape, connectivity)
    if connectivity.pool:
        channels = geo.in_channels
        if channels > 1:
            return (channels, *geo.out_spatial)
        return geo.out_spatial
    if channels > 1:
        if len(geo.out_spatial) != 2:
            raise GraphError("several output channels need a 2-D source grid")
        return (channels, *geo.out_spatial)
    return geo.out_spatial


def local_out_channels(target_shape: tuple[int, ...], geo: LocalGeometry, pool: str = "") -> int:
    """Output channels of a local connection whose target has ``target_shape``.

    Raises :class:`GraphError` when the target's grid is not the one the window produces (for a
    pooling connection, ``pool``, the source's channels over that grid).
    """
    target_shape = tuple(target_shape)
    if pool:
        wanted = (geo.in_channels, *geo.out_spatial) if geo.in_channels > 1 else geo.out_spatial
        if target_shape == wanted or (geo.in_channels == 1 and target_shape == (1, *geo.out_spatial)):
            return geo.in_channels
        raise GraphError(f"{pool} pooling keeps the source's {geo.in_channels} channel"
                         f"{'' if geo.in_channels == 1 else 's'} over a grid of {list(geo.out_spatial)}, "
                         f"so the target's shape must be {list(wanted)}, not {list(target_shape)}")
    if target_shape == geo.out_spatial:
        return 1
    if len(geo.out_spatial) == 2 and len(target_shape) == 3 and target_shape[1:] == geo.out_spatial:
        return target_shape[0]
    raise GraphError(f"the window makes a grid of {list(geo.out_spatial)} but the target's shape is "
                     f"{list(target_shape)}")


def local_links(source_shape: tuple[int, ...], target_shape: tuple[int, ...],
                connectivity: Connectivity) -> list[tuple[int, int]]:
    """Every ``(target_index, source_index)`` link of a local connection (flat indices).

    Meant for drawing and for checking disabled links on small layers: it lists
    target neurons x window x source channels pairs.
    """
    geo = local_geometry(source_shape, connectivity)
    out_channels = local_out_channels(target_shape, geo, connectivity.pool)
    in_strides = _strides(geo.in_spatial)
    in_size = math.prod(geo.in_spatial)
    links = []
    positions = list(itertools.product(*[range(o) for o in geo.out_spatial]))
    offsets = list(itertools.product(*[range(k) for k in geo.window]))
    for co in range(out_channels):
        for p_index, pos in enumerate(positions):
            t = co * geo.positions + p_index
            for off in offsets:
                src = [p * geo.stride + o - b for p, o, b in zip(pos, off, geo.pad_before)]
                if any(c < 0 or c >= n for c, n in zip(src, geo.in_spatial)):
                    continue
                flat = sum(c * s for c, s in zip(src, in_strides))
                if connectivity.pool:  # each channel is pooled on its own
                    links.append((t, co * in_size + flat))
                    continue
                for ci in range(geo.in_channels):
                    links.append((t, ci * in_size + flat))
    return links


def _strides(spatial: tuple[int, ...]) -> tuple[int, ...]:
    strides = []
    acc = 1
    for n in reversed(spatial):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


def connection_weight_count(source: Layer, target: Layer, connection: Connection) -> int:
    """Trainable weights a connection holds (biases belong to layers)."""
    gates = GATES.get(target.kind, 1)
    if connection.connectivity.kind != "local":
        return gates * target.units * source.units
    if connection.connectivity.pool:
        return 0
    geo = local_geometry(source.shape, connection.connectivity)
    out_channels = local_out_channels(target.shape, geo)
    per_position = out_channels * geo.in_channels * geo.window_size
    if connection.connectivity.shared:
        return per_position
    return per_position * geo.positions


def norm_features(layer: Layer) -> tuple[int, ...]:
    """The shape of a normalised layer's scale and shift (and batch norm's running statistics).

    Batch normalisation keeps statistics per channel: per unit of a ``[units]`` column (as
    ``nn.BatchNorm1d``), per channel of a grid (``nn.BatchNorm2d``: one for ``[height, width]``).
    Layer normalisation scales and shifts every neuron (``nn.LayerNorm(shape)``). ``()`` without norm.
    """
    if layer.kind != "neurons" or layer.norm not in ("batch", "layer"):
        return ()
    if layer.norm == "layer":
        return tuple(layer.shape)
    if len(layer.shape) == 1:
        return (layer.shape[0],)
    return (layer.shape[0],) if len(layer.shape) == 3 else (1,)


def layer_parameter_count(layer: Layer) -> int:
    """Trainable parameters a layer holds itself: biases, normalisation's scale and shift, and the
    hidden-to-hidden weights of lstm/gru (batch norm's running statistics are not trained)."""
    if layer.kind == "neurons":
        features = norm_features(layer)
        return (layer.units if layer.bias else 0) + (2 * math.prod(features) if features else 0)
    if layer.kind in GATES:
        gates = GATES[layer.kind]
        n = gates * layer.units * layer.units
        if layer.bias:
            n += gates * layer.units * (2 if layer.kind == "gru" else 1)
        return n
    return 0

"""What each neuron computes, as small pictures: the engine under the canvas's neuron thumbnails.

Three kinds, chosen from the data (as the "what the network learned" view chooses its own):

- ``plane`` (two inputs per sample, no sequence): each neuron's *value* over the input plane, on a
  ``size`` x ``size`` grid over the data's bounds. Row ``i``, column ``j`` is the neuron at
  ``(x[j], y[i])`` of ``numpy.linspace`` over the bounds (both ends included): row = y, column = x,
  as the output map (``designer.ui.training.predictions``) is drawn. One batched ``trace`` computes
  every layer's pictures at once.
- ``images`` (a grid of inputs per sample): each neuron's incoming *weights* laid on its source's
  grid (:func:`weight_pictures`), and the validation images that drive it hardest
  (:func:`strongest_samples`).
- ``sequence``: each neuron's value at every time step of one validation sequence.

Big layers: only the first ``max_neurons`` neurons (flat indices, in the layer's ``[channel, row,
column]`` order) get a picture, unless :class:`NeuronPictures` is told which ones (``shown``); the
payload always says which (``"neurons"``).

Everything returned is numpy (copies, on the CPU) and plain Python values, safe to send to another
thread. Nothing here imports Qt.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from designer.graph import GATES, Connection, Graph, GraphError, local_geometry, local_out_channels

from .tracing import as_array, module_device, trace

#: the grid of a plane picture, per side (as the output map's)
GRID = 64
#: the neurons of one layer that get a picture, at most (the first ones)
MAX_NEURONS = 64
#: the strongest-activating samples kept per neuron
STRONGEST = 6
#: validation images searched for each neuron's strongest ones
SAMPLES = 512
#: the margin around the data's range on the plane, as a share of the range
MARGIN = 0.1
#: which gate's input weights an lstm/gru unit's weight picture shows: the candidate value (LSTM's g, GRU's n)
PICTURE_GATE = {"lstm": 2, "gru": 2}


# ---------------------------------------------------------------------------------------------- the design
def taking_part(graph: Graph) -> list[str]:
    """The layers that compute something for the output, in the order they run (the input first).

    As the compiler decides: reached from the input and leading to the output.
    """
    flow = graph.flow()
    if not flow.outputs:
        return []
    into: dict[str, list[str]] = {lid: [] for lid in graph.layers}
    for conn in graph.connections.values():
        if conn.target in into:
            into[conn.target].append(conn.source)
    leads, todo = {flow.outputs[0]}, [flow.outputs[0]]
    while todo:
        for source in into[todo.pop()]:
            if source in graph.layers and source not in leads:
                leads.add(source)
                todo.append(source)
    return [lid for lid in flow.order if lid in leads and lid in flow.reachable]


def picture_layers(graph: Graph) -> list[str]:
    """The layers whose neurons get pictures: every layer that takes part, but the input."""
    return [lid for lid in taking_part(graph) if graph.layers[lid].kind != "input"]


# ---------------------------------------------------------------------------------------------- the plane
def plane_bounds(points: Any, margin: float = MARGIN) -> tuple[float, float, float, float]:
    """``(x_low, x_high, y_low, y_high)``: the points' range (``[n, 2]``) with ``margin`` of it on each side
    (at least 1e-3), as the output map uses."""
    xy = as_array(points).reshape(-1, 2).astype(np.float64)
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = np.maximum((high - low) * margin, 1e-3)
    low, high = low - pad, high + pad
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def plane_grid(bounds: Sequence[float], size: int = GRID) -> np.ndarray:
    """The ``[size * size, 2]`` float32 points of a plane picture: row-major, row = y, column = x."""
    x_low, x_high, y_low, y_high = (float(b) for b in bounds)
    xx, yy = np.meshgrid(np.linspace(x_low, x_high, size, dtype=np.float32),
                         np.linspace(y_low, y_high, size, dtype=np.float32))
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def plane_pictures(module: torch.nn.Module, graph: Graph, bounds: Sequence[float], size: int = GRID,
                   max_neurons: int = MAX_NEURONS) -> dict[str, np.ndarray]:
    """Each neuron's value over the input plane: ``{layer id: float32 [neurons, size, size]}``.

    For a feed-forward design with two inputs. ``bounds`` is ``(x_low, x_high, y_low, y_high)``
    (:func:`plane_bounds`); picture ``[k, i, j]`` is neuron ``k`` at ``(x[j], y[i])`` of the grid
    (:func:`plane_grid`). Every layer that takes part but the input gets one, for its first
    ``max_neurons`` neurons; one batched ``module.trace`` over the ``size * size`` points computes all
    of them (in evaluation mode, without gradients; the module's mode is restored).
    """
    layers = picture_layers(graph)
    grid = torch.from_numpy(plane_grid(bounds, size))
    values = trace(module, grid.reshape(size * size, *module.input_shape), layers, limit=max_neurons)["values"]
    return {lid: _plane(values[lid], size) for lid in layers if lid in values}


def _plane(values: np.ndarray, size: int) -> np.ndarray:
    """``[size * size, neurons]`` -> ``[neurons, size, size]``."""
    return np.ascontiguousarray(values.reshape(size * size, -1).T).reshape(-1, size, size)


# ---------------------------------------------------------------------------------------------- weights
def picture_connection(graph: Graph, layer_id: str, connection_id: str | None = None) -> Connection:
    """The connection whose weights a layer's weight pictures show.

    ``connection_id`` if given (it must come into ``layer_id`` and hold weights); otherwise the first
    incoming connection, in drawing order, that holds weights and feeds forward (a recurrent one only
    when there is no other). Raises :class:`GraphError` when there is none (an input layer, a layer fed
    only by pooling).
    """
    graph.layer(layer_id)
    if connection_id is not None:
        conn = graph.connection(connection_id)
        if conn.target != layer_id:
            raise GraphError(f"connection {connection_id!r} does not lead into layer {layer_id!r}")
        if conn.connectivity.is_pool:
            raise GraphError(f"connection {connection_id!r} pools its window ({conn.connectivity.pool}): "
                             f"it has no weights to show")
        return conn
    weighted = [c for c in graph.incoming(layer_id) if not c.connectivity.is_pool and c.source in graph.layers]
    recurrent = graph.flow().recurrent
    forward = [c for c in weighted if c.id not in recurrent]
    if forward or weighted:
        return (forward or weighted)[0]
    raise GraphError(f"layer {layer_id!r} has no incoming connection with weights to show")


def weight_pictures(graph: Graph, weights: Mapping[str, Any], layer_id: str, connection_id: str | None = None,
                    neurons: int | None = None) -> np.ndarray:
    """Each neuron's incoming weights laid on its source's grid: float32 ``[neurons, H, W]``.

    From the weights by file name (``module.named_weights()``, or a project's weights); no module is
    needed. The connection is ``connection_id``, or the one :func:`picture_connection` picks. ``H, W``
    is the source's grid: ``[H, W]`` for a ``[H, W]`` or ``[C, H, W]`` source, ``[1, n]`` for a column
    of ``n`` neurons or a 1-D grid.

    - dense: every source neuron's weight at its place; a ``[C, H, W]`` source shows the *mean over its
      channels* at each place;
    - local (shared or not): the neuron's window of weights placed where the window sits on the source
      grid (its stride and padding applied), the mean over the source's channels; NaN elsewhere, and
      taps that fall on the padding are dropped.

    NaN wherever the neuron has no link: outside its window, and at disabled links (a channel's
    disabled link leaves the mean of the others). An lstm/gru unit shows the weights of its candidate
    gate (LSTM ``g``, GRU ``n``). ``neurons`` keeps only the first so many.
    """
    conn = picture_connection(graph, layer_id, connection_id)
    source, target = graph.layers[conn.source], graph.layers[layer_id]
    try:
        raw = weights[f"{conn.id}.weight"]
    except KeyError:
        raise GraphError(f"the weights have no tensor '{conn.id}.weight' for connection {conn.id!r}; "
                         f"train the design first") from None
    w = as_array(raw).astype(np.float32, copy=False)
    count = target.units if neurons is None else max(0, min(int(neurons), target.units))
    if conn.connectivity.kind == "local":
        return _local_pictures(conn, source.shape, target.shape, w, count)
    return _dense_pictures(conn, source.shape, target, w, count)


def _dense_pictures(conn: Connection, source_shape: tuple[int, ...], target, w: np.ndarray,
                    count: int) -> np.ndarray:
    units = target.units
    if target.kind in GATES:  # [gates * units, source]: one gate's rows
        gate = PICTURE_GATE[target.kind]
        w = w[gate * units:(gate + 1) * units]
    w = np.array(w[:count], dtype=np.float32).reshape(count, -1)
    for t, s in conn.disabled:
        if t < count:
            w[t, s] = np.nan
    if len(source_shape) == 3:
        return _channel_mean(w.reshape(count, *source_shape), axis=1)
    if len(source_shape) == 2:
        return w.reshape(count, *source_shape)
    return w.reshape(count, 1, -1)


def _channel_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """The mean over ``axis`` of the values that are not NaN; NaN where all are."""
    present = ~np.isnan(values)
    total = np.where(present, values, 0.0).sum(axis=axis)
    n = present.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan).astype(np.float32)


def _local_pictures(conn: Connection, source_shape: tuple[int, ...], target_shape: tuple[int, ...],
                    w: np.ndarray, count: int) -> np.ndarray:
    geo = local_geometry(source_shape, conn.connectivity)
    out_c = local_out_channels(target_shape, geo)
    in_c, window_size, positions = geo.in_channels, geo.window_size, geo.positions
    units = out_c * positions
    if conn.connectivity.shared:  # [out_c, in_c, *window]: the same kernel at every position of a channel
        kernels = w.reshape(out_c, in_c, window_size)
        per_neuron = kernels[np.arange(count) // positions]
    else:  # [*target_shape, in_c, *window]: every neuron its own
        per_neuron = w.reshape(units, in_c, window_size)[:count]
    per_neuron = np.array(per_neuron, dtype=np.float32)
    in_size = math.prod(geo.in_spatial)
    for t, s in conn.disabled:
        if t >= count:
            continue
        ci, flat = divmod(s, in_size)
        k = _window_offset(geo, t % positions, flat)
        if k is not None and ci < in_c:
            per_neuron[t, ci, k] = np.nan
    taps = _channel_mean(per_neuron, axis=1)  # [count, window_size]
    src, inside = _window_sources(geo)  # [positions, window_size, dims], [positions, window_size]
    height, width = (1, geo.in_spatial[0]) if len(geo.in_spatial) == 1 else geo.in_spatial
    pictures = np.full((count, height * width), np.nan, dtype=np.float32)
    position = np.arange(count) % positions
    flat_src = (src[..., 0] * width + src[..., 1]) if src.shape[-1] == 2 else src[..., 0]
    rows = np.broadcast_to(np.arange(count)[:, None], (count, window_size))
    keep = inside[position]
    pictures[rows[keep], flat_src[position][keep]] = taps[keep]
    return pictures.reshape(count, height, width)


def _window_sources(geo) -> tuple[np.ndarray, np.ndarray]:
    """For every target position and window offset (row-major), the source grid place it reads, and
    whether that place is on the grid (not on the padding)."""
    grids = np.meshgrid(*[np.arange(o) for o in geo.out_spatial], indexing="ij")
    pos = np.stack([g.ravel() for g in grids], axis=1)  # [positions, dims]
    offs = np.meshgrid(*[np.arange(k) for k in geo.window], indexing="ij")
    off = np.stack([o.ravel() for o in offs], axis=1)  # [window_size, dims]
    src = pos[:, None, :] * geo.stride + off[None, :, :] - np.asarray(geo.pad_before)
    inside = np.all((src >= 0) & (src < np.asarray(geo.in_spatial)), axis=2)
    return src, inside


def _window_offset(geo, position: int, source_flat: int) -> int | None:
    """The window offset (row-major) at which target ``position`` reads source place ``source_flat``."""
    pos = np.unravel_index(position, geo.out_spatial)
    src = np.unravel_index(source_flat, geo.in_spatial)
    offset = [int(s) - (int(p) * geo.stride - b) for s, p, b in zip(src, pos, geo.pad_before)]
    if any(o < 0 or o >= k for o, k in zip(offset, geo.window)):
        return None
    return int(np.ravel_multi_index(offset, geo.window))


# ---------------------------------------------------------------------------------------------- samples
def strongest_samples(values: Any, k: int = STRONGEST) -> np.ndarray:
    """The samples with the highest activation, per neuron: int64 ``[neurons, k]``, strongest first.

    ``values`` is ``[samples, neurons]`` (a trace's values; ``[samples, steps, neurons]`` counts each
    sample's highest step). Fewer than ``k`` samples give them all; ties keep the earlier sample first.
    """
    v = as_array(values).astype(np.float64)
    if v.ndim == 3:
        v = v.max(axis=1)
    v = np.where(np.isnan(v), -np.inf, v.reshape(len(v), -1))
    k = max(0, min(int(k), len(v)))
    order = np.argsort(-v, axis=0, kind="stable")[:k]
    return np.ascontiguousarray(order.T).astype(np.int64)


def sequence_pictures(module: torch.nn.Module, x_sequence: Any, graph: Graph | None = None,
                      max_neurons: int = MAX_NEURONS) -> dict[str, np.ndarray]:
    """Each neuron's value at every time step of one sequence: ``{layer id: float32 [neurons, steps]}``.

    ``x_sequence`` is one sequence ``[steps, *input_shape]`` (or a batch of one). A layer that runs
    once, after the last step, has one step. The input layer is left out (it is the sequence itself);
    with ``graph``, so is every layer that does not take part; the first ``max_neurons`` of each layer.
    """
    x = torch.as_tensor(as_array(x_sequence), dtype=torch.float32)
    per_step = math.prod(module.input_shape)
    if x.numel() % per_step:
        raise ValueError(f"a sequence of {list(x.shape)} does not give {list(module.input_shape)} per step")
    x = x.reshape(1, -1, *module.input_shape)
    layers = picture_layers(graph) if graph is not None else None
    values = trace(module, x, layers, limit=max_neurons)["values"]
    if graph is None:  # a trace lists its layers in the order they run: the input first
        values = dict(list(values.items())[1:])
    return {lid: np.ascontiguousarray(v[0].T) for lid, v in values.items()}


# ------------------------------------------------------------------------------------ the worker's entry point
class NeuronPictures:
    """Every neuron's picture for one run: set up once when the run starts, then :meth:`compute` as it trains.

    The kind follows the data: ``"plane"`` for two inputs per sample, ``"sequence"`` for sequences,
    ``"images"`` for a grid of inputs per sample (``[H, W]`` or ``[C, H, W]``, whatever the task), else
    ``None`` (no pictures: a table of numbers has no picture a neuron could show).

    ``shown`` picks the neurons per layer (``{layer id: flat indices}``, as the canvas shows a subset of a
    big layer); a layer not in it shows its first ``max_neurons``. The design is copied, so edits on the
    window's graph cannot race the worker.

    :meth:`compute` uses the module it was given (call it on the thread that trains it, between
    batches), or, given ``weights``, a private copy of the design holding them (any thread).
    """

    def __init__(self, module: torch.nn.Module, graph: Graph, dataset: Any, *, size: int = GRID,
                 max_neurons: int = MAX_NEURONS, shown: Mapping[str, Sequence[int]] | None = None,
                 samples: int = SAMPLES, strongest: int = STRONGEST) -> None:
        self.module = module
        self.graph = graph.copy()
        self.size = int(size)
        self.strongest = int(strongest)
        self.layers = picture_layers(self.graph)
        self.neurons: dict[str, np.ndarray] = {}
        for lid in self.layers:
            units = self.graph.layers[lid].units
            chosen = shown.get(lid) if shown is not None else None
            index = (np.arange(min(units, max_neurons)) if chosen is None
                     else np.asarray([i for i in chosen if 0 <= int(i) < units], dtype=np.int64))
            self.neurons[lid] = index.astype(np.int64)
        self._limit = max((int(i.max()) + 1 for i in self.neurons.values() if len(i)), default=0)
        shape = tuple(dataset.input_shape)
        if dataset.is_sequence:
            self.kind: str | None = "sequence"
        elif math.prod(shape) == 2:
            self.kind = "plane"
        elif len(shape) >= 2:
            self.kind = "images"
        else:
            self.kind = None
        x_val = dataset.x_val if len(dataset.x_val) else dataset.x_train
        self._info: dict[str, Any] = {"kind": self.kind, "layers": list(self.layers),
                                      "neurons": {lid: i.copy() for lid, i in self.neurons.items()},
                                      "units": {lid: self.graph.layers[lid].units for lid in self.layers}}
        self._inputs: torch.Tensor | None = None
        self._on_device: tuple[torch.device, torch.Tensor] | None = None
        self._copy: torch.nn.Module | None = None
        if self.kind == "plane":
            both = torch.cat([dataset.x_train.reshape(-1, 2), x_val.reshape(-1, 2)])
            self.bounds = plane_bounds(both)
            self._inputs = torch.from_numpy(plane_grid(self.bounds, self.size)).reshape(
                self.size * self.size, *module.input_shape)
            self._info.update(bounds=self.bounds, size=self.size)
        elif self.kind == "images":
            self._inputs = x_val[:samples].clone()
            images = self._inputs.numpy()
            if images.ndim == 4:  # [n, channels, h, w] -> [n, h, w, channels] for drawing, as the output view
                images = np.moveaxis(images, 1, -1)
                if images.shape[-1] == 1:
                    images = images[..., 0]
            self._info.update(images=images.copy(), samples=len(images))
        elif self.kind == "sequence":
            self._inputs = x_val[:1].clone()
            self._info.update(sequence=self._inputs[0].numpy().reshape(self._inputs.shape[1], -1).copy(),
                              steps=int(self._inputs.shape[1]))

    def info(self) -> dict[str, Any]:
        """What the views need once per run: the kind, the layers and neurons shown, the plane's bounds and
        grid size, the images searched for the strongest ones, or the sequence shown."""
        return dict(self._info)

    def compute(self, weights: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The pictures now: ``{"kind", "layers": {layer id: array}, "neurons": {layer id: indices}, ...}``.

        - plane: ``layers`` float32 ``[shown, size, size]`` (values over the plane), with ``bounds``, ``size``;
        - images: ``layers`` float32 ``[shown, H, W]`` (weights on the source grid; see
          :func:`weight_pictures`) for the layers fed by a connection with weights, ``connections`` the
          connection each shows, and ``strongest`` int64 ``[shown, k]``: indices into ``info()["images"]``;
        - sequence: ``layers`` float32 ``[shown, steps]``;
        - ``None``: no layers.
        """
        payload: dict[str, Any] = {"kind": self.kind, "layers": {},
                                   "neurons": {lid: i.copy() for lid, i in self.neurons.items()}}
        if self.kind is None or not self.layers:
            return payload
        module = self.module if weights is None else self._holding(weights)
        if self.kind == "images":
            return self._images(module, weights, payload)
        values = trace(module, self._device_inputs(module), self.layers, limit=self._limit)["values"]
        for lid in self.layers:
            if lid not in values:
                continue
            v = values[lid][..., self.neurons[lid]]
            if self.kind == "plane":
                payload["layers"][lid] = _plane(v, self.size)
            else:  # [1, steps, shown] -> [shown, steps]
                payload["layers"][lid] = np.ascontiguousarray(v[0].T)
        if self.kind == "plane":
            payload.update(bounds=self.bounds, size=self.size)
        return payload

    def _images(self, module, weights, payload: dict[str, Any]) -> dict[str, Any]:
        if weights is None:
            weights = module.named_weights()
        payload["connections"], payload["strongest"] = {}, {}
        for lid in self.layers:
            index = self.neurons[lid]
            try:
                conn = picture_connection(self.graph, lid)
            except GraphError:
                continue
            count = int(index.max()) + 1 if len(index) else 0
            payload["layers"][lid] = weight_pictures(self.graph, weights, lid, conn.id, neurons=count)[index]
            payload["connections"][lid] = conn.id
        values = trace(module, self._device_inputs(module), self.layers, limit=self._limit)["values"]
        for lid in self.layers:
            if lid in values:
                payload["strongest"][lid] = strongest_samples(values[lid][..., self.neurons[lid]], self.strongest)
        return payload

    def _device_inputs(self, module) -> torch.Tensor:
        device = module_device(module)
        if self._on_device is None or self._on_device[0] != device:
            self._on_device = (device, self._inputs.to(device))
        return self._on_device[1]

    def _holding(self, weights: Mapping[str, Any]) -> torch.nn.Module:
        """A private CPU copy of the design, holding ``weights``."""
        from designer.compiler import compile_graph

        if self._copy is None:
            self._copy = compile_graph(self.graph)
        self._copy.load_named_weights(weights, allow_missing=True)
        return self._copy

"""Layer health, measured while a design trains: dead ReLUs, saturated sigmoids and tanhs, gradient norms.

:func:`layer_health` measures one epoch (from the layers' values on the validation data, and the gradient
norms training reports with ``train(..., gradient_norms=True)``); :func:`health_problems` turns the
measurements into warnings for the Problems panel, each naming the layer and the fix.

- *dead*: a ``relu`` neuron whose value is 0 on every validation sample (at every step of a sequence): it
  passes no gradient, so it cannot learn its way back. Other activations never output exactly 0 over a
  whole range (``leaky_relu`` keeps a slope there; that is the fix).
- *saturated*: a neuron stuck on a flat part of its curve, where its gradient is nearly 0, on at least 90%
  of the samples: ``tanh`` with ``|a| > 0.97``, ``sigmoid`` outside ``[0.03, 0.97]``, ``hard_sigmoid`` at
  exactly 0 or 1 (where it is flat). Only hidden layers are warned about: an output layer saturates by
  design when it is sure of its answers.
- *gradient norm*: as training reports it, the mean over the epoch's batches of the L2 norm of the
  gradient of everything that computes the layer (its own tensors and its incoming connections'
  weights). When the first hidden layers' norms are below 1/1000 of the last layer's, the gradient
  vanishes on its way back; above 1000 times, it explodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from designer.graph import Graph, Problem

from .tracing import as_array

#: the activations whose neurons can die (output exactly 0 for every negative sum)
DEAD_ACTIVATIONS = ("relu",)
#: the activations that saturate, and when a value counts as saturated
SATURATING = ("sigmoid", "tanh", "hard_sigmoid")
TANH_SATURATED = 0.97
SIGMOID_SATURATED = 0.03  # below it, or above 1 minus it
#: a neuron is saturated when it is on at least this share of the samples
SATURATED_SAMPLES = 0.9
#: the share of a layer's neurons from which it is warned about
DEAD_WARNING = 0.5
SATURATED_WARNING = 0.5
#: gradient norms of the first layers against the last layer's
VANISHING = 1e-3
EXPLODING = 1e3


@dataclass(frozen=True)
class LayerHealth:
    """One layer in one epoch. A share is None where it does not apply (``dead_share`` for a layer that is
    not relu, ``saturated_share`` for one that does not saturate, both without values)."""

    layer: str
    activation: str
    units: int
    dead_share: float | None = None
    saturated_share: float | None = None
    gradient_norm: float | None = None


def layer_health(graph: Graph, values: Mapping[str, Any] | None,
                 gradient_norms: Mapping[str, float] | None = None) -> dict[str, LayerHealth]:
    """Each hidden and output layer's health: ``{layer id: LayerHealth}``.

    ``values``: the layers' values on the validation data, ``{layer id: [samples, units]}`` (or
    ``[samples, steps, units]``), as ``module.trace(x_val)["values"]`` gives them (tensors or arrays; a
    whole trace is accepted too). ``gradient_norms``: ``{layer id: norm}`` as training reports it per epoch.
    """
    if values is not None and isinstance(values.get("values"), Mapping):
        values = values["values"]
    values = values or {}
    norms = gradient_norms or {}
    out = {}
    for lid, layer in graph.layers.items():
        if layer.kind == "input" or (lid not in values and lid not in norms):
            continue
        activation = layer.activation if layer.kind == "neurons" else layer.kind
        dead = saturated = None
        if lid in values:
            v = as_array(values[lid])
            v = v.reshape(-1, v.shape[-1]) if v.size else v.reshape(0, layer.units)
            if len(v):
                if layer.kind == "neurons" and layer.activation in DEAD_ACTIVATIONS:
                    dead = float(np.mean(np.all(v == 0, axis=0)))
                if layer.kind == "neurons" and layer.activation in SATURATING:
                    on = _saturated(layer.activation, v)
                    saturated = float(np.mean(on.mean(axis=0) >= SATURATED_SAMPLES))
        norm = norms.get(lid)
        out[lid] = LayerHealth(lid, activation, layer.units, dead, saturated,
                               float(norm) if norm is not None else None)
    return out


def _saturated(activation: str, v: np.ndarray) -> np.ndarray:
    if activation == "tanh":
        return np.abs(v) > TANH_SATURATED
    if activation == "sigmoid":
        return (v < SIGMOID_SATURATED) | (v > 1 - SIGMOID_SATURATED)
    return (v <= 0) | (v >= 1)  # hard_sigmoid: flat below -3 and above 3


def health_problems(graph: Graph, history: Sequence[Mapping[str, LayerHealth]]) -> list[Problem]:
    """Warnings about the last epoch's health (``history``: one :func:`layer_health` result per epoch).

    One per layer whose ReLU neurons are at least half dead, one per hidden layer at least half
    saturated, and one for a vanishing (or exploding) gradient naming the range of layers, e.g.
    ``vanishing gradient in h1..h4: ...``. Each is ``Problem("warning", ..., layer_id=..., part="training")``;
    the panel shows the layer before the message.
    """
    if not history:
        return []
    last = history[-1]
    flow = graph.flow()
    outputs = set(flow.outputs)
    order = [lid for lid in flow.order if lid in last]
    problems = []
    for lid in order:
        health = last[lid]
        if health.dead_share is not None and health.dead_share >= DEAD_WARNING:
            problems.append(Problem(
                "warning", f"{_percent(health.dead_share)} of its ReLU neurons never fire on the validation data: "
                           f"lower the learning rate or use leaky relu", layer_id=lid, part="training"))
        if lid not in outputs and health.saturated_share is not None and health.saturated_share >= SATURATED_WARNING:
            problems.append(Problem(
                "warning", f"{_percent(health.saturated_share)} of its {health.activation} neurons are saturated "
                           f"(on a flat end of the curve, where they barely learn) on most samples: use smaller "
                           f"initial weights (xavier) or normalisation", layer_id=lid, part="training"))
    problems += _gradient_problems(graph, [last[lid] for lid in order])
    return problems


def _gradient_problems(graph: Graph, layers: list[LayerHealth]) -> list[Problem]:
    measured = [h for h in layers if h.gradient_norm is not None and np.isfinite(h.gradient_norm)]
    if len(measured) < 2:
        return []
    reference = measured[-1]
    base = reference.gradient_norm
    if not base or base <= 0:
        return []
    out = []
    for word, far, fix in (
            ("vanishing", lambda n: n < VANISHING * base,
             "their gradients are below 1/1000 of the last layer's, so they barely learn: use relu or leaky relu "
             "in the hidden layers, He initial weights, normalisation, or fewer layers"),
            ("exploding", lambda n: n > EXPLODING * base,
             "their gradients are above 1000 times the last layer's: lower the learning rate, use smaller initial "
             "weights (xavier) or normalisation")):
        run = []
        for h in measured[:-1]:
            if not far(h.gradient_norm):
                break
            run.append(h.layer)
        if run:
            where = run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}"
            fix_text = fix.replace("their gradients are", "its gradient is") if len(run) == 1 else fix
            out.append(Problem("warning", f"{word} gradient in {where}: {fix_text} (gradient norm "
                                          f"{_number(measured[0].gradient_norm)} against {_number(base)} in "
                                          f"{reference.layer})", layer_id=run[0], part="training"))
    return out


def health_series(history: Sequence[Mapping[str, LayerHealth]], layer_id: str, name: str) -> np.ndarray:
    """One measure of one layer over the epochs, for a sparkline: float64 ``[epochs]``, NaN where unknown.

    ``name``: ``"dead_share"``, ``"saturated_share"`` or ``"gradient_norm"``.
    """
    out = np.full(len(history), np.nan)
    for i, epoch in enumerate(history):
        health = epoch.get(layer_id)
        value = getattr(health, name) if health is not None else None
        if value is not None:
            out[i] = value
    return out


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _number(value: float) -> str:
    return f"{value:.2g}"

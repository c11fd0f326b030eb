"""What each layer and connection computes, so that trained weights are only used for what they learned.

A weight tensor is named after its owner: ``<layer>.bias`` (and ``<layer>.weight_hh`` ... for gated
layers), ``<connection>.weight``. :func:`signatures` describes each owner's function: a layer by its
kind, shape, activation and bias; a connection by its connectivity, its source's shape and the function
of the layer it feeds (weights tuned for a sigmoid do not suit a tanh). When an edit changes an owner's
signature, the weights it holds were made for another function, and :func:`stale_owners` names it:
training starts those afresh and continues the rest. Undoing the edit makes them fit again.
"""
from __future__ import annotations

import json


def _layer(layer) -> str:
    function = [layer.kind, list(layer.shape), layer.activation, layer.bias]
    if layer.activation == "leaky_relu":
        function.append(layer.slope)
    if layer.norm != "none":  # its scale, shift and statistics belong to that kind of normalisation
        function.append(layer.norm)
    return json.dumps(function)


def signatures(graph) -> dict[str, str]:
    """``{layer or connection id: its function, as text}`` for every layer and connection of ``graph``."""
    layers = {lid: _layer(layer) for lid, layer in graph.layers.items()}
    result = dict(layers)
    for cid, conn in graph.connections.items():
        source = graph.layers.get(conn.source)
        result[cid] = json.dumps([conn.source, conn.target, conn.connectivity.to_dict(),
                                  list(source.shape) if source is not None else None, layers.get(conn.target)])
    return result


def owner_of(tensor_name: str) -> str:
    """The layer or connection id a weight tensor belongs to (``x-h.weight`` -> ``x-h``)."""
    return tensor_name.rsplit(".", 1)[0]


def stale_owners(trained: dict[str, str], graph) -> set[str]:
    """Ids whose function changed since the weights were trained (``trained`` from :func:`signatures`)."""
    now = signatures(graph)
    return {owner for owner, signature in trained.items() if owner in now and now[owner] != signature}

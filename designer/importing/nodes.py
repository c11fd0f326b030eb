"""The graph's nodes as plain records, and the activations exporters write as several nodes, recognised
by what they compute.

Exporters spell some activations out in elementary operators: SiLU as ``x * Sigmoid(x)``, GELU (before
opset 20) as ``x * 0.5 * (1 + Erf(x / sqrt(2)))``, PyTorch's softplus as ``Where(x > 20, x, Softplus(x))``,
NN Designer's ``step`` as ``Cast(x > 0)`` and ``sign`` as ``Where(x > 0, 1, -1)``. :func:`fuse_activations`
replaces each such group by one ``Activation`` node, whatever the nodes are called, as long as the
intermediate values are used by the group alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: the op type of a group of nodes recognised as one activation (attribute ``activation``)
FUSED = "Activation"


@dataclass(eq=False)
class Node:
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    index: int = 0
    subgraphs: bool = False  # holds a graph attribute (If, Loop, Scan)

    @property
    def label(self) -> str:
        """How messages name the node: ``Conv node 'conv1'`` (or its position and output when unnamed)."""
        if self.name:
            return f"{self.op} node {self.name!r}"
        out = self.outputs[0] if self.outputs else "?"
        return f"{self.op} node #{self.index} (output {out!r})"


def nodes_of(graph) -> list[Node]:
    """Plain records of a ``GraphProto``'s nodes, attributes decoded (tensors left as ``TensorProto``)."""
    from onnx import AttributeProto, helper

    out = []
    for index, proto in enumerate(graph.node):
        attrs: dict[str, Any] = {}
        subgraphs = False
        for attribute in proto.attribute:
            if attribute.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
                subgraphs = True
                continue
            if attribute.type == AttributeProto.TENSOR:
                attrs[attribute.name] = attribute.t
                continue
            value = helper.get_attribute_value(attribute)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list):
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
            attrs[attribute.name] = value
        out.append(Node(proto.op_type, proto.name, list(proto.input), list(proto.output), attrs,
                        proto.domain, index, subgraphs))
    return out


def fuse_activations(nodes: list[Node], constant: Callable[[str], np.ndarray | None]) -> list[Node]:
    """``nodes`` with the multi-node activations above replaced by ``Activation`` nodes.

    ``constant(name)`` gives the value of a tensor that is a constant (an initializer or a ``Constant`` node),
    else None.
    """
    producer: dict[str, Node] = {}
    users: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.outputs:
            producer[name] = node
        for name in node.inputs:
            if name:
                users.setdefault(name, []).append(node)

    def only_user(name: str, node: Node) -> bool:
        return users.get(name, []) == [node]

    def made_by(name: str, op: str) -> Node | None:
        node = producer.get(name)
        return node if node is not None and node.op == op and node.domain in ("", "ai.onnx") else None

    def scalar(name: str, value: float, tolerance: float = 1e-6) -> bool:
        array = constant(name)
        if array is None or array.size != 1 or array.dtype.kind not in "fiub":
            return False
        return abs(float(array.reshape(-1)[0]) - value) <= tolerance * max(1.0, abs(value))

    removed: set[int] = set()
    replaced: dict[int, Node] = {}

    def fuse(final: Node, parts: list[Node], source: str, activation: str) -> None:
        for part in parts:
            removed.add(id(part))
        replaced[id(final)] = Node(FUSED, final.name, [source], list(final.outputs), {"activation": activation},
                                   "", final.index)

    for node in nodes:
        if node.domain not in ("", "ai.onnx") or id(node) in removed or id(node) in replaced:
            continue
        if node.op == "Mul" and len(node.inputs) == 2:
            a, b = node.inputs
            # SiLU: x * Sigmoid(x)
            for x, s in ((a, b), (b, a)):
                sig = made_by(s, "Sigmoid")
                if sig is not None and sig.inputs[0] == x and only_user(s, node):
                    fuse(node, [sig], x, "silu")
                    break
            if id(node) in replaced:
                continue
            # GELU: (x * (Erf(x / sqrt 2) + 1)) * 0.5, or (x * 0.5) * (Erf(x / sqrt 2) + 1)
            gelu = _gelu(node, made_by, only_user, scalar)
            if gelu is not None:
                fuse(node, gelu[1], gelu[0], "gelu")
        elif node.op == "Where" and len(node.inputs) == 3:
            condition, yes, no = node.inputs
            greater = made_by(condition, "Greater")
            if greater is None or not only_user(condition, node):
                continue
            x, threshold = greater.inputs
            softplus = made_by(no, "Softplus")
            if (softplus is not None and yes == x and softplus.inputs[0] == x and only_user(no, node)
                    and scalar(threshold, 20.0)):
                fuse(node, [greater, softplus], x, "softplus")  # PyTorch's softplus: x itself above 20
            elif scalar(threshold, 0.0, 0.0) and scalar(yes, 1.0, 0.0) and scalar(no, -1.0, 0.0):
                fuse(node, [greater], x, "sign")
        elif node.op == "Cast" and node.attrs.get("to") == 1:  # to float
            greater = made_by(node.inputs[0], "Greater")
            if greater is not None and only_user(node.inputs[0], node) and scalar(greater.inputs[1], 0.0, 0.0):
                fuse(node, [greater], greater.inputs[0], "step")
    return [replaced.get(id(node), node) for node in nodes if id(node) not in removed]


def _gelu(node: Node, made_by, only_user, scalar):
    """``(x, parts)`` when ``node`` ends the erf form of GELU, else None."""
    def erf_term(name: str, x: str | None):
        """``Erf(x / sqrt 2) + 1`` (or ``x * (1 / sqrt 2)``) with the nodes that make it, for some or this x."""
        add = made_by(name, "Add")
        if add is None:
            return None
        for e, one in (add.inputs, add.inputs[::-1]):
            erf = made_by(e, "Erf")
            if erf is None or not scalar(one, 1.0) or not only_user(e, add):
                continue
            scale = made_by(erf.inputs[0], "Div") or made_by(erf.inputs[0], "Mul")
            if scale is None or not only_user(erf.inputs[0], erf):
                continue
            source, factor = scale.inputs
            wanted = math.sqrt(2.0) if scale.op == "Div" else 1 / math.sqrt(2.0)
            if not scalar(factor, wanted, 1e-5) or (x is not None and source != x):
                continue
            return source, [add, erf, scale]
        return None

    a, b = node.inputs
    for inner, half in ((a, b), (b, a)):
        if not scalar(half, 0.5):
            # (x * 0.5) * (erf + 1)
            continue
        product = made_by(inner, "Mul")
        if product is None or not only_user(inner, node):
            continue
        for x, term in (product.inputs, product.inputs[::-1]):
            found = erf_term(term, x)
            if found is not None and only_user(term, product):
                return x, [product, *found[1]]
    for halved, term in ((a, b), (b, a)):
        product = made_by(halved, "Mul")
        if product is None or not only_user(halved, node):
            continue
        for x, half in (product.inputs, product.inputs[::-1]):
            if scalar(half, 0.5):
                found = erf_term(term, x)
                if found is not None and only_user(term, node):
                    return x, [product, *found[1]]
    return None

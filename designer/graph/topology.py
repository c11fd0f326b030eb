"""The flow of a design: which connections feed forward, which loop back, in what order layers run.

A depth-first walk from the input layer (then from the other layers, in the order drawn)
marks as recurrent every connection that reaches back to a layer still being walked: a
self-loop, or the connection that closes a cycle. The rest form a DAG, run in topological order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Graph


@dataclass
class Flow:
    order: list[str] = field(default_factory=list)  # layer ids, each after all its feed-forward sources
    recurrent: set[str] = field(default_factory=set)  # connection ids that carry the previous step's values
    reachable: set[str] = field(default_factory=set)  # layer ids reached from an input layer
    inputs: list[str] = field(default_factory=list)
    # reachable non-input layers that feed nothing forward (a layer that only loops back to an earlier
    # one is a hidden layer of that cycle when another layer ends the design)
    outputs: list[str] = field(default_factory=list)

    @property
    def is_recurrent(self) -> bool:
        return bool(self.recurrent)


def analyse(graph: "Graph") -> Flow:
    layers = graph.layers
    out_edges: dict[str, list] = {lid: [] for lid in layers}
    for conn in graph.connections.values():
        if conn.source in layers and conn.target in layers:
            out_edges[conn.source].append(conn)
    flow = Flow()
    flow.inputs = [lid for lid, layer in layers.items() if layer.kind == "input"]

    state: dict[str, int] = {}  # 1 on the walk's stack, 2 finished
    for root in flow.inputs + [lid for lid in layers if lid not in flow.inputs]:
        if root in state:
            continue
        # iterative DFS so that deep designs do not hit the recursion limit
        state[root] = 1
        stack = [(root, iter(out_edges[root]))]
        while stack:
            node, edges = stack[-1]
            for conn in edges:
                nxt = conn.target
                s = state.get(nxt)
                if s == 1:
                    flow.recurrent.add(conn.id)
                elif s is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(out_edges[nxt])))
                    break
            else:
                state[node] = 2
                stack.pop()

    # reachability over all connections, from the inputs
    seen = set(flow.inputs)
    todo = list(flow.inputs)
    while todo:
        node = todo.pop()
        for conn in out_edges[node]:
            if conn.target not in seen:
                seen.add(conn.target)
                todo.append(conn.target)
    flow.reachable = seen

    # Kahn's algorithm over the feed-forward connections, stable in drawing order
    indegree = {lid: 0 for lid in layers}
    for conn in graph.connections.values():
        if conn.id not in flow.recurrent and conn.source in layers and conn.target in layers:
            indegree[conn.target] += 1
    ready = [lid for lid in layers if indegree[lid] == 0]
    position = {lid: i for i, lid in enumerate(layers)}
    while ready:
        ready.sort(key=position.__getitem__)
        node = ready.pop(0)
        flow.order.append(node)
        for conn in out_edges[node]:
            if conn.id in flow.recurrent:
                continue
            indegree[conn.target] -= 1
            if indegree[conn.target] == 0:
                ready.append(conn.target)

    feeds_forward = {conn.source for conn in graph.connections.values()
                     if conn.id not in flow.recurrent and conn.source != conn.target
                     and conn.target in layers}
    flow.outputs = [lid for lid in flow.order
                    if lid in seen and layers[lid].kind != "input" and lid not in feeds_forward]
    if len(flow.outputs) > 1:
        # A layer whose only way on is a loop back (h -> h2 -> h, then h -> out) feeds the next step of the
        # network, not its result: it is a hidden layer of the cycle, and the true end is the output.
        feeds_back = {conn.source for conn in graph.connections.values()
                      if conn.id in flow.recurrent and conn.source != conn.target}
        ends = [lid for lid in flow.outputs if lid not in feeds_back]
        if ends:
            flow.outputs = ends
    return flow

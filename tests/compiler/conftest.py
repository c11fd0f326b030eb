"""Designs written the way project.json writes them, for the compiler's tests."""
import pytest
import torch

from designer.graph import Graph


def design(layers, connections) -> Graph:
    """A graph from short tuples: layers ``(id, kind, shape[, activation[, more fields]])``, connections
    ``(source, target[, connectivity dict[, disabled pairs]])`` named ``source-target``."""
    d = {"layers": [], "connections": []}
    for item in layers:
        lid, kind, shape, *rest = item
        layer = {"id": lid, "kind": kind, "shape": list(shape)}
        if rest:
            layer["activation"] = rest[0]
        if len(rest) > 1:  # more fields, as the file writes them: {"dropout": 0.5, "norm": "batch"}
            layer.update(rest[1])
        d["layers"].append(layer)
    for item in connections:
        source, target, *rest = item
        conn = {"id": f"{source}-{target}", "source": source, "target": target,
                "connectivity": rest[0] if rest else {"kind": "dense"}}
        if len(rest) > 1:
            conn["disabled"] = [list(p) for p in rest[1]]
        d["connections"].append(conn)
    return Graph.from_dict(d)


@pytest.fixture
def build():
    return design


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield

"""Shared pieces for the insight tests: designs written as project.json writes them, and the built-in data."""
import pytest
import torch

from designer.data import load_dataset
from designer.graph import Graph

# small designs: one thread avoids hand-offs, and the machine is shared
torch.set_num_threads(1)


def design(layers, connections) -> Graph:
    """A graph from short tuples: layers ``(id, kind, shape[, activation[, more fields]])``, connections
    ``(source, target[, connectivity dict[, disabled pairs]])`` named ``source-target``."""
    d = {"layers": [], "connections": []}
    for item in layers:
        lid, kind, shape, *rest = item
        layer = {"id": lid, "kind": kind, "shape": list(shape)}
        if rest:
            layer["activation"] = rest[0]
        if len(rest) > 1:
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


@pytest.fixture(scope="session")
def spiral():
    return load_dataset({"kind": "builtin", "name": "spiral", "samples": 400, "seed": 1})


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield

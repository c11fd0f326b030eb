"""Shared pieces for the insight tests: the built-in data (designs from short tuples: ``build`` in tests/conftest.py)."""
import pytest
import torch

from designer.data import load_dataset

# small designs: one thread avoids hand-offs, and the machine is shared
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def spiral():
    return load_dataset({"kind": "builtin", "name": "spiral", "samples": 400, "seed": 1})


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield

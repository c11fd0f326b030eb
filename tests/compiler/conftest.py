"""The compiler's tests: a fixed torch seed (designs from short tuples: ``build`` in tests/conftest.py)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield

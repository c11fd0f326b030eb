"""Shared pieces for the training tests: small hand-built modules with DesignModule's interface."""
import pytest
import torch
from torch import nn

from designer.data import load_dataset

# Intra-op threads only add hand-offs on models this small, and the machine is shared: the
# caller chooses the thread count (train() never changes it), and these tests choose one.
torch.set_num_threads(1)


class TinyNet(nn.Module):
    """``inputs -> hidden (tanh) -> outputs`` with the attributes train() reads from a DesignModule."""

    def __init__(self, inputs=2, hidden=8, outputs=1, activation="sigmoid", seed=0, input_shape=None):
        super().__init__()
        torch.manual_seed(seed)
        self.input_shape = tuple(input_shape or (inputs,))
        self.output_units = outputs
        self.output_activation = activation
        self.is_sequence = False
        self.hidden = nn.Linear(inputs, hidden) if hidden else None
        self.out = nn.Linear(hidden or inputs, outputs)

    def logits(self, x):
        x = x.reshape(len(x), -1)
        if self.hidden is not None:
            x = torch.tanh(self.hidden(x))
        return self.out(x)

    def forward(self, x):
        z = self.logits(x)
        if self.output_activation == "sigmoid":
            return torch.sigmoid(z)
        if self.output_activation == "softmax":
            return torch.softmax(z, dim=1)
        if self.output_activation == "tanh":
            return torch.tanh(z)
        if self.output_activation == "step":
            # straight-through surrogate: forward is the threshold, backward the identity
            return z + ((z > 0).to(z.dtype) - z).detach()
        return z


@pytest.fixture
def tiny():
    return TinyNet


@pytest.fixture(scope="session")
def xor_data():
    return load_dataset({"kind": "builtin", "name": "xor", "samples": 200, "seed": 1})


@pytest.fixture(scope="session")
def plane_data():
    return load_dataset({"kind": "builtin", "name": "plane", "samples": 200, "seed": 1})


@pytest.fixture(scope="session")
def gaussians_data():
    return load_dataset({"kind": "builtin", "name": "gaussians", "samples": 200, "seed": 3})

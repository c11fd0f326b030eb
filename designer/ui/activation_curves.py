"""Activation functions as plain Python, for drawing them: the inspector's curve and the canvas's glyphs.

The values are those of the compiled network (``torch.nn.functional``): GELU in its exact erf form,
hard sigmoid as PyTorch's ``Hardsigmoid`` (``relu6(z + 3) / 6``), ELU with alpha 1, softplus
``log(1 + e^z)``, SiLU ``z * sigmoid(z)``; step is 1 above 0 and 0 otherwise, sign +1 above 0 and -1
otherwise. Softmax is taken over a layer's units, so it has no curve of one variable: what is drawn is
one unit's share against a second unit held at 0, which is the logistic curve.
"""
from __future__ import annotations

import math

from designer.graph import DEFAULT_SLOPE

#: how a person reads each activation, in the inspector's list
ACTIVATION_NAMES = {
    "step": "Step (threshold 0 or 1)",
    "sign": "Sign (−1 or +1)",
    "linear": "Linear",
    "sigmoid": "Sigmoid",
    "hard_sigmoid": "Hard sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "elu": "ELU",
    "gelu": "GELU",
    "softplus": "Softplus",
    "silu": "SiLU (swish)",
    "softmax": "Softmax",
}

#: what each computes of its input ``z``, as the inspector writes it under the curve
FORMULAS = {
    "step": "1 if z > 0, else 0 (trains as if it were a sigmoid)",
    "sign": "+1 if z > 0, else −1 (trains with tanh's slope)",
    "linear": "z, unchanged",
    "sigmoid": "1 / (1 + e^−z), between 0 and 1",
    "hard_sigmoid": "min(max(z + 3, 0), 6) / 6: a sigmoid of straight pieces",
    "tanh": "tanh z, between −1 and 1",
    "relu": "max(0, z)",
    "leaky_relu": "z if z > 0, else {slope}·z",
    "elu": "z if z > 0, else e^z − 1",
    "gelu": "z · Φ(z), Φ the normal distribution's CDF",
    "softplus": "log(1 + e^z): a smooth ReLU",
    "silu": "z · sigmoid(z)",
    "softmax": "e^zᵢ / Σⱼ e^zⱼ over the layer's units, which then sum to 1; "
               "drawn: one unit against another at 0",
}

#: the inputs drawn
Z_RANGE = (-4.0, 4.0)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def activation_value(name: str, z: float, slope: float = DEFAULT_SLOPE) -> float:
    """``f(z)`` of activation ``name`` (softmax: one unit against a second at 0); an unknown name is linear."""
    if name == "step":
        return 1.0 if z > 0 else 0.0
    if name == "sign":
        return 1.0 if z > 0 else -1.0
    if name in ("sigmoid", "softmax"):
        return _sigmoid(z)
    if name == "hard_sigmoid":
        return min(max(z + 3.0, 0.0), 6.0) / 6.0
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return max(z, 0.0)
    if name == "leaky_relu":
        return z if z > 0 else slope * z
    if name == "elu":
        return z if z > 0 else math.expm1(z)
    if name == "gelu":
        return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))
    if name == "softplus":
        return max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    if name == "silu":
        return z * _sigmoid(z)
    return z


def curve(name: str, slope: float = DEFAULT_SLOPE, samples: int = 161,
          z_range: tuple[float, float] = Z_RANGE) -> list[tuple[float, float]]:
    """``(z, f(z))`` at ``samples`` evenly spaced inputs over ``z_range`` (both ends included)."""
    lo, hi = z_range
    step = (hi - lo) / (samples - 1)
    return [(lo + i * step, activation_value(name, lo + i * step, slope)) for i in range(samples)]


def is_jump(name: str) -> bool:
    """Whether the function jumps at 0 (drawn as two flat pieces and a dotted riser, not one line)."""
    return name in ("step", "sign")


def formula(name: str, slope: float = DEFAULT_SLOPE) -> str:
    return FORMULAS.get(name, name).replace("{slope}", f"{slope:g}")

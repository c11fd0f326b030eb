"""Built-in two-input datasets: logic gates, point clouds to classify and surfaces to fit.

Every generator takes ``(rng, samples, noise)`` and returns ``(x [n, 2] float, y)``. Scales, so a user can
reason about them on the canvas: point clouds lie roughly in [-1, 1] on both axes, regression targets in
[-1, 1]. Classes are balanced (each label is drawn for exactly half the samples, then shuffled) wherever the
geometry allows. For classification ``noise`` is Gaussian noise added to the inputs after the labels are
decided (so noisy points can stray across the boundary); for regression it is added to the target.
"""
from __future__ import annotations

import numpy as np

TRUTH_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
TRUTH_TABLES = {
    "gate_and": np.array([0, 0, 0, 1]),
    "gate_or": np.array([0, 1, 1, 1]),
    "gate_xor": np.array([0, 1, 1, 0]),
}

CIRCLE_INNER = 0.5   # class "inside": radius below this
CIRCLE_OUTER = 0.7   # class "outside": radius from this to 1 (the gap keeps the classes separable)
XOR_MARGIN = 0.05    # keep xor points off the axes, where their class would be a coin toss
GAUSSIAN_CENTRE = 0.5
GAUSSIAN_SPREAD = 0.25
SPIRAL_TURNS = 1.75
BUMP_CENTRE = 0.4
BUMP_WIDTH = 0.3


def _balanced_labels(rng: np.random.Generator, samples: int, classes: int = 2) -> np.ndarray:
    return rng.permutation(np.arange(samples) % classes)


def _jitter(rng: np.random.Generator, x: np.ndarray, noise: float) -> np.ndarray:
    # Noise 0 must leave the data exact (the truth tables), so draw nothing then.
    return x + rng.normal(0.0, noise, x.shape) if noise > 0 else x


def gate(name: str):
    """A generator for one logic gate: the four input rows repeated in order to ``samples`` rows."""
    truth = TRUTH_TABLES[name]

    def generate(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(samples) % 4
        return _jitter(rng, TRUTH_INPUTS[rows], noise), truth[rows]

    generate.__doc__ = f"{name}: inputs 0/1, label the gate's output; noise jitters the inputs."
    return generate


def circle(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 inside radius 0.5, class 0 in the ring from 0.7 to 1, both spread evenly over their area."""
    y = _balanced_labels(rng, samples)
    u = rng.random(samples)
    radius = np.where(y == 1, CIRCLE_INNER * np.sqrt(u),
                      np.sqrt(CIRCLE_OUTER**2 + (1 - CIRCLE_OUTER**2) * u))
    angle = rng.uniform(0.0, 2 * np.pi, samples)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return _jitter(rng, x, noise), y


def xor(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Points spread over [-1, 1]^2; class 1 where the two inputs have different signs."""
    magnitude = rng.uniform(XOR_MARGIN, 1.0, (samples, 2))
    sign = np.where(rng.random((samples, 2)) < 0.5, -1.0, 1.0)
    x = magnitude * sign
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    return _jitter(rng, x, noise), y


def gaussians(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two round blobs (standard deviation 0.25) centred at (-0.5, -0.5) for class 0 and (0.5, 0.5) for 1."""
    y = _balanced_labels(rng, samples)
    centre = np.where(y[:, None] == 1, GAUSSIAN_CENTRE, -GAUSSIAN_CENTRE)
    x = centre + rng.normal(0.0, GAUSSIAN_SPREAD, (samples, 2))
    return _jitter(rng, x, noise), y


def spiral(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms winding 1.75 turns out from the centre to radius 1; class = arm."""
    y = _balanced_labels(rng, samples)
    t = rng.random(samples)
    radius = 0.05 + 0.95 * t
    angle = 2 * np.pi * SPIRAL_TURNS * t + np.pi * y
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return _jitter(rng, x, noise), y


def moons(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interlocking half circles, scaled to x in [-1, 1] and y in [-0.5, 0.5]."""
    y = _balanced_labels(rng, samples)
    t = rng.uniform(0.0, np.pi, samples)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = (np.where(y[:, None] == 0, upper, lower) - [0.5, 0.25]) / 1.5
    return _jitter(rng, x, noise), y


def plane(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs uniform in [-1, 1]^2, target (x1 + x2) / 2 plus noise."""
    x = rng.uniform(-1.0, 1.0, (samples, 2))
    target = x.mean(axis=1, keepdims=True)
    return x, _jitter(rng, target, noise)


def bumps(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs uniform in [-1, 1]^2; target a hill of height 1 at (-0.4, -0.4) minus one at (0.4, 0.4).

    Both are Gaussian bumps of width 0.3, so the target lies in [-1, 1] and a straight plane cannot fit it.
    """
    x = rng.uniform(-1.0, 1.0, (samples, 2))

    def bump(centre: float) -> np.ndarray:
        return np.exp(-((x - centre) ** 2).sum(axis=1) / (2 * BUMP_WIDTH**2))

    target = (bump(-BUMP_CENTRE) - bump(BUMP_CENTRE))[:, None]
    return x, _jitter(rng, target, noise)

"""The built-in ``sine`` sequences: predict the next value of a sine wave from its last 20 steps.

Each sequence is ``sin(2 pi f t + phase)`` for t = 0..19 with a random phase in [0, 2 pi) and a random
frequency f from 0.02 to 0.15 cycles per step (7 to 50 steps per period, slow enough to follow); amplitude 1.
``noise`` is Gaussian noise on the 20 inputs only; the target, the clean value at t = 20, stays exact.
"""
from __future__ import annotations

import numpy as np

STEPS = 20
MIN_FREQUENCY, MAX_FREQUENCY = 0.02, 0.15


def sine(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """``x [samples, 20, 1]`` (time, value) and ``y [samples, 1]`` the value one step after the last."""
    frequency = rng.uniform(MIN_FREQUENCY, MAX_FREQUENCY, (samples, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (samples, 1))
    wave = np.sin(2 * np.pi * frequency * np.arange(STEPS + 1) + phase)
    x = wave[:, :STEPS, None]
    if noise > 0:
        x = x + rng.normal(0.0, noise, x.shape)
    return x, wave[:, STEPS:]

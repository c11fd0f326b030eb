"""The built-in ``shapes`` images: 16x16 grey pictures of a circle, square, triangle or cross.

Each image holds one filled shape of brightness 0.6-1 on black, its half-size 3 to 7 pixels and its centre
anywhere that keeps it inside the picture; ``noise`` adds Gaussian pixel noise and the result is clipped to
[0, 1]. The masks are computed for all images of a class at once on a broadcast pixel grid (no Python loop
per image), so thousands of images take milliseconds.
"""
from __future__ import annotations

import numpy as np

SIZE = 16
CLASS_NAMES = ["circle", "square", "triangle", "cross"]
MIN_HALF, MAX_HALF = 3.0, 7.0
MIN_BRIGHTNESS = 0.6
_BLOCK = 4096  # images drawn at once


def _circle(dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    return dx**2 + dy**2 <= half**2


def _square(dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    return (np.abs(dx) <= half) & (np.abs(dy) <= half)


def _triangle(dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    # Apex up at dy = -half, base along dy = +half, as wide as the square of the same size.
    return (dy >= -half) & (dy <= half) & (np.abs(dx) <= (dy + half) / 2)


def _cross(dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    # An upright "+" whose bars are a third of the size thick (at least ~1.5 pixels, so it never vanishes).
    bar = np.maximum(half / 3, 0.75)
    inside = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    return inside & ((np.abs(dx) <= bar) | (np.abs(dy) <= bar))


_MASKS = (_circle, _square, _triangle, _cross)


def shapes(rng: np.random.Generator, samples: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """``x [samples, 16, 16]`` float32 in [0, 1] and ``y [samples]`` class indices into ``CLASS_NAMES``."""
    y = rng.permutation(np.arange(samples) % len(CLASS_NAMES))
    half = rng.uniform(MIN_HALF, MAX_HALF, samples)
    cx = rng.uniform(half, SIZE - half)
    cy = rng.uniform(half, SIZE - half)
    brightness = rng.uniform(MIN_BRIGHTNESS, 1.0, samples).astype(np.float32)
    centres = np.arange(SIZE, dtype=np.float64) + 0.5  # pixel centres; the picture spans [0, 16]
    images = np.zeros((samples, SIZE, SIZE), dtype=np.float32)
    # In blocks of images, so that the float64 temporaries stay a few MiB however many samples are asked
    # for (a million images would otherwise need gigabytes of them); the noise stream is drawn in the same
    # order as one call would draw it, so the images do not depend on the block size.
    for start in range(0, samples, _BLOCK):
        block = slice(start, min(start + _BLOCK, samples))
        for label, mask in enumerate(_MASKS):
            members = start + np.flatnonzero(y[block] == label)
            dx = centres[None, None, :] - cx[members, None, None]
            dy = centres[None, :, None] - cy[members, None, None]
            images[members] = mask(dx, dy, half[members, None, None]) * brightness[members, None, None]
    if noise > 0:
        for start in range(0, samples, _BLOCK):
            part = images[start:start + _BLOCK]
            part += rng.normal(0.0, noise, part.shape).astype(np.float32)
        np.clip(images, 0.0, 1.0, out=images)
    return images, y

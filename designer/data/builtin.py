"""The catalogue of built-in datasets: what each one is, its default size and noise, and how to make it.

The catalogue alone answers the window's questions (classes, input shape, a one-line summary) without
generating anything. Generation is seeded: the seed's stream is split in two, one for the data and one for
the split, so changing ``validation_split`` never changes the samples themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import points, sequences, shapes
from .dataset import CLASSIFICATION, REGRESSION, Dataset, split_indices, to_dataset
from .errors import DataError
from .options import noise_of, samples_of, seed_of, validation_split_of

Generator = Callable[[np.random.Generator, int, float], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class Builtin:
    """One built-in dataset as the catalogue knows it."""

    name: str
    generate: Generator
    task: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    feature_names: tuple[str, ...]
    samples: int  # default number of samples
    noise: float  # default noise
    is_sequence: bool = False
    steps: int = 0  # time steps per sequence


_BINARY = ("0", "1")
_XY = ("x1", "x2")


def _points(name: str, generate: Generator, classes: tuple[str, ...] = _BINARY) -> Builtin:
    return Builtin(name, generate, CLASSIFICATION, classes, (2,), _XY, samples=400, noise=0.05)


def _surface(name: str, generate: Generator) -> Builtin:
    return Builtin(name, generate, REGRESSION, (), (2,), _XY, samples=400, noise=0.05)


def _gate(name: str) -> Builtin:
    return Builtin(name, points.gate(name), CLASSIFICATION, _BINARY, (2,), _XY, samples=64, noise=0.0)


CATALOGUE: dict[str, Builtin] = {b.name: b for b in (
    _gate("gate_and"),
    _gate("gate_or"),
    _gate("gate_xor"),
    _points("circle", points.circle, ("outside", "inside")),
    _points("xor", points.xor),
    _points("gaussians", points.gaussians),
    _points("spiral", points.spiral),
    _points("moons", points.moons),
    _surface("plane", points.plane),
    _surface("bumps", points.bumps),
    Builtin("shapes", shapes.shapes, CLASSIFICATION, tuple(shapes.CLASS_NAMES), (shapes.SIZE, shapes.SIZE), (),
            samples=1000, noise=0.05),
    Builtin("sine", sequences.sine, REGRESSION, (), (1,), ("value",), samples=500, noise=0.02,
            is_sequence=True, steps=sequences.STEPS),
)}

BUILTIN_DATASETS: tuple[str, ...] = tuple(CATALOGUE)


def builtin_of(spec: dict) -> Builtin:
    """The catalogue entry a ``builtin`` dataset block names."""
    name = spec.get("name")
    if not isinstance(name, str) or name not in CATALOGUE:  # a dict or list as the name cannot be looked up
        shown = "no 'name'" if name is None else f"unknown built-in dataset {name!r}"
        raise DataError(f"{shown}: choose one of {', '.join(BUILTIN_DATASETS)}")
    return CATALOGUE[name]


def load_builtin(spec: dict) -> Dataset:
    """Generate a built-in dataset and split it, exactly reproducibly from ``seed``."""
    entry = builtin_of(spec)
    samples = samples_of(spec, entry.samples)
    noise = noise_of(spec, entry.noise)
    split = validation_split_of(spec)
    data_seed, split_seed = np.random.SeedSequence(seed_of(spec)).spawn(2)
    x, y = entry.generate(np.random.default_rng(data_seed), samples, noise)
    labels = y if entry.task == CLASSIFICATION else None
    train, val = split_indices(samples, split, np.random.default_rng(split_seed), labels)
    return to_dataset(x, y, train, val, task=entry.task, class_names=list(entry.class_names),
                      feature_names=list(entry.feature_names), input_shape=entry.input_shape,
                      is_sequence=entry.is_sequence, name=entry.name)


def describe_builtin(spec: dict) -> str:
    """"spiral: 400 samples, 2 classes, 2 inputs, 20% for validation", from the catalogue alone."""
    entry = builtin_of(spec)
    samples = samples_of(spec, entry.samples)
    split = validation_split_of(spec)
    target = f"{len(entry.class_names)} classes" if entry.task == CLASSIFICATION else "regression"
    size = "x".join(str(d) for d in entry.input_shape)
    if entry.is_sequence:
        count = f"{samples} sequences of {entry.steps} steps"
        inputs = f"{size} input{'s' if size != '1' else ''} per step"
    else:
        count = f"{samples} samples"
        inputs = f"{size} inputs" if len(entry.input_shape) == 1 else f"{size} images"
    return f"{entry.name}: {count}, {target}, {inputs}, {round(split * 100)}% for validation"

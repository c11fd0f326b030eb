"""The project: a design plus where its data comes from, how it trains, and what it learned.

This is what an ``.nnd`` file holds once opened (see ``docs/file-format.md``); the reader and the
writer in this package turn one into the other.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from designer.graph import Graph, owner_of, signatures, stale_owners

#: The spec's example dataset: the XOR problem, small enough to train in a second.
DEFAULT_DATASET: dict[str, Any] = {
    "kind": "builtin", "name": "xor", "samples": 400, "noise": 0.05, "validation_split": 0.2, "seed": 1,
}
#: The spec's example training block: plain SGD, so a beginner sees the textbook rule at work.
DEFAULT_TRAINING: dict[str, Any] = {
    "loss": "auto", "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.0, "batch_size": 16,
    "epochs": 200, "l1": 0.0, "l2": 0.0, "seed": 0, "device": "auto",
}


class ProjectError(ValueError):
    """An ``.nnd`` file that cannot be read or written; the message names the file and the problem.

    ``path`` is the file concerned, when there is one.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


@dataclass(eq=False)  # compared by identity: weights are arrays, and a graph has no value equality
class Project:
    """Everything an ``.nnd`` file holds.

    ``dataset`` and ``training`` are the blocks of ``project.json`` as plain dicts (their own
    packages validate them), so keys this version does not know survive a re-save; so do
    unknown top-level keys (``extra``) and unknown archive entries (``other_entries``).
    ``weights`` is ``None`` until the design has been trained; ``history`` lists the training
    runs as in ``history.json``. ``path`` is where the project was last read from or written to.
    """

    name: str = "Untitled"
    description: str = ""
    graph: Graph = field(default_factory=Graph)
    dataset: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_DATASET))
    training: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_TRAINING))
    weights: dict[str, numpy.ndarray] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: archive entries written by a newer version, written back unchanged: bytes, or (as the reader leaves
    #: them, since they may be as large as the file) an ``ArchiveMember`` naming the file they stay in
    other_entries: dict[str, Any] = field(default_factory=dict)
    #: what each layer and connection computed when ``weights`` were made (:func:`designer.graph.signatures`);
    #: None where unknown (then every stored tensor is taken as fitting). Not saved: a saved file holds
    #: only the weights that fit its design.
    trained_design: dict[str, str] | None = None

    def store_weights(self, weights: dict[str, numpy.ndarray] | None) -> None:
        """Keep ``weights`` as made for the design as it is now (after a run; None forgets them)."""
        self.weights = weights
        self.trained_design = signatures(self.graph) if weights is not None else None

    def fitting_weights(self) -> tuple[dict[str, numpy.ndarray] | None, set[str]]:
        """``(weights, stale)``: the stored tensors still made for what their layer or connection computes,
        and the ids of those whose function an edit changed since (their tensors are left out)."""
        if self.weights is None or self.trained_design is None:
            return self.weights, set()
        stale = stale_owners(self.trained_design, self.graph)
        if not stale:
            return self.weights, stale
        return {name: value for name, value in self.weights.items() if owner_of(name) not in stale}, stale

    @classmethod
    def new(cls, name: str = "Untitled") -> "Project":
        """An empty design with the default dataset and training settings, not yet saved."""
        return cls(name=name)

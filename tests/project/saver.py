"""Saves a project over and over, for tests/project/test_kill_during_save.py to kill at random moments.

``python tests/project/saver.py TARGET`` builds two different valid projects (the XOR example with
trained-looking weights, and a copy with another name, other weights and another payload), prints
``ready`` once everything is imported, then saves them alternately to ``TARGET`` with
``designer.project.write_project`` until it is killed. The extra ``padding.bin`` archive entry (kept by
the writer as an unknown entry) makes each save take tens of milliseconds, so that kills land inside
writes, not only between them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from designer.project import Project, read_project

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor.nnd"
NAMES = ("XOR", "XOR (modified)")


def two_projects() -> tuple[Project, Project]:
    """The two projects the child alternates between; the test builds the same ones to compare."""
    made = []
    for seed, name in enumerate(NAMES):
        project = read_project(EXAMPLE)
        project.path = None
        project.name = name
        rng = np.random.default_rng(seed)
        project.weights = {
            "x-h.weight": rng.standard_normal((4, 2)).astype(np.float32),
            "h.bias": rng.standard_normal(4).astype(np.float32),
            "h-out.weight": rng.standard_normal((1, 4)).astype(np.float32),
            "out.bias": rng.standard_normal(1).astype(np.float32),
        }
        # random bytes barely deflate, so this is about what goes to the disk: 1 MiB, then 1.5 MiB
        project.other_entries = {"padding.bin": rng.bytes((2 + seed) * 512 * 1024)}
        made.append(project)
    return made[0], made[1]


def main(target: str) -> None:
    from designer.project import write_project

    projects = two_projects()
    print("ready", flush=True)
    n = 0
    while True:
        write_project(projects[n % 2], target)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1])

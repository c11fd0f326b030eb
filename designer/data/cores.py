"""How many cores this process may run on: the loaders size their threads and worker processes by it."""
from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process is allowed on (its affinity), else all the machine's; at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on macOS and Windows
        return max(1, os.cpu_count() or 1)

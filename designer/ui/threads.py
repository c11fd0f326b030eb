"""What every worker thread of the window does first: step back so that the GUI thread keeps its time."""
from __future__ import annotations

import os
import sys
import threading

#: the nice value a worker thread adds to its own (Linux)
WORKER_NICENESS = 10


def lower_thread_priority(steps: int | None = None) -> None:
    """Make the calling thread yield the CPU to the GUI thread when both want it.

    On Linux the nice value is per thread (setpriority with the thread id); a worker at nice +10 keeps the
    window's timers on time on a busy machine and, when a core is free, runs as fast as before. (Other
    systems honour ``QThread.Priority.LowPriority``, set at start.)
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        steps = WORKER_NICENESS if steps is None else steps
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except (OSError, AttributeError):
        pass  # not allowed or not supported: run at normal priority

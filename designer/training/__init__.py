"""Training a compiled design on its data: settings, the loop, steering it, and runs.

No Qt here: the window runs :func:`train` (or :func:`train_project`) on a worker thread and
steers it with a :class:`Control`; the command runs the same functions in its own thread.
"""
from .config import HYPERPARAMETERS, LOSSES, OPTIMIZERS, SCHEDULES, TrainingConfig, TrainingError
from .control import Control
from .devices import available_devices, resolve_device
from .loop import BatchStats, EpochStats, Run, check_fits, evaluate, train
from .objectives import Objective, choose_objective
from .projects import Prepared, check_input_layer, prepare_project, record_run, train_project
from .threads import suggested_threads

__all__ = [
    "HYPERPARAMETERS", "LOSSES", "OPTIMIZERS", "SCHEDULES", "BatchStats", "Control", "EpochStats", "Objective",
    "Prepared", "Run", "TrainingConfig", "TrainingError", "available_devices", "check_fits", "check_input_layer",
    "choose_objective", "evaluate", "prepare_project", "record_run", "resolve_device", "suggested_threads", "train",
    "train_project",
]

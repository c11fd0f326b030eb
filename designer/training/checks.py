"""Everything that would stop a project from training, found without training it.

:func:`project_problems` is the one check: ``nn-designer check`` prints it, and the window lists it
live while the design is edited, so that what the window calls valid is what the command accepts.
Each :class:`~designer.graph.Problem` names the layer or connection it concerns, or its part (the
``dataset``, the ``training`` settings, the stored ``weights``); warnings leave the project valid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from designer.compiler import CompileError
from designer.data import DataError, load_dataset
from designer.graph import Problem, validate
from designer.words import count

from .config import SETTINGS, TrainingConfig, TrainingError
from .devices import available_devices
from .projects import prepare_project

#: ``load(dataset_block, base_dir)``: the window passes a loader that keeps what it loaded
Loader = Callable[[dict, Path | None], object]


class DataPending(DataError):
    """Raised by a loader that has not got the data yet (the window loads it on a thread of its own).

    :func:`project_problems` then checks everything but the data, and lists the message as a warning of
    the ``dataset``: the project is not known to be wrong, only not yet checked against its data.
    """


def project_problems(project, load: Loader = load_dataset) -> tuple[list[Problem], object | None]:
    """``(problems, dataset)``: every problem of ``project`` (errors first), and its data when it loads."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    config = None
    try:
        config = TrainingConfig.from_dict(project.training)
        if config.optimizer in ("adam", "adamw") and config.momentum > 0:
            warnings.append(Problem("warning", f"momentum {config.momentum:g} is not used: it applies to the sgd "
                                               f"and rmsprop optimizers, and {config.optimizer} keeps its own "
                                               f"running averages", part="training"))
        if config.nesterov and config.optimizer != "sgd":
            warnings.append(Problem("warning", f"nesterov is not used: it applies to the sgd optimizer, not "
                                               f"{config.optimizer}", part="training"))
        for key in config.extra:  # most often a typo ("learning_rte"), which would otherwise pass unseen
            warnings.append(Problem("warning", f"unknown setting {key!r} is kept in the file but not used; "
                                               f"the settings are {', '.join(SETTINGS)}", part="training"))
        if config.device not in ("auto", *available_devices()):
            warnings.append(Problem("warning", f"device {config.device!r} is not available on this machine; "
                                               f"train with --device cpu here", part="training"))
    except TrainingError as exc:
        errors.append(_training_problem(exc))
    dataset = None
    try:
        base = Path(project.path).resolve().parent if project.path else None
        dataset = load(project.dataset, base)
    except DataPending as exc:
        warnings.insert(0, Problem("warning", str(exc), part="dataset"))
    except DataError as exc:
        errors.append(Problem("error", str(exc), part="dataset"))
    # the design's problems first, the input layer's shape checked against the data's
    design = []
    for problem in validate(project.graph, dataset.input_shape if dataset is not None else None):
        (design if problem.severity == "error" else warnings).append(problem)
    errors[:0] = design

    if dataset is not None and config is not None and not errors:
        # what only compiling and matching design, data and loss can tell
        try:
            prepared = prepare_project(project, device="cpu", dataset=dataset, check_only=True)
            if prepared.weights_note:
                warnings.append(Problem("warning", prepared.weights_note, part="weights"))
        except CompileError as exc:
            errors.extend(exc.problems or [Problem("error", str(exc))])
        except TrainingError as exc:
            errors.append(_training_problem(exc))
        except DataError as exc:
            errors.append(Problem("error", str(exc), part="dataset"))
    return errors + warnings, dataset


def _training_problem(exc: TrainingError) -> Problem:
    message = str(exc)
    part = "training" if message.startswith("training") else "design"
    return Problem("error", message, layer_id=getattr(exc, "layer_id", None), part=part)


def check_project(project, load: Loader = load_dataset) -> tuple[list[str], list[str], str]:
    """``(errors, warnings, summary)``: problem lines, and a line saying what the project holds."""
    problems, dataset = project_problems(project, load=load)
    errors = [str(p) for p in problems if p.severity == "error"]
    warnings = [str(p) for p in problems if p.severity != "error"]
    summary = count(project.graph.parameter_count(), "trainable parameter")
    if dataset is not None:
        summary += (f"; dataset {dataset.name!r}: {len(dataset.x_train):,} training and "
                    f"{count(len(dataset.x_val), 'validation sample')}")
    return errors, warnings, summary

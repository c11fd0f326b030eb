"""Everything that would stop a project from training, found without training it (``nn-designer check``).

Each problem is one line that names what it concerns: ``error: layer h: ...``, ``error: connection
x-h: ...``, ``error: dataset: ...``, ``error: training: ...``; warnings leave the project valid.
"""
from __future__ import annotations

from pathlib import Path

from designer.compiler import CompileError
from designer.data import DataError, load_dataset
from designer.graph import validate

from .config import SETTINGS, TrainingConfig, TrainingError
from .devices import available_devices
from .projects import prepare_project


def check_project(project) -> tuple[list[str], list[str], str]:
    """``(errors, warnings, summary)``: problem lines, and a line saying what the project holds."""
    errors: list[str] = []
    warnings: list[str] = []
    config = None
    try:
        config = TrainingConfig.from_dict(project.training)
        if config.optimizer == "adam" and config.momentum > 0:
            warnings.append(f"warning: training: momentum {config.momentum:g} is not used: it applies to the sgd "
                            f"optimizer, and adam keeps its own running averages")
        for key in config.extra:  # most often a typo ("learning_rte"), which would otherwise pass unseen
            warnings.append(f"warning: training: unknown setting {key!r} is kept in the file but not used; "
                            f"the settings are {', '.join(SETTINGS)}")
        if config.device not in ("auto", *available_devices()):
            warnings.append(f"warning: training: device {config.device!r} is not available on this machine; "
                            f"train with --device cpu here")
    except TrainingError as exc:
        errors.append(f"error: {exc}")
    dataset = None
    try:
        base = Path(project.path).resolve().parent if project.path else None
        dataset = load_dataset(project.dataset, base)
    except DataError as exc:
        message = str(exc)  # "dataset field 'samples' ..." names the dataset already
        errors.append(f"error: {message}" if message.startswith("dataset") else f"error: dataset: {message}")
    # the design's problems first, the input layer's shape checked against the data's
    design = []
    for problem in validate(project.graph, dataset.input_shape if dataset is not None else None):
        (design if problem.severity == "error" else warnings).append(str(problem))
    errors[:0] = design

    if dataset is not None and config is not None and not errors:
        # what only compiling and matching design, data and loss can tell
        try:
            prepared = prepare_project(project, device="cpu", dataset=dataset)
            if prepared.weights_note:
                warnings.append(f"warning: weights: {prepared.weights_note}")
        except CompileError as exc:
            errors.extend(str(p) for p in exc.problems or [f"error: {exc}"])
        except (TrainingError, DataError) as exc:
            errors.append(f"error: {exc}")
    parameters = project.graph.parameter_count()
    summary = f"{parameters:,} trainable parameter{'s' if parameters != 1 else ''}"
    if dataset is not None:
        summary += (f"; dataset {dataset.name!r}: {len(dataset.x_train):,} training and {len(dataset.x_val):,} "
                    f"validation samples")
    return errors, warnings, summary

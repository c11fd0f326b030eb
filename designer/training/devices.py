"""Which device trains: ``auto`` takes a CUDA GPU, then Apple's MPS, then the CPU."""
from __future__ import annotations

import torch

from .config import DEVICES, TrainingError


def available_devices() -> list[str]:
    """The device names that can train on this machine, best first (``cpu`` always last)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str | torch.device | None) -> torch.device:
    """The :class:`torch.device` for a setting; an unavailable one raises :class:`TrainingError`."""
    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        return torch.device(available_devices()[0])
    if name not in DEVICES:
        raise TrainingError(f"training: device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name not in available_devices():
        raise TrainingError(f"training: device {name!r} is not available on this machine "
                            f"(available: {', '.join(available_devices())}); use 'auto' or 'cpu'")
    return torch.device(name)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())

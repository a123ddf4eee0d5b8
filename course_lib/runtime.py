"""Device choice, seeding and thread settings: the one setup call every lesson makes."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

__all__ = ["DEVICE_ENV", "pick_device", "resolve_device", "seed_everything", "set_threads", "setup", "SetupInfo"]

DEVICE_ENV = "COURSE_DEVICE"
_VALID_DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(prefer: str | None = None):
    """Return the best ``torch.device``: cuda, then mps, then cpu; ``prefer`` or ``$COURSE_DEVICE`` overrides."""
    import torch

    choice = (prefer or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    kind = choice.split(":")[0]
    if kind not in _VALID_DEVICES:
        raise ValueError(
            f"device={choice!r} is not a device this course knows; use one of {', '.join(_VALID_DEVICES)} "
            f"(or e.g. 'cuda:1'), via the argument or the {DEVICE_ENV} environment variable."
        )
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if kind == "auto":
        return torch.device("cuda" if cuda_ok else "mps" if mps_ok else "cpu")
    if kind == "cuda" and not cuda_ok:
        raise ValueError(f"device={choice!r} was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'.")
    if kind == "mps" and not mps_ok:
        raise ValueError(f"device={choice!r} was asked for but MPS (Apple GPU) is not available; use 'auto' or 'cpu'.")
    return torch.device(choice)


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated; returns the seed."""
    import numpy as np
    import torch

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative int, e.g. seed=0.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def set_threads(n: int | None = None) -> int:
    """Use ``n`` CPU threads in torch (default: all cores the process may use); returns the number set."""
    import torch

    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS, Windows
            n = os.cpu_count() or 1
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} must be a positive number of threads, e.g. set_threads(2).")
    torch.set_num_threads(n)
    return n


@dataclass(frozen=True)
class SetupInfo:
    """What :func:`setup` chose."""

    device: object
    seed: int
    threads: int

    def __str__(self) -> str:
        return f"device={self.device}, seed={self.seed}, threads={self.threads}"


def setup(seed: int = 0, device: str | None = None, threads: int | None = None, quiet: bool = False) -> SetupInfo:
    """Seed everything, set threads, pick the device, and print one line saying what was chosen."""
    info = SetupInfo(device=pick_device(device), seed=seed_everything(seed), threads=set_threads(threads))
    if not quiet:
        print(f"course_lib ready: {info}")
    return info


def resolve_device(device=None):
    """The ``torch.device`` for a ``device`` argument: None/str go through :func:`pick_device`; a torch.device passes."""
    import torch

    if device is None or isinstance(device, str):
        return pick_device(device)
    if isinstance(device, torch.device):
        return device
    raise TypeError(f"device={device!r} must be None, a string like 'cpu'/'cuda' or a torch.device.")

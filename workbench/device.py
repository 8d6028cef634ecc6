"""Where training runs its networks: the CPU by default, a GPU when asked.

The device is an execution setting, not part of a run's config: a run trained on a GPU is the
same run (same folder, same config hash) as one trained on the CPU, and env.json records where it
ran. Env stepping, action sampling (with the run's seeded CPU generator) and the logs stay on the
CPU; only the networks and their minibatches move. The same seed gives the same numbers on the
CPU; a GPU's kernels round differently, so its numbers differ.
"""

from __future__ import annotations

import os

import torch

DEVICE_VARIABLE = "WORKBENCH_DEVICE"
DEVICE_TYPES = ("cpu", "cuda")


def train_device(name: str | None = None) -> torch.device:
    """The device named by `name`, else by $WORKBENCH_DEVICE, else the CPU ("auto": a GPU when
    torch sees one); a clear error for an unknown name or a GPU torch cannot use."""
    name = (name or os.environ.get(DEVICE_VARIABLE) or "cpu").strip()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {name!r}: use cpu, cuda, cuda:N or auto") from exc
    if device.type not in DEVICE_TYPES:
        raise ValueError(f"device {name!r}: training runs on {' or '.join(DEVICE_TYPES)}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {name!r} asked for (${DEVICE_VARIABLE} or an argument), but torch "
            f"{torch.__version__} sees no CUDA GPU: unset it to train on the CPU"
        )
    return device


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's parameters (the CPU for a module without any)."""
    return next(module.parameters(), torch.empty(0)).device


def device_info(device: torch.device) -> dict:
    """What env.json records of the training device."""
    info = {"device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info

"""Which simulator backends are importable, and a helpful import of the optional envpool."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

ENVPOOL_INSTALL_HINT = (
    "envpool is not installed; install it with `pip install envpool` "
    "(or `pip install -e '.[envpool]'` from the repository root)"
)


def import_envpool() -> ModuleType:
    """Import envpool, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module("envpool")
    except ImportError as err:
        raise ImportError(ENVPOOL_INSTALL_HINT) from err


def available_backends() -> list[str]:
    """Return the Atari backends usable here: always "gymnasium", plus "envpool" when importable."""
    try:
        import_envpool()
    except ImportError:
        return ["gymnasium"]
    return ["gymnasium", "envpool"]


def default_num_threads(num_envs: int) -> int:
    """envpool worker threads when not given: one per env, at most one per usable CPU core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(num_envs, cores or 1))

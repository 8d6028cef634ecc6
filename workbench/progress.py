"""The workbench's progress switch: tqdm bars unless WORKBENCH_PROGRESS=0 (papermill sets it)."""

from __future__ import annotations

import os

from tqdm.auto import tqdm

ENV_VAR = "WORKBENCH_PROGRESS"


def progress_enabled(requested: bool | None = None) -> bool:
    """An explicit request wins; otherwise on unless the environment variable says 0."""
    if requested is not None:
        return requested
    return os.environ.get(ENV_VAR, "1") != "0"


def progress_bar(total: int, desc: str, enabled: bool | None = None, unit: str = "step") -> tqdm:
    """A tqdm bar (a no-op bar when disabled) that refreshes at most twice a second."""
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        mininterval=0.5,
        disable=not progress_enabled(enabled),
        dynamic_ncols=True,
    )

"""Optional TensorBoard scalars mirroring a run's CSV logs (`workbench train --tensorboard`)."""

from __future__ import annotations

import math
from pathlib import Path


class ScalarLog:
    """Writes numeric log rows as TensorBoard scalars under `<run>/tensorboard/`; off: no-op."""

    def __init__(self, run_dir: str | Path, enabled: bool) -> None:
        self._writer = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError(
                    "TensorBoard scalars need the tensorboard package: "
                    "pip install 'workbench[tensorboard]'"
                ) from exc
            self._writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def add(self, prefix: str, row: dict) -> None:
        """Add every finite number in `row` (except `step`) at `row["step"]`."""
        if self._writer is None:
            return
        for key, value in row.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if math.isfinite(value):
                self._writer.add_scalar(f"{prefix}/{key}", value, row["step"])
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()

"""Test helpers: a run folder's newest weights, and exact equality of two sets of weights."""

from __future__ import annotations

from pathlib import Path

import torch

from workbench.runs.folder import load_checkpoint_file


def run_weights(run: Path) -> dict[str, torch.Tensor]:
    """The model weights of a run folder's newest checkpoint (verified load)."""
    return load_checkpoint_file(run / "checkpoints" / "latest.pt")["model"]


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Same tensor names and bit-identical values: the test of a deterministic run."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

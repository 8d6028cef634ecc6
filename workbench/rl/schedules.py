"""Learning-rate schedule of A2D Sec. 4.1: constant, then linear decay to a final value."""

from __future__ import annotations


def a2d_learning_rate(
    step: int, *, lr: float, lr_final: float, constant_steps: int, total_steps: int
) -> float:
    """lr for the first `constant_steps` agent steps, then linear to `lr_final` at `total_steps`.

    A2D: 1e-3 constant for 1e7 steps, then linear decay to 1e-4 at the end (3e7).
    """
    if step <= constant_steps:
        return lr
    frac = min(1.0, (step - constant_steps) / max(1, total_steps - constant_steps))
    return lr + frac * (lr_final - lr)

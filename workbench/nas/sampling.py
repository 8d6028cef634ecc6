"""Gumbel-softmax samplers of the per-cell op weights, and the temperature schedule.

The architecture parameter alpha (cells x ops) holds **logits**: A2D Eq. 11 writes
`softmax((log alpha_i + g_i) / tau)`, and as in DARTS/FBNet we store `log alpha` directly, so
`softmax(alpha)` is the op distribution of a cell and alpha = 0 is the uniform one.

A sampler turns logits into a `SampleResult`: per-cell weights over all ops plus the ops that the
forward pass has to compute. A supernet only multiplies op outputs by the weights of the active
ops, so it works unchanged with any sampler:

- `SoftGumbel` (A2D): every op active, weights = Gumbel-softmax (a soft mixture).
- `HardGumbelTopK` (A3C-S Eq. 6-8, ProxylessNAS): single-path forward, top-K backward.
- `ArgmaxSampler`: the current derived architecture, no noise (evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

TAU0 = 5.0
"""Initial Gumbel-softmax temperature (A2D Sec. 4.4)."""
TAU_DECAY = 0.98
"""Factor applied to the temperature every `TAU_EVERY` steps."""
TAU_EVERY = 100_000
"""Agent steps per temperature decay factor."""


def temperature(
    step: float, tau0: float = TAU0, decay: float = TAU_DECAY, every: float = TAU_EVERY
) -> float:
    """A2D's schedule tau0 * decay ** (step / every), continuous in step (5 -> ~0.088 at 2e7)."""
    if step < 0 or tau0 <= 0 or not 0 < decay <= 1 or every <= 0:
        raise ValueError(
            f"temperature needs step >= 0, tau0 > 0, 0 < decay <= 1 and every > 0; got "
            f"step={step}, tau0={tau0}, decay={decay}, every={every}"
        )
    return tau0 * decay ** (step / every)


@dataclass(frozen=True)
class SampleResult:
    """One sample of the op weights of every cell.

    `weights` (cells, ops) multiply the op outputs (differentiable w.r.t. the logits); only the
    ops in `active[cell]` are computed (the others have weight exactly 0 in the forward value);
    `chosen[cell]` is the index of the op the sample picked (the argmax of the perturbed logits).
    """

    weights: Tensor
    active: tuple[tuple[int, ...], ...]
    chosen: tuple[int, ...]


class Sampler(Protocol):
    """Turns logits (cells, ops) into a SampleResult at temperature tau."""

    def __call__(
        self, logits: Tensor, tau: float, generator: torch.Generator | None = None
    ) -> SampleResult: ...


def gumbel_noise(like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel(0, 1) noise shaped like `like`, drawn from `generator` (reproducible)."""
    device = generator.device if generator is not None else like.device
    exponential = torch.empty(like.shape, dtype=like.dtype, device=device)
    exponential.exponential_(generator=generator)
    return -exponential.log().to(like.device)


def _check_call(logits: Tensor, tau: float) -> None:
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (cells, ops), got {tuple(logits.shape)}")
    if not tau > 0 or not math.isfinite(tau):
        raise ValueError(f"the temperature tau must be a finite number > 0, got {tau}")


@dataclass(frozen=True)
class SoftGumbel:
    """A2D Eq. 11: weights = softmax((alpha + g) / tau) over all ops; every op is computed."""

    def __call__(
        self, logits: Tensor, tau: float, generator: torch.Generator | None = None
    ) -> SampleResult:
        _check_call(logits, tau)
        scores = logits + gumbel_noise(logits, generator)
        weights = torch.softmax(scores / tau, dim=-1)
        every_op = tuple(range(logits.shape[1]))
        chosen = tuple(scores.argmax(dim=-1).tolist())
        return SampleResult(weights, (every_op,) * logits.shape[0], chosen)


@dataclass(frozen=True)
class HardGumbelTopK:
    """A3C-S Eq. 6-8: forward through ONE op per cell, alpha gradients through the top K.

    Per cell, the ops are ranked by Gumbel-perturbed logits `alpha + g`; the first is the chosen
    op, the first K are active. The weights are `one_hot(chosen) + (s - s.detach())` with
    `s = softmax((alpha + g) / tau)` renormalised over the K active ops (0 elsewhere), so the
    forward value is exactly 1.0 for the chosen op and exactly 0.0 for the others (x - x == 0
    in floating point), while the straight-through gradient reaches exactly the K active logits.
    The K - 1 other active ops are computed only for that gradient.
    """

    k: int = 2
    max_ops: int = 9

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 < self.k < self.max_ops:
            raise ValueError(
                f"HardGumbelTopK needs an integer k with 1 < k < {self.max_ops} (the number of "
                f"ops), got k={self.k!r}"
            )

    def __call__(
        self, logits: Tensor, tau: float, generator: torch.Generator | None = None
    ) -> SampleResult:
        _check_call(logits, tau)
        if self.k >= logits.shape[1]:
            raise ValueError(f"k={self.k} must be < the number of ops ({logits.shape[1]})")
        scores = logits + gumbel_noise(logits, generator)
        top = scores.topk(self.k, dim=-1).indices  # sorted: column 0 is the chosen op
        masked = torch.full_like(scores, -math.inf).scatter(1, top, scores.gather(1, top))
        soft = torch.softmax(masked / tau, dim=-1)
        hard = torch.zeros_like(soft).scatter(1, top[:, :1], 1.0)
        weights = hard + (soft - soft.detach())
        active = tuple(tuple(row) for row in top.tolist())
        return SampleResult(weights, active, tuple(row[0] for row in active))


@dataclass(frozen=True)
class ArgmaxSampler:
    """The derived architecture: one-hot argmax(alpha) per cell, no noise, no alpha gradient."""

    def __call__(
        self, logits: Tensor, tau: float = 1.0, generator: torch.Generator | None = None
    ) -> SampleResult:
        _check_call(logits, tau)
        chosen = logits.detach().argmax(dim=-1)
        weights = torch.zeros_like(logits).scatter(1, chosen[:, None], 1.0)
        ids = tuple(chosen.tolist())
        return SampleResult(weights.detach(), tuple((i,) for i in ids), ids)

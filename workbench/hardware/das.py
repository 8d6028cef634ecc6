"""Differentiable accelerator search (A3C-S Eq. 9), with random and exhaustive search to compare.

Eq. 9: phi* = argmin_phi sum_m GS_hard(phi^m) L_hat, L_hat = L_cost(hw({GS_hard(phi^m)}), net).
Every parameter m (the number of chunks, a layer's allocation shift, whether a layer kind gets
a chunk of its own, a chunk's PE weight, ..., see `DesignSpace`) has a logit vector phi^m.
Each iteration draws a hard Gumbel-softmax sample of every parameter, builds that design and
asks the predictor for its cost L_hat (a number: the predictor is not differentiable).
The hard one-hot h^m is straight-through: forward value one-hot, gradient that of the relaxed
sample y^m = softmax((phi^m + g^m) / tau). Summing h^m * L_hat over all options of m would have
zero gradient (softmax sums to one), so, as the indicator in A3C-S Eq. 8 / 9 selects, only the
chosen option carries the cost: loss = sum_m h^m[chosen_m] * (L_hat - b), whose gradient
(L_hat - b) * dy^m[chosen]/dphi^m lowers the logit of a choice in proportion to how costly the
design it was part of turned out (and raises the others). b is a moving average of recent costs,
a baseline that only reduces variance (without it every sampled choice is pushed down, since
costs are positive); `baseline_momentum=0` turns it off. Parameters that did not shape the
sampled design (knobs of unused chunk slots) get no gradient. Adam updates phi.

Cost: log(period / roofline period), period = 1 / FPS (>= 0, scale-free); an infeasible design
(which gets no FPS) costs the log of the period it would have plus INFEASIBLE_MARGIN plus
OVERUSE_WEIGHT x log(resource used / available), so the search is pushed back into the budget
smoothly. A flat large penalty (margin 10, weight 1) did worse: mean best FPS over 4 seeds of
3323 / 3131 / 2111 on vanilla / resnet14 / resnet20 against 3432 / 3224 / 2077 (one resnet14
seed stuck at 2853): whether a sample fits swamps the latency signal. (Measured on the first
space, with contiguous allocations and PE shares as absolute fractions; see
`benchmarks/das_search.py` for the current space.) Infeasible designs never
become the result: the best feasible design sampled is kept; the argmax design is evaluated at
the end too.

Defaults (lr 0.03, tau 5 as A3C-S's initial Gumbel temperature, 1500 iterations) were picked on
vanilla / resnet14 / resnet20 over 4 seeds; lr 0.1 converges early on slow designs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from workbench.hardware.accelerator import Accelerator, DesignSpace
from workbench.hardware.board import ZC706, Board
from workbench.hardware.layers import LayerSpec
from workbench.hardware.predictor import Prediction, predict, roofline_fps

HISTORY_COLUMNS = ("iteration", "cost", "fps", "feasible", "best_fps")


@dataclass(frozen=True)
class SearchResult:
    """Outcome of a search: the best feasible design and one history row per predictor call."""

    best_design: Accelerator | None
    best_prediction: Prediction | None
    history: pd.DataFrame = field(repr=False)
    seconds: float = 0.0

    @property
    def best_fps(self) -> float:
        """FPS of the best feasible design (0 when none was found)."""
        return 0.0 if self.best_prediction is None else float(self.best_prediction.fps)

    @property
    def predictor_calls(self) -> int:
        """Designs evaluated."""
        return len(self.history)


@dataclass(frozen=True)
class DASResult(SearchResult):
    """A DAS search: also the final argmax design and the learnt choice probabilities."""

    final_design: Accelerator | None = None
    final_prediction: Prediction | None = None
    probabilities: dict[str, list[float]] = field(default_factory=dict, repr=False)


INFEASIBLE_MARGIN = 1.0
"""Cost added to an infeasible design (a factor e slower), on top of OVERUSE_WEIGHT x overuse."""
OVERUSE_WEIGHT = 3.0
"""Weight of log(resource used / available): 10% over budget costs like a 1.35x slower design."""


def design_cost(prediction: Prediction, reference_s: float, bandwidth: float) -> float:
    """log(period / reference), plus the infeasibility penalty when the design is infeasible.

    The period is 1 / FPS, or for an infeasible design the period it would have.
    """
    period = max(max(prediction.chunk_latency_s), prediction.bytes_per_frame / bandwidth)
    cost = math.log(max(period / reference_s, 1e-12))
    if prediction.fps is None:
        overuse = min(max(prediction.overuse, 1.0), 1e6)  # a 0-byte buffer overflows infinitely
        return cost + INFEASIBLE_MARGIN + OVERUSE_WEIGHT * math.log(overuse)
    return cost


class _Tracker:
    """Costs every predictor call, keeps the best feasible design and the history."""

    def __init__(self, layers: Sequence[LayerSpec], board: Board) -> None:
        self.layers, self.board = layers, board
        self.reference_s = 1.0 / roofline_fps(layers, board)
        self.rows: list[tuple] = []
        self.best: tuple[float, Accelerator, Prediction] | None = None

    def evaluate(self, design: Accelerator) -> tuple[float, Prediction]:
        prediction = predict(self.layers, design, self.board)
        cost = design_cost(prediction, self.reference_s, self.board.bandwidth_bytes_per_s)
        if prediction.feasible and (self.best is None or cost < self.best[0]):
            self.best = (cost, design, prediction)
        best_fps = 0.0 if self.best is None else self.best[2].fps
        self.rows.append((len(self.rows), cost, prediction.fps, prediction.feasible, best_fps))
        return cost, prediction

    def result(self, start: float, **extra) -> dict:
        history = pd.DataFrame(self.rows, columns=list(HISTORY_COLUMNS))
        best_design, best_prediction = (None, None) if self.best is None else self.best[1:]
        return {
            "best_design": best_design,
            "best_prediction": best_prediction,
            "history": history,
            "seconds": time.perf_counter() - start,
            **extra,
        }


def _space(layers: Sequence[LayerSpec], board: Board, space: DesignSpace | None) -> DesignSpace:
    """The given space after checking it was made for these layers and board, else the full one."""
    if space is None:
        return DesignSpace(layers, board)
    if space.layers != tuple(layers) or space.board != board:
        raise ValueError(
            "the design space was built for other layers or another board; build it with "
            "DesignSpace(layers, board, ...) for the network and board being searched"
        )
    return space


def das_search(
    layers: Sequence[LayerSpec],
    board: Board = ZC706,
    space: DesignSpace | None = None,
    *,
    iterations: int = 1500,
    lr: float = 0.03,
    tau: float = 5.0,
    baseline_momentum: float = 0.9,
    seed: int = 0,
) -> DASResult:
    """Search `space` (default: the full DesignSpace) by DAS; iterations + 1 predictor calls."""
    if iterations < 1 or tau <= 0 or lr <= 0 or not 0 <= baseline_momentum < 1:
        raise ValueError(
            f"need iterations >= 1, tau > 0, lr > 0 and 0 <= baseline_momentum < 1; got "
            f"iterations={iterations}, tau={tau}, lr={lr}, baseline_momentum={baseline_momentum}"
        )
    start = time.perf_counter()
    space = _space(layers, board, space)
    tracker = _Tracker(layers, board)
    sizes = [len(p.options) for p in space.parameters]
    mask = _option_mask(sizes)
    logits = torch.zeros(mask.shape, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    baseline: float | None = None
    for _ in range(iterations):
        choices, hard = hard_gumbel_sample(logits + mask, tau, generator)
        cost, _ = tracker.evaluate(space.build(choices))
        advantage = 0.0 if baseline is None else cost - baseline
        active = torch.tensor(space.active(choices), dtype=torch.float32)
        loss = (hard * active).sum() * advantage  # Eq. 9 with a baseline
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        baseline = cost if baseline is None else _ema(baseline, cost, baseline_momentum)
    with torch.no_grad():
        final_choices = tuple((logits + mask).argmax(dim=1).tolist())
        probs = torch.softmax(logits + mask, dim=1)
    final_design = space.build(final_choices)
    _, final_prediction = tracker.evaluate(final_design)
    probabilities = {p.name: probs[m, : sizes[m]].tolist() for m, p in enumerate(space.parameters)}
    return DASResult(
        **tracker.result(start),
        final_design=final_design,
        final_prediction=final_prediction,
        probabilities=probabilities,
    )


def _option_mask(sizes: Sequence[int]) -> torch.Tensor:
    """0 for the options each parameter has, -inf for the padding (never sampled)."""
    mask = torch.full((len(sizes), max(sizes)), -math.inf)
    for m, size in enumerate(sizes):
        mask[m, :size] = 0.0
    return mask


def hard_gumbel_sample(
    logits: torch.Tensor, tau: float, generator: torch.Generator
) -> tuple[tuple[int, ...], torch.Tensor]:
    """One hard Gumbel-softmax sample per row: the chosen indices and, per row, the chosen
    option's straight-through weight (value 1, gradient of the relaxed softmax sample)."""
    uniform = torch.rand(logits.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    z = (logits - torch.log(-torch.log(uniform))) / tau
    choice = z.argmax(dim=1)
    soft = torch.softmax(z, dim=1).gather(1, choice[:, None]).squeeze(1)
    return tuple(choice.tolist()), soft - soft.detach() + 1.0


def _ema(average: float, value: float, momentum: float) -> float:
    return momentum * average + (1 - momentum) * value


def random_search(
    layers: Sequence[LayerSpec],
    board: Board = ZC706,
    space: DesignSpace | None = None,
    *,
    n_calls: int = 1000,
    seed: int = 0,
) -> SearchResult:
    """Best of `n_calls` uniformly random designs of `space`."""
    start = time.perf_counter()
    space = _space(layers, board, space)
    tracker = _Tracker(layers, board)
    rng = np.random.default_rng(seed)
    for _ in range(n_calls):
        tracker.evaluate(space.sample(rng))
    return SearchResult(**tracker.result(start))


def exhaustive_search(
    layers: Sequence[LayerSpec],
    board: Board = ZC706,
    space: DesignSpace | None = None,
    *,
    limit: int = 200_000,
) -> SearchResult:
    """Evaluate every design of a small space (at most `limit` points)."""
    start = time.perf_counter()
    space = _space(layers, board, space)
    tracker = _Tracker(layers, board)
    for choices in space.points(limit):
        tracker.evaluate(space.build(choices))
    return SearchResult(**tracker.result(start))

"""The supernet: every cell holds all candidate ops; alpha (cells x ops logits) weighs them.

`forward(x)` takes one argument so the supernet can be the backbone of `ActorCritic`; how it
samples is state set beforehand with `set_sampling(sampler, tau, generator)` (the search loop
calls it whenever tau changes). Every forward draws a fresh sample and keeps it in
`last_sample`, so the cost loss can use the very weights of the forward it penalises:
`cost_loss(supernet.last_sample.weights, table)`. `forward(x, sampler, tau, generator)` and
`forward_with(x, sample)` do the same without touching that state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor, nn

from workbench.nas.ops import build_op
from workbench.nas.sampling import Sampler, SampleResult
from workbench.nas.space import (
    HIDDEN,
    CellSpec,
    Head,
    SearchSpace,
    get_space,
    make_stem,
    validate_arch,
)


class MixedCell(nn.Module):
    """All candidate ops of one cell; the output is the weighted sum of the active ops' outputs."""

    def __init__(self, spec: CellSpec, ops: tuple[str, ...]) -> None:
        super().__init__()
        self.op_names = ops
        self.ops = nn.ModuleDict(
            {name: build_op(name, spec.in_channels, spec.out_channels, spec.stride) for name in ops}
        )

    def forward(self, x: Tensor, weights: Tensor, active: tuple[int, ...]) -> Tensor:
        """sum_i weights[i] * op_i(x) over the active ops only.

        An op whose weight is exactly 0 (hard top-K's non-chosen active ops) adds nothing to the
        output, and nothing to any weight's or input's gradient, so it runs without a graph: its
        output is needed only for d out / d weights[i], alpha's straight-through gradient.
        """
        out = None
        for i in active:
            op = self.ops[self.op_names[i]]
            if weights[i].requires_grad and float(weights[i].detach()) == 0.0:
                with torch.no_grad():
                    y = op(x)
            else:
                y = op(x)
            term = weights[i] * y
            out = term if out is None else out + term
        if out is None:
            raise ValueError("a cell needs at least one active op")
        return out


@dataclass(frozen=True)
class _Sampling:
    sampler: Sampler
    tau: float
    generator: torch.Generator | None


class Supernet(nn.Module):
    """Stem -> one MixedCell per cell -> head (as `build_model`), plus alpha logits (cells, ops)."""

    def __init__(self, space: str | SearchSpace = "a2d", in_channels: int = 4) -> None:
        super().__init__()
        self.space = get_space(space)
        self.stem = make_stem(in_channels, self.space.channels[0])
        self.cells = nn.ModuleList(MixedCell(c, self.space.ops) for c in self.space.cells)
        self.head = Head(self.space.channels[-1])
        self.out_features = HIDDEN
        self.alpha = nn.Parameter(torch.zeros(self.space.num_cells, self.space.num_ops))
        self._sampling: _Sampling | None = None
        self.last_sample: SampleResult | None = None

    def __getstate__(self) -> dict:
        """Copies and pickles drop `last_sample`, whose graph tensors cannot be deep-copied."""
        return {**super().__getstate__(), "last_sample": None}

    def set_sampling(
        self, sampler: Sampler, tau: float, generator: torch.Generator | None = None
    ) -> None:
        """Set how a plain `forward(x)` samples (the ActorCritic path); call again to change tau."""
        if not tau > 0:
            raise ValueError(f"the temperature tau must be > 0, got {tau}")
        self._sampling = _Sampling(sampler, float(tau), generator)

    def sample(
        self, sampler: Sampler, tau: float, generator: torch.Generator | None = None
    ) -> SampleResult:
        """Draw op weights for every cell from alpha."""
        return sampler(self.alpha, tau, generator)

    def forward(
        self,
        x: Tensor,
        sampler: Sampler | None = None,
        tau: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Features (B, 256): sample op weights (given sampler, else `set_sampling`'s) and run."""
        if sampler is None:
            if self._sampling is None:
                raise RuntimeError(
                    "Supernet.forward(x) needs a sampler: call set_sampling(sampler, tau) first "
                    "or pass forward(x, sampler, tau)"
                )
            sampler, tau = self._sampling.sampler, self._sampling.tau
            generator = self._sampling.generator
        if tau is None:
            raise ValueError("forward(x, sampler, tau): tau is required with a sampler")
        sample = self.sample(sampler, tau, generator)
        self.last_sample = sample
        return self.forward_with(x, sample)

    def forward_with(self, x: Tensor, sample: SampleResult | Tensor) -> Tensor:
        """Features for given op weights: a SampleResult, or a (cells, ops) tensor (all ops run)."""
        if isinstance(sample, Tensor):
            every_op = tuple(range(self.space.num_ops))
            chosen = tuple(sample.detach().argmax(dim=-1).tolist())
            sample = SampleResult(sample, (every_op,) * len(sample), chosen)
        expected = (self.space.num_cells, self.space.num_ops)
        if tuple(sample.weights.shape) != expected:
            raise ValueError(
                f"weights must have shape {expected}, got {tuple(sample.weights.shape)}"
            )
        x = self.stem(x)
        for cell, weights, active in zip(self.cells, sample.weights, sample.active, strict=True):
            x = cell(x, weights, active)
        return self.head(x)

    def forward_arch(self, x: Tensor, arch: Mapping[str, str]) -> Tensor:
        """Features of a fixed architecture through the shared weights (one op per cell)."""
        arch = validate_arch(arch, self.space)
        x = self.stem(x)
        for cell, label in zip(self.cells, self.space.cell_labels, strict=True):
            x = cell.ops[arch[label]](x)
        return self.head(x)

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters: [alpha] (its own optimiser: Adam lr 1e-3 in A2D)."""
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter but alpha: the op, stem and head weights."""
        return [p for p in self.parameters() if p is not self.alpha]

    def chosen_arch(self, sample: SampleResult) -> dict[str, str]:
        """The architecture a sample picked (its argmax op per cell)."""
        ops = self.space.ops
        return {
            label: ops[i] for label, i in zip(self.space.cell_labels, sample.chosen, strict=True)
        }

    def derive(self) -> dict[str, str]:
        """The derived architecture: argmax alpha per cell (ties go to the first op)."""
        ids = self.alpha.detach().argmax(dim=-1).tolist()
        return {
            label: self.space.ops[i] for label, i in zip(self.space.cell_labels, ids, strict=True)
        }

    def probabilities(self) -> pd.DataFrame:
        """softmax(alpha) per cell (rows cells, columns ops), for logging and plots."""
        probs = torch.softmax(self.alpha.detach().float(), dim=-1).cpu().numpy()
        return pd.DataFrame(probs, index=list(self.space.cell_labels), columns=list(self.space.ops))

    def alpha_entropy(self) -> float:
        """Mean over cells of the entropy (nats) of softmax(alpha); ln(9) ~ 2.197 is uniform."""
        logp = torch.log_softmax(self.alpha.detach().float(), dim=-1)
        return float(-(logp.exp() * logp).sum(dim=-1).mean())

    def max_entropy(self) -> float:
        """Entropy of the uniform op distribution, ln(num_ops)."""
        return math.log(self.space.num_ops)

    def skip_share(self) -> float:
        """Share of cells whose argmax op is `skip` (a high share warns of DARTS-style collapse)."""
        derived = self.derive().values()
        return sum(op == "skip" for op in derived) / self.space.num_cells

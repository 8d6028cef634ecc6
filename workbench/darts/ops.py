"""The op spaces of RL-DARTS (Sec. 4.1): Classic (normal and reduction ops) and Micro.

Every space holds Zero and Skip beside its base ops (O = O_base + {Zero, Skip}). Ops keep the
channel count and, with stride 1, the spatial size; with stride 2 (the input edges of a
reduction cell) they halve it, rounding up: 64 -> 32 -> 16 -> 8. No BatchNorm anywhere: RL
encoders (IMPALA-CNN) have none, and PPO plays its rollouts and trains on the same weights.

- Classic normal: conv3x3+ReLU, conv5x5+ReLU, dilated (rate 2) conv3x3+ReLU and conv5x5+ReLU.
- Classic reduction: conv3x3, max-pool 3x3, average-pool 3x3 (no ReLU, as the paper lists them).
- Micro: conv3x3, ReLU, Tanh (one normal op space; reductions are IMPALA-CNN's).
- Skip is the identity; with stride 2 it keeps every second pixel (parameter-free, no MACs),
  since channels never change inside a cell (DARTS's FactorizedReduce is not needed).
- Zero outputs zeros of the output's shape; a mixed edge skips computing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from workbench.names import check_name

ZERO = "zero"
SKIP = "skip"


class Zero(nn.Module):
    """The Zero op: zeros of the output's shape (a missing edge)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x[..., :: self.stride, :: self.stride])


class Skip(nn.Module):
    """The identity; with stride 2, every second pixel (no parameters, no MACs)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.stride == 1 else x[..., :: self.stride, :: self.stride]


def _conv(channels: int, kernel: int, stride: int, dilation: int = 1, relu: bool = True):
    padding = dilation * (kernel - 1) // 2  # "same" size at stride 1, ceil(size / 2) at stride 2
    conv = nn.Conv2d(channels, channels, kernel, stride, padding=padding, dilation=dilation)
    return nn.Sequential(conv, nn.ReLU()) if relu else conv


class _Activation(nn.Module):
    """ReLU or Tanh as an op (Micro); strided like Skip in a reduction cell."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], stride: int) -> None:
        super().__init__()
        self.fn, self.stride = fn, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x[..., :: self.stride, :: self.stride])


OpFactory = Callable[[int, int], nn.Module]  # (channels, stride) -> module

_FACTORIES: dict[str, OpFactory] = {
    ZERO: lambda c, s: Zero(s),
    SKIP: lambda c, s: Skip(s),
    "conv3x3_relu": lambda c, s: _conv(c, 3, s),
    "conv5x5_relu": lambda c, s: _conv(c, 5, s),
    "dil3x3_relu": lambda c, s: _conv(c, 3, s, dilation=2),
    "dil5x5_relu": lambda c, s: _conv(c, 5, s, dilation=2),
    "conv3x3": lambda c, s: _conv(c, 3, s, relu=False),
    "maxpool3x3": lambda c, s: nn.MaxPool2d(3, s, padding=1),
    "avgpool3x3": lambda c, s: nn.AvgPool2d(3, s, padding=1, count_include_pad=False),
    "relu": lambda c, s: _Activation(torch.relu, s),
    "tanh": lambda c, s: _Activation(torch.tanh, s),
}


@dataclass(frozen=True)
class OpSpace:
    """An RL-DARTS search space: op names per cell type and the stacking (N, R, I).

    `normal_ops` / `reduce_ops` list every op of O, Zero and Skip included, in the fixed order
    of alpha's columns; `reduce_ops` is empty when R = 0 (reductions are IMPALA-CNN's then).
    """

    name: str
    normal_ops: tuple[str, ...]
    reduce_ops: tuple[str, ...]
    normal_cells: int
    """N: normal cells per block."""
    reduction_cells: int
    """R: searched reduction cells per block (0: IMPALA-CNN's conv3x3 + max-pool)."""
    num_nodes: int = 4
    """I: intermediate nodes per cell."""

    @property
    def cell_types(self) -> tuple[str, ...]:
        """The searched cell types: ("normal", "reduce") or ("normal",)."""
        return ("normal", "reduce") if self.reduction_cells else ("normal",)

    def ops(self, cell_type: str) -> tuple[str, ...]:
        """The ops of `cell_type` ("normal" or "reduce")."""
        check_name(cell_type, self.cell_types, f"cell type of op space {self.name!r}")
        return self.normal_ops if cell_type == "normal" else self.reduce_ops

    def check_op(self, op: str, cell_type: str = "normal") -> str:
        """`op` if it is an op of `cell_type` in this space, else a ValueError listing them."""
        ops = self.ops(cell_type)
        if op not in ops:
            raise UnknownOpError(
                f"op {op!r} is not in the {cell_type} ops of op space {self.name!r}; "
                f"valid ops: {', '.join(ops)}"
            )
        return op

    def make_op(self, op: str, channels: int, stride: int, cell_type: str = "normal") -> nn.Module:
        """The module of op `op` (checked against this space) on `channels` channels."""
        return _FACTORIES[self.check_op(op, cell_type)](channels, stride)


class UnknownOpError(ValueError):
    """An op name outside the chosen op space."""


OP_SPACES: dict[str, OpSpace] = {
    s.name: s
    for s in (
        OpSpace(
            "classic",
            normal_ops=("conv3x3_relu", "conv5x5_relu", "dil3x3_relu", "dil5x5_relu", SKIP, ZERO),
            reduce_ops=("conv3x3", "maxpool3x3", "avgpool3x3", SKIP, ZERO),
            normal_cells=1,
            reduction_cells=1,
        ),
        OpSpace(
            "micro",
            normal_ops=("conv3x3", "relu", "tanh", SKIP, ZERO),
            reduce_ops=(),
            normal_cells=2,
            reduction_cells=0,
        ),
    )
}


def get_op_space(name: str) -> OpSpace:
    """The op space called `name` ("classic" or "micro")."""
    return OP_SPACES[check_name(name, OP_SPACES, "RL-DARTS op space")]

"""The MACs cost of sampled architectures (A2D Sec. 4.4: L_cost = sum_l sum_i GS(alpha) MACs).

Every op's MACs at every cell position are measured once with `FlopCounterMode` (FLOPs / 2, the
convention of `workbench.models.profile.count_macs`: conv, linear and matmul only) and kept in a
table. The cost of an architecture is then a table look-up that equals
`count_macs(build_model(arch))` exactly, and the expected cost of a sample is a differentiable
weighted sum of the table.

Unit of lambda: `cost_loss` is the expected MACs divided by the MACs of ResNet-20's backbone
(stem, blocks and FC-256, without actor/critic heads, as the search-space backbones are counted),
so lambda multiplies expected MACs in units of ResNet-20's MACs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from workbench.models import create_model
from workbench.models.profile import count_macs
from workbench.nas.ops import build_op
from workbench.nas.sampling import SampleResult
from workbench.nas.space import (
    INPUT_SIZE,
    Head,
    SearchSpace,
    get_space,
    infer_space,
    make_stem,
    validate_arch,
)

FIXED_MACS = "fixed_macs"
"""Key of `table.attrs` holding the MACs outside the cells (stem + head)."""
REFERENCE_MODEL = "resnet20"
"""Registered backbone whose MACs are the unit of the normalised cost."""


def module_macs(module: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of one forward on a batch-1 float input (count_macs' convention; works for 0 params)."""
    was_training = module.training
    module.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.zeros((1, *input_shape)))
    finally:
        module.train(was_training)
    return counter.get_total_flops() // 2


@functools.cache
def _measure(space: SearchSpace, in_channels: int) -> tuple[tuple[tuple[int, ...], ...], int]:
    rows = []
    for c in space.cells:
        shape = (c.in_channels, c.input_size, c.input_size)
        rows.append(
            tuple(
                module_macs(build_op(op, c.in_channels, c.out_channels, c.stride), shape)
                for op in space.ops
            )
        )
    last = space.cells[-1]
    fixed = module_macs(
        make_stem(in_channels, space.channels[0]), (in_channels, INPUT_SIZE, INPUT_SIZE)
    )
    fixed += module_macs(
        Head(space.channels[-1]), (last.out_channels, last.output_size, last.output_size)
    )
    return tuple(rows), fixed


def op_macs_table(space: str | SearchSpace = "a2d", in_channels: int = 4) -> pd.DataFrame:
    """MACs of every op (columns) at every cell (rows) for 84x84 frames, measured once per space.

    `table.attrs["fixed_macs"]` holds the MACs of the stem and head, which every architecture has.
    """
    space = get_space(space)
    rows, fixed = _measure(space, in_channels)
    table = pd.DataFrame(list(rows), index=list(space.cell_labels), columns=list(space.ops))
    table.attrs.update({FIXED_MACS: fixed, "space": space.name, "in_channels": in_channels})
    return table


def _fixed(table: pd.DataFrame) -> int:
    if FIXED_MACS not in table.attrs:
        raise ValueError(
            f"the MACs table has lost attrs[{FIXED_MACS!r}]: build it with op_macs_table()"
        )
    return int(table.attrs[FIXED_MACS])


def arch_macs(
    arch: Mapping[str, str], space: str | SearchSpace | None = None, in_channels: int = 4
) -> int:
    """MACs per frame of the backbone of `arch` by table look-up; equals count_macs(build_model)."""
    space = get_space(space) if space is not None else infer_space(arch)
    arch = validate_arch(arch, space)
    table = op_macs_table(space, in_channels)
    return _fixed(table) + sum(int(table.at[cell, op]) for cell, op in arch.items())


def expected_macs(weights: Tensor | SampleResult, table: pd.DataFrame) -> Tensor:
    """Differentiable sum_l sum_i w_li MACs_li + fixed MACs (float64) for op weights (cells, ops).

    Soft samples weigh every op; hard top-K samples have forward value the sampled network's MACs
    and a gradient through their K renormalised weights.
    """
    if isinstance(weights, SampleResult):
        weights = weights.weights
    if tuple(weights.shape) != table.shape:
        raise ValueError(
            f"weights of shape {tuple(weights.shape)} do not match the MACs table {table.shape}"
        )
    macs = torch.tensor(table.to_numpy(dtype="float64"), device=weights.device)
    return (weights.double() * macs).sum() + _fixed(table)


@functools.cache
def backbone_macs(model: str = REFERENCE_MODEL, in_channels: int = 4) -> int:
    """MACs per frame of a registered backbone (no actor/critic heads): the unit of the cost."""
    return count_macs(
        create_model(model, in_channels=in_channels), (in_channels, INPUT_SIZE, INPUT_SIZE)
    )


def cost_loss(
    weights: Tensor | SampleResult, table: pd.DataFrame, reference_macs: int | None = None
) -> Tensor:
    """Expected MACs / ResNet-20's backbone MACs (default): lambda is in ResNet-20 MACs units."""
    if reference_macs is None:
        reference_macs = backbone_macs(in_channels=int(table.attrs.get("in_channels", 4)))
    if reference_macs <= 0:
        raise ValueError(f"reference_macs must be > 0, got {reference_macs}")
    dtype = weights.weights.dtype if isinstance(weights, SampleResult) else weights.dtype
    return (expected_macs(weights, table) / reference_macs).to(dtype)

"""RL-DARTS encoders, stacked as IMPALA-CNN (Sec. 3.1, Fig. 2): D blocks, each R reduction
cells then N normal cells, every cell at its block's channel depth; then flatten, ReLU,
Linear -> 256, ReLU (IMPALA-CNN's head), so the actor-critic heads are the baseline's.

- Classic, (N, R, I) = (1, 1, 4): an initial Conv3x3 (input -> depth) since R > 0; each block
  halves the map in its reduction cell (64 -> 32 -> 16 -> 8 for D = 3).
- Micro, (2, 0, 4): each block starts with IMPALA-CNN's reduction, Conv3x3 + MaxPool3x3
  stride 2, then two normal cells.
Where two blocks have different depths a Conv1x1 adapts the channels (the paper's 16x3 and
64x3 never need one). The supernet owns alpha per cell type, shared by every cell of that type
(as DARTS), and feeds softmax(alpha / temperature) to its cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from workbench.darts.cell import DiscreteCell, SearchCell
from workbench.darts.discretize import check_num_nodes, discretize, num_edges
from workbench.darts.genotype import Genotype
from workbench.darts.ops import OpSpace, get_op_space
from workbench.models.blocks import conv_output_size

HIDDEN = 256
"""Features out of every encoder (IMPALA-CNN's FC 256)."""
ALPHA_INIT_STD = 1e-3
"""alpha starts as 1e-3 * N(0, 1) (DARTS): near-uniform op weights, ties broken at random."""


class CellStack(nn.Module):
    """The IMPALA-style stack of cells with the flatten-ReLU-FC256-ReLU head."""

    def __init__(
        self,
        space: OpSpace,
        make_cell: Callable[[str, int], nn.Module],
        channels: Sequence[int],
        in_channels: int,
        input_size: int,
    ) -> None:
        super().__init__()
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive depths per block, got {channels}")
        layers: list[nn.Module] = []
        size, prev = input_size, in_channels
        if space.reduction_cells:
            layers.append(nn.Conv2d(in_channels, channels[0], 3, padding=1))  # initial Conv3x3
            prev = channels[0]
        for depth in channels:
            if space.reduction_cells:
                if prev != depth:
                    layers.append(nn.Conv2d(prev, depth, 1))
                for _ in range(space.reduction_cells):
                    layers.append(make_cell("reduce", depth))
                    size = conv_output_size(size, 3, 2, padding=1)
            else:  # IMPALA-CNN's reduction
                layers += [nn.Conv2d(prev, depth, 3, padding=1), nn.MaxPool2d(3, 2, padding=1)]
                size = conv_output_size(size, 3, 2, padding=1)
            layers += [make_cell("normal", depth) for _ in range(space.normal_cells)]
            prev = depth
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.ReLU(), nn.Linear(prev * size * size, HIDDEN), nn.ReLU()
        )
        self.out_features = HIDDEN

    def forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor] | None = None):
        """x: (B, C, H, W) float -> (B, 256); `weights` per cell type for search cells."""
        for layer in self.layers:
            x = layer(x, weights[layer.cell_type]) if isinstance(layer, SearchCell) else layer(x)
        return self.head(x)


class DartsSupernet(nn.Module):
    """The RL-DARTS supernet encoder: search cells sharing alpha per cell type.

    alpha is an nn.Parameter of this module, so an optimiser over the agent's parameters trains
    it jointly with the weights on the RL loss (one-level, Alg. 1 step 1).
    """

    def __init__(
        self,
        op_space: str = "classic",
        depth: int = 16,
        blocks: int = 3,
        *,
        in_channels: int = 3,
        input_size: int = 64,
        temperature: float = 5.0,
        num_nodes: int | None = None,
    ) -> None:
        super().__init__()
        self.space = get_op_space(op_space)
        self.num_nodes = self.space.num_nodes if num_nodes is None else num_nodes
        check_num_nodes(self.num_nodes)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.alpha = nn.ParameterDict(
            {
                c: nn.Parameter(
                    ALPHA_INIT_STD * torch.randn(num_edges(self.num_nodes), len(self.space.ops(c)))
                )
                for c in self.space.cell_types
            }
        )
        self.stack = CellStack(
            self.space,
            lambda cell_type, c: SearchCell(self.space, cell_type, c, self.num_nodes),
            [depth] * blocks,
            in_channels,
            input_size,
        )
        self.out_features = self.stack.out_features

    def op_weights(self) -> dict[str, torch.Tensor]:
        """softmax(alpha / temperature) per cell type: (edges, ops), rows sum to 1."""
        return {c: torch.softmax(a / self.temperature, dim=-1) for c, a in self.alpha.items()}

    def arch_parameters(self) -> list[nn.Parameter]:
        """alpha, one tensor per cell type."""
        return list(self.alpha.values())

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter but alpha."""
        ids = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def genotype(self) -> Genotype:
        """The discretised cell of the current alpha (Alg. 4)."""
        return discretize(self.op_weights(), self.space)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(x, self.op_weights())


class DartsCellNet(nn.Module):
    """An encoder of discrete cells from a genotype (evaluation from scratch, random cells)."""

    def __init__(
        self,
        genotype: Genotype,
        depth: int = 64,
        blocks: int = 3,
        *,
        in_channels: int = 3,
        input_size: int = 64,
    ) -> None:
        super().__init__()
        self.genotype = genotype
        space = get_op_space(genotype.op_space)
        self.stack = CellStack(
            space,
            lambda cell_type, c: DiscreteCell(space, cell_type, c, genotype.cell(cell_type)),
            [depth] * blocks,
            in_channels,
            input_size,
        )
        self.out_features = self.stack.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(x)

"""RL-DARTS cells (Sec. 3.1): I intermediate nodes, node i sums one edge from the cell input
and from every earlier node, output = Conv1x1 over the concatenation of the I nodes.

A search cell's edge is a mixed op, sum_o p_o o(x), with the weights p handed in by the caller
(DARTS's `MixedOp.forward(x, weights)`): the supernet owns alpha and its softmax. A discrete
cell keeps only the (op, input) pairs of its genotype. Normal cells keep the input's shape;
in reduction cells the edges that read the cell input have stride 2.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.darts.discretize import edge_offset, num_edges
from workbench.darts.genotype import Node
from workbench.darts.ops import ZERO, OpSpace


class MixedEdge(nn.Module):
    """One edge of a search cell: every op of the cell type, mixed by the given weights."""

    def __init__(self, space: OpSpace, cell_type: str, channels: int, stride: int) -> None:
        super().__init__()
        self.names = space.ops(cell_type)
        self.ops = nn.ModuleList(space.make_op(o, channels, stride, cell_type) for o in self.names)
        self.zero = self.names.index(ZERO)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """sum_o weights[o] * o(x); Zero adds nothing and is not computed.  weights: (ops,)"""
        out = None
        for o, op in enumerate(self.ops):
            if o == self.zero:
                continue
            term = weights[o] * op(x)
            out = term if out is None else out + term
        return out


class _Output(nn.Module):
    """Conv1x1 over the concatenated intermediate nodes (I * C -> C channels)."""

    def __init__(self, channels: int, num_nodes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(num_nodes * channels, channels, 1)

    def forward(self, nodes: list[torch.Tensor]) -> torch.Tensor:
        return self.conv(torch.cat(nodes, dim=1))


class SearchCell(nn.Module):
    """A cell of the supernet: a mixed edge from every earlier node into every node."""

    def __init__(self, space: OpSpace, cell_type: str, channels: int, num_nodes: int) -> None:
        super().__init__()
        self.cell_type, self.num_nodes = cell_type, num_nodes
        stride = 2 if cell_type == "reduce" else 1
        self.edges = nn.ModuleList(
            MixedEdge(space, cell_type, channels, stride if j == 0 else 1)
            for i in range(1, num_nodes + 1)
            for j in range(i)
        )
        self.output = _Output(channels, num_nodes)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W); weights: (edges, ops) softmax weights -> (B, C, H', W')."""
        if weights.shape[0] != num_edges(self.num_nodes):
            raise ValueError(
                f"{self.cell_type} cell with {self.num_nodes} nodes needs weights for "
                f"{num_edges(self.num_nodes)} edges, got {tuple(weights.shape)}"
            )
        nodes = [x]
        for i in range(1, self.num_nodes + 1):
            e = edge_offset(i)
            nodes.append(sum(self.edges[e + j](nodes[j], weights[e + j]) for j in range(i)))
        return self.output(nodes[1:])


class DiscreteCell(nn.Module):
    """A cell built from a genotype: each node sums only its kept (op, input) edges."""

    def __init__(
        self, space: OpSpace, cell_type: str, channels: int, nodes: tuple[Node, ...]
    ) -> None:
        super().__init__()
        self.cell_type, self.num_nodes = cell_type, len(nodes)
        stride = 2 if cell_type == "reduce" else 1
        self.inputs = [[j for _, j in node] for node in nodes]
        self.nodes = nn.ModuleList(
            nn.ModuleList(
                space.make_op(op, channels, stride if j == 0 else 1, cell_type) for op, j in node
            )
            for node in nodes
        )
        self.output = _Output(channels, len(nodes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) -> (B, C, H', W')."""
        states = [x]
        for ops, inputs in zip(self.nodes, self.inputs, strict=True):
            states.append(sum(op(states[j]) for op, j in zip(ops, inputs, strict=True)))
        return self.output(states[1:])

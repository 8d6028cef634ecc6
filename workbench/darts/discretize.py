"""From alpha to a discrete cell (RL-DARTS Alg. 4), the size of the discrete space (App. G.1),
and cells drawn uniformly from it (the random-search baseline).

Edges are numbered node by node: node i (1-based) reads inputs 0..i-1, so its edges are
`edge_offset(i) + j`, and a cell of I nodes has I (I + 1) / 2 edges (10 for I = 4).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import torch

from workbench.darts.genotype import Genotype
from workbench.darts.ops import ZERO, OpSpace, get_op_space

TOP_K = 2
"""K: incoming edges kept per node (RL-DARTS and DARTS: 2)."""


def num_edges(num_nodes: int) -> int:
    """Edges of a cell with `num_nodes` intermediate nodes, each reading all earlier ones."""
    return num_nodes * (num_nodes + 1) // 2


def edge_offset(node: int) -> int:
    """Index of the first edge (from the cell input) of intermediate node `node` (1-based)."""
    return node * (node - 1) // 2


def edge_label(edge: int) -> str:
    """`in->1`, `in->2`, `1->2`, ... for edge number `edge`."""
    node = 1
    while edge_offset(node + 1) <= edge:
        node += 1
    j = edge - edge_offset(node)
    return f"{'in' if j == 0 else j}->{node}"


def check_num_nodes(num_nodes: int, k: int = TOP_K) -> None:
    """A ValueError unless a cell has at least `k` nodes, as top-k pruning needs."""
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < k:
        raise ValueError(
            f"a cell needs at least {k} intermediate nodes for top-{k} pruning (RL-DARTS uses "
            f"I = 4); got {num_nodes!r}"
        )


def discretize(
    weights: Mapping[str, torch.Tensor], op_space: str | OpSpace, k: int = TOP_K
) -> Genotype:
    """RL-DARTS Alg. 4 (DARTS's rule): per edge the strongest op other than Zero, per node the
    `k` incoming edges whose chosen op has the largest softmax weight.

    `weights` maps each searched cell type ("normal", "reduce") to its softmax op weights
    (edges, ops), columns in the op space's order. Ties go to the earlier op / input.
    """
    space = get_op_space(op_space) if isinstance(op_space, str) else op_space
    cells = {}
    num_nodes = None
    for cell_type in space.cell_types:
        if cell_type not in weights:
            raise ValueError(f"no {cell_type} weights to discretise (op space {space.name!r})")
        ops = space.ops(cell_type)
        w = torch.as_tensor(weights[cell_type]).detach().double()
        nodes = _nodes_of(w.shape[0]) if w.ndim == 2 else None
        if nodes is None or w.shape[1] != len(ops):
            raise ValueError(
                f"{cell_type} weights must be (edges, {len(ops)}) with edges = I (I + 1) / 2; "
                f"got {tuple(w.shape)}"
            )
        check_num_nodes(nodes, k)
        if num_nodes not in (None, nodes):
            raise ValueError(f"normal and reduce cells have {num_nodes} and {nodes} nodes")
        num_nodes = nodes
        non_zero = [o for o, name in enumerate(ops) if name != ZERO]
        cell = []
        for i in range(1, nodes + 1):
            rows = w[edge_offset(i) : edge_offset(i) + i][:, non_zero]  # (i, ops without Zero)
            strength, best = rows.max(dim=1)  # max returns the first maximum: earlier op wins
            order = sorted(range(i), key=lambda j: (-strength[j].item(), j))[:k]
            cell.append(tuple((ops[non_zero[best[j]]], j) for j in sorted(order)))
        cells[cell_type] = tuple(cell)
    return Genotype(space.name, cells["normal"], cells.get("reduce", ()))


def _nodes_of(edges: int) -> int | None:
    """I such that I (I + 1) / 2 == edges, else None."""
    n = int((math.isqrt(8 * edges + 1) - 1) // 2)
    return n if num_edges(n) == edges and n > 0 else None


def cell_space_size(non_zero_ops: int, num_nodes: int, k: int = TOP_K) -> int:
    """Discrete cells of one type: node i picks min(i, k) of its i inputs and a non-zero op on
    each, so O_nz * prod_{i=2..I} (O_nz^k * C(i, k)) for k = 2 (RL-DARTS App. G.1)."""
    check_num_nodes(num_nodes, k)
    size = 1
    for i in range(1, num_nodes + 1):
        m = min(i, k)
        size *= non_zero_ops**m * math.comb(i, m)
    return size


def search_space_size(op_space: str | OpSpace, num_nodes: int | None = None, k: int = TOP_K) -> int:
    """Discrete architectures of an op space: the product over its searched cell types (Classic:
    normal with O_nz = 5 times reduction with O_nz = 4, about 4e11; App. G.1)."""
    space = get_op_space(op_space) if isinstance(op_space, str) else op_space
    nodes = space.num_nodes if num_nodes is None else num_nodes
    return math.prod(cell_space_size(len(space.ops(c)) - 1, nodes, k) for c in space.cell_types)


def random_genotype(
    op_space: str | OpSpace, seed: int, num_nodes: int | None = None, k: int = TOP_K
) -> Genotype:
    """A cell drawn uniformly from the discrete space (`search_space_size` equally likely cells):
    per node, min(i, k) distinct inputs uniformly, and a non-zero op per kept edge uniformly."""
    space = get_op_space(op_space) if isinstance(op_space, str) else op_space
    nodes = space.num_nodes if num_nodes is None else num_nodes
    check_num_nodes(nodes, k)
    rng = random.Random(seed)
    cells = {}
    for cell_type in space.cell_types:
        ops = [o for o in space.ops(cell_type) if o != ZERO]
        cells[cell_type] = tuple(
            tuple((rng.choice(ops), j) for j in sorted(rng.sample(range(i), min(i, k))))
            for i in range(1, nodes + 1)
        )
    return Genotype(space.name, cells["normal"], cells.get("reduce", ()))

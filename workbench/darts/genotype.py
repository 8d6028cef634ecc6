"""Discrete RL-DARTS cells as small printable values (DARTS's genotypes), with JSON round trip.

A genotype holds, per searched cell type, one entry per intermediate node: the (op, input)
pairs it sums. Input 0 is the cell's input, input j >= 1 is intermediate node j, and node i
(1-based) may only read inputs 0..i-1. Zero is never part of a genotype (an absent edge).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from workbench.darts.ops import ZERO, get_op_space

Node = tuple[tuple[str, int], ...]
"""The (op, input) pairs one intermediate node sums, sorted by input."""


@dataclass(frozen=True)
class Genotype:
    """A discrete cell of each searched type of `op_space` (normal, and reduce when R > 0)."""

    op_space: str
    normal: tuple[Node, ...]
    reduce: tuple[Node, ...] = ()

    def __post_init__(self) -> None:
        space = get_op_space(self.op_space)
        object.__setattr__(self, "normal", _as_nodes(self.normal))
        object.__setattr__(self, "reduce", _as_nodes(self.reduce))
        if space.reduction_cells and len(self.reduce) != len(self.normal):
            raise ValueError(
                f"op space {self.op_space!r} searches a reduction cell too: the genotype needs "
                f"{len(self.normal)} reduce nodes like its normal cell, got {len(self.reduce)}"
            )
        if not space.reduction_cells and self.reduce:
            raise ValueError(
                f"op space {self.op_space!r} has no reduction cell (IMPALA-CNN's reductions); "
                "leave `reduce` empty"
            )
        for cell_type in space.cell_types:
            nodes = self.cell(cell_type)
            if not nodes:
                raise ValueError(f"a {cell_type} cell needs at least one intermediate node")
            for i, node in enumerate(nodes, start=1):
                if not node:
                    raise ValueError(f"{cell_type} node {i} has no incoming edge")
                inputs = [j for _, j in node]
                if len(set(inputs)) != len(inputs):
                    raise ValueError(f"{cell_type} node {i} reads an input twice: {inputs}")
                for op, j in node:
                    if not 0 <= j < i:
                        raise ValueError(
                            f"{cell_type} node {i} reads input {j}; node {i} may read 0 (the "
                            f"cell input) to {i - 1}"
                        )
                    if op == ZERO:
                        raise ValueError(f"{cell_type} node {i}: Zero is an absent edge, drop it")
                    space.check_op(op, cell_type)

    @property
    def num_nodes(self) -> int:
        """I, the intermediate nodes per cell."""
        return len(self.normal)

    def cell(self, cell_type: str) -> tuple[Node, ...]:
        """The nodes of the "normal" or "reduce" cell."""
        return self.normal if cell_type == "normal" else self.reduce

    def to_dict(self) -> dict:
        """A plain dict of lists (JSON-ready)."""
        return {
            "op_space": self.op_space,
            "normal": [[[op, j] for op, j in node] for node in self.normal],
            "reduce": [[[op, j] for op, j in node] for node in self.reduce],
        }

    def to_json(self) -> str:
        """Canonical compact JSON (the same genotype always gives the same text)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> Genotype:
        """Inverse of `to_dict` (validated)."""
        unknown = set(data) - {"op_space", "normal", "reduce"}
        if unknown or "op_space" not in data or "normal" not in data:
            raise ValueError(
                f"a genotype is {{'op_space', 'normal', 'reduce'}}; got keys {sorted(data)}"
            )
        return cls(data["op_space"], data["normal"], data.get("reduce", ()))

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        """Inverse of `to_json` (validated)."""
        return cls.from_dict(json.loads(text))

    def key(self) -> str:
        """An 8-character hash of the genotype, for run-folder names."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:8]

    def label(self, cell_type: str = "normal") -> str:
        """One line per cell, e.g. `1: conv3x3_relu(in) | 2: skip(in) + conv5x5_relu(1) | ...`."""
        parts = []
        for i, node in enumerate(self.cell(cell_type), start=1):
            edges = " + ".join(f"{op}({'in' if j == 0 else j})" for op, j in node)
            parts.append(f"{i}: {edges}")
        return " | ".join(parts)


def _as_nodes(nodes) -> tuple[Node, ...]:
    """Nodes as tuples of (str, int) pairs sorted by input (lists from JSON accepted)."""
    try:
        return tuple(
            tuple(sorted(((str(op), _as_int(j)) for op, j in node), key=lambda e: e[1]))
            for node in nodes
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"genotype nodes must be lists of [op, input] pairs, got {nodes!r} ({exc})"
        ) from exc


def _as_int(j) -> int:
    if isinstance(j, bool) or int(j) != j:
        raise ValueError(f"input index {j!r} is not an integer")
    return int(j)

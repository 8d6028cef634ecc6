"""Search spaces, architectures (plain dicts cell -> op), validation, JSON files and model builder.

A space is the CIFAR-ResNet layout of `workbench.models.resnet_cifar` (stem conv3x3 stride 2 with
16 channels, 3 stages of 16/32/64 channels whose first cell has stride 2 in stages 2 and 3, then
BN-ReLU -> global average pool -> Linear(64, 256) + ReLU) with every block replaced by a
searchable cell that picks one of the 9 ops of `workbench.nas.ops`.

An architecture is a dict `{"cell_0": "ir3_e3", ..., "cell_13": "skip"}` in cell order.
Architecture files are JSON `{"space": "a2d", "arch": {"cell_0": ...}}` (what `save_arch` writes);
`load_arch` also accepts a bare mapping of cells, whose space is then read off its cell count
(14 cells: a2d, 12 cells: a3cs).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from workbench.models.blocks import conv_output_size
from workbench.names import check_name, closest_names
from workbench.nas.ops import OPS, build_op

INPUT_SIZE = 84
"""Frame size the cell geometry (and the MACs table) is computed for: Atari 84x84."""
HIDDEN = 256
"""Features out of the backbone head (A2D App. C): what the actor and critic heads read."""


class ArchitectureError(ValueError):
    """An architecture that does not fit its search space (unknown op, missing or extra cells)."""


@dataclass(frozen=True)
class CellSpec:
    """Where a cell sits: its label, stage, channels, stride and input feature-map size."""

    label: str
    stage: int
    in_channels: int
    out_channels: int
    stride: int
    input_size: int

    @property
    def output_size(self) -> int:
        """Feature-map size after the cell (every op pads like a 3x3 conv with padding 1)."""
        return conv_output_size(self.input_size, 3, self.stride, 1)


@dataclass(frozen=True)
class SearchSpace:
    """A CIFAR-ResNet-shaped space: `stage_cells[s]` searchable cells of `channels[s]` channels.

    The first cell of every stage after the first has stride 2; the stem halves the input.
    """

    name: str
    stage_cells: tuple[int, ...]
    channels: tuple[int, ...] = (16, 32, 64)
    ops: tuple[str, ...] = OPS

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("SearchSpace.name must not be empty")
        if len(self.stage_cells) != len(self.channels) or not self.stage_cells:
            raise ValueError(
                f"SearchSpace {self.name!r}: stage_cells {self.stage_cells} and channels "
                f"{self.channels} must be non-empty and of the same length (one per stage)"
            )
        if min(self.stage_cells) < 1 or min(self.channels) < 1:
            raise ValueError(f"SearchSpace {self.name!r}: cells and channels must be >= 1")
        if list(self.channels) != sorted(self.channels):
            raise ValueError(
                f"SearchSpace {self.name!r}: channels must not shrink (the skip op pads channels), "
                f"got {self.channels}"
            )
        if len(set(self.ops)) != len(self.ops) or len(self.ops) < 2:
            raise ValueError(f"SearchSpace {self.name!r}: ops must be >= 2 distinct names")
        for op in self.ops:
            check_name(op, OPS, "op")

    @property
    def num_cells(self) -> int:
        """Number of searchable cells."""
        return sum(self.stage_cells)

    @property
    def num_ops(self) -> int:
        """Number of candidate ops per cell."""
        return len(self.ops)

    @property
    def cell_labels(self) -> tuple[str, ...]:
        """Stable cell names `cell_0` ... `cell_{n-1}`: the keys of an architecture dict."""
        return tuple(f"cell_{i}" for i in range(self.num_cells))

    @property
    def cells(self) -> tuple[CellSpec, ...]:
        """Geometry of every cell for 84x84 input (stem 84 -> 42, then 42 -> 21 -> 11)."""
        return self.cell_specs(INPUT_SIZE)

    def cell_specs(self, input_size: int = INPUT_SIZE) -> tuple[CellSpec, ...]:
        """Geometry of every cell for square frames of `input_size` pixels."""
        specs = []
        size = conv_output_size(input_size, 3, 2, 1)
        in_channels = self.channels[0]
        labels = iter(self.cell_labels)
        for stage, (count, out_channels) in enumerate(
            zip(self.stage_cells, self.channels, strict=True)
        ):
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                spec = CellSpec(next(labels), stage, in_channels, out_channels, stride, size)
                specs.append(spec)
                size, in_channels = spec.output_size, out_channels
        return tuple(specs)


SPACES: dict[str, SearchSpace] = {
    "a2d": SearchSpace("a2d", (5, 4, 5)),
    "a3cs": SearchSpace("a3cs", (4, 4, 4)),
}
"""The spaces of the papers. `a2d`: 5/4/5 cells (A2D Sec. 4.4, App. D). `a3cs`: 12 cells split
4/4/4 -- our decision: the A3C-S paper gives 12 searchable cells but not how they split into the
3 stages; an even split keeps its 9^12 size and mirrors A2D's roughly even one."""


def get_space(space: str | SearchSpace) -> SearchSpace:
    """The search space named `space` (a SearchSpace passes through), with did-you-mean errors."""
    if isinstance(space, SearchSpace):
        return space
    return SPACES[check_name(space, SPACES, "search space")]


def infer_space(arch: Mapping[str, str]) -> SearchSpace:
    """The known space with as many cells as `arch` (14: a2d, 12: a3cs)."""
    matches = [s for s in SPACES.values() if s.num_cells == len(arch)]
    if len(matches) != 1:
        counts = ", ".join(f"{s.name}: {s.num_cells}" for s in SPACES.values())
        raise ArchitectureError(
            f"cannot tell the search space of an architecture with {len(arch)} cells "
            f"(cells per space: {counts}); pass the space explicitly"
        )
    return matches[0]


def validate_arch(
    arch: Mapping[str, str], space: str | SearchSpace | None = None
) -> dict[str, str]:
    """Check `arch` against `space` (inferred from the cell count if None); return it in cell order.

    All problems are reported at once: unknown ops (with the cell and the valid ops), missing
    cells and cells the space does not have.
    """
    if not isinstance(arch, Mapping):
        raise ArchitectureError(f"an architecture is a mapping cell -> op, got {type(arch)}")
    space = get_space(space) if space is not None else infer_space(arch)
    labels = space.cell_labels
    problems = []
    missing = [c for c in labels if c not in arch]
    if missing:
        problems.append(f"missing cells: {', '.join(missing)}")
    extra = [str(c) for c in arch if c not in labels]
    if extra:
        problems.append(
            f"cells not in space {space.name!r} (which has {labels[0]}..{labels[-1]}): "
            f"{', '.join(extra)}"
        )
    bad: dict[str, list[str]] = {}  # unknown op -> its cells, so each op is explained once
    for cell in labels:
        if cell in arch and arch[cell] not in space.ops:
            bad.setdefault(repr(arch[cell]), []).append(cell)
    for cells in bad.values():
        problems.append(f"{', '.join(cells)}: {_unknown_op_message(arch[cells[0]], space)}")
    if problems:
        raise ArchitectureError(
            f"invalid architecture for space {space.name!r}: " + "; ".join(problems)
        )
    return {cell: arch[cell] for cell in labels}


def _unknown_op_message(op: object, space: SearchSpace) -> str:
    hint = closest_names(op, space.ops) if isinstance(op, str) else []
    did_you_mean = f" Did you mean: {', '.join(hint)}?" if hint else ""
    return f"unknown op {op!r}.{did_you_mean} Valid ops: {', '.join(space.ops)}"


def uniform_arch(op: str, space: str | SearchSpace = "a2d") -> dict[str, str]:
    """The architecture with op `op` in every cell."""
    space = get_space(space)
    return validate_arch({cell: op for cell in space.cell_labels}, space)


def cheapest_arch(space: str | SearchSpace = "a2d") -> dict[str, str]:
    """Every cell `skip`: the cheapest op in every cell (0 MACs; tests check it on the table)."""
    return uniform_arch("skip", space)


def random_arch(space: str | SearchSpace = "a2d", seed: int = 0) -> dict[str, str]:
    """A uniformly random architecture, reproducible from `seed` (random-search baselines)."""
    space = get_space(space)
    rng = random.Random(seed)
    return {cell: rng.choice(space.ops) for cell in space.cell_labels}


RESNET_LIKE_A2D = uniform_arch("conv3", "a2d")
"""Every a2d cell conv3 (plain conv-BN-ReLU, no residuals): the ResNet-shaped reference."""
RESNET_LIKE_A3CS = uniform_arch("conv3", "a3cs")
"""Every a3cs cell conv3."""
NAMED_ARCHS: dict[str, dict[str, str]] = {
    "resnet_like_a2d": RESNET_LIKE_A2D,
    "resnet_like_a3cs": RESNET_LIKE_A3CS,
    "cheapest_a2d": cheapest_arch("a2d"),
    "cheapest_a3cs": cheapest_arch("a3cs"),
}
"""Reference architectures by name (copies are handed out by `get_arch`)."""


def get_arch(name: str) -> dict[str, str]:
    """A copy of the named reference architecture, with did-you-mean errors."""
    return dict(NAMED_ARCHS[check_name(name, NAMED_ARCHS, "architecture")])


def save_arch(
    arch: Mapping[str, str], path: str | Path, space: str | SearchSpace | None = None
) -> Path:
    """Write `arch` as JSON `{"space": name, "arch": {...}}` after validating it."""
    space = get_space(space) if space is not None else infer_space(arch)
    arch = validate_arch(arch, space)
    path = Path(path)
    path.write_text(json.dumps({"space": space.name, "arch": arch}, indent=2) + "\n")
    return path


def load_arch(path: str | Path) -> dict[str, str]:
    """Read and validate an architecture file: the wrapped form, or a bare mapping of cells."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.json"))
        hint = f" (JSON files there: {', '.join(found)})" if found else ""
        raise ArchitectureError(
            f"{path} is a folder; --arch takes an architecture JSON file, e.g. the arch.json "
            f"`workbench derive` writes{hint}"
        )
    if not path.exists():
        raise ArchitectureError(f"{path}: no such architecture file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArchitectureError(f"{path} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ArchitectureError(f"{path}: expected a JSON object, got {type(data).__name__}")
    if "arch" in data:
        extra = set(data) - {"space", "arch"}
        if extra:
            raise ArchitectureError(f"{path}: unexpected keys {sorted(extra)}")
        return validate_arch(data["arch"], data.get("space"))
    return validate_arch(data)


def make_stem(in_channels: int, out_channels: int) -> nn.Module:
    """The ResNets' stem: conv3x3 stride 2 (84x84 -> 42x42), no bias."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)


class Head(nn.Module):
    """BN -> ReLU -> global average pool -> Linear(channels, hidden) -> ReLU (as the ResNets)."""

    def __init__(self, channels: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(F.relu(self.bn(x))))


class SearchedNet(nn.Module):
    """A derived architecture as an ordinary backbone: stem -> one op per cell -> head."""

    def __init__(self, arch: Mapping[str, str], space: SearchSpace, in_channels: int = 4) -> None:
        super().__init__()
        self.space = space
        self.arch = validate_arch(arch, space)
        self.stem = make_stem(in_channels, space.channels[0])
        self.cells = nn.Sequential(
            *(
                build_op(self.arch[c.label], c.in_channels, c.out_channels, c.stride)
                for c in space.cells
            )
        )
        self.head = Head(space.channels[-1])
        self.out_features = HIDDEN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(self.stem(x)))


def build_model(
    arch: Mapping[str, str], space: str | SearchSpace | None = None, in_channels: int = 4
) -> SearchedNet:
    """Backbone (features: `out_features` = 256) of `arch`; space inferred from the cell count."""
    space = get_space(space) if space is not None else infer_space(arch)
    return SearchedNet(arch, space, in_channels)

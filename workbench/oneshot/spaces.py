"""The search spaces of Mazyavkina et al. (Tab. 2, Fig. 3): Nature-CNN-like nets with searchable
kernel sizes, their stand-alone networks and the weight-sharing supernet.

Space 1 (25 archs): conv 32@8x8 s4, then conv 64 stride 2 and conv 64 stride 1 with kernel sizes
in {1..5} each (valid convolutions, as the Nature CNN, which is architecture (4, 3) = index 17),
then the feature map is zero-padded, centred, to the paper's fixed 64 x 11 x 11 (= 121*64) so
that one Linear(121*64 -> 512) serves every architecture: without padding the maps range from
4x4 (kernels 5, 5) to 10x10 (kernels 1 or 2, then 1).
Space 2 (32 archs): conv 32@8x8 s4, then 5 convs of 64 channels, stride 1, kernel in {2, 5}.
Valid 5x5 convs would shrink the 20x20 map to nothing (20 - 5 * 4 = 0), so these convs keep
the size ("same" zero padding, the paper's "convolution to the same size"; PyTorch pads the
even kernel one more on the right and bottom): the map is 64 x 20 x 20 for every architecture
and needs no padding; the paper's "121*64" cannot hold here (it would crop 70% of the map).

An architecture is an index in [0, len(space)); its kernel tuple is the mixed-radix reading of
it with the first searchable layer most significant (`itertools.product` order).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from workbench.config import ONESHOT_SPACE_SIZES
from workbench.models.blocks import conv_output_size
from workbench.names import check_name

HIDDEN = 512
"""Features out of every space network (Tab. 2: Linear -> 512), what the heads read."""
NATURE_KERNELS = (4, 3)
"""Kernels of the Nature CNN's searchable layers (Tab. 3)."""


class ArchitectureIndexError(ValueError):
    """An architecture index or kernel tuple that is not in the search space."""


@dataclass(frozen=True)
class SearchableConv:
    """One searchable layer: a ReLU conv with one of `kernels`; `same` keeps the map size."""

    out_channels: int
    stride: int
    kernels: tuple[int, ...]
    same: bool = False


@dataclass(frozen=True)
class OneShotSpace:
    """A fixed stem conv, searchable convs, padding to a fixed map, then Linear -> 512 + ReLU."""

    number: int
    stem: tuple[int, int, int]  # out channels, kernel, stride
    layers: tuple[SearchableConv, ...]
    pad_to: int | None  # side of the fixed feature map (the paper's 11), None: no padding

    def __len__(self) -> int:
        return math.prod(len(layer.kernels) for layer in self.layers)

    @property
    def name(self) -> str:
        """`space1`, `space2`: the label used in run folder names."""
        return f"space{self.number}"

    def choices(self, index: int) -> tuple[int, ...]:
        """Position of each layer's kernel in its `kernels` tuple, for architecture `index`."""
        try:
            if isinstance(index, bool):
                raise TypeError
            index = operator.index(index)  # ints, numpy and torch integers
        except TypeError:
            message = f"an architecture index is an int, got {index!r}"
            raise ArchitectureIndexError(message) from None
        if not 0 <= index < len(self):
            raise ArchitectureIndexError(
                f"architecture {index} is not in search space {self.number}: its "
                f"{len(self)} architectures are indexed 0..{len(self) - 1}"
            )
        digits = []
        for layer in reversed(self.layers):
            index, digit = divmod(index, len(layer.kernels))
            digits.append(digit)
        return tuple(reversed(digits))

    def kernels(self, index: int) -> tuple[int, ...]:
        """Kernel size of each searchable layer of architecture `index`."""
        return tuple(
            layer.kernels[c] for layer, c in zip(self.layers, self.choices(index), strict=True)
        )

    def index(self, kernels: Sequence[int]) -> int:
        """Architecture index of a kernel tuple (the inverse of `kernels`)."""
        kernels = tuple(int(k) for k in kernels)
        valid = [layer.kernels for layer in self.layers]
        pairs = zip(kernels, valid, strict=False)  # a length mismatch is reported below
        if len(kernels) != len(valid) or any(k not in v for k, v in pairs):
            raise ArchitectureIndexError(
                f"kernels {kernels} are not in search space {self.number}: it has "
                f"{len(valid)} searchable layers with kernels {valid}"
            )
        index = 0
        for k, v in zip(kernels, valid, strict=True):
            index = index * len(v) + v.index(k)
        return index

    def label(self, index: int) -> str:
        """Short text of an architecture's kernels, e.g. `4-3`."""
        return "-".join(map(str, self.kernels(index)))

    @property
    def nature_index(self) -> int | None:
        """Index of the Nature CNN in this space, or None when it is not a member."""
        try:
            return self.index(NATURE_KERNELS)
        except ArchitectureIndexError:
            return None

    def map_size(self, index: int, input_size: int = 84) -> int:
        """Side of the last conv's feature map of architecture `index`, before padding."""
        size = conv_output_size(input_size, self.stem[1], self.stem[2])
        for layer, k in zip(self.layers, self.kernels(index), strict=True):
            if not layer.same:
                size = conv_output_size(size, k, layer.stride)
        return size

    def feature_size(self, input_size: int = 84) -> int:
        """Side of the fixed map every architecture is padded to (at least the largest map)."""
        largest = max(self.map_size(i, input_size) for i in range(len(self)))
        if min(self.map_size(i, input_size) for i in range(len(self))) < 1:
            raise ValueError(f"input_size={input_size} is too small for search space {self.number}")
        return max(largest, self.pad_to or 0)


_SPACES: dict[int, OneShotSpace] = {}


def register_space(space: OneShotSpace) -> OneShotSpace:
    """Add a space to the registry under its number."""
    if space.number in _SPACES:
        raise ValueError(f"search space {space.number} is registered twice")
    if ONESHOT_SPACE_SIZES.get(space.number, len(space)) != len(space):
        raise ValueError(
            f"search space {space.number} has {len(space)} architectures but "
            f"workbench.config.ONESHOT_SPACE_SIZES (what PPOConfig checks arch_index against) "
            f"says {ONESHOT_SPACE_SIZES[space.number]}"
        )
    _SPACES[space.number] = space
    return space


def list_spaces() -> list[int]:
    """Numbers of the registered spaces."""
    return sorted(_SPACES)


def get_space(space: int | str | OneShotSpace) -> OneShotSpace:
    """The registered space `space` (1, 2, "1", "space1"), or the space itself."""
    if isinstance(space, OneShotSpace):
        return space
    text = str(space).removeprefix("space")
    key = check_name(text, [str(n) for n in _SPACES], "one-shot search space")
    return _SPACES[int(key)]


SPACE1 = register_space(
    OneShotSpace(
        1,
        stem=(32, 8, 4),
        layers=(SearchableConv(64, 2, (1, 2, 3, 4, 5)), SearchableConv(64, 1, (1, 2, 3, 4, 5))),
        pad_to=11,
    )
)
SPACE2 = register_space(
    OneShotSpace(
        2,
        stem=(32, 8, 4),
        layers=tuple(SearchableConv(64, 1, (2, 5), same=True) for _ in range(5)),
        pad_to=None,
    )
)


# --- networks -------------------------------------------------------------------------------


class SameConv2d(nn.Conv2d):
    """Stride-1 conv that keeps the map size: zero padding (k - 1) // 2 before, k // 2 after
    (PyTorch's padding="same" convention, without its warning and copy for even kernels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0]
        return super().forward(F.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)))


def _conv(in_channels: int, layer: SearchableConv, kernel: int) -> nn.Conv2d:
    if layer.same:
        if layer.stride != 1:
            raise ValueError("a size-keeping searchable conv must have stride 1")
        return SameConv2d(in_channels, layer.out_channels, kernel)
    return nn.Conv2d(in_channels, layer.out_channels, kernel, layer.stride)


def pad_centred(x: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad (B, C, h, w) maps to (B, C, size, size), the map in the middle (extra pixel of
    an odd difference after it, as the authors' code)."""
    dh, dw = size - x.shape[-2], size - x.shape[-1]
    if dh < 0 or dw < 0:
        raise ValueError(f"a {x.shape[-2]}x{x.shape[-1]} map does not fit in {size}x{size}")
    return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))


class SpaceNet(nn.Module):
    """One architecture of a space as an ordinary backbone: (B, C, H, W) -> (B, 512)."""

    def __init__(
        self, space: int | OneShotSpace, index: int, in_channels: int = 4, input_size: int = 84
    ) -> None:
        super().__init__()
        self.space = get_space(space)
        self.index = index
        self.kernels = self.space.kernels(index)
        out, k, s = self.space.stem
        self.stem = nn.Conv2d(in_channels, out, k, stride=s)
        convs, prev = [], out
        for layer, kernel in zip(self.space.layers, self.kernels, strict=True):
            convs.append(_conv(prev, layer, kernel))
            prev = layer.out_channels
        self.convs = nn.ModuleList(convs)
        self.feature_size = self.space.feature_size(input_size)
        self.fc = nn.Linear(prev * self.feature_size**2, HIDDEN)
        self.out_features = HIDDEN

    def conv_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's ReLU map, before padding."""
        x = F.relu(self.stem(x))
        for conv in self.convs:
            x = F.relu(conv(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_centred(self.conv_features(x), self.feature_size)
        return F.relu(self.fc(x.flatten(1)))


def build_space_model(
    space: int | str | OneShotSpace, index: int, in_channels: int = 4, input_size: int = 84
) -> SpaceNet:
    """Architecture `index` of `space` as a backbone with `out_features` 512."""
    return SpaceNet(get_space(space), index, in_channels, input_size)


class OneShotSupernet(nn.Module):
    """All architectures of a space with shared weights: the stem, one conv per candidate kernel
    per layer, and the one Linear that the fixed padded map lets every path share.

    `forward(x)` runs the path of the architecture set with `set_arch` (a one-argument forward,
    so the supernet is an `ActorCritic` backbone); only that path's convs get gradients.
    """

    def __init__(
        self, space: int | str | OneShotSpace, in_channels: int = 4, input_size: int = 84
    ) -> None:
        super().__init__()
        self.space = get_space(space)
        out, k, s = self.space.stem
        self.stem = nn.Conv2d(in_channels, out, k, stride=s)
        candidates, prev = [], out
        for layer in self.space.layers:
            candidates.append(nn.ModuleList(_conv(prev, layer, kern) for kern in layer.kernels))
            prev = layer.out_channels
        self.candidates = nn.ModuleList(candidates)
        self.feature_size = self.space.feature_size(input_size)
        self.fc = nn.Linear(prev * self.feature_size**2, HIDDEN)
        self.out_features = HIDDEN
        self.input_size = input_size
        self.arch = 0

    def set_arch(self, index: int) -> None:
        """Run architecture `index` from now on."""
        self.space.choices(index)  # validates
        self.arch = int(index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        for convs, choice in zip(self.candidates, self.space.choices(self.arch), strict=True):
            x = F.relu(convs[choice](x))
        x = pad_centred(x, self.feature_size)
        return F.relu(self.fc(x.flatten(1)))

    def extract(self, index: int) -> SpaceNet:
        """Architecture `index` as a stand-alone SpaceNet holding the supernet's weights."""
        net = SpaceNet(self.space, index, self.stem.in_channels, self.input_size)
        net.stem.load_state_dict(self.stem.state_dict())
        choices = self.space.choices(index)
        for conv, convs, c in zip(net.convs, self.candidates, choices, strict=True):
            conv.load_state_dict(convs[c].state_dict())
        net.fc.load_state_dict(self.fc.state_dict())
        return net


def all_architectures(space: int | str | OneShotSpace) -> list[tuple[int, ...]]:
    """Every architecture's kernels, in index order."""
    space = get_space(space)
    return list(itertools.product(*(layer.kernels for layer in space.layers)))

"""The 9 candidate ops of a searchable cell (A2D App. D, FBNet-style).

`convK` is conv-BN-ReLU, `irK_eE` a MobileNetV2 inverted residual (kernel K, expansion E) and
`skip` the identity, or in a stride-2 / channel-changing cell the CIFAR-ResNet option-A shortcut
(strided subsampling plus zero-padded channels, zero MACs). Every op keeps the spatial arithmetic
of a 3x3 conv with padding 1, so any choice of ops gives the same feature-map sizes.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.models.blocks import shortcut
from workbench.names import check_name

OPS: tuple[str, ...] = (
    "conv3",
    "conv5",
    "ir3_e1",
    "ir3_e3",
    "ir3_e5",
    "ir5_e1",
    "ir5_e3",
    "ir5_e5",
    "skip",
)
"""Candidate op names, in the fixed order of the columns of alpha and of the MACs table."""

# name -> (kind, kernel, expansion)
_SPECS: dict[str, tuple[str, int, int]] = {
    "conv3": ("conv", 3, 1),
    "conv5": ("conv", 5, 1),
    "ir3_e1": ("ir", 3, 1),
    "ir3_e3": ("ir", 3, 3),
    "ir3_e5": ("ir", 3, 5),
    "ir5_e1": ("ir", 5, 1),
    "ir5_e3": ("ir", 5, 3),
    "ir5_e5": ("ir", 5, 5),
    "skip": ("skip", 1, 1),
}


class ConvBNReLU(nn.Sequential):
    """Conv KxK (padding K//2, no bias) -> BN -> ReLU: the `conv3` / `conv5` ops."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (absent when E == 1) -> KxK depthwise -> 1x1 project.

    The input is added back when stride == 1 and in == out channels.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, expansion: int, stride: int
    ) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [
                nn.Conv2d(in_channels, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
            ]
        layers += [
            nn.Conv2d(
                hidden, hidden, kernel, stride, padding=kernel // 2, groups=hidden, bias=False
            ),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


def build_op(name: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Build candidate op `name`: (in_channels, H, W) -> (out_channels, ~H/stride, ~W/stride)."""
    check_name(name, OPS, "op")
    if min(in_channels, out_channels, stride) < 1:
        raise ValueError(
            f"op {name!r}: channels and stride must be >= 1, got in_channels={in_channels}, "
            f"out_channels={out_channels}, stride={stride}"
        )
    kind, kernel, expansion = _SPECS[name]
    if kind == "conv":
        return ConvBNReLU(in_channels, out_channels, kernel, stride)
    if kind == "ir":
        return InvertedResidual(in_channels, out_channels, kernel, expansion, stride)
    return shortcut(in_channels, out_channels, stride)

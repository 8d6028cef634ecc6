"""Small building blocks shared by backbones and search spaces."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Spatial size after a convolution or pooling layer (floor mode)."""
    return (size + 2 * padding - kernel) // stride + 1


class ChannelPadShortcut(nn.Module):
    """CIFAR-ResNet "option A" shortcut: strided subsampling plus zero-padded channels (0 MACs)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"option-A shortcut cannot shrink channels ({in_channels}->{out_channels})"
            )
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return x


def shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Identity when shapes match, otherwise the option-A shortcut."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ChannelPadShortcut(in_channels, out_channels, stride)

"""CIFAR ResNets (He et al. 2016, identity mappings) adapted to Atari as in A2D Appendix C.

A2D changes two things: the stem conv has stride 2 (84x84 -> 42x42) and the last FC outputs 256
features for the actor and critic heads. Blocks are pre-activation basic blocks (the identity
mappings paper, A2D's [28]); shortcuts that change shape use option A (strided subsampling plus
zero-padded channels), the parameter-free CIFAR choice, also the `skip` op of the A2D search space.
Depth = 6n + 2 with n blocks in each of 3 stages of 16/32/64 channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workbench.models.blocks import shortcut
from workbench.models.registry import register_model

STAGE_CHANNELS = (16, 32, 64)


class PreActBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.shortcut = shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + self.shortcut(x)


class CifarResNet(nn.Module):
    """Stem conv3x3 s2 -> 3 stages x n pre-act blocks -> BN-ReLU -> global avg pool -> FC 256."""

    def __init__(self, blocks_per_stage: int, in_channels: int = 4, hidden: int = 256) -> None:
        super().__init__()
        if blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be >= 1, got {blocks_per_stage}")
        self.depth = 6 * blocks_per_stage + 2
        self.stem = nn.Conv2d(in_channels, STAGE_CHANNELS[0], 3, stride=2, padding=1, bias=False)
        layers: list[nn.Module] = []
        channels = STAGE_CHANNELS[0]
        for stage, out_channels in enumerate(STAGE_CHANNELS):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(PreActBasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.stages = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(self.pool(F.relu(self.bn(x))))


def _resnet(depth: int, in_channels: int) -> CifarResNet:
    return CifarResNet((depth - 2) // 6, in_channels)


@register_model
def resnet14(in_channels: int = 4, input_size: int = 84) -> CifarResNet:
    """ResNet-14 (n=2 blocks per stage)."""
    return _resnet(14, in_channels)


@register_model
def resnet20(in_channels: int = 4, input_size: int = 84) -> CifarResNet:
    """ResNet-20 (n=3), A2D's default teacher."""
    return _resnet(20, in_channels)


@register_model
def resnet38(in_channels: int = 4, input_size: int = 84) -> CifarResNet:
    """ResNet-38 (n=6)."""
    return _resnet(38, in_channels)


@register_model
def resnet74(in_channels: int = 4, input_size: int = 84) -> CifarResNet:
    """ResNet-74 (n=12)."""
    return _resnet(74, in_channels)

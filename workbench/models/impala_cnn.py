"""IMPALA-CNN (Espeholt et al. 2018), the baseline encoder of RL-DARTS and Procgen PPO."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workbench.models.blocks import conv_output_size
from workbench.models.registry import register_model


class ImpalaResidual(nn.Module):
    """ReLU-conv3x3-ReLU-conv3x3 plus identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ImpalaStack(nn.Module):
    """conv3x3 -> maxpool 3x3 s2 -> two residual blocks."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res1 = ImpalaResidual(out_channels)
        self.res2 = ImpalaResidual(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res2(self.res1(self.pool(self.conv(x))))


class ImpalaCNN(nn.Module):
    """Stacks of 16/32/32 channels, ReLU, flatten, FC 256 + ReLU."""

    def __init__(
        self,
        in_channels: int = 4,
        input_size: int = 84,
        channels: Sequence[int] = (16, 32, 32),
        hidden: int = 256,
    ) -> None:
        super().__init__()
        stacks, size, prev = [], input_size, in_channels
        for c in channels:
            stacks.append(ImpalaStack(prev, c))
            size, prev = conv_output_size(size, 3, 2, padding=1), c
        self.stacks = nn.Sequential(*stacks)
        self.fc = nn.Sequential(
            nn.Flatten(), nn.ReLU(), nn.Linear(prev * size * size, hidden), nn.ReLU()
        )
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stacks(x))


@register_model
def impala_cnn(in_channels: int = 4, input_size: int = 84) -> ImpalaCNN:
    """IMPALA-CNN with 16/32/32 channels (Espeholt et al. 2018)."""
    return ImpalaCNN(in_channels, input_size)

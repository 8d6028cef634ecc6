"""The Nature-DQN CNN (Mnih et al. 2015), the `vanilla` backbone of A2D."""

from __future__ import annotations

import torch
from torch import nn

from workbench.models.blocks import conv_output_size
from workbench.models.registry import register_model


class NatureCNN(nn.Module):
    """conv 32@8x8 s4, conv 64@4x4 s2, conv 64@3x3 s1 (ReLU after each), FC -> 512 + ReLU."""

    def __init__(self, in_channels: int = 4, input_size: int = 84, hidden: int = 512) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        size = conv_output_size(conv_output_size(conv_output_size(input_size, 8, 4), 4, 2), 3, 1)
        if size < 1:
            raise ValueError(
                f"input_size={input_size} is too small for the Nature CNN (needs >= 36)"
            )
        self.fc = nn.Sequential(nn.Linear(64 * size * size, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@register_model
def vanilla(in_channels: int = 4, input_size: int = 84) -> NatureCNN:
    """A2D's `vanilla` agent: the Nature-DQN feature extractor (heads read 512 features)."""
    return NatureCNN(in_channels, input_size)

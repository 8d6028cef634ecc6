"""Actor-critic agent: any registered backbone plus two light linear heads (A2D Sec. 4.1)."""

from __future__ import annotations

import math
import os

import torch
from torch import nn

from workbench.models.registry import create_model

CHANNELS_LAST = os.environ.get("WORKBENCH_CHANNELS_LAST", "1") != "0"
"""Feed frames to the backbone in NHWC memory (oneDNN's layout; weights stay as they are): the
network work of an A2C update ran 1.18x (vanilla) and 1.26x (resnet20) faster on 2 CPU cores,
the whole vanilla loop 1.10x (benchmarks/nn_levers.py). WORKBENCH_CHANNELS_LAST=0 turns it off,
for side-by-side checks."""


class ActorCritic(nn.Module):
    """Backbone -> actor Linear(features -> |A|) logits and critic Linear(features -> 1).

    With `critic=False` the agent has no critic at all (values are None): A2D's
    `actor+reuse-critic` arm bootstraps with a teacher's values instead.
    """

    def __init__(self, backbone: nn.Module, num_actions: int, *, critic: bool = True) -> None:
        super().__init__()
        if num_actions < 1:
            raise ValueError(f"num_actions must be >= 1, got {num_actions}")
        features = int(backbone.out_features)
        self.backbone = backbone
        self.actor = nn.Linear(features, num_actions)
        self.critic = nn.Linear(features, 1) if critic else None
        init_actor_critic(self)

    def forward_features(self, obs: torch.Tensor) -> torch.Tensor:
        """Features (B, F) from observations; uint8 frames are scaled to [0, 1]."""
        if CHANNELS_LAST and obs.dim() == 4:
            obs = obs.contiguous(memory_format=torch.channels_last)
        x = obs.float() / 255.0 if obs.dtype == torch.uint8 else obs
        return self.backbone(x)

    def forward_head(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, |A|) and values (B,) from features (values None without a critic)."""
        values = self.critic(features).squeeze(-1) if self.critic is not None else None
        return self.actor(features), values

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.forward_head(self.forward_features(obs))


def init_actor_critic(agent: ActorCritic) -> None:
    """Orthogonal init as OpenAI baselines / SB3 do for actor-critic agents.

    Backbone conv/linear weights get gain sqrt(2) (ReLU), the actor 0.01 (a near-uniform first
    policy), the critic 1.0; biases 0. With PyTorch's default init, RMSProp's first steps (its
    square-average starts at 0, so they are ~10x lr sign steps) wreck the small FC weights and
    the policy stops depending on the state.
    """
    for module in agent.backbone.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.orthogonal_(module.weight, gain=math.sqrt(2))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    for head, gain in ((agent.actor, 0.01), (agent.critic, 1.0)):
        if head is None:
            continue
        nn.init.orthogonal_(head.weight, gain=gain)
        nn.init.zeros_(head.bias)


def create_agent(
    name: str,
    num_actions: int,
    *,
    in_channels: int = 4,
    input_size: int = 84,
    critic: bool = True,
) -> ActorCritic:
    """An ActorCritic on the registered backbone `name` (without a critic head if asked)."""
    backbone = create_model(name, in_channels=in_channels, input_size=input_size)
    return ActorCritic(backbone, num_actions, critic=critic)

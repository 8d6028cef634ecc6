"""Returns and actor-critic losses as pure functions (A2D Eq. 2-5), tested by hand values."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def nstep_returns(
    rewards: torch.Tensor, dones: torch.Tensor, bootstrap: torch.Tensor, gamma: float
) -> torch.Tensor:
    """n-step returns R_t = r_t + gamma (1 - d_t) R_{t+1}, with R_T = V(s_T) (critic bootstrap).

    rewards, dones: (T, N); bootstrap: (N,). `dones[t]` means the episode ended at step t, so
    nothing after it is added. Returns (T, N).
    """
    returns = torch.empty_like(rewards)
    running = bootstrap
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        returns[t] = running
    return returns


@dataclass(frozen=True)
class A2CLoss:
    """The loss terms of one update; `total` is what is minimised."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor  # L_entropy = E[sum_a pi log pi], i.e. minus the entropy


def a2c_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    returns: torch.Tensor,
    *,
    entropy_coef: float,
    value_coef: float = 1.0,
) -> A2CLoss:
    """L = L_policy + value_coef L_value + entropy_coef L_entropy (A2D Eq. 2, 5).

    L_policy = -E[delta log pi(a|s)] with delta = R - V(s) detached (the td-error, Eq. 4);
    L_value = E[1/2 (R - V(s))^2]; L_entropy = E[sum_a pi log pi]. All inputs are flat (B, ...).
    """
    log_probs = F.log_softmax(logits, dim=-1)
    advantages = (returns - values).detach()
    policy = -(advantages * log_probs.gather(-1, actions[:, None]).squeeze(-1)).mean()
    value = 0.5 * (returns - values).pow(2).mean()
    entropy = (log_probs.exp() * log_probs).sum(-1).mean()
    total = policy + value_coef * value + entropy_coef * entropy
    return A2CLoss(total, policy, value, entropy)

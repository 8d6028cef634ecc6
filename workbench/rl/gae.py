"""Generalised advantage estimation (Schulman et al. 2016) as a pure function, tested by hand."""

from __future__ import annotations

import torch


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    bootstrap: torch.Tensor,
    *,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets of one rollout: (A, A + V), both (T, N).

    rewards, values, dones: (T, N); bootstrap: (N,) = V(s_T), the state after the rollout.
    `dones[t]` means the episode ended at step t (same-step autoreset: the next observation is
    already the next episode's), so neither V(s_{t+1}) nor later advantages are added:
    delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t and A_t = delta_t + gamma lam (1 - d_t) A_{t+1}.
    """
    if not rewards.shape == values.shape == dones.shape or bootstrap.shape != rewards.shape[1:]:
        raise ValueError(
            f"gae needs rewards, values, dones of one shape (T, N) and bootstrap (N,); got "
            f"{tuple(rewards.shape)}, {tuple(values.shape)}, {tuple(dones.shape)}, "
            f"{tuple(bootstrap.shape)}"
        )
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(bootstrap)
    next_value = bootstrap
    for t in range(rewards.shape[0] - 1, -1, -1):
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * keep * next_value - values[t]
        running = delta + gamma * lam * keep * running
        advantages[t] = running
        next_value = values[t]
    return advantages, advantages + values

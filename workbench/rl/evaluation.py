"""The test-score protocol of A2D/A3C-S (SPEC §1): 30 full games from random no-op starts.

Each game starts with 0..30 random no-ops, plays all lives with raw (unclipped) rewards, and is
capped at 108,000 frames (27,000 agent steps). Actions are sampled from the policy by default
(greedy selectable). Games are split evenly across envs and each env contributes its first games,
so short games are not over-represented.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from workbench.device import module_device
from workbench.envs import make_atari_env
from workbench.progress import progress_bar


class NonFinitePolicy(ValueError):
    """The agent's policy logits are NaN or infinite: its weights diverged."""


@dataclass(frozen=True)
class EvalResult:
    """Raw scores of the evaluated games and their summary."""

    game: str
    episodes: int
    greedy: bool
    seed: int
    scores: list[float]
    lengths: list[int]

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        return float(np.std(self.scores))

    def summary(self) -> dict:
        """mean, std, min, max and the raw scores, JSON-ready."""
        return {
            **asdict(self),
            "mean": self.mean,
            "std": self.std,
            "min": float(np.min(self.scores)),
            "max": float(np.max(self.scores)),
        }


def select_actions(logits: torch.Tensor, greedy: bool, generator: torch.Generator) -> torch.Tensor:
    """Argmax, or a sample from softmax(logits) drawn with `generator` (reproducible)."""
    if greedy:
        return logits.argmax(-1)
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(-1)


def evaluate(
    agent: nn.Module,
    game: str,
    *,
    episodes: int = 30,
    greedy: bool = False,
    seed: int = 0,
    backend: str = "auto",
    num_envs: int | None = None,
    max_episode_steps: int = 27_000,
    progress: bool | None = False,
) -> EvalResult:
    """Play `episodes` full games with `agent` and return their raw scores."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    n = num_envs or min(episodes, 8)
    quota = np.full(n, episodes // n) + (np.arange(n) < episodes % n)
    done = np.zeros(n, dtype=int)
    scores: list[float] = []
    lengths: list[int] = []
    generator = torch.Generator().manual_seed(seed)
    was_training, device = agent.training, module_device(agent)
    agent.eval()
    env = make_atari_env(
        game, n, mode="eval", backend=backend, seed=seed, max_episode_steps=max_episode_steps
    )
    bar = progress_bar(episodes, f"eval {game}", progress, unit="game")
    try:
        obs = env.reset(seed=seed)
        while len(scores) < episodes:
            with torch.inference_mode():
                logits, _ = agent(torch.from_numpy(obs).to(device))
            logits = logits.cpu()  # sampled with the CPU generator: the same games on any device
            if not torch.isfinite(logits).all():
                raise NonFinitePolicy(
                    f"the policy is not finite: its logits on {game} contain NaN or inf, so its "
                    "weights diverged and it cannot play"
                )
            obs, _, _, _, infos = env.step(select_actions(logits, greedy, generator).numpy())
            for i in np.flatnonzero(infos["game_over"]):
                if done[i] < quota[i]:
                    done[i] += 1
                    scores.append(float(infos["episode_return"][i]))
                    lengths.append(int(infos["episode_length"][i]))
                    bar.update(1)
    finally:
        bar.close()
        env.close()
        agent.train(was_training)
    return EvalResult(game, episodes, greedy, seed, scores, lengths)

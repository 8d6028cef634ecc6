"""A tiny image env with no emulator, for fast tests of agents and training loops."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from workbench.envs.vector import GymnasiumVecEnv, VecEnv


class FakeImageEnv(gym.Env):
    """Noise images whose brightness encodes the step t; reward 1 for action t % num_actions.

    Deterministic given the reset seed, learnable from the pixels (the mean level reveals t, hence
    the rewarded action), terminated after `episode_length` steps; info["lives"] is always 0.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        obs_shape: tuple[int, ...] = (4, 84, 84),
        num_actions: int = 4,
        episode_length: int = 50,
    ):
        self.observation_space = gym.spaces.Box(0, 255, shape=tuple(obs_shape), dtype=np.uint8)
        self.action_space = gym.spaces.Discrete(num_actions)
        self.episode_length = episode_length
        self._t = 0

    def target_action(self) -> int:
        """The action rewarded at the current step."""
        return self._t % int(self.action_space.n)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode at t = 0."""
        super().reset(seed=seed)
        self._t = 0
        return self._observe(), {"lives": 0}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Reward 1.0 if `action` is the target, advance t; terminate at `episode_length`."""
        reward = 1.0 if int(action) == self.target_action() else 0.0
        self._t += 1
        return self._observe(), reward, self._t >= self.episode_length, False, {"lives": 0}

    def _observe(self) -> np.ndarray:
        """Uniform noise in [level, level + 64) with level rising from 0 to 191 over the episode."""
        level = (191 * min(self._t, self.episode_length)) // max(self.episode_length, 1)
        noise = self.np_random.integers(0, 64, size=self.observation_space.shape, dtype=np.uint8)
        return noise + np.uint8(level)


def make_fake_env(
    num_envs: int = 4,
    *,
    obs_shape: tuple[int, ...] = (4, 84, 84),
    num_actions: int = 4,
    episode_length: int = 50,
    seed: int = 0,
) -> VecEnv:
    """Make `num_envs` FakeImageEnvs as one VecEnv (game="Fake", backend="fake", lives 0)."""
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    env = gym.vector.SyncVectorEnv(
        [lambda: FakeImageEnv(obs_shape, num_actions, episode_length)] * num_envs,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    return GymnasiumVecEnv(env, game="Fake", mode="train", backend="fake", seed=seed)

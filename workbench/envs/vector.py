"""`VecEnv`: N environments behind one interface, with same-step autoreset and per-game statistics.

Every backend (gymnasium vector envs, envpool, the fake env) is adapted to the same semantics:

- `step` autoresets in the same step: for an env done in this step, `obs[i]` is already the first
  observation of its next episode and `infos["final_obs"][i]` its last one.
- `infos` always holds arrays of length N: "final_obs", "game_over" (a full game ended: differs
  from `terminations` under episodic life), "episode_return" (raw score of the game that just
  ended, NaN elsewhere), "episode_length" (agent steps of that game, 0 elsewhere), "raw_reward"
  (unclipped reward of this step) and "lives".

Game statistics are accumulated here, once for all backends, from "raw_reward" and "game_over":
they count agent steps and unclipped rewards of whole games, across life losses.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

Infos = dict[str, np.ndarray]
StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Infos]


@dataclass
class Transition:
    """One batched step as a backend reports it, before game statistics are added."""

    obs: np.ndarray  # (N, C, H, W) uint8, already reset where done
    reward: np.ndarray  # (N,) float32, what the agent learns from (clipped in train mode)
    terminated: np.ndarray  # (N,) bool
    truncated: np.ndarray  # (N,) bool
    final_obs: np.ndarray  # (N, C, H, W) uint8, the pre-reset observation
    raw_reward: np.ndarray  # (N,) float32
    game_over: np.ndarray  # (N,) bool
    lives: np.ndarray  # (N,) int64


class VecEnv(abc.ABC):
    """A batch of environments with same-step autoreset and full-game statistics in `infos`."""

    def __init__(
        self,
        *,
        num_envs: int,
        observation_shape: tuple[int, ...],
        num_actions: int,
        backend: str,
        game: str,
        mode: str,
    ):
        self.num_envs = num_envs
        self.observation_shape = tuple(int(d) for d in observation_shape)
        self.num_actions = int(num_actions)
        self.backend = backend
        self.game = game
        self.mode = mode
        self._game_return = np.zeros(num_envs, dtype=np.float64)
        self._game_length = np.zeros(num_envs, dtype=np.int64)

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs (seeded if `seed` is given) and return (N, C, H, W) uint8 observations."""
        self._game_return[:] = 0.0
        self._game_length[:] = 0
        return self._reset(seed)

    def step(self, actions: np.ndarray) -> StepResult:
        """Step all envs: (obs, rewards float32, terminations bool, truncations bool, infos)."""
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        t = self._step(actions)
        infos = {"final_obs": t.final_obs, **self._account(t.raw_reward, t.game_over)}
        infos["lives"] = t.lives.astype(np.int64, copy=False)
        return t.obs, t.reward, t.terminated, t.truncated, infos

    def _account(self, raw_reward: np.ndarray, game_over: np.ndarray) -> Infos:
        """Add this step to the running game totals; report and clear the games that ended."""
        self._game_return += raw_reward
        self._game_length += 1
        infos = {
            "game_over": game_over,
            "episode_return": np.where(game_over, self._game_return, np.nan),
            "episode_length": np.where(game_over, self._game_length, 0),
            "raw_reward": raw_reward,
        }
        self._game_return[game_over] = 0.0
        self._game_length[game_over] = 0
        return infos

    @abc.abstractmethod
    def _reset(self, seed: int | None) -> np.ndarray:
        """Backend reset of all envs."""

    @abc.abstractmethod
    def _step(self, actions: np.ndarray) -> Transition:
        """Backend step of all envs, with same-step autoreset."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the simulators (processes, threads)."""

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(game={self.game!r}, backend={self.backend!r}, "
            f"mode={self.mode!r}, num_envs={self.num_envs}, "
            f"observation_shape={self.observation_shape}, num_actions={self.num_actions})"
        )


class GymnasiumVecEnv(VecEnv):
    """VecEnv over a gymnasium vector env built with `autoreset_mode=AutoresetMode.SAME_STEP`.

    Single envs may report info["lives"] (default 0) and, under episodic life, info["game_over"]
    (default: terminated or truncated). Rewards are clipped to their sign when `clip_rewards`.
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        *,
        game: str,
        mode: str,
        backend: str = "gymnasium",
        seed: int = 0,
        clip_rewards: bool = False,
    ):
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError("the gymnasium vector env must use AutoresetMode.SAME_STEP")
        super().__init__(
            num_envs=env.num_envs,
            observation_shape=env.single_observation_space.shape,
            num_actions=int(env.single_action_space.n),
            backend=backend,
            game=game,
            mode=mode,
        )
        self._env = env
        self._seed: int | None = seed  # used by the first reset() when it gets no seed
        self._clip_rewards = clip_rewards

    def _reset(self, seed: int | None) -> np.ndarray:
        seed, self._seed = (self._seed if seed is None else seed), None
        obs, _ = self._env.reset(seed=seed)
        return obs

    def _step(self, actions: np.ndarray) -> Transition:
        obs, rewards, terminated, truncated, info = self._env.step(actions)
        done = terminated | truncated
        final_obs = obs.copy()
        lives = np.asarray(info.get("lives", np.zeros(self.num_envs)), dtype=np.int64)
        game_over = done.copy()
        if done.any():
            # for done envs the top-level info is the reset's; the step's is in "final_info"
            final_info = info["final_info"]
            for i in np.flatnonzero(done):
                final_obs[i] = info["final_obs"][i]
            if "lives" in final_info:
                lives = np.where(done, final_info["lives"], lives)
            if "game_over" in final_info:
                game_over = done & final_info["game_over"]
        raw_reward = rewards.astype(np.float32)
        return Transition(
            obs=obs,
            reward=np.sign(raw_reward) if self._clip_rewards else raw_reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            raw_reward=raw_reward,
            game_over=game_over,
            lives=lives,
        )

    def close(self) -> None:
        """Close the gymnasium vector env (and its worker processes, if async)."""
        self._env.close()


class EnvpoolVecEnv(VecEnv):
    """VecEnv over an envpool gymnasium-API pool, emulating same-step autoreset.

    envpool resets a done env on its *next* step. Right after a step where some envs are done,
    we step just those env ids (the action is ignored) so envpool performs their reset, and use
    the reset observations; a full-game reset is checked to have elapsed_step == 0.
    `make_pool(seed)` builds the pool; reset(seed) rebuilds it, since envpool seeds at creation.
    """

    def __init__(
        self,
        make_pool: Callable[[int], Any],
        *,
        num_envs: int,
        game: str,
        mode: str,
        seed: int,
        episodic_life: bool = False,
    ):
        self._make_pool = make_pool
        self._pool = make_pool(seed)
        self._fresh = True  # never reset: reset(seed) need not rebuild it
        self._episodic_life = episodic_life
        super().__init__(
            num_envs=num_envs,
            observation_shape=self._pool.observation_space.shape,
            num_actions=int(self._pool.action_space.n),
            backend="envpool",
            game=game,
            mode=mode,
        )

    def _reset(self, seed: int | None) -> np.ndarray:
        if seed is not None and not self._fresh:
            self._pool.close()
            self._pool = self._make_pool(seed)
        self._fresh = False
        obs, info = self._pool.reset()
        return _by_env_id(obs, info["env_id"])

    def _step(self, actions: np.ndarray) -> Transition:
        batch = self._pool.step(actions.astype(np.int32))
        order = np.argsort(batch[4]["env_id"])  # rows come in env id order, but don't rely on it
        obs, reward, terminated, truncated = (values[order] for values in batch[:4])
        info = {
            key: batch[4][key][order]
            for key in ("terminated", "lives", "reward")
            if key in batch[4]
        }
        done = terminated | truncated
        if self._episodic_life:  # info["terminated"] is the real game end, not a life loss
            game_over = truncated | info["terminated"].astype(bool)
        else:
            game_over = done
        next_obs = obs.copy()
        if done.any():
            ids = np.flatnonzero(done).astype(np.int32)
            reset_obs, *_, reset_info = self._pool.step(np.zeros(len(ids), np.int32), env_id=ids)
            next_obs[reset_info["env_id"]] = reset_obs
            _check_game_reset(game_over, reset_info)
        lives = info.get("lives", np.zeros(self.num_envs))
        raw_reward = info.get("reward", reward)
        return Transition(
            obs=next_obs,
            reward=reward.astype(np.float32, copy=False),
            terminated=terminated.astype(bool, copy=False),
            truncated=truncated.astype(bool, copy=False),
            final_obs=obs,
            raw_reward=raw_reward.astype(np.float32, copy=False),
            game_over=game_over,
            lives=lives.astype(np.int64),
        )

    def close(self) -> None:
        """Close the envpool pool."""
        self._pool.close()


def _by_env_id(values: np.ndarray, env_id: np.ndarray) -> np.ndarray:
    """Reorder envpool's batch rows by env id."""
    return values[np.argsort(env_id)]


def _check_game_reset(game_over: np.ndarray, reset_info: dict[str, np.ndarray]) -> None:
    """Fail loudly if envpool did not start a new game for an env whose game ended."""
    elapsed = np.zeros(len(game_over), dtype=np.int64)
    elapsed[reset_info["env_id"]] = reset_info["elapsed_step"]
    if np.any(elapsed[game_over] != 0):
        raise RuntimeError(
            "envpool did not reset envs whose game ended (elapsed_step != 0): "
            "same-step autoreset emulation does not match this envpool version"
        )

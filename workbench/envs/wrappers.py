"""The two DeepMind Atari wrappers gymnasium lacks: episodic life and FIRE on reset."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

NOOP, FIRE = 0, 1


class EpisodicLife(gym.Wrapper):
    """End an episode at every life loss but keep the game running (DeepMind's training trick).

    A life loss reports terminated=True so value targets treat death as terminal; the following
    reset() then only steps a no-op to continue the same game. The emulator is really reset only
    when the game is over (or when reset() is called without a preceding life loss). Every step's
    info gets "game_over": whether the underlying game itself ended. Needs info["lives"].
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._lives = 0
        self._life_lost = False

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the game; terminate on life loss as well as on game over."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        lives = int(info["lives"])
        game_over = bool(terminated or truncated)
        # lives can drop to 0 a few frames before the game ends (e.g. Qbert): not a life loss.
        self._life_lost = 0 < lives < self._lives and not game_over
        self._lives = lives
        info["game_over"] = game_over
        return obs, reward, bool(terminated) or self._life_lost, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """After a life loss continue the game with a no-op, else (or if seeded) really reset."""
        if self._life_lost and kwargs.get("seed") is None:
            self._life_lost = False
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if not (terminated or truncated):
                self._lives = int(info["lives"])
                return obs, info
        obs, info = self.env.reset(**kwargs)
        self._lives = int(info["lives"])
        return obs, info


class FireReset(gym.Wrapper):
    """Press FIRE (then action 2) after every reset, for games that wait for FIRE to start.

    As in the DeepMind/SB3 wrappers; only valid for games whose action 1 is FIRE and that have at
    least 3 actions (see `FireReset.is_needed`).
    """

    def __init__(self, env: gym.Env):
        if not self.is_needed(env):
            raise ValueError(f"{env.spec.id if env.spec else env}: action 1 is not FIRE")
        super().__init__(env)

    @staticmethod
    def is_needed(env: gym.Env) -> bool:
        """Return whether the Atari env's action 1 is FIRE and it has >= 3 actions."""
        meanings = env.unwrapped.get_action_meanings()
        return len(meanings) >= 3 and meanings[FIRE] == "FIRE"

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset, then press FIRE and action 2; reset again if that ends the episode."""
        obs, info = self.env.reset(**kwargs)
        for action in (FIRE, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(options=kwargs.get("options"))
        return obs, info

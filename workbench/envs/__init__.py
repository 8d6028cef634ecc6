"""Environments for the workbench: Atari (gymnasium or envpool), Procgen, and a fake image env.

All are returned as a `VecEnv` with the same semantics: (N, C, H, W) uint8 observations,
same-step autoreset, and full-game statistics in `infos` (see workbench.envs.vector).
"""

from __future__ import annotations

from workbench.envs.atari import list_games, make_atari_env
from workbench.envs.backends import available_backends
from workbench.envs.fake import FakeImageEnv, make_fake_env
from workbench.envs.procgen import list_procgen_games, make_procgen_env
from workbench.envs.vector import VecEnv
from workbench.envs.wrappers import EpisodicLife, FireReset

__all__ = [
    "EpisodicLife",
    "FakeImageEnv",
    "FireReset",
    "VecEnv",
    "available_backends",
    "list_games",
    "list_procgen_games",
    "make_atari_env",
    "make_fake_env",
    "make_procgen_env",
]

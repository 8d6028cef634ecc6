"""Running a one-shot search (SPOS or ENAS) into a run folder, and reading its proxy ranking.

The run folder is a PPO run's (config.json, metrics.csv, episodes.csv, archs.csv, checkpoints,
result.json), resumable exactly like `train_ppo`; the proxy (SPOS: mean test score with the
supernet's weights; ENAS: the controller's probability) is computed from its last checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from workbench.models import ActorCritic
from workbench.oneshot.config import OneShotConfig, oneshot_config
from workbench.oneshot.enas import Controller, ControllerSchedule, enas_proxy
from workbench.oneshot.spaces import OneShotSupernet
from workbench.oneshot.spos import UniformPaths, spos_ranking
from workbench.rl.engine import Plugin, train
from workbench.runs.folder import RunDir


def build_supernet_agent(
    cfg: OneShotConfig,
    num_actions: int,
    obs_shape: tuple[int, ...] | None = None,
    critic: bool = True,
) -> ActorCritic:
    """The weight-sharing supernet of the config's space with the two heads."""
    channels, size = (obs_shape[0], obs_shape[-1]) if obs_shape else (4, 84)
    return ActorCritic(OneShotSupernet(cfg.space, channels, size), num_actions, critic=critic)


def make_schedule(cfg: OneShotConfig, agent: ActorCritic, run: RunDir | None = None) -> Plugin:
    """The architecture schedule of a search: SPOS's uniform paths or ENAS's controller."""
    supernet = agent.backbone
    if cfg.method == "spos":
        return UniformPaths(supernet, run)
    return ControllerSchedule(supernet, Controller(cfg.space, cfg.controller_hidden), cfg, run)


train_oneshot = train
"""Fit the supernet (and, for ENAS, the controller) into a run folder; resumes exactly."""


def search_proxy(
    run_dir: str | Path,
    archs: Sequence[int] | None = None,
    *,
    episodes: int = 10,
    seed: int = 12_345,
) -> pd.DataFrame:
    """Candidates with their proxy performance, best first (columns arch, kernels, proxy).

    SPOS plays `episodes` test games per candidate (common env `seed`); ENAS needs no games.
    """
    cfg = oneshot_config(run_dir)
    if cfg.method == "enas":
        return enas_proxy(run_dir, archs)
    return spos_ranking(run_dir, archs, episodes=episodes, seed=seed)

"""Running a one-shot search (SPOS or ENAS) into a run folder, and reading its proxy ranking.

The run folder is a PPO run's (config.json, metrics.csv, episodes.csv, archs.csv, checkpoints,
result.json), resumable exactly like `train_ppo`; the proxy (SPOS: mean test score with the
supernet's weights; ENAS: the controller's probability) is computed from its last checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from workbench.models import ActorCritic
from workbench.oneshot.config import OneShotConfig
from workbench.oneshot.enas import Controller, ControllerSchedule, enas_proxy
from workbench.oneshot.spaces import OneShotSupernet
from workbench.oneshot.spos import UniformPaths, spos_ranking
from workbench.rl.a2c import TrainResult
from workbench.rl.ppo import ArchSchedule, env_spec, train_run


def build_search(cfg: OneShotConfig, num_actions: int, obs_shape: tuple[int, ...]):
    """The supernet agent and the architecture schedule of a search config."""
    supernet = OneShotSupernet(cfg.space, obs_shape[0], obs_shape[-1])
    agent = ActorCritic(supernet, num_actions)
    schedule: ArchSchedule
    if cfg.method == "spos":
        schedule = UniformPaths(supernet)
    else:
        schedule = ControllerSchedule(supernet, Controller(cfg.space, cfg.controller_hidden), cfg)
    return agent, schedule


def train_oneshot(
    cfg: OneShotConfig,
    run_dir: str | Path,
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Fit the supernet (and, for ENAS, the controller) into `run_dir`; resumes exactly."""
    return train_run(
        cfg, run_dir, lambda run: build_search(cfg, *env_spec(cfg)), progress=progress,
        stop_after_segments=stop_after_segments, tensorboard=tensorboard,
    )  # fmt: skip


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
    config = json.loads((Path(run_dir) / "config.json").read_text())
    if config.get("method") == "enas":
        return enas_proxy(run_dir, archs)
    return spos_ranking(run_dir, archs, episodes=episodes, seed=seed)

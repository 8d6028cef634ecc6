"""Grids of A2C runs for a preset: build the configs, train what is missing, collect the results.

Runs are cached by their folder (`<game>__<model>__<tag>__s<seed>`, whose config.json must
match): a finished run is not retrained, an interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from workbench.config import A2CConfig
from workbench.experiments.presets import Preset
from workbench.experiments.runs import load_runs, run_name
from workbench.rl.a2c import train


def preset_configs(
    preset: Preset, games: Sequence[str], models: Sequence[str], seeds: Sequence[int], **overrides
) -> list[A2CConfig]:
    """One A2CConfig per (game, model, seed) at the preset's budget."""
    return [
        A2CConfig(game=g, model=m, seed=s, total_steps=preset.train_steps,
                  eval_interval=preset.eval_interval, eval_episodes=preset.eval_episodes,
                  checkpoint_interval=preset.checkpoint_interval,
                  log_interval=min(10_000, preset.train_steps), tag=f"a2c-{preset.name}",
                  **overrides)
        for g in games for m in models for s in seeds
    ]  # fmt: skip


def run_configs(
    configs: Sequence[A2CConfig], runs_dir: str | Path, progress: bool | None = None
) -> pd.DataFrame:
    """Train each config into runs_dir (skipping finished runs); return their evals, tidy."""
    runs_dir = Path(runs_dir)
    names = []
    for cfg in configs:
        name = run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
        train(cfg, runs_dir / name, progress=progress)
        names.append(name)
    evals = load_runs(runs_dir)
    return evals[evals["run"].isin(names)].reset_index(drop=True)

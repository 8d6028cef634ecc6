"""Grids of A2C runs for a preset: build the configs, train what is missing, collect the results.

Runs are cached by their folder (`<game>__<model>__<tag>__s<seed>`, whose config.json must
match): a finished run is not retrained, an interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.config import SEARCH_ARMS, A2CConfig, SearchConfig, search_arm
from workbench.names import check_name
from workbench.presets import Preset, preset_config
from workbench.rl.teacher import load_teacher
from workbench.runs.folder import check_same_config, load_runs, run_finished, run_name
from workbench.runs.kinds import get_kind


def preset_configs(
    preset: Preset, games: Sequence[str], models: Sequence[str], seeds: Sequence[int], **overrides
) -> list[A2CConfig]:
    """One A2CConfig per (game, model, seed) at the preset's budget."""
    return [
        preset_config(preset, A2CConfig, game=g, model=m, seed=s, tag=f"a2c-{preset.name}",
                      **overrides)
        for g in games for m in models for s in seeds
    ]  # fmt: skip


def distillation_configs(
    preset: Preset,
    games: Sequence[str],
    students: Sequence[str],
    arms: Sequence[str],
    seeds: Sequence[int],
    teacher: str = "{game}__resnet20",
) -> list[A2CConfig]:
    """One A2CConfig per (game, student, arm, seed); `teacher` is formatted with the game.

    Every teacher is loaded and checked against its game before any training starts.
    """
    teachers = {g: teacher.format(game=g) for g in games}
    if any(a != "none" for a in arms):
        for game, source in teachers.items():
            load_teacher(source, game=game)
    return [
        replace(cfg, distill=arm, teacher=None if arm == "none" else teachers[cfg.game],
                tag=f"distill-{arm}-{preset.name}")
        for arm in arms
        for cfg in preset_configs(preset, games, students, seeds)
    ]  # fmt: skip


def search_configs(
    preset: Preset,
    games: Sequence[str],
    arms: Sequence[str],
    seeds: Sequence[int],
    *,
    teacher: str = "{game}__resnet20",
    space: str = "a2d",
    sampler: str = "soft",
    cost_lambda: float = 1e-2,
) -> list[SearchConfig]:
    """One SearchConfig per (game, arm, seed) of SEARCH_ARMS at the preset's budget."""
    for arm in arms:
        check_name(arm, SEARCH_ARMS, "search arm")
    for game in games:
        if any(SEARCH_ARMS[a]["distill"] != "none" for a in arms):
            load_teacher(teacher.format(game=game), game=game)
    return [
        preset_config(preset, SearchConfig, game=g, model=f"supernet-{space}", seed=s,
                      space=space, sampler=sampler, cost_lambda=cost_lambda,
                      tag=f"search-{arm}-{preset.name}",
                      teacher=None if SEARCH_ARMS[arm]["distill"] == "none"
                      else teacher.format(game=g),
                      **SEARCH_ARMS[arm])
        for g in games for arm in arms for s in seeds
    ]  # fmt: skip


def split_finished(
    configs: Sequence[A2CConfig], runs_dir: str | Path
) -> tuple[list[A2CConfig], list[str]]:
    """The configs whose runs in `runs_dir` are finished, and the run names of the others.

    Lets a notebook draw what a sweep has finished so far instead of training the rest.
    """
    done, missing = [], []
    for cfg in configs:
        name = run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
        if run_finished(Path(runs_dir) / name, cfg):
            done.append(cfg)
        else:
            missing.append(name)
    return done, missing


def run_configs(
    configs: Sequence[A2CConfig], runs_dir: str | Path, progress: bool | None = None
) -> pd.DataFrame:
    """Train each config into runs_dir (skipping finished runs); return their evals, tidy."""
    runs_dir = Path(runs_dir)
    names = []
    for cfg in configs:
        name = run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
        get_kind(cfg.kind).train(cfg, runs_dir / name, progress=progress)
        names.append(name)
    evals = load_runs(runs_dir)
    return evals[evals["run"].isin(names)].reset_index(drop=True)


def runs_so_far(
    configs: Sequence[A2CConfig], runs_dir: str | Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evals of the configs' runs as far as each got, and a table of how far that is.

    Trains nothing and creates nothing, so a notebook can draw while a sweep still trains: an
    unfinished run's evals stop at its last evaluation. The table has one row per config (run,
    game, model, seed, budget, evaluated_to, finished). A folder holding another config is an
    error, as when training into it; so is a grid of which no run has been evaluated yet.
    """
    runs_dir = Path(runs_dir)
    names = [run_name(c.game, c.model, c.tag, c.seed) for c in configs]
    for cfg, name in zip(configs, names, strict=True):
        if (runs_dir / name / "config.json").exists():
            check_same_config(runs_dir / name, cfg)
    evals = load_runs(runs_dir)
    evals = evals[evals["run"].isin(names)].reset_index(drop=True) if len(evals) else evals
    reached = evals.groupby("run")["step"].max() if len(evals) else pd.Series(dtype=int)
    status = pd.DataFrame(
        {"run": names, "game": [c.game for c in configs], "model": [c.model for c in configs],
         "seed": [c.seed for c in configs], "budget": [c.total_steps for c in configs],
         "evaluated_to": [int(reached.get(n, 0)) for n in names],
         "finished": [run_finished(runs_dir / n, c) for n, c in zip(names, configs, strict=True)]}
    )  # fmt: skip
    if not (status["evaluated_to"] > 0).any():
        raise ValueError(
            f"no run of these {len(configs)} configs has been evaluated yet in {runs_dir}: "
            "train them (train_missing=True) or wait for the sweep's first evaluations"
        )
    return evals, status


def _label(row: Any) -> str:
    return f"{row.game} {row.model} s{row.seed}"


def progress_note(status: pd.DataFrame) -> str:
    """A caption's note on the runs of `runs_so_far`'s table that are not finished ('' if none)."""
    partial = status[~status["finished"] & (status["evaluated_to"] > 0)]
    absent = status[~status["finished"] & (status["evaluated_to"] == 0)]
    parts = []
    if len(partial):
        parts.append("unfinished, drawn to their last evaluation: " + ", ".join(
            f"{_label(r)} ({r.evaluated_to:,} of {r.budget:,} steps)" for r in partial.itertuples()
        ))  # fmt: skip
    if len(absent):
        parts.append("not evaluated yet, left out: " + ", ".join(map(_label, absent.itertuples())))
    return "".join(f"; {p}" for p in parts)


def search_logs(configs: Sequence[SearchConfig], runs_dir: str | Path) -> dict[str, pd.DataFrame]:
    """evals, alpha and archs logs of the given search runs, each with an `arm` column."""
    names = {run_name(c.game, c.model, c.tag, c.seed) for c in configs}
    logs = {}
    for log in ("evals", "alpha", "archs"):
        df = load_runs(runs_dir, f"{log}.csv")
        df = df[df["run"].isin(names)].reset_index(drop=True)
        df["arm"] = [search_arm(s, d) for s, d in zip(df["strategy"], df["distill"], strict=True)]
        logs[log] = df
    return logs


def derived_configs(
    configs: Sequence[A2CConfig], arch: dict[str, str], name: str
) -> list[A2CConfig]:
    """The given configs with their backbone replaced by a derived architecture `arch-<name>`."""
    return [replace(cfg, model=f"arch-{name}", arch=dict(arch)) for cfg in configs]


def last_derived_arch(archs: pd.DataFrame, arm: str, game: str, seed: int) -> dict[str, str]:
    """The architecture a search run derived last (from its archs.csv rows)."""
    rows = archs[(archs["arm"] == arm) & (archs["game"] == game) & (archs["seed"] == seed)]
    if rows.empty:
        raise ValueError(f"no derived architecture logged for arm {arm!r}, {game}, seed {seed}")
    return json.loads(rows.sort_values("step").iloc[-1]["arch"])

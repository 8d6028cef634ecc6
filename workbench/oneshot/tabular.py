"""The tabular benchmark of Mazyavkina et al. Sec. 5.3: every architecture of a space trained
from scratch with PPO, one row per architecture.

Metrics of a run, from its episodes.csv (raw full-game training scores) and evals.csv:
- `total_reward`: the mean score of the last 100 training games (the final performance);
- `reward_mean`: the mean score of all training games of the run. The paper reports both "over
  the last 100 episodes" without defining them; in the authors' logger `reward_mean` is each
  env's running mean over all its games and `total_reward` its latest game, which is why the
  paper's reward mean is well below its total reward, also on Freeway whose rewards are not
  clipped (Tab. 1: Nature-CNN 13.1 vs 19.0). We keep that meaning;
- `test_score`: the last test-protocol score (30 full games, SPEC §1).
With several seeds a row holds the mean over seeds (and `*_std` the spread across seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.config import PPOConfig
from workbench.oneshot.spaces import OneShotSpace, get_space
from workbench.runs.folder import run_name
from workbench.runs.kinds import get_kind

METRIC_COLUMNS = ("reward_mean", "total_reward", "test_score")


class TabularError(ValueError):
    """A tabular benchmark file that lacks architectures or does not describe the space."""


def tabular_path(runs_dir: str | Path, space: int | OneShotSpace, game: str, tag: str) -> Path:
    """Where `run_tabular` writes the table of (space, game, tag)."""
    return Path(runs_dir) / f"tabular__{get_space(space).name}__{game}__{tag}.csv"


def tabular_configs(
    space: int | OneShotSpace,
    game: str,
    budget: int,
    seeds: Sequence[int],
    *,
    archs: Sequence[int] | None = None,
    tag: str = "tabular",
    **overrides: object,
) -> list[PPOConfig]:
    """One PPOConfig per (architecture, seed); by default one test at the end of the budget."""
    space = get_space(space)
    archs = range(len(space)) if archs is None else archs
    settings: dict = {"eval_interval": budget, "checkpoint_interval": min(budget, 1_000_000),
                      "log_interval": min(budget, 10_000), **overrides}  # fmt: skip
    return [
        PPOConfig(game=game, model=f"{space.name}-a{a}", space=space.number, arch_index=int(a),
                  total_steps=budget, seed=s, tag=tag, **settings)
        for a in archs for s in seeds
    ]  # fmt: skip


def run_metrics(run_dir: str | Path) -> dict[str, float]:
    """reward_mean, total_reward (last 100 games), test_score and games of one finished run."""
    run_dir = Path(run_dir)
    episodes = _read(run_dir / "episodes.csv")
    evals = _read(run_dir / "evals.csv")
    scores = episodes["return"].to_numpy(dtype=float) if len(episodes) else np.array([])
    return {
        "reward_mean": float(scores.mean()) if len(scores) else np.nan,
        "total_reward": float(scores[-100:].mean()) if len(scores) else np.nan,
        "test_score": float(evals["mean"].iloc[-1]) if len(evals) else np.nan,
        "games": len(scores),
    }


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()


def run_tabular(
    space: int | OneShotSpace,
    game: str,
    budget: int,
    seeds: Sequence[int],
    runs_dir: str | Path,
    *,
    archs: Sequence[int] | None = None,
    tag: str = "tabular",
    progress: bool | None = None,
    **overrides: object,
) -> pd.DataFrame:
    """Train every architecture (or `archs`) of `space` with PPO from scratch, `budget` agent
    steps per seed, into `runs_dir`; write and return the table (finished runs are reused,
    interrupted ones resume)."""
    space = get_space(space)
    configs = tabular_configs(space, game, budget, seeds, archs=archs, tag=tag, **overrides)
    rows = []
    for cfg in configs:
        path = Path(runs_dir) / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
        get_kind(cfg.kind).train(cfg, path, progress=progress)
        rows.append({"arch": cfg.arch_index, "seed": cfg.seed, **run_metrics(path)})
    table = summarize(pd.DataFrame(rows), space, game, budget)
    path = tabular_path(runs_dir, space, game, tag)
    if path.exists():  # keep the rows of architectures trained by earlier calls
        old = pd.read_csv(path)
        old = old[(old["steps"] == budget) & ~old["arch"].isin(table["arch"])]
        table = pd.concat([old, table], ignore_index=True).sort_values("arch")
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return table.reset_index(drop=True)


def summarize(runs: pd.DataFrame, space: OneShotSpace, game: str, budget: int) -> pd.DataFrame:
    """One row per architecture: mean over seeds of each metric, and their spread."""
    grouped = runs.groupby("arch")
    table = grouped[list(METRIC_COLUMNS)].mean()
    std = grouped[list(METRIC_COLUMNS)].std(ddof=0).add_suffix("_std")
    table = table.join(std).join(grouped["games"].sum()).join(grouped.size().rename("seeds"))
    table = table.reset_index()
    table.insert(1, "kernels", [space.label(a) for a in table["arch"]])
    table.insert(0, "space", space.number)
    table.insert(1, "game", game)
    table["steps"] = budget
    return table


def load_tabular(
    path: str | Path,
    space: int | OneShotSpace | None = None,
    archs: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Read a table written by `run_tabular`, indexed by arch; TabularError when it lacks any
    of `archs` (default: every architecture of its space)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no tabular benchmark at {path}; build it with "
                                "`workbench sweep-space`")  # fmt: skip
    table = pd.read_csv(path)
    needed = {"space", "arch", *METRIC_COLUMNS[:2]}
    if not needed <= set(table.columns):
        raise TabularError(f"{path} is not a tabular benchmark: it lacks columns "
                           f"{sorted(needed - set(table.columns))}")  # fmt: skip
    written = get_space(int(table["space"].iloc[0])) if len(table) else None
    space = get_space(space) if space is not None else written
    if space is None:
        raise TabularError(f"{path} holds no architectures")
    if written is not None and written != space:
        raise TabularError(f"{path} is a benchmark of space {written.number}, not {space.number}")
    wanted = range(len(space)) if archs is None else [int(a) for a in archs]
    missing = sorted(set(wanted) - set(table["arch"]))
    if missing:
        game = table["game"].iloc[0] if "game" in table and len(table) else "<game>"
        raise TabularError(
            f"{path} lacks {len(missing)} of the {len(wanted)} architectures wanted of space "
            f"{space.number}: {missing}; train them with `workbench sweep-space --space "
            f"{space.number} --game {game} --archs {' '.join(map(str, missing))}`"
        )
    return table.set_index("arch", drop=False).rename_axis(None)

"""The one-shot study of notebook 06: Mazyavkina et al. Tab. 1 and Fig. 4 at a preset's budget.

Per (space, game): the tabular benchmark (candidates trained from scratch), random search
resampled from it, ENAS and SPOS searches (one per search seed) with the top-k selection, and
Kendall's tau between each search's proxy and the true performance. Small presets use fewer
candidates and a shorter ENAS child; `OneShotPlan.caption` states every such choice.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.oneshot.config import METHODS, OneShotConfig
from workbench.oneshot.random_search import random_search
from workbench.oneshot.search import search_proxy, train_oneshot
from workbench.oneshot.selection import METRICS, proxy_tau, select_architecture
from workbench.oneshot.spaces import get_space
from workbench.oneshot.tabular import load_tabular, run_tabular, tabular_path
from workbench.presets import Preset
from workbench.runs.folder import run_name

PAPER_TABLE1 = {
    # (space, game, method, metric): (mean, std) of Mazyavkina et al. Tab. 1
    (1, "Breakout", "random", "reward_mean"): (54.7, 8.3),
    (1, "Breakout", "random", "total_reward"): (147.2, 25.5),
    (1, "Freeway", "random", "reward_mean"): (28.4, 1.0),
    (1, "Freeway", "random", "total_reward"): (31.7, 0.8),
    (2, "Breakout", "random", "reward_mean"): (33.1, 29.5),
    (2, "Breakout", "random", "total_reward"): (105.7, 94.2),
    (2, "Freeway", "random", "reward_mean"): (21.6, 0.2),
    (2, "Freeway", "random", "total_reward"): (22.0, 0.2),
    (1, "Breakout", "nature-cnn", "reward_mean"): (57.1, np.nan),
    (1, "Breakout", "nature-cnn", "total_reward"): (157.9, np.nan),
    (1, "Freeway", "nature-cnn", "reward_mean"): (13.1, np.nan),
    (1, "Freeway", "nature-cnn", "total_reward"): (19.0, np.nan),
    (1, "Breakout", "enas", "reward_mean"): (61.4, 1.8),
    (1, "Breakout", "enas", "total_reward"): (161.1, 9.8),
    (1, "Freeway", "enas", "reward_mean"): (26.4, 1.1),
    (1, "Freeway", "enas", "total_reward"): (30.7, 1.3),
    (2, "Breakout", "enas", "reward_mean"): (30.7, 21.7),
    (2, "Breakout", "enas", "total_reward"): (91.4, 64.4),
    (2, "Freeway", "enas", "reward_mean"): (21.5, 0.1),
    (2, "Freeway", "enas", "total_reward"): (22.0, 0.2),
    (1, "Breakout", "spos", "reward_mean"): (39.7, 18.6),
    (1, "Breakout", "spos", "total_reward"): (144.4, 55.0),
    (1, "Freeway", "spos", "reward_mean"): (29.6, 0.8),
    (1, "Freeway", "spos", "total_reward"): (29.4, 5.0),
    (2, "Breakout", "spos", "reward_mean"): (39.9, 41.0),
    (2, "Breakout", "spos", "total_reward"): (180.6, 72.5),
    (2, "Freeway", "spos", "reward_mean"): (21.7, 0.1),
    (2, "Freeway", "spos", "total_reward"): (22.0, 0.1),
}
METHOD_NAMES = {"random": "Random Search", "nature-cnn": "Nature-CNN", "enas": "ENAS",
                "spos": "SPOS"}  # fmt: skip
PLAN_DEFAULTS = {
    # spaces and candidates per preset: space 2's 5x5 convs at 20x20 cost ~25x the Nature CNN
    "smoke": {"spaces": (1,), "max_archs": 3},
    "laptop": {"spaces": (1,), "max_archs": 0},
    "paper": {"spaces": (1, 2), "max_archs": 0},
}


def candidate_archs(space: int, max_archs: int = 0) -> tuple[int, ...]:
    """The architectures a study trains: all (max_archs 0), or the Nature CNN (when a member)
    plus others spread evenly over the index range."""
    space_ = get_space(space)
    n = len(space_)
    if max_archs <= 0 or max_archs >= n:
        return tuple(range(n))
    first = [] if space_.nature_index is None else [space_.nature_index]
    rest = [a for a in range(n) if a not in first]
    picks = np.linspace(0, len(rest) - 1, max_archs - len(first)).round().astype(int)
    return tuple(sorted(first + [rest[i] for i in picks]))


def enas_child_schedule(
    updates: int, child_updates: int = 10, children: int = 3
) -> tuple[int, int]:
    """(child_updates, children_per_step): the paper's 10 and 3, shortened when the budget's
    `updates` PPO updates would not reach one controller step."""
    if updates >= child_updates * children:
        return child_updates, children
    children = min(children, updates)
    return max(1, updates // children), children


@dataclass(frozen=True)
class OneShotPlan:
    """Everything the study runs; `caption` states it for every figure and table."""

    preset: str
    spaces: tuple[int, ...]
    games: tuple[str, ...]
    search_seeds: tuple[int, ...]
    table_seeds: tuple[int, ...]
    max_archs: int
    train_steps: int
    eval_episodes: int
    eval_interval: int
    checkpoint_interval: int
    top_k: int = 3
    criterion: str = "reward_mean"
    random_repeats: int = 1000
    backend: str = "auto"

    def archs(self, space: int) -> tuple[int, ...]:
        """The candidates of `space` (its tabular benchmark's architectures)."""
        return candidate_archs(space, self.max_archs)

    @property
    def updates(self) -> int:
        """PPO updates of one run (8 envs x 128 steps each)."""
        return max(1, -(-self.train_steps // OneShotConfig().steps_per_update))

    def caption(self) -> str:
        """One line with the budget and every reduction."""
        child, children = enas_child_schedule(self.updates)
        archs = ", ".join(
            f"space {s}: {'all ' if len(self.archs(s)) == len(get_space(s)) else ''}"
            f"{len(self.archs(s))} of {len(get_space(s))} architectures"
            for s in self.spaces
        )
        steps = self.updates * OneShotConfig().steps_per_update
        return (
            f"preset={self.preset}: PPO {self.updates:,} updates of 8 envs x 128 steps = "
            f"{steps:,} agent steps (4 frames each) per run and per search; games: "
            f"{', '.join(self.games)}; {archs}; tabular seeds "
            f"{', '.join(map(str, self.table_seeds))}; search seeds "
            f"{', '.join(map(str, self.search_seeds))}; top-{self.top_k} by proxy, best by "
            f"{self.criterion}; ENAS child {child} updates, {children} children per controller "
            f"step; SPOS ranks with {self.eval_episodes} test games per architecture; random "
            f"search resampled {self.random_repeats} times (the paper: 1e7 steps, 4 seeds)"
        )


def oneshot_plan(
    preset: Preset,
    *,
    spaces: Sequence[int] = (),
    games: Sequence[str] = (),
    search_seeds: Sequence[int] = (),
    table_seeds: Sequence[int] = (),
    max_archs: int = -1,
    top_k: int = 3,
    criterion: str = "reward_mean",
    random_repeats: int = 1000,
    backend: str = "auto",
) -> OneShotPlan:
    """The study at `preset` (already `for_study("oneshot")`); empty or -1 means its default."""
    defaults = PLAN_DEFAULTS.get(preset.name, PLAN_DEFAULTS["paper"])
    for s in spaces:
        get_space(s)
    return OneShotPlan(
        preset=preset.name,
        spaces=tuple(int(s) for s in spaces) or defaults["spaces"],
        games=tuple(games) or preset.games,
        search_seeds=tuple(search_seeds) or preset.seeds,
        table_seeds=tuple(table_seeds) or (0,),
        max_archs=defaults["max_archs"] if max_archs < 0 else max_archs,
        train_steps=preset.train_steps,
        eval_episodes=preset.eval_episodes,
        eval_interval=preset.eval_interval,
        checkpoint_interval=preset.checkpoint_interval,
        top_k=top_k,
        criterion=criterion,
        random_repeats=random_repeats,
        backend=backend,
    )


@dataclass
class StudyResults:
    """The study's tidy tables (one row per architecture, repeat, search or candidate)."""

    tabular: pd.DataFrame
    random: pd.DataFrame
    searches: pd.DataFrame
    proxies: pd.DataFrame


def search_config(
    plan: OneShotPlan, space: int, game: str, method: str, seed: int
) -> OneShotConfig:
    """The OneShotConfig of one search of the study."""
    child, children = enas_child_schedule(plan.updates)
    return OneShotConfig(
        game=game, model=f"supernet-space{space}", space=space, method=method, seed=seed,
        total_steps=plan.train_steps, eval_episodes=plan.eval_episodes,
        eval_interval=plan.eval_interval, checkpoint_interval=plan.checkpoint_interval,
        log_interval=min(10_000, plan.train_steps), backend=plan.backend,
        tag=f"{method}-{plan.preset}", child_updates=child, children_per_step=children,
    )  # fmt: skip


def run_study(
    plan: OneShotPlan, runs_dir: str | Path, progress: bool | None = None
) -> StudyResults:
    """Train (or reuse) every run of the plan and collect the results."""
    tabular, random, searches, proxies = [], [], [], []
    for space in plan.spaces:
        for game in plan.games:
            table = _tabular(plan, space, game, runs_dir, progress)
            tabular.append(table.reset_index(drop=True))
            rs = random_search(table, k=min(plan.top_k, len(table)), repeats=plan.random_repeats,
                               criterion=plan.criterion)  # fmt: skip
            random.append(rs.assign(space=space, game=game))
            for method in METHODS:
                for seed in plan.search_seeds:
                    cfg = search_config(plan, space, game, method, seed)
                    path = Path(runs_dir) / run_name(game, cfg.model, cfg.tag, seed)
                    train_oneshot(cfg, path, progress=progress)
                    proxy = search_proxy(path, plan.archs(space), episodes=plan.eval_episodes)
                    chosen = select_architecture(proxy, table, k=plan.top_k,
                                                 criterion=plan.criterion)  # fmt: skip
                    tau = proxy_tau(proxy, table, plan.criterion)
                    key = {"space": space, "game": game, "method": method, "seed": seed}
                    searches.append({**key, **chosen, "kendall_tau": tau, "run": path.name,
                                     "trained_on": trained_on(path)})  # fmt: skip
                    proxies.append(proxy.assign(**key))
    return StudyResults(
        pd.concat(tabular, ignore_index=True), pd.concat(random, ignore_index=True),
        pd.DataFrame(searches), pd.concat(proxies, ignore_index=True),
    )  # fmt: skip


def trained_on(run_dir: Path) -> str:
    """Where a run trained, from its env.json: "cpu", or the GPU's name."""
    env_file = run_dir / "env.json"
    env = json.loads(env_file.read_text()) if env_file.exists() else {}
    return env.get("gpu", env.get("device", "unrecorded"))


def tabular_settings(plan: OneShotPlan, space: int) -> dict:
    """The tabular benchmark's settings for one space of the study (`run_tabular`'s and
    `tabular_configs`' keyword arguments): the sweep's tabular job trains the same runs."""
    return {
        "budget": plan.train_steps, "seeds": plan.table_seeds, "archs": plan.archs(space),
        "tag": f"tabular-{plan.preset}", "eval_episodes": plan.eval_episodes,
        "eval_interval": plan.eval_interval, "checkpoint_interval": plan.checkpoint_interval,
        "backend": plan.backend,
    }  # fmt: skip


def _tabular(
    plan: OneShotPlan, space: int, game: str, runs_dir: str | Path, progress: bool | None
) -> pd.DataFrame:
    settings = tabular_settings(plan, space)
    run_tabular(space, game, runs_dir=runs_dir, progress=progress, **settings)
    path = tabular_path(runs_dir, space, game, settings["tag"])
    return load_tabular(path, space, plan.archs(space))


def table1(results: StudyResults) -> pd.DataFrame:
    """Tab. 1 as a tidy table: method, metric, mean and std over searches (random: over the
    resampled searches), beside the paper's numbers."""
    rows = []
    for (space, game), table in results.tabular.groupby(["space", "game"]):
        random = _of(results.random, space, game)
        searches = _of(results.searches, space, game)
        nature = get_space(space).nature_index
        for metric in METRICS:
            values = {"random": random[metric]}
            if nature is not None and nature in set(table["arch"]):
                values["nature-cnn"] = table.loc[table["arch"] == nature, metric]
            for method in METHODS:
                values[method] = searches.loc[searches["method"] == method, metric]
            for method, v in values.items():
                paper = PAPER_TABLE1.get((space, game, method, metric), (np.nan, np.nan))
                rows.append(
                    {"space": space, "game": game, "method": METHOD_NAMES[method],
                     "metric": metric, "mean": round(v.mean(), 4),
                     "std": round(v.std(ddof=0), 4), "n": len(v), "paper_mean": paper[0],
                     "paper_std": paper[1]}
                )  # fmt: skip
    return pd.DataFrame(rows)


def _of(df: pd.DataFrame, space: int, game: str) -> pd.DataFrame:
    """The rows of one (space, game)."""
    return df[(df["space"] == space) & (df["game"] == game)]


def kendall_table(results: StudyResults) -> pd.DataFrame:
    """Kendall's tau between proxy and true performance, per search."""
    columns = ["space", "game", "method", "seed", "arch", "kernels", "top_k", "kendall_tau",
               "trained_on"]  # fmt: skip
    return results.searches[columns]


MARKS = {  # method: (colour, marker symbol)
    "enas": ("crimson", "triangle-up"),
    "spos": ("darkorange", "diamond"),
    "nature-cnn": ("black", "circle"),
}


def _found(results: StudyResults, table: pd.DataFrame, criterion: str) -> list[tuple]:
    """(method, value, kernels) of every architecture a search found, and the Nature CNN's."""
    space, game = int(table["space"].iloc[0]), table["game"].iloc[0]
    found = _of(results.searches, space, game)
    marks = [
        (m, row[criterion], row["kernels"])
        for m in METHODS
        for _, row in found[found["method"] == m].iterrows()
    ]
    nature = get_space(space).nature_index
    if nature is not None and nature in set(table["arch"]):
        row = table[table["arch"] == nature].iloc[0]
        marks.append(("nature-cnn", row[criterion], row["kernels"]))
    return marks


def reward_histograms(results: StudyResults, criterion: str, caption: str) -> go.Figure:
    """Fig. 4: histogram of the candidates' true performance per (space, game), with the
    architectures ENAS and SPOS found and the Nature CNN marked (dashed lines)."""
    panels = list(results.tabular.groupby(["space", "game"]))
    titles = [f"space {s}, {g}" for (s, g), _ in panels]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles)
    in_legend: set[str] = set()
    for col, (_, table) in enumerate(panels, start=1):
        histogram = go.Histogram(
            x=table[criterion], name="candidates", marker_color="steelblue", showlegend=col == 1
        )
        fig.add_trace(histogram, row=1, col=col)
        step = max(1.0, len(table) / 12)  # marker heights, so that marks at one value all show
        for method, value, kernels in _found(results, table, criterion):
            colour, symbol = MARKS[method]
            fig.add_vline(x=value, line_color=colour, line_dash="dash", row=1, col=col)
            marker = go.Scatter(
                x=[value],
                y=[step * (1 + list(MARKS).index(method))],
                mode="markers",
                name=METHOD_NAMES[method],
                legendgroup=method,
                marker={"color": colour, "size": 11, "symbol": symbol},
                hovertext=f"{METHOD_NAMES[method]}: kernels {kernels}",
                showlegend=method not in in_legend,
            )
            fig.add_trace(marker, row=1, col=col)
            in_legend.add(method)
        fig.update_xaxes(title_text=criterion.replace("_", " "), row=1, col=col)
    fig.update_yaxes(title_text="architectures", row=1, col=1)
    subtitle = "<br>".join(textwrap.wrap(caption, 150))
    title = f"Fig. 4: {criterion.replace('_', ' ')} of the candidates and the architectures found"
    fig.update_layout(
        title={"text": f"{title}<br><sup>{subtitle}</sup>"}, bargap=0.05, margin={"t": 170}
    )
    return fig

"""The RL-DARTS study of notebook 07 at a preset's budget: Fig. 3, Fig. 6 and Tab. 4.

Per (game, seed): the supernet search (16x3) and IMPALA-CNN at the same depth and settings (Fig.
3's sanity check); the random-search baseline: random cells (16x3, the supernet's PPO settings)
trained one after another until their summed wall-clock reaches the supernet's (RL-DARTS: a
supernet costs 2.5x an IMPALA-CNN, so 3 random cells), capped at `max_random_cells`, the best
by training reward kept; then trained from scratch at the evaluation depth (64x3) with F.3's
settings: IMPALA-CNN, the final discrete cell, the best random cell, and up to
`sequence_cells` cells of the search's sequence (evenly spaced, first and last included; the
last is the final cell). Scores are the mean return of a run's last 100 training games
(infinite easy levels), normalised by Cobbe et al. (2020)'s bounds as RL-DARTS App. D.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.darts.config import DartsConfig
from workbench.darts.discretize import random_genotype, search_space_size
from workbench.darts.genotype import Genotype
from workbench.darts.ops import get_op_space
from workbench.darts.search import (
    build_darts_agent,
    read_alpha,
    read_cells,
    run_score,
    train_darts,
    wallclock_seconds,
)
from workbench.envs.procgen import list_procgen_games
from workbench.models.profile import count_params
from workbench.names import check_name
from workbench.papers import (
    RLDARTS_TABLE4_PPO,
    RLDARTS_TABLE5A_PPO_CLASSIC,
    procgen_normalized_return,
)
from workbench.presets import Preset
from workbench.runs.folder import run_name

METHODS = ("IMPALA-CNN", "RL-DARTS (discrete cell)", "Random Search")
PAPER_RANDOM_CELLS = 3
"""Random cells per supernet in RL-DARTS Sec. 4.4 (its 2.5x supernet cost, rounded up)."""
PLAN_DEFAULTS = {
    # PPO shape and evaluation depth per preset; budgets (steps, games, seeds) are the preset's
    "smoke": {"num_envs": 4, "rollout_length": 16, "minibatches": 4, "epochs": 1,
              "eval_depth": 16, "sequence_cells": 3, "max_random_cells": 3,
              "alpha_log_interval": 64},
    "laptop": {"num_envs": 16, "rollout_length": 64, "minibatches": 4, "epochs": 3,
               "eval_depth": 32, "sequence_cells": 3, "max_random_cells": 3,
               "alpha_log_interval": 1_024},
    "paper": {"num_envs": 64, "rollout_length": 256, "minibatches": 64, "epochs": 3,
              "eval_depth": 64, "sequence_cells": 9, "max_random_cells": 10,
              "alpha_log_interval": 250_000},
}  # fmt: skip


@dataclass(frozen=True)
class DartsPlan:
    """Everything the study runs; `caption` states it for every figure and table."""

    preset: str
    games: tuple[str, ...]
    seeds: tuple[int, ...]
    train_steps: int
    checkpoint_interval: int
    op_space: str = "classic"
    search_depth: int = 16
    eval_depth: int = 64
    blocks: int = 3
    num_envs: int = 64
    rollout_length: int = 256
    minibatches: int = 64
    epochs: int = 3
    """PPO epochs of the supernet and the random cells (evaluation: 1, App. F.3)."""
    temperature: float = 5.0
    alpha_log_interval: int = 250_000
    sequence_cells: int = 9
    max_random_cells: int = 10

    def __post_init__(self) -> None:
        procgen = list_procgen_games()
        for game in self.games:
            check_name(game, procgen, "Procgen game")
        get_op_space(self.op_space)
        if self.sequence_cells < 1 or self.max_random_cells < 1:
            raise ValueError("sequence_cells and max_random_cells must be >= 1")

    @property
    def steps(self) -> int:
        """Agent steps of every run (whole PPO updates)."""
        spu = self.num_envs * self.rollout_length
        return max(1, -(-self.train_steps // spu)) * spu

    def _common(self, game: str, seed: int) -> dict:
        return dict(
            game=game, seed=seed, total_steps=self.steps, num_envs=self.num_envs,
            rollout_length=self.rollout_length, minibatches=self.minibatches,
            checkpoint_interval=min(self.checkpoint_interval, self.steps),
            log_interval=self.num_envs * self.rollout_length, blocks=self.blocks,
        )  # fmt: skip

    def search_config(self, game: str, seed: int) -> DartsConfig:
        """The supernet search (App. F defaults, depth 16)."""
        return DartsConfig(
            **self._common(game, seed), epochs=self.epochs, op_space=self.op_space,
            depth=self.search_depth, temperature=self.temperature,
            alpha_log_interval=self.alpha_log_interval, tag=f"search-{self.preset}",
        )  # fmt: skip

    def search_depth_config(self, game: str, seed: int, genotype: Genotype | None) -> DartsConfig:
        """A discrete cell (random search) or IMPALA-CNN (None) with the supernet's depth and
        PPO settings."""
        return DartsConfig(
            **self._common(game, seed), epochs=self.epochs, depth=self.search_depth,
            encoder="impala_cnn" if genotype is None else "cell",
            op_space=self.op_space, genotype=genotype.to_json() if genotype else "",
            tag=f"search-{self.preset}",
        )  # fmt: skip

    def eval_config(self, game: str, seed: int, genotype: Genotype | None) -> DartsConfig:
        """Training from scratch at the evaluation depth: a discrete cell or IMPALA-CNN (None)."""
        common = self._common(game, seed)
        return DartsConfig.evaluation(
            common.pop("game"), genotype, **common, depth=self.eval_depth,
            tag=f"eval-{self.preset}",
        )  # fmt: skip

    def caption(self) -> str:
        """One line with the budget and every reduction."""
        size = search_space_size(self.op_space)
        return (
            f"preset={self.preset}: PPO {self.steps:,} agent steps per run "
            f"({self.num_envs} envs x {self.rollout_length} steps per update, minibatches of "
            f"{self.num_envs * self.rollout_length // self.minibatches}; PPO epochs: {self.epochs} "
            "in search, 1 in evaluation); Procgen easy, games: "
            f"{', '.join(self.games)}; seeds {', '.join(map(str, self.seeds))}; op space "
            f"{self.op_space} ({size:.2e} cells), I=4, T={self.temperature}; supernet "
            f"{self.search_depth}x{self.blocks}, discrete cells evaluated at {self.eval_depth}x"
            f"{self.blocks}; up to {self.sequence_cells} cells of each search's sequence; "
            f"random cells at {self.search_depth}x{self.blocks} until the supernet's wall-clock "
            f"(at most {self.max_random_cells}) (the paper: 25M steps, 64 envs x 256, 16 games, "
            "3 seeds, 64x3)"
        )


def darts_plan(
    preset: Preset,
    *,
    games: Sequence[str] = (),
    seeds: Sequence[int] = (),
    op_space: str = "classic",
    sequence_cells: int = 0,
    max_random_cells: int = 0,
) -> DartsPlan:
    """The study at `preset` (already `for_study("darts")`); empty or 0 means its default."""
    defaults = dict(PLAN_DEFAULTS.get(preset.name, PLAN_DEFAULTS["paper"]))
    if sequence_cells:
        defaults["sequence_cells"] = sequence_cells
    if max_random_cells:
        defaults["max_random_cells"] = max_random_cells
    return DartsPlan(
        preset=preset.name,
        games=tuple(games) or preset.games,
        seeds=tuple(seeds) or preset.seeds,
        train_steps=preset.train_steps,
        checkpoint_interval=preset.checkpoint_interval,
        op_space=op_space,
        **defaults,
    )


@dataclass
class DartsResults:
    """The study's tidy tables."""

    searches: pd.DataFrame  # game, seed, run, wallclock_s, score, cells, final cell
    alpha: pd.DataFrame  # game, seed, step, cell_type, edge, op, weight
    curves: pd.DataFrame  # game, seed, network, step, return_recent100 (search depth)
    random: pd.DataFrame  # game, seed, index, genotype, normal, reduce, score, wallclock_s
    sequence: pd.DataFrame  # game, seed, cell, step, genotype, normal, reduce, score, run
    evaluation: pd.DataFrame  # game, seed, method, score, normalized, params, genotype, run


def _train(cfg: DartsConfig, runs_dir: Path, progress: bool | None) -> Path:
    path = runs_dir / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
    train_darts(cfg, path, progress=progress)
    return path


def sequence_indices(count: int, wanted: int) -> list[int]:
    """Up to `wanted` of `count` cells, evenly spaced, first and last included."""
    if count <= wanted:
        return list(range(count))
    return sorted({int(i) for i in np.linspace(0, count - 1, wanted).round()})


def run_darts_study(
    plan: DartsPlan, runs_dir: str | Path, progress: bool | None = None
) -> DartsResults:
    """Train (or reuse) every run of the plan and collect the results."""
    runs_dir = Path(runs_dir)
    searches, alphas, curves, randoms, sequences, evaluation = [], [], [], [], [], []
    for game in plan.games:
        for seed in plan.seeds:
            key = {"game": game, "seed": seed}
            # --- Alg. 1 step 1: the supernet, and IMPALA-CNN at the same depth -------------
            search = _train(plan.search_config(game, seed), runs_dir, progress)
            supernet_s = wallclock_seconds(search)
            impala = _train(plan.search_depth_config(game, seed, None), runs_dir, progress)
            for network, path in (("DARTS supernet", search), ("IMPALA-CNN", impala)):
                metrics = pd.read_csv(path / "metrics.csv")[["step", "return_recent100"]]
                curves.append(metrics.assign(**key, network=network))
            alphas.append(read_alpha(search).assign(**key))
            cells = read_cells(search).assign(**key)
            # --- random search under the supernet's wall-clock -----------------------------
            spent, rows = 0.0, []
            while len(rows) < plan.max_random_cells and (
                len(rows) < (PAPER_RANDOM_CELLS if supernet_s <= 0 else 1) or spent < supernet_s
            ):
                genotype = random_genotype(plan.op_space, seed=1000 * seed + len(rows))
                path = _train(plan.search_depth_config(game, seed, genotype), runs_dir, progress)
                seconds = wallclock_seconds(path)
                spent += seconds
                rows.append({**key, "index": len(rows), "genotype": genotype.to_json(),
                             "normal": genotype.label("normal"),
                             "reduce": genotype.label("reduce"), "score": run_score(path),
                             "wallclock_s": seconds, "run": path.name})  # fmt: skip
            random = pd.DataFrame(rows)
            randoms.append(random)
            best_random = Genotype.from_json(
                random.loc[random["score"].fillna(-np.inf).idxmax(), "genotype"]
            )
            # --- Alg. 1 step 3: discrete cells from scratch (Fig. 6 and Tab. 4) --------------
            for i in sequence_indices(len(cells), plan.sequence_cells):
                cell = cells.iloc[i]
                path = _train(plan.eval_config(game, seed, Genotype.from_json(cell["genotype"])),
                              runs_dir, progress)  # fmt: skip
                sequences.append({**key, "cell": int(cell["cell"]), "step": int(cell["step"]),
                                  "genotype": cell["genotype"], "normal": cell["normal"],
                                  "reduce": cell["reduce"], "score": run_score(path),
                                  "run": path.name})  # fmt: skip
            final = Genotype.from_json(cells["genotype"].iloc[-1])
            for method, genotype in zip(METHODS, (None, final, best_random), strict=True):
                cfg = plan.eval_config(game, seed, genotype)
                path = _train(cfg, runs_dir, progress)
                score = run_score(path)
                params = count_params(build_darts_agent(cfg, 15).backbone)
                evaluation.append({**key, "method": method, "score": score,
                                   "normalized": procgen_normalized_return(game, score),
                                   "params": params,
                                   "genotype": genotype.to_json() if genotype else "",
                                   "run": path.name})  # fmt: skip
            searches.append({**key, "run": search.name, "wallclock_s": supernet_s,
                             "score": run_score(search), "cells": len(cells),
                             "random_cells": len(random), "random_wallclock_s": spent,
                             "final_normal": final.label("normal"),
                             "final_reduce": final.label("reduce")})  # fmt: skip
    return DartsResults(
        pd.DataFrame(searches), pd.concat(alphas, ignore_index=True),
        pd.concat(curves, ignore_index=True), pd.concat(randoms, ignore_index=True),
        pd.DataFrame(sequences), pd.DataFrame(evaluation),
    )  # fmt: skip


def table4(results: DartsResults) -> pd.DataFrame:
    """Tab. 4 (and App. D Tab. 5a per game): normalised reward per method, mean over seeds per
    game, then the average over games, beside the paper's numbers."""
    ev = results.evaluation
    rows = []
    for method in METHODS:
        part = ev[ev["method"] == method]
        per_game = part.groupby("game", sort=False)[["score", "normalized"]].mean()
        column = METHODS.index(method)
        for game, row in per_game.iterrows():
            paper = RLDARTS_TABLE5A_PPO_CLASSIC.get(game, (np.nan,) * 3)[column]
            rows.append({"method": method, "game": game, "score": round(row["score"], 4),
                         "normalized": round(row["normalized"], 4),
                         "seeds": int((part["game"] == game).sum()),
                         "paper_normalized": paper})  # fmt: skip
        average = round(per_game["normalized"].mean(), 4)
        rows.append({"method": method, "game": f"average ({len(per_game)} games)",
                     "score": np.nan, "normalized": average, "seeds": len(part),
                     "paper_normalized": RLDARTS_TABLE4_PPO[method]})  # fmt: skip
    return pd.DataFrame(rows)


def random_search_note(results: DartsResults) -> str:
    """How the random-search budget compared with the supernet's, in one line."""
    parts = [
        f"{r.game} seed {r.seed}: supernet {r.wallclock_s:.1f} s, {r.random_cells} random "
        f"cells {r.random_wallclock_s:.1f} s"
        for r in results.searches.itertuples()
    ]
    return "random search wall-clock: " + "; ".join(parts)

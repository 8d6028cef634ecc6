"""Tables for reports: formatted DataFrames, with paper figures beside measured ones."""

from __future__ import annotations

import json

import pandas as pd

from workbench import papers
from workbench.config import DISTILL_ARMS


def paper_ratio_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """The cost ratios A2D quotes (SPEC §2) against the ratios measured here."""
    by_model = profiles.set_index("model")
    checks = [
        ("params", "vanilla", "resnet20", papers.A2D_PARAMS_VANILLA_OVER_RESNET20, "A2D Sec. 4.1"),
        ("macs", "resnet38", "vanilla", papers.A2D_MACS_RESNET38_OVER_VANILLA, "A2D Sec. 4.1"),
    ]
    rows = []
    for metric, num, den, paper, source in checks:
        measured = None
        if num in by_model.index and den in by_model.index:
            measured = round(by_model.loc[num, metric] / by_model.loc[den, metric], 2)
        rows.append(
            {
                "ratio": f"{metric}({num}) / {metric}({den})",
                "paper": paper,
                "measured": measured,
                "source": source,
            }
        )
    return pd.DataFrame(rows)


def backbone_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """Params and MACs in millions, latency in ms, for display."""
    table = profiles.copy()
    table.insert(1, "params_M", (table.pop("params") / 1e6).round(3))
    table.insert(2, "macs_M", (table.pop("macs") / 1e6).round(2))
    table["activation_MB"] = (table.pop("activation_bytes") / 2**20).round(2)
    return table


def best_score_table(evals: pd.DataFrame) -> pd.DataFrame:
    """A2D Tab. 1: best test score per game and model (seed-mean at each eval), beside the paper's.

    Columns: game, model, best_score (ours), step_of_best, evaluated_to (the last evaluation every
    seed reached: the budget, or less for runs drawn unfinished), paper_best_score (3e7 steps; NaN
    when the paper has no entry for the game).
    """
    per_step = evals.groupby(["game", "model", "step"], as_index=False)["mean"].mean()
    best = per_step.loc[per_step.groupby(["game", "model"])["mean"].idxmax()]
    table = best.rename(columns={"mean": "best_score", "step": "step_of_best"})
    per_seed = evals.groupby(["game", "model", "seed"])["step"].max()
    reached = per_seed.groupby(["game", "model"]).min()
    table = table.join(reached.rename("evaluated_to"), on=["game", "model"])
    table["paper_best_score"] = [
        papers.A2D_TABLE1_BEST_SCORES.get(g, {}).get(m)
        for g, m in zip(table["game"], table["model"], strict=True)
    ]
    table["best_score"] = table["best_score"].round(2)
    columns = ["game", "model", "best_score", "step_of_best", "evaluated_to", "paper_best_score"]
    return table[columns].reset_index(drop=True)


def distillation_table(evals: pd.DataFrame) -> pd.DataFrame:
    """A2D Tab. 2: per game, student and arm, the best and final test score over seeds.

    Each run's best (max over its evaluations) and final score are taken first, then averaged
    over seeds with their spread; A2D's score (3e7 steps; Tab. 2, or Tab. 4 for games outside
    Tab. 2) sits beside ours, NaN where the paper reports none.
    """
    keys = ["game", "model", "distill"]
    per_run = evals.sort_values("step").groupby([*keys, "seed"])["mean"]
    runs = pd.DataFrame({"best": per_run.max(), "final": per_run.last()}).reset_index()
    table = runs.groupby(keys).agg(
        seeds=("seed", "nunique"),
        best_mean=("best", "mean"),
        best_std=("best", "std"),
        best_min=("best", "min"),
        best_max=("best", "max"),
        final_mean=("final", "mean"),
        final_std=("final", "std"),
    )
    paper = pd.DataFrame(papers.a2d_distillation_scores()).rename(
        columns={"student": "model", "score": "paper_score", "source": "paper_source"}
    )
    table = table.reset_index().merge(paper, on=keys, how="left")
    arm_order = table["distill"].map(DISTILL_ARMS.index)
    table = table.assign(_arm=arm_order).sort_values(["game", "model", "_arm"])
    return table.drop(columns="_arm").reset_index(drop=True)


def derived_arch_table(archs: pd.DataFrame) -> pd.DataFrame:
    """The last derived architecture of each search run: MACs, params, skip share, op per cell."""
    last = archs.sort_values("step").groupby("run").tail(1)
    cells = pd.DataFrame([json.loads(a) for a in last["arch"]], index=last.index)
    keep = [c for c in ("game", "arm", "seed", "step", "macs", "params", "skip_share") if c in last]
    return last[keep].join(cells).sort_values(keep[:3]).reset_index(drop=True)


def arch_history_table(archs: pd.DataFrame) -> pd.DataFrame:
    """Every distinct derived architecture of each search run with the step it appeared."""
    keep = [
        c for c in ("game", "arm", "seed", "step", "macs", "params", "skip_share") if c in archs
    ]
    return archs[keep].sort_values(keep[:4]).reset_index(drop=True)


def fa3c_table(points: pd.DataFrame, fa3c: dict[str, dict], a3cs: dict[str, dict]) -> pd.DataFrame:
    """A3C-S Tab. III: per game, our co-searched agent (predicted FPS) beside reported figures."""
    rows = []
    for game in sorted(points["game"].unique()):
        ours = points[(points["game"] == game) & points["agent"].str.startswith("cosearched")]
        for _, row in ours.iterrows():
            rows.append({"game": game, "system": f"ours: {row['agent']} on DAS",
                         "score": row["best_score"], "fps": row["das_fps"],
                         "fps_source": "predicted (workbench)"})  # fmt: skip
        for system, reported in (("FA3C", fa3c), ("A3C-S", a3cs)):
            if game in reported:
                rows.append({"game": game, "system": system, "score": reported[game]["score"],
                             "fps": reported[game]["fps"], "fps_source": "reported"})  # fmt: skip
    return pd.DataFrame(rows)

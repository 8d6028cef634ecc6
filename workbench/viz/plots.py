"""Plotly figures built from tidy DataFrames (no file I/O: see experiments.reports)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.nas.ops import OPS
from workbench.viz.titles import set_title


def backbone_cost_figure(profiles: pd.DataFrame, caption: str) -> go.Figure:
    """Params (M), MACs per frame (M) and CPU latency (ms) per backbone, side by side."""
    latency_cols = [c for c in profiles.columns if c.startswith("latency_ms_batch")]
    panels = [("params", "params (M)", 1e6), ("macs", "MACs per frame (M)", 1e6)]
    panels += [(c, f"CPU latency, {c.removeprefix('latency_ms_')} (ms)", 1.0) for c in latency_cols]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[1] for p in panels])
    for col, (column, _, scale) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                x=profiles["model"],
                y=profiles[column] / scale,
                name=column,
                showlegend=False,
                text=(profiles[column] / scale).round(2),
                textposition="outside",
            ),
            row=1,
            col=col,
        )
    return set_title(fig, "Agent backbones: cost per frame (actor-critic, 4x84x84 input)", caption)


def test_score_curves(evals: pd.DataFrame, caption: str) -> go.Figure:
    """A2D Fig. 1: test score vs agent steps, one panel per game, one line per model."""
    return score_curves(
        evals,
        caption,
        line="model",
        panel=("game",),
        title="Test score during training (A2D Fig. 1)",
    )


def distillation_curves(evals: pd.DataFrame, caption: str) -> go.Figure:
    """Test score vs steps for the distillation arms: one panel per game and student."""
    return score_curves(
        evals,
        caption,
        line="distill",
        panel=("game", "model"),
        title="Distillation arms: test score during training (A2D Tab. 2 as curves)",
    )


def score_curves(
    evals: pd.DataFrame, caption: str, *, line: str, panel: tuple[str, ...], title: str
) -> go.Figure:
    """Test score vs agent steps: one panel per `panel` value, one line per `line` value.

    Lines are the mean over seeds; the band spans the seeds' min and max.
    """
    evals = evals.assign(_panel=evals[list(panel)].astype(str).agg(" · ".join, axis=1))
    panels = sorted(evals["_panel"].unique())
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels)
    colors = dict(zip(sorted(evals[line].unique()), _PALETTE, strict=False))
    for col, name in enumerate(panels, start=1):
        for key, df in evals[evals["_panel"] == name].groupby(line):
            stats = df.groupby("step")["mean"].agg(["mean", "min", "max"]).reset_index()
            color = colors[key]
            band = {"mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"}
            fig.add_scatter(x=stats["step"], y=stats["max"], **band, row=1, col=col)
            fig.add_scatter(
                x=stats["step"],
                y=stats["min"],
                **band,
                fill="tonexty",
                fillcolor=_with_alpha(color),
                row=1,
                col=col,
            )
            fig.add_scatter(
                x=stats["step"],
                y=stats["mean"],
                mode="lines+markers",
                name=str(key),
                line={"color": color},
                legendgroup=str(key),
                showlegend=col == 1,
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="agent steps")
    fig.update_yaxes(title_text="test score (raw)", col=1)
    return set_title(fig, title, caption)


def search_curves(evals: pd.DataFrame, caption: str) -> go.Figure:
    """A2D Fig. 2: test score of the supernet's derived network during search, one line per arm."""
    return score_curves(
        evals,
        caption,
        line="arm",
        panel=("game",),
        title="Test score during search (A2D Fig. 2): vanilla DNAS vs one-level vs bi-level",
    )


def alpha_heatmaps(alpha: pd.DataFrame, caption: str, snapshots: int = 3) -> go.Figure:
    """Op probabilities per cell (softmax of alpha): one row per arm, columns over search time.

    The colour scale spans the probabilities shown, not 0-1: a short search barely moves alpha
    from uniform (1/9 per op), and a fixed scale would paint it one colour.
    """
    ops = [op for op in OPS if op in alpha.columns]
    arms = sorted(alpha["arm"].unique())
    steps = sorted(alpha["step"].unique())
    picks = sorted({steps[round(i * (len(steps) - 1) / max(snapshots - 1, 1))]
                    for i in range(snapshots)})  # fmt: skip
    shown = alpha[alpha["step"].isin(picks)][ops].to_numpy()
    zmin, zmax = float(shown.min()), float(shown.max())
    titles = [f"{arm} · step {step:,}" for arm in arms for step in picks]
    fig = make_subplots(rows=len(arms), cols=len(picks), subplot_titles=titles)
    for row, arm in enumerate(arms, start=1):
        for col, step in enumerate(picks, start=1):
            snap = alpha[(alpha["arm"] == arm) & (alpha["step"] == step)]
            snap = snap.groupby("cell", sort=False)[ops].mean()
            fig.add_heatmap(
                z=snap.to_numpy(),
                x=ops,
                y=list(snap.index),
                zmin=zmin,
                zmax=zmax,
                colorscale="Viridis",
                colorbar={"title": {"text": "p"}},
                showscale=row == 1 and col == len(picks),
                row=row,
                col=col,
            )
    fig.update_yaxes(autorange="reversed")
    title = (
        "Architecture probabilities softmax(alpha) per cell "
        f"(colours span {zmin:.3f}-{zmax:.3f}; uniform is {1 / len(ops):.3f})"
    )
    return set_title(fig, title, caption, plot_height=320 * len(arms))


def _log_range(values: pd.Series, pad: float = 2.0) -> list[float] | None:
    """A log axis range with room for the text labels at both ends (None: plotly's default)."""
    values = values.dropna()
    values = values[values > 0]
    if values.empty:
        return None
    return [math.log10(values.min() / pad), math.log10(values.max() * pad)]


def score_vs_macs(points: pd.DataFrame, caption: str) -> go.Figure:
    """A2D Fig. 3: best test score against MACs per frame, one marker per agent and training."""
    fig = go.Figure()
    for (label, distilled), df in points.groupby(["agent", "distilled"]):
        fig.add_scatter(
            x=df["macs"],
            y=df["best_score"],
            error_y={"type": "data", "array": df["best_std"].fillna(0)},
            mode="markers+text" if distilled else "markers",  # one name per agent
            text=[label] * len(df),
            hovertext=[label] * len(df),
            textposition="top center",
            name=f"{label} ({'distilled' if distilled else 'no distillation'})",
            marker={"symbol": "star" if distilled else "circle", "size": 12},
        )
    fig.update_xaxes(title_text="MACs per frame", type="log", range=_log_range(points["macs"]))
    fig.update_yaxes(title_text="best test score (raw)")
    return set_title(fig, "Test score vs MACs (A2D Fig. 3)", caption)


def score_vs_fps(points: pd.DataFrame, caption: str) -> go.Figure:
    """A3C-S Fig. 3: test score against predicted FPS, each agent on DAS and DNNBuilder-like
    (a dotted line joins an agent's two designs; names label the DAS points)."""
    fig = go.Figure()
    for _, row in points.iterrows():
        fig.add_scatter(
            x=[row["dnnbuilder_fps"], row["das_fps"]], y=[row["best_score"]] * 2, mode="lines",
            line={"color": "lightgray", "dash": "dot"}, showlegend=False, hoverinfo="skip",
        )  # fmt: skip
    for design, column, symbol in (("DAS", "das_fps", "star"),
                                   ("DNNBuilder-like", "dnnbuilder_fps", "circle")):  # fmt: skip
        fig.add_scatter(
            x=points[column],
            y=points["best_score"],
            error_y={"type": "data", "array": points["best_std"].fillna(0)},
            mode="markers+text" if design == "DAS" else "markers",
            text=points["agent"],
            hovertext=points["agent"] + f" on its {design} design",
            textposition="top center",
            name=f"on its {design} design",
            marker={"symbol": symbol, "size": 12},
        )
    span = _log_range(pd.concat([points["das_fps"], points["dnnbuilder_fps"]]))
    fig.update_xaxes(title_text="predicted FPS on ZC706 (900 DSPs)", type="log", range=span)
    fig.update_yaxes(title_text="best test score (raw)")
    return set_title(fig, "Test score vs FPS (A3C-S Fig. 3)", caption)


_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def _with_alpha(hex_color: str, alpha: float = 0.15) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"

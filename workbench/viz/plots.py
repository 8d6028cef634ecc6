"""Plotly figures built from tidy DataFrames (no file I/O: see experiments.reports)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


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
    fig.update_layout(
        title={
            "text": f"Agent backbones: cost per frame (actor-critic, 4x84x84 input)<br>"
            f"<sup>{caption}</sup>"
        },
        template="plotly_white",
        margin={"t": 110},
    )
    return fig

"""Figure titles with a wrapped caption that never runs off the figure or over the plots."""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

CAPTION_WIDTH = 150
"""Characters per caption line (fits a 1100 px wide figure at <sup> size)."""


def set_title(fig: go.Figure, title: str, caption: str, *, plot_height: int = 450) -> go.Figure:
    """Title plus caption wrapped onto lines, pinned to the top; the top margin grows with them."""
    lines = textwrap.wrap(caption, CAPTION_WIDTH)
    text = f"{title}<br><sup>{'<br>'.join(lines)}</sup>" if lines else title
    top = 90 + 17 * len(lines)
    fig.update_layout(
        title={"text": text, "y": 1, "yanchor": "top", "yref": "container", "pad": {"t": 24}},
        margin={"t": top},
        height=plot_height + top,
        template="plotly_white",
    )
    return fig

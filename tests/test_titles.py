"""Figure captions wrap onto lines and the top margin grows to hold them."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from workbench.viz.titles import CAPTION_WIDTH, set_title


def test_long_captions_wrap_and_make_room() -> None:
    short = set_title(go.Figure(), "T", "one line")
    caption = "; ".join(f"left out: run_{i:03d}" for i in range(30))
    long = set_title(go.Figure(), "T", caption)
    lines = long.layout.title.text.split("<sup>")[1].split("<br>")
    assert len(lines) >= 3 and all(len(x.removesuffix("</sup>")) <= CAPTION_WIDTH for x in lines)
    assert "run_029" in long.layout.title.text  # nothing dropped
    assert long.layout.margin.t > short.layout.margin.t
    assert long.layout.height - long.layout.margin.t == short.layout.height - short.layout.margin.t


def test_alpha_heatmaps_colour_range_spans_the_shown_probabilities() -> None:
    import pandas as pd

    from workbench.nas.ops import OPS
    from workbench.viz.plots import alpha_heatmaps

    rows = []
    for step, bump in ((0, 0.0), (10, 0.01), (20, 0.02)):
        probs = {op: 1 / len(OPS) for op in OPS}
        probs["skip"] += bump
        probs["conv3"] -= bump
        rows += [
            {"arm": "one-level", "step": step, "cell": c, **probs} for c in ("cell_0", "cell_1")
        ]
    fig = alpha_heatmaps(pd.DataFrame(rows), "caption")
    heat = fig.data[0]
    assert heat.zmin == pytest.approx(1 / len(OPS) - 0.02)
    assert heat.zmax == pytest.approx(1 / len(OPS) + 0.02)
    assert "uniform is 0.111" in fig.layout.title.text

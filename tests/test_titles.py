"""Figure captions wrap onto lines and the top margin grows to hold them."""

from __future__ import annotations

import plotly.graph_objects as go

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

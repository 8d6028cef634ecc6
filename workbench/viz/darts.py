"""Figures of RL-DARTS (notebook 07): discrete cells as graphs, softmax op weights over training
(Fig. 3), and the evaluation of the sequence of discretised cells (Fig. 6). No file I/O."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.darts.genotype import Genotype
from workbench.darts.ops import OP_SPACES, ZERO, get_op_space
from workbench.viz.titles import set_title

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
OP_COLORS: dict[str, str] = {}
for _space in OP_SPACES.values():
    for _op in (*_space.normal_ops, *_space.reduce_ops):
        if _op not in OP_COLORS and _op != ZERO:
            OP_COLORS[_op] = "#7f7f7f" if _op == "skip" else _PALETTE[len(OP_COLORS) % 7]
CELL_NAMES = {"normal": "normal cell", "reduce": "reduction cell"}


def _titled(fig: go.Figure, title: str, caption: str) -> go.Figure:
    """Title and wrapped caption pinned to the top (workbench.viz.titles)."""
    return set_title(fig, title, caption)


def _arc(x0: float, x1: float, height: float, points: int = 25) -> tuple[list, list]:
    """A parabolic arc from (x0, 0) to (x1, 0) through ((x0 + x1) / 2, height)."""
    ts = [k / (points - 1) for k in range(points)]
    return [x0 + (x1 - x0) * t for t in ts], [4 * height * t * (1 - t) for t in ts]


def add_cell_graph(
    fig: go.Figure, genotype: Genotype, cell_type: str, row: int = 1, col: int = 1
) -> None:
    """Draw one discrete cell into subplot (row, col) of a `make_subplots` figure.

    The input, nodes 1..I and the output sit on a line; every kept edge j -> i is an arc above
    it, higher the further it reaches (so no two labels meet), coloured and labelled by its op
    (↓2: stride 2); dotted arcs below it carry every node into the output Conv1x1.
    """
    nodes = genotype.cell(cell_type)
    out = len(nodes) + 1
    axis = fig.get_subplot(row, col)
    xref = axis.xaxis.plotly_name.replace("axis", "")
    yref = axis.yaxis.plotly_name.replace("axis", "")
    for i in range(1, out):  # concatenation into the output
        xs, ys = _arc(i, out, -0.25 * (out - i))
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line={"color": "#aaaaaa", "dash": "dot", "width": 1},
                hoverinfo="skip", showlegend=False,
            ),
            row=row, col=col,
        )  # fmt: skip
    stride = " ↓2" if cell_type == "reduce" else ""
    for i, node in enumerate(nodes, start=1):
        for op, j in node:
            color = OP_COLORS.get(op, "#444")
            text = op + (stride if j == 0 else "")
            xs, ys = _arc(j, i, 0.4 * (i - j))
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, mode="lines", line={"color": color, "width": 2.5},
                    hovertext=f"{'in' if j == 0 else j} -> {i}: {text}", hoverinfo="text",
                    showlegend=False,
                ),
                row=row, col=col,
            )  # fmt: skip
            fig.add_annotation(  # arrowhead on the arc's last stretch
                x=xs[-1], y=ys[-1], ax=xs[-4], ay=ys[-4], xref=xref, yref=yref, axref=xref,
                ayref=yref, showarrow=True, arrowhead=2, arrowsize=1.3, arrowwidth=2,
                arrowcolor=color, standoff=13, text="",
            )  # fmt: skip
            fig.add_annotation(
                x=(i + j) / 2, y=0.4 * (i - j), xref=xref, yref=yref, showarrow=False,
                text=text, font={"size": 10, "color": color}, bgcolor="rgba(255,255,255,0.9)",
            )  # fmt: skip
    labels = ["in", *map(str, range(1, out)), "out"]
    hover = ["cell input", *(f"node {i}: sum of its edges" for i in range(1, out)),
             "Conv1x1 over the concatenated nodes"]  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=list(range(out + 1)), y=[0.0] * (out + 1), mode="markers+text", text=labels,
            textposition="middle center", hovertext=hover, hoverinfo="text",
            marker={"size": 26, "color": ["#fde0a0", *["#dbe9f6"] * len(nodes), "#fde0a0"],
                    "line": {"color": "#444", "width": 1}},
            showlegend=False,
        ),
        row=row, col=col,
    )  # fmt: skip
    fig.update_xaxes(visible=False, range=[-0.4, out + 0.4], row=row, col=col)
    fig.update_yaxes(visible=False, range=[-0.3 * out, 0.4 * out + 0.2], row=row, col=col)


def cell_figure(genotype: Genotype, title: str = "", caption: str = "") -> go.Figure:
    """Every searched cell of a genotype as a graph, side by side (normal, reduction)."""
    types = get_op_space(genotype.op_space).cell_types
    fig = make_subplots(rows=1, cols=len(types), subplot_titles=[CELL_NAMES[t] for t in types])
    for col, cell_type in enumerate(types, start=1):
        add_cell_graph(fig, genotype, cell_type, row=1, col=col)
    fig.update_layout(height=460, meta="darts-cell")
    return _titled(fig, title or f"Discrete cell ({genotype.op_space})", caption)


def alpha_figure(alpha: pd.DataFrame, curves: pd.DataFrame, caption: str) -> go.Figure:
    """RL-DARTS Fig. 3: softmax op weight of every (edge, op) over training, one panel per cell
    type, coloured by op, Zero left out (as the paper); right, the supernet's training curve
    beside IMPALA-CNN's at the same depth (the sanity check).

    alpha: step, cell_type, edge, op, weight; curves: network, step, return_recent100.
    """
    types = [t for t in ("normal", "reduce") if t in set(alpha["cell_type"])]
    titles = [f"{CELL_NAMES[t]}: softmax op weights" for t in types] + ["training reward"]
    fig = make_subplots(rows=1, cols=len(types) + 1, subplot_titles=titles)
    shown: set[str] = set()
    for col, cell_type in enumerate(types, start=1):
        part = alpha[(alpha["cell_type"] == cell_type) & (alpha["op"] != ZERO)]
        for (edge, op), line in part.groupby(["edge", "op"], sort=False):
            fig.add_trace(
                go.Scatter(
                    x=line["step"], y=line["weight"], mode="lines", name=op, legendgroup=op,
                    line={"color": OP_COLORS.get(op, "#444"), "width": 1.5},
                    hovertext=f"{cell_type} {edge}: {op}", showlegend=op not in shown,
                ),
                row=1, col=col,
            )  # fmt: skip
            shown.add(op)
        fig.update_xaxes(title_text="agent steps", row=1, col=col)
    fig.update_yaxes(title_text="softmax weight", row=1, col=1)
    col = len(types) + 1
    for (network, seed), line in curves.groupby(["network", "seed"], sort=False):
        fig.add_trace(
            go.Scatter(
                x=line["step"], y=line["return_recent100"], mode="lines+markers",
                name=f"{network} (seed {seed})", line={"dash": "dot" if "IMPALA" in network
                                                       else "solid"},
            ),
            row=1, col=col,
        )  # fmt: skip
    fig.update_xaxes(title_text="agent steps", row=1, col=col)
    fig.update_yaxes(title_text="mean return, last 100 games", row=1, col=col)
    fig.update_layout(height=520, meta="darts-alpha")
    return _titled(fig, "Fig. 3: softmax op weights while the supernet trains", caption)


def sequence_figure(sequence: pd.DataFrame, baseline: pd.DataFrame, caption: str) -> go.Figure:
    """RL-DARTS Fig. 6: every evaluated discrete cell, in the order the search found it,
    trained from scratch; IMPALA-CNN's score at the same budget dashed. One panel per game.

    sequence: game, seed, cell, step, score, normal, reduce; baseline: game, score.
    """
    games = list(dict.fromkeys(sequence["game"]))
    fig = make_subplots(rows=1, cols=len(games), subplot_titles=games)
    for col, game in enumerate(games, start=1):
        part = sequence[sequence["game"] == game]
        for seed, line in part.groupby("seed"):
            hover = [
                f"cell {c} (found at step {s:,})<br>normal: {n}<br>reduce: {r}"
                for c, s, n, r in zip(line["cell"], line["step"], line["normal"],
                                      line["reduce"].fillna(""), strict=True)
            ]  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=line["cell"], y=line["score"], mode="lines+markers",
                    name=f"search seed {seed}", hovertext=hover, hoverinfo="text+y",
                    showlegend=col == 1,
                ),
                row=1, col=col,
            )  # fmt: skip
        base = baseline.loc[baseline["game"] == game, "score"].mean()
        if pd.notna(base):
            fig.add_hline(y=base, line_dash="dash", line_color="black", row=1, col=col,
                          annotation_text="IMPALA-CNN")  # fmt: skip
        fig.update_xaxes(title_text="discrete cell (order found)", dtick=1, row=1, col=col)
    fig.update_yaxes(title_text="mean return, last 100 games", row=1, col=1)
    fig.update_layout(height=480, meta="darts-sequence")
    return _titled(fig, "Fig. 6: the sequence of discretised cells, each trained from scratch",
                   caption)  # fmt: skip

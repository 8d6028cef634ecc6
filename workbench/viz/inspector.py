"""What the architecture inspector shows, as pure functions: search runs in, figures and tables out.

A search run folder (written by `workbench search` or `cosearch`) holds `config.json` (of run
kind dnas or cosearch, workbench.runs.kinds),
`alpha.csv` (op probabilities per cell at every logged step) and `archs.csv` (the derived
architecture each time it changed). For one logged step this module gives the alpha heatmap, the
derived architecture (argmax of alpha per cell; archs.csv settles float32 ties of the logged
probabilities) as a block diagram, MACs and params per block of the derived backbone, its
predicted FPS on an FPGA accelerator and a comparison with a registered backbone.
`workbench.viz.widgets` puts them in a widget; everything here runs without a browser.

Networks are backbones (stem, cells, head up to FC-256) without actor/critic heads, as the search
counts them: MACs equal `workbench.nas.cost.arch_macs`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from torch import nn

from workbench.hardware import (
    ZC706,
    LayerSpec,
    das_search,
    dnnbuilder_like,
    extract_layers,
    predict,
    roofline_fps,
)
from workbench.models import create_model
from workbench.models.profile import count_macs, count_params, layer_table
from workbench.nas.space import SearchSpace, build_model, get_space, validate_arch
from workbench.runs.kinds import kind_of

EXAMPLE_RUN = Path(__file__).resolve().parents[1] / "examples" / "search_breakout_a2d"
"""The smoke-size search run shipped with the package (see its README.md)."""
INPUT_SHAPE = (4, 84, 84)
"""Atari frame stack the costs are measured for."""
REQUIRED_FILES = ("config.json", "alpha.csv", "archs.csv")
"""Files that make a folder a search run."""
SEARCH_KINDS = ("dnas", "cosearch")
"""Run kinds whose folders the inspector reads (differentiable searches of workbench.nas)."""
TIE_TOLERANCE = 1e-6
"""Probabilities closer than this count as tied when archs.csv settles the argmax."""
DNNBUILDER = "DNNBuilder-like (ZC706)"
DAS_QUICK = "DAS (ZC706, quick)"
ROOFLINE = "roofline bound (ZC706)"
ACCELERATORS = (DNNBUILDER, DAS_QUICK, ROOFLINE)
"""Accelerator choices for the predicted FPS."""
DAS_QUICK_ITERATIONS = 300
"""DAS iterations of the quick search (the full default is 1500; about 0.5 s here)."""
DEFAULT_BACKBONE = "resnet20"
"""Registered backbone the derived network is compared with unless another is picked."""
OP_COLORS = {
    "conv3": "#1f77b4",
    "conv5": "#0b3d6b",
    "ir3_e1": "#b5e3a1",
    "ir3_e3": "#5fbf4a",
    "ir3_e5": "#1e7b1e",
    "ir5_e1": "#fdd49e",
    "ir5_e3": "#fc8d3c",
    "ir5_e5": "#c2410c",
    "skip": "#bdbdbd",
}
"""One colour per op, shared by the diagram and the cost bars (conv blue, ir3 green, ir5 orange)."""
FIXED_COLOR = "#7f7f7f"
"""Colour of the stem and head, which every architecture has."""


class NotASearchRunError(ValueError):
    """A folder that is not a search run (no search's config.json, alpha.csv or archs.csv)."""


@dataclass(frozen=True)
class SearchRun:
    """A search run folder read into memory: its config, alpha.csv and archs.csv."""

    path: Path
    config: dict
    alpha: pd.DataFrame = field(repr=False)
    archs: pd.DataFrame = field(repr=False)

    @property
    def space(self) -> SearchSpace:
        """The run's search space."""
        return get_space(self.config["space"])

    @property
    def steps(self) -> list[int]:
        """The logged steps of alpha.csv, in order: the inspector's slider positions."""
        return sorted(int(s) for s in self.alpha["step"].unique())

    @property
    def label(self) -> str:
        """Short name for a dropdown: game, space, tag, seed and folder."""
        c = self.config
        seed = f"s{c['seed']}" if "seed" in c else ""
        parts = [c.get("game", "?"), c["space"], c.get("tag") or c.get("strategy", ""), seed]
        return " · ".join(str(p) for p in parts if p) + f" ({self.path.name})"


def load_search_run(run_dir: str | Path) -> SearchRun:
    """Read a search run folder; NotASearchRunError says what is missing."""
    path = Path(run_dir)
    hint = (
        "a search run folder (written by `workbench search`) holds config.json of a search "
        f"(run kind {' or '.join(SEARCH_KINDS)}), alpha.csv and archs.csv; got {path}"
    )
    if not path.is_dir():
        raise NotASearchRunError(f"not a folder: {hint}")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise NotASearchRunError(f"missing {', '.join(missing)}: {hint}")
    config = json.loads((path / "config.json").read_text())
    kind = _run_kind(config)
    if kind not in SEARCH_KINDS:
        what = f"of run kind {kind!r}" if kind else "of no run kind"
        raise NotASearchRunError(f"config.json is {what}, not a search: {hint}")
    space = get_space(config["space"])
    alpha = pd.read_csv(path / "alpha.csv")
    absent = [c for c in ("step", "cell", *space.ops) if c not in alpha.columns]
    if absent:
        raise NotASearchRunError(f"alpha.csv lacks columns {absent}: {hint}")
    if alpha.empty:
        raise NotASearchRunError(f"alpha.csv has no rows yet (no step logged): {hint}")
    cells = set(alpha["cell"])
    if cells != set(space.cell_labels):
        raise NotASearchRunError(
            f"alpha.csv cells {sorted(cells)} are not those of space {space.name!r}: {hint}"
        )
    has_rows = (path / "archs.csv").stat().st_size > 0
    archs = pd.read_csv(path / "archs.csv") if has_rows else pd.DataFrame(columns=["step", "arch"])
    return SearchRun(path=path, config=config, alpha=alpha, archs=archs)


def is_search_run(path: str | Path) -> bool:
    """Whether `path` is a folder with the files of a search run and a space in its config."""
    path = Path(path)
    if not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        return _run_kind(json.loads((path / "config.json").read_text())) in SEARCH_KINDS
    except json.JSONDecodeError:
        return False


def _run_kind(config: object) -> str | None:
    """The run kind of a config.json's content, None when it is no run kind's config."""
    try:
        return kind_of(config) if isinstance(config, dict) else None
    except (TypeError, ValueError):
        return None


def find_search_runs(root: str | Path) -> list[Path]:
    """`root` if it is a search run, else every search run folder below it, sorted."""
    root = Path(root)
    if is_search_run(root):
        return [root]
    if not root.is_dir():
        raise NotASearchRunError(f"no such folder: {root}")
    return sorted(p.parent for p in root.rglob("config.json") if is_search_run(p.parent))


def search_run_dirs(run_dir: str | Path | None = None) -> list[Path]:
    """Runs to offer: those at or below `run_dir`, then the shipped example; empty: the example."""
    found = find_search_runs(run_dir) if run_dir else []
    if run_dir and not found:
        raise NotASearchRunError(f"no search run at or below {run_dir}")
    seen = {p.resolve() for p in found}
    return [*found, *([] if EXAMPLE_RUN.resolve() in seen else [EXAMPLE_RUN])]


def _as_run(run: str | Path | SearchRun) -> SearchRun:
    return run if isinstance(run, SearchRun) else load_search_run(run)


def alpha_at(run: str | Path | SearchRun, step: int) -> pd.DataFrame:
    """Op probabilities at a logged `step`: rows cells (in space order), columns ops."""
    run = _as_run(run)
    if step not in run.steps:
        raise ValueError(
            f"step {step} is not logged in {run.path / 'alpha.csv'}; logged steps: {run.steps}"
        )
    space = run.space
    rows = run.alpha[run.alpha["step"] == step].drop_duplicates("cell", keep="last")
    return rows.set_index("cell").loc[list(space.cell_labels), list(space.ops)].astype(float)


def tau_at(run: str | Path | SearchRun, step: int) -> float | None:
    """Gumbel temperature logged with alpha at `step` (None when alpha.csv has no tau)."""
    run = _as_run(run)
    if "tau" not in run.alpha.columns:
        return None
    return float(run.alpha.loc[run.alpha["step"] == step, "tau"].iloc[0])


def derive_arch(probabilities: pd.DataFrame) -> dict[str, str]:
    """Argmax op per cell (ties go to the first op, as `Supernet.derive`)."""
    return {str(cell): str(op) for cell, op in probabilities.idxmax(axis=1).items()}


def logged_arch(run: str | Path | SearchRun, step: int) -> dict[str, str] | None:
    """The archs.csv architecture in effect at `step` (its last row up to `step`), if any."""
    run = _as_run(run)
    rows = run.archs[run.archs["step"] <= step] if "step" in run.archs.columns else run.archs[:0]
    return None if rows.empty else json.loads(rows.iloc[-1]["arch"])


def arch_at(run: str | Path | SearchRun, step: int) -> dict[str, str]:
    """The derived architecture at a logged `step`: argmax of alpha per cell.

    alpha.csv holds float32 softmax probabilities, in which two ops whose alpha differ by less than
    float32 resolution tie; archs.csv, written from alpha itself at the same steps, settles such
    ties. It is used only where each of its ops is a (near-)maximum of its cell's row.
    """
    run = _as_run(run)
    probs = alpha_at(run, step)
    logged = logged_arch(run, step)
    if logged is None or set(logged) != set(probs.index):
        return derive_arch(probs)
    best = probs.max(axis=1)
    if all(
        op in probs.columns and probs.at[cell, op] >= best[cell] - TIE_TOLERANCE
        for cell, op in logged.items()
    ):
        return {cell: logged[cell] for cell in probs.index}
    return derive_arch(probs)


def arch_key(arch: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Hashable form of an architecture (cell, op) pairs in order, for caches."""
    return tuple(arch.items())


# --- figures of one step ------------------------------------------------------------------------


def _cell_label(cell: str, stride: int) -> str:
    return f"{cell} ↓2" if stride == 2 else cell


def alpha_heatmap(
    probabilities: pd.DataFrame,
    space: SearchSpace,
    step: int,
    tau: float | None = None,
    arch: Mapping[str, str] | None = None,
) -> go.Figure:
    """Heatmap of op probabilities (cells x ops) at one step; the derived op per cell is marked.

    `arch` is the derived architecture to mark (default: the argmax of `probabilities`).
    """
    strides = {c.label: c.stride for c in space.cells}
    rows = [_cell_label(cell, strides[cell]) for cell in probabilities.index]
    arch = dict(arch) if arch is not None else derive_arch(probabilities)
    fig = go.Figure(
        go.Heatmap(
            z=probabilities.to_numpy(),
            x=list(probabilities.columns),
            y=rows,
            colorscale="Viridis",
            colorbar={"title": {"text": "p(op)"}},
            texttemplate="%{z:.3f}",
            textfont={"size": 9},
            hovertemplate="%{y} · %{x}: p=%{z:.4f}<extra></extra>",
        )
    )
    fig.add_scatter(
        x=list(arch.values()),
        y=rows,
        mode="markers",
        marker={"symbol": "square-open", "size": 26, "color": "red", "line": {"width": 2}},
        name="derived (argmax)",
        hoverinfo="skip",
    )
    temp = f", tau {tau:.2f}" if tau is not None else ""
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title={
            "text": f"Op probabilities softmax(alpha) at step {step:,}{temp}<br>"
            "<sup>red box: derived op (argmax per cell); ↓2: stride-2 cell</sup>"
        },
        template="plotly_white",
        height=520,
        margin={"t": 80, "l": 90, "r": 20, "b": 40},
        showlegend=False,
        meta="alpha-heatmap",
    )
    return fig


def arch_diagram(arch: Mapping[str, str], space: SearchSpace, title: str = "") -> go.Figure:
    """Block diagram of an architecture: one box per cell labelled with its op, a row per stage.

    The stem and head sit on rows of their own; stride-2 cells have a red dashed border.
    """
    arch = validate_arch(arch, space)
    width = max(space.stage_cells)
    fig = go.Figure()
    rows: list[str] = ["stem: conv3x3 ↓2"]
    boxes = [(0, 0, "stem", "conv3x3", FIXED_COLOR, 1)]
    for stage, channels in enumerate(space.channels):
        cells = [c for c in space.cells if c.stage == stage]
        size = cells[0].output_size
        rows.append(f"stage {stage + 1}: {channels} ch, {size}x{size}")
        for i, cell in enumerate(cells):
            op = arch[cell.label]
            boxes.append((stage + 1, i, cell.label, op, OP_COLORS.get(op, "#999"), cell.stride))
    rows.append("head: BN-ReLU-pool-FC256")
    boxes.append((len(rows) - 1, 0, "head", "FC-256", FIXED_COLOR, 1))
    for row, col, label, op, color, stride in boxes:
        fig.add_shape(
            type="rect",
            x0=col + 0.06,
            x1=col + 0.94,
            y0=row - 0.38,
            y1=row + 0.38,
            fillcolor=color,
            line={
                "color": "#d62728" if stride == 2 else "#444",
                "width": 3 if stride == 2 else 1,
                "dash": "dash" if stride == 2 else "solid",
            },
        )
        dark = color in (OP_COLORS["conv3"], OP_COLORS["conv5"], OP_COLORS["ir3_e5"], FIXED_COLOR)
        mark = " ↓2" if stride == 2 else ""
        fig.add_annotation(
            x=col + 0.5,
            y=row,
            text=f"<b>{op}</b><br>{label}{mark}",
            showarrow=False,
            font={"size": 11, "color": "white" if dark else "black"},
        )
    fig.add_scatter(
        x=[col + 0.5 for _, col, *_ in boxes],
        y=[row for row, *_ in boxes],
        mode="markers",
        marker={"opacity": 0, "size": 30},
        hovertext=[
            f"{label}: {op}" + (" (stride 2)" if s == 2 else "") for _, _, label, op, _, s in boxes
        ],
        hoverinfo="text",
        showlegend=False,
    )
    fig.update_xaxes(range=[0, width], visible=False)
    fig.update_yaxes(
        range=[len(rows) - 0.5, -0.5],
        tickvals=list(range(len(rows))),
        ticktext=rows,
        showgrid=False,
        zeroline=False,
    )
    fig.update_layout(
        title={"text": title or f"Derived architecture ({space.name})"},
        template="plotly_white",
        height=110 + 70 * len(rows),
        margin={"t": 60, "l": 170, "r": 20, "b": 20},
        meta="arch-diagram",
    )
    return fig


@functools.cache
def _layer_costs(key: tuple[tuple[str, str], ...], space_name: str) -> pd.DataFrame:
    arch = dict(key)
    table = layer_table(build_model(arch, space_name), INPUT_SHAPE)
    blocks = [_block_of(name) for name in table["layer"]]
    ops = [arch.get(block, block) for block in blocks]
    return table.assign(block=blocks, op=ops)


def _block_of(layer: str) -> str:
    parts = layer.split(".")
    return f"cell_{parts[1]}" if parts[0] == "cells" and len(parts) > 1 else parts[0]


def layer_costs(arch: Mapping[str, str], space: str | SearchSpace) -> pd.DataFrame:
    """Per-layer table of the derived backbone (profile.layer_table) with its block and op."""
    space = get_space(space)
    return _layer_costs(arch_key(validate_arch(arch, space)), space.name).copy()


def block_costs(layers: pd.DataFrame) -> pd.DataFrame:
    """MACs and params per block (stem, cell_0 ... cell_n, head) in execution order, with its op."""
    grouped = layers.groupby("block", sort=False)
    return pd.DataFrame(
        {
            "op": grouped["op"].first(),
            "macs": grouped["macs"].sum(),
            "params": grouped["params"].sum(),
            "layers": grouped["layer"].count(),
        }
    ).reset_index()


def block_cost_figure(blocks: pd.DataFrame, title: str = "") -> go.Figure:
    """Bar charts of MACs (M) and params (K) per block of the derived backbone, coloured by op."""
    pairs = zip(blocks["block"], blocks["op"], strict=True)
    labels = [f"{block}<br>{op}" if block != op else block for block, op in pairs]
    colors = [OP_COLORS.get(op, FIXED_COLOR) for op in blocks["op"]]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("MACs per frame (M)", "params (K)"),
    )  # fmt: skip
    for row, (column, scale) in enumerate((("macs", 1e6), ("params", 1e3)), start=1):
        values = blocks[column] / scale
        fig.add_bar(
            x=labels,
            y=values,
            marker={"color": colors},
            text=values.round(2),
            textposition="outside",
            cliponaxis=False,
            name=column,
            showlegend=False,
            row=row,
            col=1,
        )
    total = f"{blocks['macs'].sum() / 1e6:.2f} M MACs, {blocks['params'].sum() / 1e3:.1f} K params"
    fig.update_layout(
        title={"text": f"{title or 'Cost per block of the derived backbone'} — {total}"},
        template="plotly_white",
        height=520,
        margin={"t": 70, "l": 50, "r": 20, "b": 40},
        meta="block-costs",
    )
    return fig


# --- networks, predicted FPS and the comparison -------------------------------------------------


@dataclass(frozen=True)
class Network:
    """A backbone to cost: a derived architecture of a space, or a registered model by name."""

    label: str
    model: str | None = None
    space: str | None = None
    arch: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def derived(cls, arch: Mapping[str, str], space: str | SearchSpace, label: str) -> Network:
        """The backbone of a derived architecture."""
        space = get_space(space)
        return cls(label=label, space=space.name, arch=arch_key(validate_arch(arch, space)))

    @classmethod
    def registered(cls, name: str) -> Network:
        """A registered backbone (`workbench.models.list_models()`)."""
        return cls(label=name, model=name)

    def build(self) -> nn.Module:
        """The backbone module (without actor/critic heads)."""
        if self.model is not None:
            return create_model(self.model, in_channels=INPUT_SHAPE[0], input_size=INPUT_SHAPE[-1])
        return build_model(dict(self.arch or ()), self.space, in_channels=INPUT_SHAPE[0])


@dataclass(frozen=True)
class FpsEstimate:
    """Predicted frames per second of a network on an accelerator; `fps` None when infeasible."""

    accelerator: str
    fps: float | None
    note: str = ""


def _cache_key(network: Network) -> Network:
    return Network("", network.model, network.space, network.arch)


@functools.cache
def _layers(network: Network) -> tuple[LayerSpec, ...]:
    return tuple(extract_layers(network.build(), INPUT_SHAPE))


@functools.cache
def _costs(network: Network) -> tuple[int, int]:
    model = network.build()
    return count_macs(model, INPUT_SHAPE), count_params(model)


def network_costs(network: Network) -> dict[str, int]:
    """MACs per frame (count_macs: equals arch_macs) and params of a network's backbone (cached)."""
    macs, params = _costs(_cache_key(network))
    return {"macs": macs, "params": params}


@functools.cache
def _fps(network: Network, accelerator: str) -> FpsEstimate:
    layers = list(_layers(network))
    if accelerator == DNNBUILDER:
        prediction = predict(layers, dnnbuilder_like(layers, ZC706), ZC706)
        note = "" if prediction.feasible else f"infeasible: {prediction.reason}"
        return FpsEstimate(accelerator, prediction.fps, note)
    if accelerator == DAS_QUICK:
        result = das_search(layers, ZC706, iterations=DAS_QUICK_ITERATIONS)
        fps = result.best_fps or None
        note = f"{DAS_QUICK_ITERATIONS} DAS iterations" + ("" if fps else "; no feasible design")
        return FpsEstimate(accelerator, fps, note)
    return FpsEstimate(accelerator, roofline_fps(layers, ZC706), "upper bound: compute/bandwidth")


def predict_fps(network: Network, accelerator: str = DNNBUILDER) -> FpsEstimate:
    """Predicted FPS of `network` on `accelerator` (one of ACCELERATORS); cached per network."""
    if accelerator not in ACCELERATORS:
        raise ValueError(f"unknown accelerator {accelerator!r}; choose one of {ACCELERATORS}")
    return _fps(_cache_key(network), accelerator)


def comparison_table(networks: list[Network], accelerator: str = DNNBUILDER) -> pd.DataFrame:
    """One row per network: MACs, params and predicted FPS on `accelerator`."""
    rows = []
    for network in networks:
        fps = predict_fps(network, accelerator)
        rows.append(
            {"network": network.label, **network_costs(network), "fps": fps.fps, "note": fps.note}
        )
    return pd.DataFrame(rows, columns=["network", "macs", "params", "fps", "note"])


def comparison_html(table: pd.DataFrame, accelerator: str) -> str:
    """The comparison as a small HTML table (MACs in M, params in K, FPS rounded)."""
    shown = pd.DataFrame(
        {
            "network": table["network"],
            "MACs (M)": (table["macs"] / 1e6).round(2),
            "params (K)": (table["params"] / 1e3).round(1),
            f"FPS, {accelerator}": table["fps"].map(lambda v: "—" if pd.isna(v) else f"{v:,.0f}"),
        }
    )
    return shown.to_html(index=False, border=0, classes="workbench-comparison")


# --- the whole state of one step ----------------------------------------------------------------


@dataclass(frozen=True)
class InspectorState:
    """Everything the inspector shows for one run and step (figures, tables, numbers)."""

    run: SearchRun = field(repr=False)
    steps: list[int]
    step: int
    probabilities: pd.DataFrame = field(repr=False)
    arch: dict[str, str]
    heatmap: go.Figure = field(repr=False)
    diagram: go.Figure = field(repr=False)
    layers: pd.DataFrame = field(repr=False)
    blocks: pd.DataFrame = field(repr=False)
    cost_figure: go.Figure = field(repr=False)
    accelerator: str
    backbone: str
    comparison: pd.DataFrame = field(repr=False)

    @property
    def macs(self) -> int:
        """MACs per frame of the derived backbone."""
        return int(self.comparison.loc[0, "macs"])

    @property
    def fps(self) -> float | None:
        """Predicted FPS of the derived backbone on the chosen accelerator."""
        value = self.comparison.loc[0, "fps"]
        return None if pd.isna(value) else float(value)


def derived_network(run: SearchRun, step: int, arch: Mapping[str, str]) -> Network:
    """The derived backbone of `run` at `step` as a Network labelled with the step."""
    return Network.derived(arch, run.space, label=f"derived @ step {step:,}")


def inspector_state(
    run: str | Path | SearchRun,
    step: int | None = None,
    *,
    accelerator: str = DNNBUILDER,
    backbone: str = DEFAULT_BACKBONE,
) -> InspectorState:
    """Figures and tables of a search run at a logged `step` (None: the last logged step)."""
    run = _as_run(run)
    steps = run.steps
    step = steps[-1] if step is None else int(step)
    probs = alpha_at(run, step)
    arch = arch_at(run, step)
    space = run.space
    layers = layer_costs(arch, space)
    blocks = block_costs(layers)
    table = comparison_table(
        [derived_network(run, step, arch), Network.registered(backbone)], accelerator
    )
    return InspectorState(
        run=run,
        steps=steps,
        step=step,
        probabilities=probs,
        arch=arch,
        heatmap=alpha_heatmap(probs, space, step, tau_at(run, step), arch),
        diagram=arch_diagram(arch, space, f"Derived architecture at step {step:,} ({space.name})"),
        layers=layers,
        blocks=blocks,
        cost_figure=block_cost_figure(blocks, f"Derived backbone at step {step:,}"),
        accelerator=accelerator,
        backbone=backbone,
        comparison=table,
    )

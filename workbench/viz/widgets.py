"""Interactive widgets for notebooks (ipywidgets); what they show comes from `viz.inspector`.

inspector = ArchitectureInspector()            # the example search run shipped with the package
inspector = ArchitectureInspector("../runs")   # every search run below ../runs, then the example

Figures are plotly figures re-displayed in `ipywidgets.Output` areas on every change (plotly's
FigureWidget needs `anywidget` from plotly 6 on; the mime renderer of JupyterLab needs nothing).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import display

from workbench.models import list_models
from workbench.viz.inspector import (
    ACCELERATORS,
    DEFAULT_BACKBONE,
    DNNBUILDER,
    InspectorState,
    SearchRun,
    comparison_html,
    inspector_state,
    load_search_run,
    search_run_dirs,
)

RunDirs = str | Path | Sequence[str | Path] | None


def run_paths(run_dirs: RunDirs = None) -> list[Path]:
    """Runs to offer: a folder (runs at or below it, then the example), a list, or the example."""
    if run_dirs is None or isinstance(run_dirs, str | Path):
        return search_run_dirs(run_dirs or None)
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise ValueError("run_dirs is an empty list: pass search run folders, or None")
    return paths


def summary_html(state: InspectorState) -> str:
    """One line on the derived backbone at the state's step: MACs, params, predicted FPS."""
    row = state.comparison.iloc[0]
    fps = "no feasible design" if state.fps is None else f"{state.fps:,.0f} FPS"
    note = f" ({html.escape(str(row['note']))})" if row["note"] else ""
    return (
        f"<b>step {state.step:,}</b> of {len(state.steps)} logged: derived backbone "
        f"{row['macs'] / 1e6:.2f} M MACs, {row['params'] / 1e3:.1f} K params; predicted "
        f"<b>{fps}</b> on {html.escape(state.accelerator)}{note}"
    )


class ArchitectureInspector(widgets.VBox):
    """Browse a search run: pick a run and a logged step; see alpha, the derived net and its costs.

    Shows the alpha heatmap, the derived architecture (argmax per cell) as a block diagram, MACs
    and params per block, its predicted FPS on the chosen accelerator, and a comparison table with
    a registered backbone. `state` holds the figures and tables on display.
    """

    def __init__(
        self,
        run_dirs: RunDirs = None,
        *,
        step: int | None = None,
        accelerator: str = DNNBUILDER,
        backbone: str = DEFAULT_BACKBONE,
    ) -> None:
        self._runs: dict[str, SearchRun] = {}
        paths = run_paths(run_dirs)
        first = self._run(paths[0])
        options = [(self._run(p).label, str(p)) for p in paths]
        self.run_picker = widgets.Dropdown(
            options=options,
            value=str(paths[0]),
            description="search run",
            layout=widgets.Layout(width="480px"),
            style={"description_width": "initial"},
        )
        self.step_slider = widgets.SelectionSlider(
            options=first.steps,
            value=step if step is not None else first.steps[-1],
            description="step",
            continuous_update=False,
            layout=widgets.Layout(width="95%"),
        )
        self.accelerator_picker = widgets.Dropdown(
            options=list(ACCELERATORS),
            value=accelerator,
            description="accelerator",
            style={"description_width": "initial"},
        )
        self.backbone_picker = widgets.Dropdown(
            options=list_models(),
            value=backbone,
            description="compare with",
            style={"description_width": "initial"},
        )
        self.summary = widgets.HTML()
        self.comparison = widgets.HTML()
        self.heatmap_out = widgets.Output(layout=widgets.Layout(width="50%"))
        self.diagram_out = widgets.Output(layout=widgets.Layout(width="50%"))
        self.costs_out = widgets.Output(layout=widgets.Layout(width="62%"))
        self.state: InspectorState | None = None
        self._changing_run = False
        super().__init__(
            children=[
                widgets.HBox([self.run_picker, self.accelerator_picker, self.backbone_picker]),
                self.step_slider,
                self.summary,
                widgets.HBox([self.heatmap_out, self.diagram_out]),
                widgets.HBox(
                    [
                        self.costs_out,
                        widgets.VBox([widgets.HTML("<b>Comparison</b>"), self.comparison]),
                    ]
                ),
            ]
        )
        self.add_class("workbench-architecture-inspector")
        self.run_picker.observe(self._on_run, names="value")
        self.step_slider.observe(self._on_step, names="value")
        self.accelerator_picker.observe(self._on_comparison, names="value")
        self.backbone_picker.observe(self._on_comparison, names="value")
        self.refresh()

    def _run(self, path: str | Path) -> SearchRun:
        key = str(path)
        if key not in self._runs:
            self._runs[key] = load_search_run(path)
        return self._runs[key]

    @property
    def run(self) -> SearchRun:
        """The search run picked in the dropdown."""
        return self._run(self.run_picker.value)

    def compute(self) -> InspectorState:
        """The state for the current choices (no display)."""
        return inspector_state(
            self.run,
            self.step_slider.value,
            accelerator=self.accelerator_picker.value,
            backbone=self.backbone_picker.value,
        )

    def refresh(self) -> InspectorState:
        """Recompute everything for the current choices and re-display the figures."""
        self.summary.value = "<i>computing…</i>"
        state = self.compute()
        self.state = state
        _show(self.heatmap_out, state.heatmap)
        _show(self.diagram_out, state.diagram)
        _show(self.costs_out, state.cost_figure)
        self._show_numbers(state)
        return state

    def _show_numbers(self, state: InspectorState) -> None:
        self.summary.value = summary_html(state)
        self.comparison.value = comparison_html(state.comparison, state.accelerator)

    def _safely(self, action) -> None:
        try:
            action()
        except Exception as exc:  # a callback must report, not vanish into the browser console
            message = html.escape(f"{type(exc).__name__}: {exc}")
            self.summary.value = f"<b style='color:#b00020'>error</b>: {message}"

    def _on_run(self, change: dict) -> None:
        def switch() -> None:
            steps = self._run(change["new"]).steps
            self._changing_run = True
            try:
                self.step_slider.options = steps
                self.step_slider.value = steps[-1]
            finally:
                self._changing_run = False
            self.refresh()

        self._safely(switch)

    def _on_step(self, _change: dict) -> None:
        if not self._changing_run:
            self._safely(self.refresh)

    def _on_comparison(self, _change: dict) -> None:
        def update() -> None:
            self.summary.value = "<i>predicting FPS…</i>"
            state = self.compute()
            self.state = state
            self._show_numbers(state)

        self._safely(update)


def _show(out: widgets.Output, fig: go.Figure) -> None:
    """Replace what `out` shows with `fig`."""
    out.clear_output(wait=True)
    with out:
        display(fig)

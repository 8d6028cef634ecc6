"""Architecture inspector: the pure state of a search run at a step, and the widget around it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.config import A2CConfig
from workbench.models.profile import count_params
from workbench.nas import OPS, arch_macs, backbone_macs, build_model, get_space
from workbench.viz.inspector import (
    ACCELERATORS,
    DAS_QUICK,
    EXAMPLE_RUN,
    Network,
    NotASearchRunError,
    alpha_at,
    arch_at,
    arch_diagram,
    derive_arch,
    find_search_runs,
    inspector_state,
    load_search_run,
    predict_fps,
    search_run_dirs,
)
from workbench.viz.widgets import ArchitectureInspector, run_paths

ALPHA = pd.read_csv(EXAMPLE_RUN / "alpha.csv")
ARCHS = pd.read_csv(EXAMPLE_RUN / "archs.csv")
STEPS = sorted(ALPHA["step"].unique().tolist())


def _argmax_rows(step: int) -> dict[str, set[str]]:
    """Per cell, the ops of maximal probability in alpha.csv (several where float32 ties)."""
    rows = ALPHA[ALPHA["step"] == step].set_index("cell")[list(OPS)]
    return {cell: {op for op in OPS if row[op] == row.max()} for cell, row in rows.iterrows()}


def _is_argmax(arch: dict[str, str], step: int) -> bool:
    best = _argmax_rows(step)
    return list(arch) == list(best) and all(arch[cell] in best[cell] for cell in arch)


def _logged_arch(step: int) -> dict[str, str]:
    """archs.csv has a row whenever the derived architecture changed: the last one up to `step`."""
    return json.loads(ARCHS[ARCHS["step"] <= step].iloc[-1]["arch"])


def test_example_run_is_shipped_small_and_documented() -> None:
    names = {p.name for p in EXAMPLE_RUN.iterdir()}
    assert {
        "config.json",
        "env.json",
        "metrics.csv",
        "evals.csv",
        "alpha.csv",
        "archs.csv",
    } <= names
    assert "checkpoints" not in names
    assert sum(p.stat().st_size for p in EXAMPLE_RUN.iterdir()) < 500_000
    readme = (EXAMPLE_RUN / "README.md").read_text()
    assert "workbench search --game Breakout" in readme and "not a result" in readme
    run = load_search_run(EXAMPLE_RUN)
    assert run.space.name == "a2d" and run.steps == STEPS and len(STEPS) > 5


@pytest.mark.parametrize("index", [0, len(STEPS) // 2, -1])
def test_state_derives_the_argmax_of_the_alpha_rows(index: int) -> None:
    step = STEPS[index]
    state = inspector_state(EXAMPLE_RUN, step)
    assert state.step == step and state.steps == STEPS
    assert _is_argmax(state.arch, step) and state.arch == _logged_arch(step)
    assert list(state.arch) == list(get_space("a2d").cell_labels)
    assert state.probabilities.sum(axis=1).round(4).eq(1).all()


def test_every_step_derives_the_argmax_and_float32_ties_follow_archs_csv() -> None:
    run = load_search_run(EXAMPLE_RUN)
    ties = 0
    for step in STEPS:
        arch = arch_at(run, step)
        assert _is_argmax(arch, step) and arch == _logged_arch(step), step
        ties += any(len(ops) > 1 for ops in _argmax_rows(step).values())
        if not any(len(ops) > 1 for ops in _argmax_rows(step).values()):
            assert derive_arch(alpha_at(run, step)) == arch
    assert ties >= 1  # the example has a float32 tie (step 1,320, cell_5): archs.csv settles it


def test_macs_and_params_match_the_nas_cost_model() -> None:
    state = inspector_state(EXAMPLE_RUN)  # the last step
    macs = arch_macs(state.arch, "a2d")
    params = count_params(build_model(state.arch, "a2d"))
    assert state.macs == macs == state.blocks["macs"].sum() == state.layers["macs"].sum()
    assert state.comparison.loc[0, "params"] == params == state.blocks["params"].sum()
    last = ARCHS.iloc[-1]
    assert (macs, params) == (last["macs"], last["params"])
    blocks = list(state.blocks["block"])
    assert blocks == ["stem", *get_space("a2d").cell_labels, "head"]
    assert (state.blocks.loc[state.blocks["op"] == "skip", "macs"] == 0).all()


def test_comparison_with_a_registered_backbone() -> None:
    state = inspector_state(EXAMPLE_RUN, backbone="vanilla")
    table = state.comparison
    assert list(table["network"]) == [f"derived @ step {state.step:,}", "vanilla"]
    assert table.loc[1, "macs"] == backbone_macs("vanilla")
    assert (table["fps"] > 0).all() and state.fps == table.loc[0, "fps"]


def test_figures_show_the_step() -> None:
    first, last = inspector_state(EXAMPLE_RUN, STEPS[0]), inspector_state(EXAMPLE_RUN, STEPS[-1])
    z_first, z_last = first.heatmap.data[0].z, last.heatmap.data[0].z
    assert z_first.shape == (14, len(OPS)) and (z_first != z_last).any()
    assert list(first.heatmap.data[1].x) == list(first.arch.values())  # the marked ops
    assert f"step {STEPS[0]:,}" in first.heatmap.layout.title.text
    assert list(first.cost_figure.data[0].y) != list(last.cost_figure.data[0].y)


def test_diagram_has_a_box_per_cell_and_marks_stride_two() -> None:
    space = get_space("a2d")
    fig = arch_diagram(_logged_arch(STEPS[-1]), space)
    assert len(fig.layout.shapes) == space.num_cells + 2  # cells, stem, head
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert len(dashed) == sum(c.stride == 2 for c in space.cells) == 2
    texts = [a.text for a in fig.layout.annotations]
    assert all(any(f"{cell}" in t for t in texts) for cell in space.cell_labels)


def test_fps_is_cached_per_architecture_and_accelerator() -> None:
    arch = _logged_arch(STEPS[-1])
    a = Network.derived(arch, "a2d", label="a")
    b = Network.derived(arch, "a2d", label="b")
    first = predict_fps(a, DAS_QUICK)
    assert predict_fps(b, DAS_QUICK) is first and first.fps and first.fps > 0
    assert {predict_fps(a, acc).accelerator for acc in ACCELERATORS} == set(ACCELERATORS)
    with pytest.raises(ValueError, match="unknown accelerator"):
        predict_fps(a, "TPU")


def test_a_folder_that_is_not_a_search_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotASearchRunError, match="missing config.json, alpha.csv, archs.csv"):
        inspector_state(tmp_path)
    with pytest.raises(NotASearchRunError, match="not a folder"):
        load_search_run(tmp_path / "nothing")
    training = tmp_path / "train_run"
    shutil.copytree(EXAMPLE_RUN, training)
    config = json.loads((training / "config.json").read_text())
    config = {k: v for k, v in config.items() if k in A2CConfig.field_names()}
    (training / "config.json").write_text(json.dumps({"kind": "a2c", **config}))
    with pytest.raises(NotASearchRunError, match="of run kind 'a2c', not a search"):
        load_search_run(training)
    del config["game"]  # an old folder without a kind: inferred, an A2C run all the same
    (training / "config.json").write_text(json.dumps(config))
    with pytest.raises(NotASearchRunError, match="of run kind 'a2c', not a search"):
        load_search_run(training)
    with pytest.raises(NotASearchRunError, match="no search run"):
        search_run_dirs(tmp_path)
    with pytest.raises(ValueError, match="not logged"):
        alpha_at(EXAMPLE_RUN, STEPS[0] + 1)


def test_runs_are_found_below_a_folder(tmp_path: Path) -> None:
    for name in ("b_run", "a_run"):
        shutil.copytree(EXAMPLE_RUN, tmp_path / "runs" / name)
    found = find_search_runs(tmp_path / "runs")
    assert [p.name for p in found] == ["a_run", "b_run"]
    assert search_run_dirs(tmp_path / "runs") == [*found, EXAMPLE_RUN]
    assert search_run_dirs("") == search_run_dirs(None) == [EXAMPLE_RUN] == run_paths(None)
    assert search_run_dirs(EXAMPLE_RUN) == [EXAMPLE_RUN]


def test_widget_slider_steps_are_the_logged_steps() -> None:
    inspector = ArchitectureInspector()
    assert list(inspector.step_slider.options) == STEPS
    assert inspector.step_slider.value == STEPS[-1] and inspector.state.step == STEPS[-1]
    before = inspector.state.heatmap.data[0].z
    inspector.step_slider.value = STEPS[0]
    assert inspector.state.step == STEPS[0] and inspector.state.arch == _logged_arch(STEPS[0])
    assert (inspector.state.heatmap.data[0].z != before).any()
    inspector.backbone_picker.value = "vanilla"
    assert list(inspector.state.comparison["network"])[1] == "vanilla"
    assert "vanilla" in inspector.comparison.value and "error" not in inspector.summary.value


def test_widget_switches_runs(tmp_path: Path) -> None:
    other = tmp_path / "runs" / "other"
    shutil.copytree(EXAMPLE_RUN, other)
    alpha = pd.read_csv(other / "alpha.csv")
    alpha[alpha["step"] <= STEPS[2]].to_csv(other / "alpha.csv", index=False)
    inspector = ArchitectureInspector(tmp_path / "runs")
    assert inspector.run.path == other and list(inspector.step_slider.options) == STEPS[:3]
    inspector.run_picker.value = str(EXAMPLE_RUN)
    assert list(inspector.step_slider.options) == STEPS
    assert inspector.state.step == STEPS[-1] and inspector.state.run.path == EXAMPLE_RUN

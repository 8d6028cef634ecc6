"""Notebooks: committed clean, thin, and executed by papermill in a real kernel (smoke preset)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from workbench.cli import main
from workbench.experiments.reports import chromium_available
from workbench.experiments.reproduce import list_notebooks, reproduce

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = list_notebooks(ROOT / "notebooks")
# the three backbones A2D's cost ratios need keep CI short (ResNet-74 alone has more MACs than
# the other four together); `make reproduce` trains all five
MODELS_01 = ["vanilla", "resnet20", "resnet38"]


@pytest.fixture(scope="module")
def batch_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs folder for notebooks 03-05, shared as `make reproduce` shares runs/<preset>:
    04 then reuses 03's one-level search instead of training it again."""
    return tmp_path_factory.mktemp("batch_runs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_thin(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])], "no parameters cell"
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "commit it stripped"
        assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), "logic belongs in workbench/"


def test_model_size_notebook_runs_in_a_real_kernel(tmp_path: Path) -> None:
    result = reproduce(
        "smoke",
        only=["01_model_size_scaling"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path,
        extra_parameters={"runs_dir": str(tmp_path / "runs"), "models": MODELS_01},
    )
    assert not result.failed, result.failed
    out = tmp_path / "smoke"
    costs = pd.read_csv(out / "tables" / "backbone_costs.csv")
    assert list(costs["model"]) == MODELS_01
    ratios = pd.read_csv(out / "tables" / "backbone_paper_ratios.csv")
    assert list(ratios["measured"]) == pytest.approx([5.83, 15.81], abs=0.01)  # both A2D ratios
    best = pd.read_csv(out / "tables" / "best_test_scores.csv")
    assert sorted(best["model"]) == sorted(costs["model"]) and set(best["game"]) == {"Breakout"}
    assert best["paper_best_score"].isna().all()  # Breakout is not in A2D Tab. 1
    assert (tmp_path / "runs" / "Breakout__resnet20__a2c-smoke__s0" / "evals.csv").exists()
    assert (out / "figures" / "test_score_during_training.html").exists()
    html = (out / "figures" / "backbone_costs.html").read_text()
    assert 'src="plotly.min.js"' in html and (out / "figures" / "plotly.min.js").exists()
    index = (out / "index.md").read_text()
    assert "backbone_costs" in index and "preset=smoke" in index
    if chromium_available():
        assert (out / "figures" / "backbone_costs.png").stat().st_size > 10_000
    else:
        assert "PNG skipped" in index
    executed = nbformat.read(out / "notebooks" / "01_model_size_scaling.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")

    # train nothing: draw the runs so far; resnet14 has none, and the caption says so
    drawn = reproduce(
        "smoke",
        only=["01_model_size_scaling"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path / "drawn",
        extra_parameters={
            "runs_dir": str(tmp_path / "runs"),
            "models": [*MODELS_01, "resnet14"],
            "train_missing": False,
        },
    )
    assert not drawn.failed, drawn.failed
    progress = pd.read_csv(tmp_path / "drawn" / "smoke" / "tables" / "training_progress.csv")
    assert list(progress["finished"]) == [True, True, True, False]
    assert (
        "not evaluated yet, left out: Breakout resnet14 s0"
        in (tmp_path / "drawn" / "smoke" / "index.md").read_text()
    )
    assert not (tmp_path / "runs" / "Breakout__resnet14__a2c-smoke__s0").exists()


def test_distillation_notebook_runs_in_a_real_kernel(tmp_path: Path) -> None:
    result = reproduce(
        "smoke",
        only=["02_distillation_ablation"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path,
        extra_parameters={"runs_dir": str(tmp_path / "runs"), "students": ["vanilla"]},
    )  # one student keeps CI short; `make reproduce` runs both
    assert not result.failed, result.failed
    out = tmp_path / "smoke"
    teachers = pd.read_csv(out / "tables" / "teachers.csv")
    assert list(teachers["model"]) == ["resnet20"] and teachers.loc[0, "training_steps"] > 0
    ablation = pd.read_csv(out / "tables" / "distillation_ablation.csv")
    assert len(ablation) == 4 and set(ablation["model"]) == {"vanilla"}
    assert list(ablation["distill"][:4]) == ["none", "actor", "actor+reuse-critic", "actor+critic"]
    assert ablation["paper_score"].isna().all()  # A2D reports no Breakout distillation result
    run = tmp_path / "runs" / "Breakout__vanilla__distill-actor+critic-smoke__s0"
    assert json.loads((run / "config.json").read_text())["teacher"] == "Breakout__resnet20"
    assert (out / "figures" / "distillation_curves.html").exists()


def test_search_notebook_runs_in_a_real_kernel(tmp_path: Path, batch_runs: Path) -> None:
    result = reproduce(
        "smoke",
        only=["03_one_vs_bilevel_search"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path,
        extra_parameters={"runs_dir": str(batch_runs), "sampler": "hard"},
    )  # the hard sampler runs one op per cell: CI stays short; `make reproduce` runs soft
    assert not result.failed, result.failed
    out = tmp_path / "smoke"
    derived = pd.read_csv(out / "tables" / "derived_architectures.csv")
    assert sorted(derived["arm"]) == ["bi-level", "one-level", "vanilla-dnas"]
    assert (derived["macs"] > 0).all() and {"cell_0", "cell_13"} <= set(derived.columns)
    for name in ("score_during_search", "alpha_heatmaps"):
        assert (out / "figures" / f"{name}.html").exists()


def test_score_vs_cost_notebooks_run_in_a_real_kernel(tmp_path: Path, batch_runs: Path) -> None:
    for notebook, sampler in (("04_score_vs_macs", {"sampler": "hard"}), ("05_cosearch", {})):
        result = reproduce(
            "smoke",
            only=[notebook],
            notebooks_dir=ROOT / "notebooks",
            reports_root=tmp_path,
            extra_parameters={
                "runs_dir": str(batch_runs),
                "baselines": ["resnet14"],
                **sampler,
            },
        )  # one baseline, 04's search hard-sampled as in 03's test: CI stays short; `make
        # reproduce` runs every baseline and soft-samples
        assert not result.failed, result.failed
    out = tmp_path / "smoke"
    points = pd.read_csv(out / "tables" / "score_vs_macs.csv")
    assert "resnet14" in set(points["agent"])
    assert any(a.startswith("searched: ") for a in points["agent"])
    assert set(points["distilled"]) == {True, False} and (points["macs"] > 0).all()
    accel = pd.read_csv(out / "tables" / "das_vs_dnnbuilder.csv")
    assert "resnet14" in set(accel["agent"]) and (accel["dnnbuilder_fps"] > 0).all()
    fa3c = pd.read_csv(out / "tables" / "vs_fa3c.csv")
    assert set(fa3c["system"]) >= {"FA3C", "A3C-S"} and (fa3c["fps_source"] == "reported").any()
    for name in ("score_vs_macs", "score_vs_fps"):
        assert (out / "figures" / f"{name}.html").exists()


def test_oneshot_notebook_runs_in_a_real_kernel(
    tmp_path: Path, smoke_tabular: tuple[Path, pd.DataFrame]
) -> None:
    from conftest import copy_runs

    copy_runs(smoke_tabular[0], tmp_path / "runs")  # the sweep's tabular runs: only read here
    result = reproduce(
        "smoke",
        only=["06_one_shot_ppo_search"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path,
        extra_parameters={"runs_dir": str(tmp_path / "runs")},
    )
    assert not result.failed, result.failed
    out = tmp_path / "smoke"
    tab1 = pd.read_csv(out / "tables" / "oneshot_table1.csv")
    assert set(tab1["method"]) == {"Random Search", "Nature-CNN", "ENAS", "SPOS"}
    assert tab1["paper_mean"].notna().all()
    bench = pd.read_csv(out / "tables" / "oneshot_tabular_benchmark.csv")
    assert len(bench) == 3 and 17 in set(bench["arch"])
    searches = pd.read_csv(out / "tables" / "oneshot_searches.csv")
    assert sorted(searches["method"]) == ["enas", "spos"]
    assert set(searches["trained_on"]) == {"cpu"}  # read from each search's env.json
    assert (out / "figures" / "oneshot_reward_histograms.html").exists()


def test_darts_notebook_runs_in_a_real_kernel(tmp_path: Path) -> None:
    pytest.importorskip("envpool")
    result = reproduce(
        "smoke",
        only=["07_darts_cells"],
        notebooks_dir=ROOT / "notebooks",
        reports_root=tmp_path,
        extra_parameters={
            "runs_dir": str(tmp_path / "runs"),
            "max_random_cells": 1,
            "sequence_cells": 2,
        },
    )  # one random cell and two cells of the sequence keep CI short; `make reproduce` runs more
    if result.failed and "Qt 5" in result.failed[0].error:
        pytest.skip(result.failed[0].error)  # envpool's Procgen needs the Qt 5 runtime
    assert not result.failed, result.failed
    out = tmp_path / "smoke"
    tab4 = pd.read_csv(out / "tables" / "darts_table4.csv")
    assert set(tab4["method"]) == {"IMPALA-CNN", "RL-DARTS (discrete cell)", "Random Search"}
    assert tab4["paper_normalized"].notna().all() and set(tab4["game"]) >= {"Dodgeball"}
    sequence = pd.read_csv(out / "tables" / "darts_cell_sequence.csv")
    assert 1 <= len(sequence) <= 2 and sequence["step"].iloc[0] == 0
    assert len(pd.read_csv(out / "tables" / "darts_random_cells.csv")) == 1
    for name in ("darts_alpha_over_training", "darts_cell_sequence_evaluation",
                 "darts_final_cell"):  # fmt: skip
        assert (out / "figures" / f"{name}.html").exists()
    assert "preset=smoke" in (out / "tables" / "darts_table4.md").read_text()


def _write_notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('preset = "smoke"\nreport_dir = "."')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


def test_failing_notebook_names_notebook_and_cell(tmp_path: Path, capsys) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _write_notebook(nbs / "01_ok.ipynb", ["x = 1"])
    _write_notebook(nbs / "02_broken.ipynb", ["y = 2", "raise ValueError('boom')"])
    code = main(
        ["reproduce", "--notebooks", str(nbs), "--reports", str(tmp_path / "rep"), "--jobs", "2"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "02_broken.ipynb: cell 3 (`raise ValueError('boom')`) raised ValueError: boom" in err
    index = (tmp_path / "rep" / "smoke" / "index.md").read_text()
    assert "01_ok](notebooks/01_ok.ipynb): ok" in index and "FAILED" in index


def test_only_rerun_keeps_the_other_notebooks_in_the_index(tmp_path: Path) -> None:
    nbs, rep = tmp_path / "nbs", tmp_path / "rep"
    nbs.mkdir()
    _write_notebook(nbs / "01_a.ipynb", ["x = 1"])
    _write_notebook(nbs / "02_b.ipynb", ["y = 2"])
    args = ["reproduce", "--notebooks", str(nbs), "--reports", str(rep)]
    assert main(args) == 0 and main([*args, "--only", "02_b"]) == 0
    index = (rep / "smoke" / "index.md").read_text().splitlines()
    lines = [x for x in index if x.startswith("- [")]
    assert [x.split("]")[0] for x in lines] == ["- [01_a", "- [02_b"]
    assert "run earlier" in lines[0] and "run earlier" not in lines[1]


def test_unknown_parameter_is_rejected_before_running(tmp_path: Path) -> None:
    _write_notebook(tmp_path / "01_x.ipynb", ["x = 1"])
    with pytest.raises(ValueError, match="unknown passed: \\['steps'\\]"):
        reproduce(
            "smoke",
            notebooks_dir=tmp_path,
            reports_root=tmp_path / "r",
            extra_parameters={"steps": 5},
        )


def test_cli_parameters_reach_the_notebook_or_are_rejected(tmp_path: Path, capsys) -> None:
    from workbench.cli import notebook_parameters

    assert notebook_parameters(["train_missing=false", "models=[vanilla, resnet20]", "x=3"]) == {
        "train_missing": False, "models": ["vanilla", "resnet20"], "x": 3
    }  # fmt: skip
    _write_notebook(tmp_path / "01_x.ipynb", ["x = 1"])
    args = ["reproduce", "--notebooks", str(tmp_path), "--reports", str(tmp_path / "r")]
    assert main([*args, "-p", "steps=5"]) == 2
    assert "unknown passed: ['steps']" in capsys.readouterr().err
    assert main([*args, "-p", "steps"]) == 2
    assert "--param takes NAME=VALUE, got 'steps'" in capsys.readouterr().err
    assert not (tmp_path / "r" / "smoke" / "index.md").exists()


def test_unknown_preset_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="laptop"):
        reproduce("laptp", notebooks_dir=ROOT / "notebooks", reports_root=tmp_path)


def test_manifest_is_json(tmp_path: Path) -> None:
    from workbench.experiments.reports import ReportWriter, read_manifest

    writer = ReportWriter(tmp_path, notebook="t", png=False)
    writer.save_table(pd.DataFrame({"a": [1]}), "t1", "cap")
    [entry] = read_manifest(tmp_path)
    assert entry["files"] == ["tables/t1.csv", "tables/t1.md"]
    assert json.loads((tmp_path / ".manifest" / "table__t1.json").read_text())["caption"] == "cap"


def test_markdown_tables_never_print_large_numbers_in_scientific_notation(tmp_path: Path) -> None:
    from workbench.experiments.reports import ReportWriter

    table = pd.DataFrame(
        {"macs": [25667800.0, 1.5e9], "score": [12345.67, 30.456], "share": [0.142857, 1e-3]}
    )
    ReportWriter(tmp_path, notebook="t", png=False).save_table(table, "costs", "cap")
    text = (tmp_path / "tables" / "costs.md").read_text()
    assert "e+" not in text
    for shown in ("25,667,800", "1,500,000,000", "12,345.7", "30.5", "0.1429", "0.001"):
        assert shown in text, (shown, text)
    assert pd.read_csv(tmp_path / "tables" / "costs.csv")["macs"].tolist() == [25667800.0, 1.5e9]

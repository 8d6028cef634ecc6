"""Sweeps: grid validation, local vs Ray results, a killed trial resumes, re-runs train nothing."""

from __future__ import annotations

import io
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from run_weights import run_weights, same_weights

from workbench.config import A2CConfig, SearchConfig
from workbench.experiments.grid import GridError, load_grid, parse_grid
from workbench.experiments.sweep import (
    SweepError,
    checkpoint_step,
    main,
    read_attempts,
    run_sweep,
)
from workbench.runs.folder import CheckpointError

TINY = {
    "total_steps": 80,
    "num_envs": 2,
    "checkpoint_interval": 20,  # 4 segments of 2 updates: a checkpoint every 20 steps
    "log_interval": 10,
    "eval_interval": 80,
    "eval_episodes": 1,
    "backend": "gymnasium",
}
GRID = {
    "job": "train",
    "preset": "smoke",
    "games": ["Breakout"],
    "models": ["vanilla"],
    "seeds": [0, 1, 2, 3],
    "overrides": TINY,
}
TIMING = ["steps_per_s"]  # the only wall-clock column of metrics.csv


def _grid(**changes: object) -> dict:
    return {**GRID, **changes}


def _assert_same_run(a: Path, b: Path) -> None:
    assert same_weights(run_weights(a), run_weights(b)), (a, b)
    pd.testing.assert_frame_equal(pd.read_csv(a / "evals.csv"), pd.read_csv(b / "evals.csv"))
    metrics_a, metrics_b = (pd.read_csv(p / "metrics.csv").drop(columns=TIMING) for p in (a, b))
    pd.testing.assert_frame_equal(metrics_a, metrics_b)


# --- grid files --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"modles": ["vanilla"]}, "'modles' (did you mean models?)"),
        ({"seeds": []}, "axis `seeds` is empty"),
        ({"models": []}, "axis `models` is empty"),
        ({"overrides": {"num_env": 8}}, "'num_env' (did you mean num_envs?)"),
        ({"overrides": {"game": "Pong"}}, "overrides.game is set by the grid key `games`"),
        ({"resources": {"cpu": 1}}, "resources: unknown key 'cpu'"),
        ({"models": ["resnet21"]}, "unknown model 'resnet21'"),
        ({"distill": ["actr"]}, "unknown distill 'actr'"),
        ({"job": "tune"}, "job must be one of train, search"),
        ({"spaces": ["a2d"]}, "a train job has no axis `spaces`"),
        ({"overrides": {"num_envs": 0}}, "num_envs must be a positive integer"),
        ({"tag": "mine-{seed}"}, "unknown placeholders ['seed']"),
    ],
)
def test_grid_errors_name_the_key(change: dict, named: str, tmp_path: Path) -> None:
    with pytest.raises(GridError) as err:
        run_sweep(_grid(**change), tmp_path / "runs")
    assert named in str(err.value)
    assert not (tmp_path / "runs").exists()  # refused before any trial started


def test_grid_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({**GRID, "jobs": [{"models": ["vanilla"]}, {"model": [1]}]}))
    with pytest.raises(GridError, match=r"grid.yaml, jobs\[2\]: unknown key 'model'"):
        load_grid(path)


def test_grid_expands_jobs_games_models_seeds_arms() -> None:
    grid = parse_grid(
        {
            "preset": "smoke",
            "seeds": [0, 1],
            "overrides": {"num_envs": 8, "total_steps": "1e3"},
            "jobs": [
                {"job": "train", "models": ["vanilla", "resnet14"], "distill": ["none", "actor"]},
                {"job": "search", "strategies": ["one-level", "bi-level"], "distill": ["none"],
                 "resources": {"cpus": 2}},
            ],
        }
    )  # fmt: skip
    runs = [t.run for t in grid.trials]
    assert len(runs) == 2 * 2 * 2 + 2 * 2 and len(set(runs)) == len(runs)
    assert "Breakout__resnet14__distill-actor-smoke__s1" in runs
    assert "Breakout__supernet-a2d__search-vanilla-dnas-smoke__s0" in runs
    train, search = grid.trials[0].config, grid.trials[-1].config
    assert type(train) is A2CConfig and type(search) is SearchConfig
    assert (train.total_steps, train.num_envs, train.eval_episodes) == (1000, 8, 3)  # smoke
    assert (search.strategy, search.distill, search.space) == ("bi-level", "none", "a2d")
    assert grid.trials[1].config.teacher is None
    assert grid.trials[2].config.teacher == "Breakout__resnet20"
    assert grid.trials[-1].resources.cpus == 2 and grid.trials[0].resources.threads == 1


@pytest.mark.parametrize("preset", ["smoke", "laptop"])
def test_distillation_study_grid_trains_the_runs_notebook_02_reads(preset: str) -> None:
    from workbench.experiments.training_grid import distillation_configs
    from workbench.presets import get_preset

    arms = ["none", "actor", "actor+reuse-critic", "actor+critic"]
    grid = parse_grid({"job": "train", "preset": preset, "study": "distillation",
                       "models": ["vanilla"], "distill": arms})  # fmt: skip
    budget = get_preset(preset).for_study("distillation")
    notebook = distillation_configs(budget, budget.games, ["vanilla"], arms, budget.seeds)
    assert sorted(map(repr, (t.config for t in grid.trials))) == sorted(map(repr, notebook))


def test_duplicate_run_names_are_refused() -> None:
    with pytest.raises(GridError, match="same run folder: Breakout__vanilla__mine__s0"):
        parse_grid(_grid(seeds=[0], distill=["none", "actor"], tag="mine"))


def test_conflicting_run_folder_is_refused_before_training(tmp_path: Path) -> None:
    grid = parse_grid(_grid(seeds=[0]))
    folder = tmp_path / grid.trials[0].run
    folder.mkdir()
    (folder / "config.json").write_text('{"game": "Breakout", "num_envs": 16}')
    with pytest.raises(SweepError, match="num_envs"):
        run_sweep(grid, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]


def test_unreachable_ray_address_fails_before_any_trial(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        run_sweep(GRID, tmp_path / "runs", backend="ray", address=f"127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 30
    assert not any((tmp_path / "runs").glob("*/attempts.jsonl"))


# --- running -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 4-trial grid, uninterrupted, on the local backend (2 at a time)."""
    runs = tmp_path_factory.mktemp("local")
    summary = run_sweep(GRID, runs, backend="local", max_concurrent=2)
    assert list(summary["status"]) == ["done"] * 4, summary.to_dict("records")
    assert list(summary["steps"]) == [80] * 4 and list(summary["attempts"]) == [1] * 4
    assert summary["final_score"].notna().all()
    return runs


@pytest.fixture
def ray_cluster() -> Iterator[Any]:
    """A local 2-CPU Ray for one test (skipped, with the reason, when Ray cannot start here)."""
    ray = pytest.importorskip("ray")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # Ray gives its raylet 30 s to start, a starved machine may not
        if "timed out during startup" not in str(exc):
            raise
        pytest.skip(f"Ray's local node did not start on this machine: {exc}")
    yield ray
    ray.shutdown()


def _complete_csv(path: Path) -> pd.DataFrame:
    """A CSV that a stopped process was appending to: its complete lines only."""
    text = path.read_text()
    return pd.read_csv(io.StringIO(text[: text.rfind("\n") + 1]))


def _kill_after_first_checkpoint(run: Path, timeout: float = 600) -> tuple[int, int, pd.DataFrame]:
    """SIGKILL the process training `run` once it holds a checkpoint.

    It is first stopped (SIGSTOP), so the checkpoint step and the metrics.csv rows up to it can be
    read while nothing writes; returns (pid, checkpoint step, those rows).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = [r for r in read_attempts(run) if r["event"] == "start"]
        if starts and (run / "checkpoints" / "latest.pt").exists():
            pid = starts[0]["pid"]
            os.kill(pid, signal.SIGSTOP)
            try:
                step = checkpoint_step(run)
            except CheckpointError:  # stopped between the .pt and its .sha256: let it go on
                os.kill(pid, signal.SIGCONT)
                time.sleep(0.01)
                continue
            kept = _complete_csv(run / "metrics.csv")
            os.kill(pid, signal.SIGKILL)
            return pid, step, kept[kept["step"] <= step].reset_index(drop=True)
        time.sleep(0.01)
    raise AssertionError(f"{run} wrote no checkpoint in {timeout} s")


def _assert_resumed(run: Path, pid: int, step: int, kept: pd.DataFrame) -> None:
    """The killed trial was started again from its checkpoint, not from scratch."""
    assert 0 < step < TINY["total_steps"]
    starts = [r for r in read_attempts(run) if r["event"] == "start"]
    assert [r["from_step"] for r in starts] == [0, step]  # the retry started at the checkpoint
    assert starts[0]["pid"] == pid != starts[1]["pid"]
    # rows logged before the checkpoint were kept, not retrained: their wall-clock column
    # (steps_per_s) is the killed process's, which a run from scratch would not reproduce
    metrics = pd.read_csv(run / "metrics.csv")
    assert len(kept) == step // TINY["log_interval"]
    pd.testing.assert_frame_equal(metrics[metrics["step"] <= step].reset_index(drop=True), kept)


def test_killed_trial_resumes_from_its_checkpoint(local_runs: Path, tmp_path: Path) -> None:
    victim = tmp_path / "Breakout__vanilla__a2c-smoke__s0"
    with ThreadPoolExecutor(1) as pool:
        sweep = pool.submit(run_sweep, _grid(seeds=[0, 1]), tmp_path, max_concurrent=2)
        pid, step, kept = _kill_after_first_checkpoint(victim)
        summary = sweep.result(timeout=900)
    assert list(summary["status"]) == ["done", "done"], summary.to_dict("records")
    assert list(summary["attempts"]) == [2, 1]
    _assert_resumed(victim, pid, step, kept)
    for run in summary["run"]:  # and the resumed run ends exactly where the uninterrupted one did
        _assert_same_run(local_runs / run, tmp_path / run)


def test_ray_gives_the_local_results_despite_a_killed_worker(
    local_runs: Path, ray_cluster: Any, tmp_path: Path
) -> None:
    victim = tmp_path / "Breakout__vanilla__a2c-smoke__s1"
    with ThreadPoolExecutor(1) as pool:
        sweep = pool.submit(run_sweep, GRID, tmp_path, backend="ray")
        pid, step, kept = _kill_after_first_checkpoint(victim)
        summary = sweep.result(timeout=900)
    assert list(summary["status"]) == ["done"] * 4, summary.to_dict("records")
    assert list(summary["attempts"]) == [1, 2, 1, 1]
    _assert_resumed(victim, pid, step, kept)
    for run in summary["run"]:
        _assert_same_run(local_runs / run, tmp_path / run)
        assert {r.get("threads") for r in read_attempts(tmp_path / run)} - {None} == {1}


def test_rerunning_a_finished_sweep_trains_nothing(local_runs: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in local_runs.rglob("*") if p.is_file()}
    t0 = time.perf_counter()
    summary = run_sweep(GRID, local_runs, backend="ray", address="127.0.0.1:1")
    assert time.perf_counter() - t0 < 20  # nothing ran: not even a cluster was contacted
    assert list(summary["status"]) == ["cached"] * 4
    assert list(summary["attempts"]) == [0] * 4 and list(summary["steps"]) == [80] * 4
    after = {p: p.stat().st_mtime_ns for p in local_runs.rglob("*") if p.is_file()}
    assert after == before


def test_cli_prints_the_summary(local_runs: Path, tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(GRID))
    lines: list[str] = []
    assert main(["--grid", str(path), "--runs", str(local_runs)], out=lines.append) == 0
    table = lines[-1]
    assert table.count("| cached ") == 4 and "Breakout__vanilla__a2c-smoke__s3" in table
    assert main(["--grid", str(path), "--dry-run"], out=lines.append) == 0
    assert main(["--grid", str(tmp_path / "missing.yaml")]) == 2


def test_example_grids_are_valid() -> None:
    examples = sorted((Path(__file__).parents[1] / "examples" / "grids").glob("*.yaml"))
    assert examples
    for path in examples:
        assert load_grid(path).trials, path


def test_threads_are_pinned_per_trial(local_runs: Path) -> None:
    for run in local_runs.iterdir():
        assert {r.get("threads") for r in read_attempts(run) if r["event"] == "start"} == {1}


def test_split_finished_keeps_only_finished_runs_of_the_same_config(tmp_path: Path) -> None:
    from dataclasses import replace

    from workbench.experiments.training_grid import distillation_configs, split_finished
    from workbench.presets import get_preset
    from workbench.runs.folder import RunDir, run_name

    budget = get_preset("smoke").for_study("distillation")
    configs = distillation_configs(budget, ["Breakout"], ["vanilla"], ["none", "actor"], [0, 1])
    finished = configs[0]
    for cfg in (finished, replace(configs[1], total_steps=7)):  # 2nd: same folder, other config
        RunDir(tmp_path / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed), cfg).mark_complete(1)
    before = sorted(p.name for p in tmp_path.iterdir())
    done, missing = split_finished(configs, tmp_path)
    assert done == [finished] and len(missing) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


def test_runs_so_far_draws_unfinished_runs_to_their_last_evaluation(tmp_path: Path) -> None:
    from dataclasses import replace

    from workbench.experiments.training_grid import preset_configs, progress_note, runs_so_far
    from workbench.presets import get_preset
    from workbench.runs.folder import RunDir, run_name
    from workbench.viz.tables import best_score_table

    budget = get_preset("smoke")
    configs = preset_configs(budget, ["Breakout"], ["vanilla", "resnet14", "resnet20"], [0, 1])
    folder = {c: tmp_path / run_name(c.game, c.model, c.tag, c.seed) for c in configs}
    evals = {  # (model, seed): the steps evaluated so far
        ("vanilla", 0): [1000, 2000], ("vanilla", 1): [1000, 2000], ("resnet14", 0): [1000]
    }  # fmt: skip
    for cfg in configs:
        if (cfg.model, cfg.seed) in evals:
            run = RunDir(folder[cfg], cfg)
            run.append("evals.csv", [{"step": s, "mean": s / 1000 + cfg.seed, "std": 0.0}
                                     for s in evals[(cfg.model, cfg.seed)]])  # fmt: skip
            if cfg.model == "vanilla":
                run.mark_complete(cfg.total_steps)
    RunDir(folder[configs[3]], configs[3])  # resnet14 s1: started, nothing evaluated yet
    before = sorted(p.name for p in tmp_path.iterdir())

    drawn, status = runs_so_far(configs, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created
    assert list(status["evaluated_to"]) == [2000, 2000, 1000, 0, 0, 0]
    assert list(status["finished"]) == [True, True, False, False, False, False]
    assert len(drawn) == 5 and set(drawn["model"]) == {"vanilla", "resnet14"}
    note = progress_note(status)
    assert note == (
        "; unfinished, drawn to their last evaluation: Breakout resnet14 s0 (1,000 of 2,000 steps)"
        "; not evaluated yet, left out: Breakout resnet14 s1, Breakout resnet20 s0, "
        "Breakout resnet20 s1"
    )
    assert progress_note(status[status["finished"]]) == ""
    best = best_score_table(drawn).set_index("model")
    assert best.loc["vanilla", "best_score"] == 2.5 and best.loc["vanilla", "evaluated_to"] == 2000
    assert best.loc["resnet14", "evaluated_to"] == 1000

    with pytest.raises(ValueError, match="has been evaluated yet"):
        runs_so_far(configs[4:], tmp_path)
    RunDir(tmp_path / "other" / folder[configs[0]].name, replace(configs[0], total_steps=7))
    with pytest.raises(ValueError, match="holds a run with another config"):
        runs_so_far(configs[:1], tmp_path / "other")


# --- notebook jobs -----------------------------------------------------------------------------
NOTEBOOK_GRID = {
    "job": "notebook",
    "notebook": "01_model_size_scaling",
    "preset": "smoke",
    "games": ["Breakout"],
    "models": ["vanilla"],
    "seeds": [0, 1],
    "parameters": {"num_actions": 4},
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"notebook": "01_model_size_scalin"}, "unknown notebook '01_model_size_scalin'"),
        ({"parameters": {"num_action": 3}}, "unknown passed: ['num_action']"),
        ({"parameters": {"games": ["Pong"]}}, "parameters ['games'] are set by the sweep"),
        ({"notebook": "03_one_vs_bilevel_search"}, "declares no parameter `models`"),
        ({"distill": ["none"]}, "a notebook job has no axis `distill`"),
        ({"overrides": {"num_envs": 8}}, "`overrides` is a key of training and search jobs"),
        ({"games": ["Breakot"]}, "unknown game 'Breakot'"),
        ({"seeds": []}, "axis `seeds` is empty"),
        ({"job": "train"}, "`notebook` is a key of notebook jobs only"),
    ],
)
def test_notebook_grid_errors_name_the_key(change: dict, named: str) -> None:
    with pytest.raises(GridError) as err:
        parse_grid({**NOTEBOOK_GRID, **change})
    assert named in str(err.value)


def _kernels_of(pid: int) -> list[int]:
    """Jupyter kernels started by process `pid` (jupyter_client sets JPY_PARENT_PID)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if f"JPY_PARENT_PID={pid}".encode() in environ and proc.name.isdigit():
            found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_notebook_sweep_retries_a_killed_trial_and_caches_finished_ones(tmp_path: Path) -> None:
    grid = parse_grid(NOTEBOOK_GRID)
    victim = tmp_path / "notebooks" / "01_model_size_scaling__smoke__Breakout__vanilla__s0"
    with ThreadPoolExecutor(1) as pool:
        sweep = pool.submit(run_sweep, grid, tmp_path, max_concurrent=2)
        deadline, kernels = time.monotonic() + 300, []
        while not kernels and time.monotonic() < deadline:  # wait for the trial's kernel
            starts = [r for r in read_attempts(victim) if r["event"] == "start"]
            kernels = _kernels_of(starts[0]["pid"]) if starts else []
            time.sleep(0.2)
        assert kernels, "the notebook trial started no kernel"
        os.kill(starts[0]["pid"], signal.SIGKILL)
        summary = sweep.result(timeout=900)
    assert list(summary["status"]) == ["done", "done"], summary.to_dict("records")
    assert list(summary["attempts"]) == [2, 1] and list(summary["job"]) == ["notebook"] * 2
    deadline = time.monotonic() + 30  # the orphaned kernel notices its parent is gone and exits
    while any(_alive(k) for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(k) for k in kernels), "the killed trial's kernel kept running"
    for seed in (0, 1):  # each trial: its own executed notebook and report ...
        trial = tmp_path / "notebooks" / f"01_model_size_scaling__smoke__Breakout__vanilla__s{seed}"
        assert (trial / "01_model_size_scaling.ipynb").exists() and (trial / "result.json").exists()
        best = pd.read_csv(trial / "report" / "tables" / "best_test_scores.csv")
        assert list(best["model"]) == ["vanilla"]  # the models axis reached the notebook
        evals = pd.read_csv(tmp_path / f"Breakout__vanilla__a2c-smoke__s{seed}" / "evals.csv")
        assert best["best_score"].iloc[0] == pytest.approx(evals["mean"].max(), abs=0.01)  # 2 d.p.
        # ... while the training it ran lives in the shared runs folder, like any other run
        assert (tmp_path / f"Breakout__vanilla__a2c-smoke__s{seed}" / "result.json").exists()
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    again = run_sweep(grid, tmp_path)
    assert list(again["status"]) == ["cached"] * 2
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.slow  # about 2 min; test_ray_gives_the_local_results_despite_a_killed_worker keeps Ray
def test_notebook_sweep_on_ray_gives_the_local_trainings(ray_cluster: Any, tmp_path: Path) -> None:
    grid = parse_grid({**NOTEBOOK_GRID, "seeds": [0]})
    local = run_sweep(grid, tmp_path / "local")
    on_ray = run_sweep(grid, tmp_path / "ray", backend="ray")
    assert list(local["status"]) == list(on_ray["status"]) == ["done"]
    run = "Breakout__vanilla__a2c-smoke__s0"
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "local" / run / "evals.csv"),
        pd.read_csv(tmp_path / "ray" / run / "evals.csv"),
    )
    table = "notebooks/01_model_size_scaling__smoke__Breakout__vanilla__s0/report/tables"
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "local" / table / "best_test_scores.csv"),
        pd.read_csv(tmp_path / "ray" / table / "best_test_scores.csv"),
    )


def test_laptop_search_grid_trains_the_runs_notebook_03_reads() -> None:
    from workbench.experiments.training_grid import search_configs
    from workbench.presets import get_preset

    grid = load_grid(Path(__file__).parents[1] / "examples/grids/laptop_search.yaml")
    budget = get_preset("laptop").for_study("search")
    assert budget.arms == ("vanilla-dnas", "one-level", "bi-level-first-order")
    notebook = search_configs(budget, budget.games, budget.arms, budget.seeds)
    assert sorted(map(repr, (t.config for t in grid.trials))) == sorted(map(repr, notebook))
    assert {t.arm for t in grid.trials} == set(budget.arms)


def test_laptop_scaling_grid_trains_the_runs_notebook_01_reads() -> None:
    import ast

    import papermill

    from workbench.experiments.training_grid import preset_configs
    from workbench.presets import get_preset

    root = Path(__file__).parents[1]
    grid = load_grid(root / "examples/grids/laptop_scaling.yaml")
    budget = get_preset("laptop")
    parameters = papermill.inspect_notebook(str(root / "notebooks/01_model_size_scaling.ipynb"))
    models = ast.literal_eval(parameters["models"]["default"])
    notebook = preset_configs(budget, budget.games, models, budget.seeds)
    assert sorted(map(repr, (t.config for t in grid.trials))) == sorted(map(repr, notebook))
    assert {t.resources.threads for t in grid.trials} == {1}


def test_tabular_sweep_trains_the_runs_notebook_06_then_reads(
    tmp_path: Path, smoke_tabular: tuple[Path, pd.DataFrame]
) -> None:
    from conftest import copy_runs

    from workbench.oneshot.study import _tabular, oneshot_plan
    from workbench.presets import get_preset

    grid = {"job": "tabular", "preset": "smoke", "resources": {"cpus": 1}}
    shared, summary = smoke_tabular
    tmp_path = copy_runs(shared, tmp_path / "runs")
    plan = oneshot_plan(get_preset("smoke").for_study("oneshot"))
    assert list(summary["arm"]) == [f"a{a}" for a in plan.archs(1)]
    assert set(summary["status"]) == {"done"} and set(summary["steps"]) == {plan.train_steps}
    metrics = sorted(tmp_path.glob("*/metrics.csv"))
    before = {p: p.read_text() for p in metrics}
    table = _tabular(plan, 1, "Breakout", tmp_path, progress=False)  # what notebook 06 runs
    assert sorted(table["arch"]) == list(plan.archs(1))
    assert {p: p.read_text() for p in metrics} == before  # read, nothing trained again
    assert sorted(tmp_path.glob("*/metrics.csv")) == metrics
    with pytest.raises(GridError, match="takes no `tag`"):
        parse_grid({**grid, "tag": "mine"})
    with pytest.raises(GridError, match="has no axis `distill`"):
        parse_grid({**grid, "distill": ["none"]})
    with pytest.raises(GridError, match="axis `spaces` takes non-negative integers"):
        parse_grid({**grid, "spaces": ["a2d"]})

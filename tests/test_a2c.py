"""A2C end to end on real Breakout: determinism, exact resume, checkpoints, divergence, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from run_weights import run_weights, same_weights

from workbench.cli import main
from workbench.config import A2CConfig
from workbench.rl.a2c import TrainingDiverged, train
from workbench.runs.folder import (
    CheckpointError,
    RunDir,
    load_checkpoint_file,
    load_runs,
)

SMALL = {
    "game": "Breakout",
    "model": "vanilla",
    "total_steps": 640,
    "num_envs": 8,
    "eval_interval": 640,
    "eval_episodes": 2,
    "checkpoint_interval": 320,
    "log_interval": 80,
    "backend": "gymnasium",
}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "run"
    result = train(A2CConfig(**SMALL), path, progress=False)
    assert result.completed and result.steps == 640
    return path


def test_run_folder_contents(reference_run: Path) -> None:
    for name in (
        "config.json",
        "env.json",
        "metrics.csv",
        "evals.csv",
        "checkpoints/latest.pt",
        "checkpoints/best.pt",
    ):
        assert (reference_run / name).exists(), name
    env = json.loads((reference_run / "env.json").read_text())
    assert env["packages"]["torch"] and "commit" in env["git"]
    assert env["process"]["torch_threads"] >= 1 and "GOMP_SPINCOUNT" in env["process"]
    evals = pd.read_csv(reference_run / "evals.csv")
    assert list(evals["step"]) == [640] and evals.loc[0, "episodes"] == 2
    metrics = pd.read_csv(reference_run / "metrics.csv")
    assert metrics["step"].is_monotonic_increasing and metrics["lr"].iloc[-1] < 1e-3


def test_same_seed_same_numbers(reference_run: Path, tmp_path: Path) -> None:
    train(A2CConfig(**SMALL), tmp_path / "again", progress=False)
    assert same_weights(run_weights(reference_run), run_weights(tmp_path / "again"))
    pd.testing.assert_frame_equal(
        pd.read_csv(reference_run / "metrics.csv").drop(columns="steps_per_s"),
        pd.read_csv(tmp_path / "again" / "metrics.csv").drop(columns="steps_per_s"),
    )


def test_other_seed_other_numbers(reference_run: Path, tmp_path: Path) -> None:
    train(A2CConfig(**{**SMALL, "seed": 1}), tmp_path / "s1", progress=False)
    assert not same_weights(run_weights(reference_run), run_weights(tmp_path / "s1"))


def test_resume_equals_uninterrupted(reference_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "resumed"
    first = train(A2CConfig(**SMALL), path, progress=False, stop_after_segments=1)
    assert not first.completed and first.steps == 320
    # a killed run may have logged past its checkpoint: resume must drop those rows
    metrics = pd.read_csv(path / "metrics.csv")
    metrics.iloc[[-1]].assign(step=999_999).to_csv(
        path / "metrics.csv", mode="a", header=False, index=False
    )
    second = train(A2CConfig(**SMALL), path, progress=False)
    assert second.completed
    assert same_weights(run_weights(reference_run), run_weights(path))
    assert (path / "evals.csv").read_bytes() == (reference_run / "evals.csv").read_bytes()

    # the rows kept across the resume are byte for byte an uninterrupted run's, line endings
    # included (all but the last field, steps/s, which is a timing)
    def without_rate(run: Path) -> list[bytes]:
        lines = (run / "metrics.csv").read_bytes().splitlines(keepends=True)
        return [re.sub(rb",[^,\r\n]*(\r?\n)$", rb"\1", line) for line in lines]

    assert without_rate(path) == without_rate(reference_run)
    assert pd.read_csv(path / "metrics.csv")["step"].max() == 640


def test_truncated_logs_keep_their_records_as_written(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run", A2CConfig(**SMALL))
    rows = [{"step": 80, "warning": "first,\nover two lines"}, {"step": 160, "warning": "late"}]
    run.append("warnings.csv", rows)
    written = (run.path / "warnings.csv").read_bytes()
    run.truncate_logs(80)
    kept = (run.path / "warnings.csv").read_bytes()
    assert kept == written[: written.index(b"160,")]
    assert run.read("warnings.csv").to_dict("records") == rows[:1]


def test_corrupted_checkpoint_is_refused(reference_run: Path, tmp_path: Path) -> None:
    ckpt = reference_run / "checkpoints" / "latest.pt"
    bad = tmp_path / "latest.pt"
    bad.write_bytes(ckpt.read_bytes()[:1000])
    (tmp_path / "latest.pt.sha256").write_text((ckpt.parent / "latest.pt.sha256").read_text())
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint_file(bad)
    (tmp_path / "latest.pt.sha256").unlink()
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        load_checkpoint_file(bad)


def test_other_config_in_same_folder_is_refused(reference_run: Path) -> None:
    with pytest.raises(ValueError, match="another config"):
        train(A2CConfig(**{**SMALL, "lr": 5e-4}), reference_run, progress=False)


def test_divergence_stops_and_keeps_checkpoint(tmp_path: Path) -> None:
    cfg = A2CConfig(**{**SMALL, "lr": 1e30, "max_grad_norm": 1e30})
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train(cfg, tmp_path / "nan", progress=False)
    failure = json.loads((tmp_path / "nan" / "failure.json").read_text())
    assert failure["step"] >= 0


def test_load_runs(reference_run: Path) -> None:
    df = load_runs(reference_run.parent)
    assert {"step", "mean", "game", "model", "seed", "run"} <= set(df.columns)


def test_cli_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(
        [
            "train",
            "--game",
            "Pong",
            "--steps",
            "320",
            "--num-envs",
            "8",
            "--eval-episodes",
            "1",
            "--backend",
            "envpool",
            "--out",
            str(tmp_path),
            "--tensorboard",
        ]
    )
    assert code == 0
    run = tmp_path / "Pong__vanilla__a2c__s0"
    assert "test score at 320 steps" in capsys.readouterr().out
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard")).Reload()
    assert {"train/loss", "train/entropy", "test/score_mean"} <= set(events.Tags()["scalars"])
    assert events.Scalars("test/score_mean")[-1].step == 320
    assert main(["eval", "--run", str(run), "--episodes", "2"]) == 0
    summary = json.loads((run / "eval_latest.json").read_text())
    assert len(summary["scores"]) == 2 and -21 <= summary["mean"] <= 21


def test_finished_run_is_not_retrained_even_without_checkpoints(
    reference_run: Path, tmp_path: Path
) -> None:
    import shutil

    record = tmp_path / "record"
    shutil.copytree(reference_run, record, ignore=shutil.ignore_patterns("checkpoints"))
    assert json.loads((record / "result.json").read_text())["steps"] == 640
    before = (record / "metrics.csv").read_text()
    result = train(A2CConfig(**SMALL), record, progress=False)
    assert result.completed and result.steps == 640 and len(result.evals) == 1
    assert not list((record / "checkpoints").glob("*.pt"))  # nothing was trained
    assert (record / "metrics.csv").read_text() == before


def test_two_trainers_of_one_run_train_it_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cfg = A2CConfig(**{**SMALL, "total_steps": 160, "checkpoint_interval": 160})
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: train(cfg, tmp_path / "run", progress=False), [0, 1]))
    assert all(r.completed and r.steps == 160 for r in results)
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["step"].is_unique  # trained once: the second waited, then found it finished


def test_checkpoint_verifies_at_every_point_of_a_killed_save(tmp_path: Path) -> None:
    import hashlib

    from workbench.runs.folder import RunDir

    run = RunDir(tmp_path / "run", A2CConfig(**SMALL))
    old = run.save_checkpoint({"step": 1})
    new_bytes = (old.read_bytes(), b"")[0]
    # killed after writing the new digest, before the data: old data, old digest -> loads
    (old.parent / "latest.pt.sha256.new").write_text(hashlib.sha256(b"other").hexdigest())
    assert load_checkpoint_file(old)["step"] == 1
    # killed after the data, before the digest moved: new data verifies against .new
    run.save_checkpoint({"step": 2})
    (old.parent / "latest.pt.sha256.new").write_text(hashlib.sha256(old.read_bytes()).hexdigest())
    (old.parent / "latest.pt.sha256").write_text(hashlib.sha256(new_bytes).hexdigest())
    assert load_checkpoint_file(old)["step"] == 2
    old.write_bytes(old.read_bytes()[:-10])  # and truncated data still fails
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint_file(old)


def test_run_folders_opened_at_once_never_read_a_half_written_config(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from workbench.runs.folder import RunDir

    cfg = A2CConfig(**SMALL)
    for attempt in range(30):
        folder = tmp_path / f"run{attempt}"
        with ThreadPoolExecutor(8) as pool:
            dirs = list(pool.map(RunDir, [folder] * 8, [cfg] * 8))
        assert all(d.config == dirs[0].config for d in dirs)
        assert not [p.name for p in folder.iterdir() if p.name.startswith(".config")]


def test_reopening_a_finished_run_keeps_its_provenance(tmp_path: Path) -> None:
    from workbench.runs.folder import RunDir

    cfg = A2CConfig(**SMALL)
    RunDir(tmp_path / "run", cfg).mark_complete(cfg.total_steps)
    env_file = tmp_path / "run" / "env.json"
    env_file.write_text('{"host": "the training machine"}')
    assert RunDir(tmp_path / "run", cfg).is_complete()
    assert env_file.read_text() == '{"host": "the training machine"}'


def test_a_run_finished_before_a_config_field_was_added_stays_finished(tmp_path: Path) -> None:
    import dataclasses

    from workbench.runs.folder import RunDir, run_finished

    @dataclasses.dataclass
    class Before:
        game: str = "Breakout"
        seed: int = 0

    @dataclasses.dataclass
    class After(Before):
        new_knob: float = 0.5

    RunDir(tmp_path / "run", Before()).mark_complete(100)
    assert run_finished(tmp_path / "run", After())  # the new field at its default: same run
    assert RunDir(tmp_path / "run", After()).is_complete()
    assert not run_finished(tmp_path / "run", After(new_knob=0.7))  # another value: another run
    assert not run_finished(tmp_path / "run", After(seed=1))


def test_run_status_tells_where_each_run_stands(
    reference_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    from workbench.experiments.status import run_status
    from workbench.runs.folder import RunDir

    root = tmp_path / "runs"
    shutil.copytree(reference_run, root / "done")
    train(A2CConfig(**SMALL), root / "half", progress=False, stop_after_segments=1)
    with pytest.raises(TrainingDiverged):
        cfg = A2CConfig(**{**SMALL, "lr": 1e30, "max_grad_norm": 1e30})
        train(cfg, root / "nan", progress=False)
    shutil.copytree(root / "half", root / "broken")
    (root / "broken" / "checkpoints" / "latest.pt").write_bytes(b"truncated")

    status = run_status(root).set_index("run")
    assert status.loc["done", "state"] == "complete" and status.loc["done", "step"] == 640
    assert status.loc["done", "best_test"] == pytest.approx(
        pd.read_csv(reference_run / "evals.csv")["mean"].max(), abs=0.01
    )
    half = status.loc["half"]
    assert (half["state"], half["resumes_from"], half["progress"]) == ("paused", 320, "50%")
    assert status.loc["nan", "state"] == "failed" and "non-finite" in status.loc["nan", "note"]
    assert status.loc["broken", "state"] == "new"  # nothing usable to resume from, and it says so
    assert "corrupted or truncated" in status.loc["broken", "note"]

    with RunDir(root / "half", A2CConfig(**SMALL)).lock():  # as a trainer holds it
        now = run_status(root).set_index("run").loc["half"]
        assert now["state"] == "training" and now["eta"] and now["steps_per_s"] > 0
        assert run_status(root)["state"].iloc[0] == "training"  # listed first
    assert main(["runs", str(root), "--state", "paused", "failed"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert sorted(line.split()[0] for line in lines[1:-1]) == ["half", "nan"]
    assert lines[-1] == "1 paused, 1 failed"
    assert main(["runs", str(root), "--state", "stuck"]) == 2
    assert main(["runs", str(tmp_path / "missing")]) == 2

"""The training engine's own guarantees: checkpoint fallback, plug-in hooks, lambda = 0."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from workbench.config import A2CConfig, SearchConfig
from workbench.rl.engine import Plugin, train
from workbench.runs.folder import CheckpointFallback

THREE_SEGMENTS = {
    "game": "Breakout",
    "model": "vanilla",
    "total_steps": 480,
    "num_envs": 4,
    "eval_interval": 480,
    "eval_episodes": 1,
    "checkpoint_interval": 160,
    "log_interval": 40,
    "backend": "gymnasium",
}


def _without_rate(run: Path) -> list[bytes]:
    """metrics.csv's lines without their last field (steps/s, a timing)."""
    lines = (run / "metrics.csv").read_bytes().splitlines(keepends=True)
    return [re.sub(rb",[^,\r\n]*(\r?\n)$", rb"\1", line) for line in lines]


def test_corrupted_newest_checkpoint_falls_back_one_segment(tmp_path: Path) -> None:
    cfg = A2CConfig(**THREE_SEGMENTS)
    whole = train(cfg, tmp_path / "whole", progress=False)
    assert whole.completed
    parts = tmp_path / "parts"
    first = train(cfg, parts, progress=False, stop_after_segments=2)
    assert first.steps == 320
    latest = parts / "checkpoints" / "latest.pt"
    assert (parts / "checkpoints" / "previous.pt").exists()
    latest.write_bytes(latest.read_bytes()[:2000])  # truncated, as by a full disk
    with pytest.warns(CheckpointFallback, match="previous.pt \\(step 160\\)"):
        second = train(cfg, parts, progress=False)
    assert second.completed and second.steps == 480
    assert _without_rate(parts) == _without_rate(tmp_path / "whole")
    for log in ("evals.csv", "episodes.csv"):
        whole_log, parts_log = tmp_path / "whole" / log, parts / log
        assert whole_log.exists() == parts_log.exists(), log
        if whole_log.exists():
            assert parts_log.read_bytes() == whole_log.read_bytes(), log


def test_both_checkpoints_bad_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    cfg = A2CConfig(**THREE_SEGMENTS)
    run = tmp_path / "run"
    train(cfg, run, progress=False, stop_after_segments=2)
    for name in ("latest.pt", "previous.pt"):
        path = run / "checkpoints" / name
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(Exception, match="corrupted or truncated"):
        train(cfg, run, progress=False)


TINY_SEARCH = {
    "game": "Breakout",
    "space": "a3cs",
    "sampler": "hard",
    "total_steps": 20,
    "num_envs": 2,
    "rollout_length": 5,
    "eval_interval": 20,
    "eval_episodes": 1,
    "checkpoint_interval": 20,
    "log_interval": 10,
    "alpha_log_interval": 10,
    "backend": "gymnasium",
}


def test_search_with_lambda_zero_runs_and_logs_its_unscaled_cost(tmp_path: Path) -> None:
    cfg = SearchConfig(**TINY_SEARCH, cost_lambda=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train(cfg, tmp_path / "run", progress=False).completed
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["expected_cost"].notna().all() and (metrics["expected_cost"] > 0).all()


class Recorder(Plugin):
    """A plug-in that records which hooks the engine and A2C called, in order."""

    checkpoint_key = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def begin_segment(self, seed: int) -> None:
        self.calls.append("begin_segment")

    def begin_update(self, update, step, generator) -> None:
        self.calls.append("begin_update")

    def on_forward(self) -> None:
        self.calls.append("on_forward")

    def total_loss(self, task_loss):
        self.calls.append("total_loss")
        return task_loss

    def after_backward(self, batch, lr) -> None:
        assert batch.obs.shape[0] == batch.actions.shape[0] == batch.returns.shape[0]
        self.calls.append("after_backward")

    def end_update(self, step, returns, generator) -> None:
        self.calls.append("end_update")

    def finish(self, run, result) -> None:
        self.calls.append("finish")

    def state_dict(self) -> dict:
        return {"calls": len(self.calls)}


def test_plugin_hooks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from workbench.runs import kinds

    recorder = Recorder()
    a2c = kinds.get_kind("a2c")
    monkeypatch.setitem(
        kinds._KINDS, "a2c", replace(a2c, make_plugin=lambda cfg, agent, run: recorder)
    )
    cfg = A2CConfig(**{**THREE_SEGMENTS, "total_steps": 160, "num_envs": 2, "rollout_length": 5,
                       "eval_interval": 10_000, "checkpoint_interval": 160})  # fmt: skip
    assert train(cfg, tmp_path / "run", progress=False).completed
    update = ["begin_update", *["on_forward"] * 5, "total_loss", "after_backward", "end_update"]
    assert recorder.calls == ["begin_segment", *update * 16, "finish"]


def test_a_folder_given_as_arch_is_a_clear_error(tmp_path: Path, capsys) -> None:
    from workbench.cli import main

    (tmp_path / "arch.json").write_text("{}")
    assert main(["train", "--arch", str(tmp_path), "--steps", "80"]) != 0
    err = capsys.readouterr().err
    assert "is a folder" in err and "arch.json" in err and "Traceback" not in err


def test_eval_of_a_diverged_checkpoint_says_the_policy_is_not_finite(
    tmp_path: Path, capsys
) -> None:
    import json

    import torch

    from workbench.cli import main
    from workbench.runs.folder import RunDir, load_checkpoint_file

    cfg = A2CConfig(**{**THREE_SEGMENTS, "total_steps": 40, "num_envs": 2, "rollout_length": 5,
                       "checkpoint_interval": 40, "eval_interval": 10_000})  # fmt: skip
    train(cfg, tmp_path / "run", progress=False)
    state = load_checkpoint_file(tmp_path / "run" / "checkpoints" / "latest.pt")
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}  # fmt: skip
    RunDir(tmp_path / "run", cfg).save_checkpoint(state)
    (tmp_path / "run" / "failure.json").write_text(json.dumps({"step": 40}))
    assert main(["eval", "--run", str(tmp_path / "run"), "--episodes", "1"]) != 0
    err = capsys.readouterr().err
    assert "policy is not finite" in err and "failure.json" in err
    assert "probability tensor" not in err

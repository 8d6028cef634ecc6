"""Golden runs: every kind of training run reproduces, bit for bit, the numbers recorded in
tests/golden/ before the training-loop refactor (issue 30).

Each kind's config (tests/golden/record.py) is trained into a fresh folder with the current code
through the same entry point, on one torch thread, and every CSV log must match the golden one:
the same files, the same columns in the same order, the same rows, every value's text equal
(timing columns aside), and the final weights' digests equal. Re-record (`python
tests/golden/record.py`) only for a change that is meant to change the numbers, and say so.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

GOLDEN = Path(__file__).resolve().parent / "golden"


def _load_recorder():
    spec = importlib.util.spec_from_file_location("golden_record", GOLDEN / "record.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


record = _load_recorder()
RECORDED = sorted(p.parent.name for p in GOLDEN.glob("*/config.json"))


@pytest.fixture(scope="module")
def kinds() -> dict:
    return record.build_kinds()


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch):
    """The setting the golden numbers were recorded with: one torch thread, on the CPU."""
    before = torch.get_num_threads()
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _needs_envpool(cfg) -> bool:
    return getattr(cfg, "backend", None) == "envpool" or getattr(cfg, "env", None) == "procgen"


def _train(kind: str, run_dir: Path, kinds: dict, **kwargs):
    if _needs_envpool(kinds[kind][1]):
        pytest.importorskip("envpool")
    try:
        return record.run_kind(kind, run_dir, kinds, **kwargs)
    except RuntimeError as exc:  # envpool's Procgen needs the Qt 5 runtime (SPEC §1)
        if "Qt" in str(exc):
            pytest.skip(str(exc))
        raise


def test_every_kind_has_golden_data(kinds: dict) -> None:
    assert sorted(kinds) == RECORDED
    for kind in RECORDED:
        assert record.csv_logs(GOLDEN / kind), f"{kind} has no CSV log"


@pytest.mark.parametrize("kind", RECORDED)
def test_run_reproduces_its_golden_numbers(
    kind: str, kinds: dict, one_thread: None, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = _train(kind, run_dir, kinds)
    assert result.completed
    problems = record.compare(GOLDEN / kind, run_dir)
    assert not problems, f"{kind} no longer reproduces tests/golden/{kind}:\n" + "\n".join(problems)


RESUMED = ["a2c-none-envpool", "ppo-procgen", "darts-impala"]
"""Cheap kinds of the A2C and the PPO loop, also paused after their first segment and resumed."""


@pytest.mark.parametrize("kind", RESUMED)
def test_resumed_run_reproduces_its_golden_numbers(
    kind: str, kinds: dict, one_thread: None, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    assert not _train(kind, run_dir, kinds, stop_after_segments=1).completed
    assert _train(kind, run_dir, kinds).completed
    problems = record.compare(GOLDEN / kind, run_dir)
    assert not problems, f"{kind}, resumed, no longer reproduces tests/golden/{kind}:\n" + (
        "\n".join(problems)
    )

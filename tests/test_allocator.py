"""glibc malloc tuning: on by default, off with WORKBENCH_MALLOC=system, checked before training."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.config import A2CConfig
from workbench.rl.a2c import train
from workbench.rl.allocator import MALLOC_VARIABLE, tune_malloc

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="mallopt is glibc's",
)

# in a fresh interpreter (mallopt is process-wide), the page faults of 50 "updates" that each
# hold 8 tensors of 4 MB (as a rollout holds its activations) and then free them
FAULTS = textwrap.dedent("""
    import resource
    import torch
    from workbench.rl.allocator import tune_malloc
    tune_malloc()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        held = [torch.ones(1024 * 1024) for _ in range(8)]
        del held
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def page_faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True,
        env={**os.environ, MALLOC_VARIABLE: mode},
    )  # fmt: skip
    return int(out.stdout.strip())


@glibc
def test_tuned_malloc_reuses_freed_memory_instead_of_faulting_it_in_again() -> None:
    # 50 updates of 8,192 pages each: tuned, about one update's pages are faulted in, once. glibc's
    # defaults vary from run to run here (seen: 408,159 faults, the memory handed back every
    # update, and 24,592), so only the tuned side is held to a bound
    assert page_faults("tuned") < 4 * 8192


@glibc
def test_the_variable_switches_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MALLOC_VARIABLE, raising=False)
    assert tune_malloc() is True
    monkeypatch.setenv(MALLOC_VARIABLE, "system")
    assert tune_malloc() is False


def test_a_bad_value_fails_before_training(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(MALLOC_VARIABLE, "jemalloc")
    with pytest.raises(ValueError, match="WORKBENCH_MALLOC must be 'tuned' or 'system'"):
        train(A2CConfig(game="Breakout", total_steps=80), tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "metrics.csv").exists()

"""The shortened libgomp spin: set for libgomp before torch loads, never over a user's choice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workbench.openmp import SHORT_SPINCOUNT, SPIN_VARIABLE, libgomp_environ, shorten_omp_spin


def test_sets_the_spin_count_when_nothing_is_set() -> None:
    environ: dict[str, str] = {}
    assert shorten_omp_spin(environ, torch_loaded=False)
    assert environ == {"GOMP_SPINCOUNT": str(SHORT_SPINCOUNT)}


@pytest.mark.parametrize(
    "setting", [{"GOMP_SPINCOUNT": "5"}, {"OMP_WAIT_POLICY": "PASSIVE"}, {SPIN_VARIABLE: "libgomp"}]
)
def test_a_choice_already_made_is_kept(setting: dict[str, str]) -> None:
    environ = dict(setting)
    assert not shorten_omp_spin(environ, torch_loaded=False)
    assert environ == setting


def test_nothing_is_set_once_torch_has_loaded_libgomp() -> None:
    environ: dict[str, str] = {}
    assert not shorten_omp_spin(environ, torch_loaded=True)
    assert environ == {}


def test_a_bad_value_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'short' or 'libgomp'"):
        shorten_omp_spin({SPIN_VARIABLE: "fast"}, torch_loaded=False)


def _libgomp_spin(code: str, **extra: str) -> str:
    """GOMP_SPINCOUNT as libgomp itself reports it (OMP_DISPLAY_ENV) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.pop(SPIN_VARIABLE, None)
    out = subprocess.run(
        [sys.executable, "-c", code], env={**env, "OMP_DISPLAY_ENV": "VERBOSE", **extra},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [line for line in out.stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    assert lines, out.stderr[-2000:]
    return lines[0].split("=")[1].strip().strip("'")


def test_libgomp_reads_the_short_spin_when_workbench_loads_first() -> None:
    assert _libgomp_spin("import workbench, torch") == str(SHORT_SPINCOUNT)
    assert _libgomp_spin("import workbench, torch", **{SPIN_VARIABLE: "libgomp"}) == "300000"
    assert _libgomp_spin("import torch, workbench") == "300000"


def test_a_baseline_child_drops_the_inherited_spin() -> None:
    environ = {"PATH": "/bin", "GOMP_SPINCOUNT": "30000", "OMP_WAIT_POLICY": "PASSIVE"}
    assert libgomp_environ(environ) == {"PATH": "/bin", SPIN_VARIABLE: "libgomp"}
    child = libgomp_environ(environ)
    assert not shorten_omp_spin(child, torch_loaded=False) and "GOMP_SPINCOUNT" not in child

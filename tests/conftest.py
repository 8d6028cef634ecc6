"""Fixtures shared across test files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def smoke_tabular(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Notebook 06's smoke tabular benchmark, trained once by `workbench sweep`'s tabular job:
    (its runs folder, the sweep's summary). Copy the folder before using it (`copy_runs`)."""
    from workbench.experiments.sweep import run_sweep

    root = tmp_path_factory.mktemp("smoke-tabular")
    grid = {"job": "tabular", "preset": "smoke", "resources": {"cpus": 1}}
    return root, run_sweep(grid, root, backend="local", max_concurrent=2)


def copy_runs(source: Path, dest: Path) -> Path:
    """A private copy of a shared runs folder, so that no test sees another's changes."""
    shutil.copytree(source, dest)
    return dest

"""Notebook jobs of a sweep: one parameterised papermill execution per trial, resumable.

A `job: notebook` block of a grid runs a notebook once per point of its axes (games, models,
seeds; each reaches the notebook as a one-element list parameter) with the block's
`parameters`. Every trial writes its own folder `runs/notebooks/<trial>/` (config.json,
env.json, the executed notebook, its report under `report/`, result.json when it finished), so
concurrent trials never overwrite each other, while the trainings inside the notebooks use the
sweep's runs folder: a trial that is started again after its worker died re-executes the
notebook, whose trainings resume from their checkpoints and whose finished runs are reused.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
"""The repository's notebooks (an editable install, as the README sets up)."""
AXIS_PARAMETERS = {"games": "game", "models": "model", "seeds": "seed"}
"""Grid axis of a notebook job -> NotebookJob field; the notebook parameter is the axis name."""
SET_BY_THE_SWEEP = ("preset", "report_dir", "runs_dir")


class NotebookJobError(RuntimeError):
    """A notebook trial whose notebook raised: the message names the notebook and the cell."""


def find_notebook(name: str, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """The notebook called `name` (its stem, e.g. 01_model_size_scaling); did-you-mean on error."""
    from workbench.experiments.reproduce import list_notebooks
    from workbench.names import check_name

    notebooks = {nb.stem: nb for nb in list_notebooks(notebooks_dir)}
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {notebooks_dir}")
    return notebooks[check_name(name.removesuffix(".ipynb"), notebooks, "notebook")]


def declared_parameters(path: Path) -> tuple[str, ...]:
    """The names a notebook's parameters cell declares (read again only when the file changes)."""
    return _declared(Path(path).resolve(), Path(path).stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _declared(path: Path, mtime_ns: int) -> tuple[str, ...]:
    import papermill as pm

    return tuple(pm.inspect_notebook(str(path)))


@dataclass(frozen=True)
class NotebookJob:
    """One execution of a notebook with parameters; validated against its parameters cell."""

    notebook: str
    preset: str
    parameters: dict[str, Any] = field(default_factory=dict)
    game: str | None = None
    model: str | None = None
    seed: int | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        from workbench.experiments.reproduce import validate_parameters
        from workbench.presets import get_preset

        get_preset(self.preset)
        if not isinstance(self.parameters, dict):
            raise ValueError(f"parameters must be a mapping, got {self.parameters!r}")
        swept = [axis for axis, name in AXIS_PARAMETERS.items() if getattr(self, name) is not None]
        taken = sorted(set(self.parameters) & {*SET_BY_THE_SWEEP, *swept})
        if taken:
            raise ValueError(
                f"parameters {taken} are set by the sweep (preset, report_dir, runs_dir) or by "
                f"the grid's axes ({', '.join(swept)}): give each in one place only"
            )
        validate_parameters(self.path, self.papermill_parameters(Path("runs"), Path("report")))

    @property
    def path(self) -> Path:
        """The notebook file."""
        return find_notebook(self.notebook)

    @property
    def run(self) -> str:
        """Trial folder under the runs folder: notebooks/<notebook>__<preset>[__tag][__axes]."""
        parts = [self.notebook, self.preset, self.tag, self.game, self.model]
        parts += [f"s{self.seed}" if self.seed is not None else None]
        return "notebooks/" + "__".join(str(p) for p in parts if p is not None)

    def papermill_parameters(self, runs_dir: Path, report_dir: Path) -> dict[str, Any]:
        """What papermill injects: the block's parameters, the preset, the axes and the folders."""
        declared = declared_parameters(self.path)
        params = {**self.parameters, "preset": self.preset, "report_dir": str(report_dir)}
        if "runs_dir" in declared:
            params["runs_dir"] = str(runs_dir)
        for axis, name in AXIS_PARAMETERS.items():
            value = getattr(self, name)
            if value is not None:
                if axis not in declared:
                    raise ValueError(
                        f"{self.path.name} declares no parameter `{axis}`, so a grid cannot "
                        f"sweep it; its parameters: {sorted(declared)}"
                    )
                params[axis] = [value]
        return params


def run_notebook_job(job: NotebookJob, trial_dir: Path, runs_dir: Path, threads: int) -> None:
    """Execute the notebook into trial_dir (its report in trial_dir/report); result.json on success.

    The kernel inherits OMP_NUM_THREADS=threads, so torch inside it uses that many threads.
    """
    from workbench.experiments.reproduce import run_notebook
    from workbench.runs.folder import RunDir

    run = RunDir(trial_dir, job)
    if run.is_complete():
        return
    os.environ["OMP_NUM_THREADS"] = str(threads)
    report_dir = trial_dir.resolve() / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    params = job.papermill_parameters(runs_dir.resolve(), report_dir)
    outcome = run_notebook(job.path, trial_dir / job.path.name, params, cwd=job.path.parent)
    if outcome.error:
        raise NotebookJobError(outcome.error)
    run.mark_complete(0)

"""Sweeps: run a grid's trials in parallel on this machine or on a Ray cluster, resumably.

Each trial trains one config into its own run folder `runs_dir/<game>__<model>__<tag>__s<seed>`
with its run kind's trainer (`workbench.runs.kinds.get_kind(config.kind).train`), which
skips a finished run (result.json with the config's hash) and resumes an interrupted one from
`checkpoints/latest.pt` exactly. A sweep therefore survives
anything that kills a trial: the trial is started again and continues from its last checkpoint.
A notebook trial (`job: notebook`) executes a notebook into runs_dir/notebooks/<trial>/ instead;
started again, it re-executes the notebook, whose trainings resume the same way.

- `local`: each trial in its own spawned worker process (a one-worker ProcessPoolExecutor), at
  most `max_concurrent` at once; a worker that dies breaks only its own executor
  (BrokenProcessPool) and the trial is retried, up to `retries` times.
- `ray`: one Ray task per trial asking for the grid's `resources` (cpus, gpus); Ray retries a
  task whose worker or node dies (`max_retries`). The run folders must be on storage that every
  node sees.

Both also retry a trial that raised OSError (I/O on shared storage); any other exception (a
diverged run, a missing teacher) is deterministic and reported as failed. Every attempt appends
a line to the run folder's `attempts.jsonl` (sweep id, pid, host, the checkpoint step it started
from), which is how the summary counts attempts and how a resumed trial can be told apart.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.config import RunConfig
from workbench.experiments.grid import Grid, Trial, check_teachers, load_grid, parse_grid
from workbench.experiments.notebook_jobs import NotebookJob
from workbench.runs.folder import RESULT, config_diff, run_finished

ATTEMPTS = "attempts.jsonl"
BACKENDS = ("local", "ray")
RETRIED = (OSError,)
"""Exceptions a trial is retried for (besides its process dying): transient I/O errors."""
RAY_INSTALL_HINT = "the ray backend needs Ray: pip install 'ray>=2.9' (or -e '.[ray]')"
SUMMARY_COLUMNS = [
    "run", "job", "game", "model", "arm", "seed", "status", "steps", "final_score", "best_score",
    "seconds", "attempts", "error",
]  # fmt: skip


class SweepError(RuntimeError):
    """A sweep that cannot start (unreachable cluster, conflicting run folder, ...)."""


# --- one trial, in a worker process ------------------------------------------------------------
def run_trial(
    config: RunConfig | NotebookJob, run_dir: str, threads: int, sweep_id: str
) -> dict[str, Any]:
    """Train one config with its run kind's trainer (A2C, a search, a tabular job's PPO) or
    execute one notebook into run_dir with `threads` torch threads."""
    import torch

    from workbench.experiments.notebook_jobs import run_notebook_job
    from workbench.runs.kinds import get_kind

    torch.set_num_threads(threads)
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    start = time.time()
    _log_attempt(path, {"sweep": sweep_id, "event": "start", "time": start, "pid": os.getpid(),
                        "host": socket.gethostname(), "from_step": checkpoint_step(path),
                        "threads": threads})  # fmt: skip
    if isinstance(config, NotebookJob):  # path is <runs>/notebooks/<trial>
        run_notebook_job(config, path, runs_dir=path.parents[1], threads=threads)
        steps, completed = 0, True
    else:
        result = get_kind(config.kind).train(config, path, progress=False)
        steps, completed = result.steps, result.completed
    end = time.time()
    _log_attempt(path, {"sweep": sweep_id, "event": "end", "time": end, "pid": os.getpid(),
                        "steps": steps, "completed": completed})  # fmt: skip
    return {"steps": steps, "completed": completed, "seconds": end - start}


def checkpoint_step(run_dir: str | Path) -> int:
    """Agent step of a run folder's latest checkpoint (0 without one)."""
    from workbench.runs.folder import load_checkpoint_file

    path = Path(run_dir) / "checkpoints" / "latest.pt"
    return int(load_checkpoint_file(path)["step"]) if path.exists() else 0


def _log_attempt(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to the run folder's attempts.jsonl."""
    with open(run_dir / ATTEMPTS, "a") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_attempts(run_dir: str | Path, sweep_id: str | None = None) -> list[dict[str, Any]]:
    """The records of attempts.jsonl (of one sweep when given); a torn last line is skipped."""
    path = Path(run_dir) / ATTEMPTS
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if sweep_id is None or record.get("sweep") == sweep_id:
                records.append(record)
    return records


# --- the sweep ---------------------------------------------------------------------------------
def run_sweep(
    grid: Grid | dict | str | Path,
    runs_dir: str | Path = "runs",
    backend: str = "local",
    address: str | None = None,
    max_concurrent: int | None = None,
    retries: int = 2,
) -> pd.DataFrame:
    """Run every unfinished trial of `grid` into runs_dir; one summary row per trial."""
    grid = as_grid(grid)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if retries < 0 or (max_concurrent is not None and max_concurrent < 1):
        raise ValueError("need retries >= 0 and max_concurrent >= 1")
    runs_dir = Path(runs_dir)
    preflight(grid, runs_dir)
    sweep_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    todo = [t for t in grid.trials if not is_finished(t, runs_dir)]
    outcomes: dict[str, str | None] = {}
    if todo and backend == "local":
        outcomes = _run_local(todo, runs_dir, sweep_id, max_concurrent, retries)
    elif todo:
        outcomes = _run_ray(todo, runs_dir, sweep_id, address, max_concurrent, retries)
    return summarize(grid, runs_dir, sweep_id, outcomes)


def as_grid(grid: Grid | dict | str | Path) -> Grid:
    """A Grid from a Grid, a parsed mapping or a YAML path."""
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, dict):
        return parse_grid(grid)
    return load_grid(grid)


def preflight(grid: Grid, runs_dir: Path) -> None:
    """Refuse a sweep whose run folders hold other configs, or whose teachers do not load."""
    conflicts = []
    for trial in grid.trials:
        if (runs_dir / trial.run / "config.json").exists():
            diff = config_diff(runs_dir / trial.run, trial.config)
            if diff:
                conflicts.append(f"{trial.run} (old, new): {diff}")
    if conflicts:
        raise SweepError(
            f"run folders in {runs_dir} hold runs with other configs: "
            + "; ".join(conflicts)
            + ". Use another --runs folder or `tag`, or delete those folders to start over."
        )
    check_teachers(grid)


def is_finished(trial: Trial, runs_dir: Path) -> bool:
    """Whether the trial's folder holds a finished run of this very config."""
    return run_finished(runs_dir / trial.run, trial.config)


def _retryable(exc: BaseException) -> bool:
    """A dead worker process or a transient I/O error; not a trial's own deterministic error."""
    return isinstance(exc, (BrokenProcessPool, *RETRIED))


def _error(exc: BaseException) -> str:
    """One line naming an exception (Ray's wrapped cause when there is one)."""
    exc = getattr(exc, "cause", None) or exc
    lines = str(exc).strip().splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0]}"


def _run_local(
    trials: list[Trial],
    runs_dir: Path,
    sweep_id: str,
    max_concurrent: int | None,
    retries: int,
) -> dict[str, str | None]:
    """Trials in spawned one-worker process pools; a dead worker's trial is retried."""
    context = multiprocessing.get_context("spawn")
    if max_concurrent is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        max_concurrent = max(1, int((cores or 1) // max(t.resources.cpus for t in trials)))
    pending, attempts = deque(trials), dict.fromkeys((t.run for t in trials), 0)
    running: dict[Future, tuple[Trial, ProcessPoolExecutor]] = {}
    outcomes: dict[str, str | None] = {}
    try:
        while pending or running:
            while pending and len(running) < max_concurrent:
                trial = pending.popleft()
                executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
                future = executor.submit(
                    run_trial, trial.config, str(runs_dir.resolve() / trial.run),
                    trial.resources.threads, sweep_id,
                )  # fmt: skip
                running[future] = (trial, executor)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                trial, executor = running.pop(future)
                executor.shutdown(wait=True)
                attempts[trial.run] += 1
                exc = future.exception()
                if exc is None:
                    outcomes[trial.run] = None
                elif _retryable(exc) and attempts[trial.run] <= retries:
                    pending.appendleft(trial)  # resumes from its last checkpoint
                else:
                    outcomes[trial.run] = _error(exc)
    finally:
        for _, executor in running.values():
            _stop(executor)
    return outcomes


def _stop(executor: ProcessPoolExecutor) -> None:
    """Terminate an executor's worker (the sweep itself stopped, e.g. Ctrl-C)."""
    for process in list(getattr(executor, "_processes", {}).values()):  # no public API in 3.11
        process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)


# --- Ray ---------------------------------------------------------------------------------------
def import_ray() -> Any:
    """Import Ray, or raise an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(RAY_INSTALL_HINT) from exc
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Raise SweepError unless something listens at a Ray address (host:port, ray://host:port)."""
    hostport = address.removeprefix("ray://").rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        host, port = hostport, "6379"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise SweepError(
            f"no Ray cluster answers at {address} ({host}:{port}: {exc}); start one with "
            "`ray start --head`, or fix --address / RAY_ADDRESS"
        ) from None


def connect_ray(address: str | None = None, timeout: float = 5.0) -> bool:
    """Connect to the Ray cluster at `address` (or RAY_ADDRESS, or start a local one).

    Returns whether this call initialised Ray (the sweep then shuts it down at the end).
    """
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address not in ("auto", "local"):
        check_reachable(address, timeout)
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, log_to_driver=True)
    except ConnectionError as exc:
        raise SweepError(f"cannot connect to Ray at {address!r}: {exc}") from None
    return True


def _check_feasible(ray: Any, trials: list[Trial]) -> None:
    """Refuse a trial that no live node can hold (Ray would leave it pending forever)."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    for trial in trials:
        r = trial.resources
        if not any(n.get("CPU", 0) >= r.cpus and n.get("GPU", 0) >= r.gpus for n in nodes):
            largest = [{"cpus": n.get("CPU", 0), "gpus": n.get("GPU", 0)} for n in nodes]
            raise SweepError(
                f"{trial.run} asks for cpus={r.cpus:g}, gpus={r.gpus:g} but no node of the "
                f"Ray cluster has that much (nodes: {largest}); lower `resources` in the grid"
            )


def _run_ray(
    trials: list[Trial],
    runs_dir: Path,
    sweep_id: str,
    address: str | None,
    max_concurrent: int | None,
    retries: int,
) -> dict[str, str | None]:
    """One Ray task per trial; Ray retries tasks whose worker or node dies."""
    ray = import_ray()
    started = connect_ray(address)
    remote = ray.remote(run_trial)
    running: dict[Any, Trial] = {}
    outcomes: dict[str, str | None] = {}
    try:
        _check_feasible(ray, trials)
        pending = deque(trials)
        while pending or running:
            while pending and (max_concurrent is None or len(running) < max_concurrent):
                trial = pending.popleft()
                task = remote.options(
                    num_cpus=trial.resources.cpus, num_gpus=trial.resources.gpus,
                    max_retries=retries, retry_exceptions=list(RETRIED), name=trial.run,
                )  # fmt: skip
                ref = task.remote(
                    trial.config, str(runs_dir.resolve() / trial.run),
                    trial.resources.threads, sweep_id,
                )  # fmt: skip
                running[ref] = trial
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                trial = running.pop(ref)
                try:
                    ray.get(ref)
                    outcomes[trial.run] = None
                except Exception as exc:  # RayTaskError (the trial's), WorkerCrashedError, ...
                    outcomes[trial.run] = _error(exc)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
    return outcomes


# --- summary -----------------------------------------------------------------------------------
def summarize(
    grid: Grid, runs_dir: str | Path, sweep_id: str, outcomes: dict[str, str | None]
) -> pd.DataFrame:
    """One row per trial: status (done | cached | failed), steps, scores, seconds, attempts."""
    rows = []
    for trial in grid.trials:
        path = Path(runs_dir) / trial.run
        mine = read_attempts(path, sweep_id)
        starts = [r for r in mine if r["event"] == "start"]
        ends = [r for r in mine if r["event"] == "end"]
        if trial.run not in outcomes:
            status, error = ("cached" if is_finished(trial, Path(runs_dir)) else "failed"), None
        else:
            error = outcomes[trial.run]
            status = "done" if error is None else "failed"
        final, best = _scores(path)
        rows.append(
            {"run": trial.run, "job": trial.job, "game": trial.config.game,
             "model": trial.config.model, "arm": trial.arm, "seed": trial.config.seed,
             "status": status, "steps": None if trial.job == "notebook" else _steps(path),
             "final_score": final, "best_score": best,
             "seconds": ends[-1]["time"] - starts[0]["time"] if starts and ends else None,
             "attempts": len(starts), "error": error}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _scores(run_dir: Path) -> tuple[float | None, float | None]:
    """Last and best mean test score of evals.csv."""
    path = run_dir / "evals.csv"
    if not path.exists() or not path.stat().st_size:
        return None, None
    evals = pd.read_csv(path)
    if evals.empty:
        return None, None
    return float(evals["mean"].iloc[-1]), float(evals["mean"].max())


def _steps(run_dir: Path) -> int:
    """Steps reached: result.json's, else the latest checkpoint's."""
    result = run_dir / RESULT
    if result.exists():
        return int(json.loads(result.read_text())["steps"])
    try:
        return checkpoint_step(run_dir)
    except RuntimeError:  # a corrupted checkpoint: the trial's error says so
        return 0


# --- command line ------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `workbench sweep`, added to `p`."""
    p.add_argument("--grid", type=Path, required=True, help="grid YAML (examples/grids/)")
    p.add_argument("--backend", default="local", choices=BACKENDS)
    p.add_argument("--address", help="Ray cluster address (host:6379, ray://host:10001, auto); "
                   "default: RAY_ADDRESS, else a local Ray")  # fmt: skip
    p.add_argument("--max-concurrent", type=int, help="trials at once (local default: cores/cpus)")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="runs folder (shared storage)")
    p.add_argument("--retries", type=int, default=2, help="restarts of a trial whose worker dies")
    p.add_argument("--dry-run", action="store_true", help="list the trials and exit")
    return p


def run_args(args: argparse.Namespace, out: Callable[[str], Any] = print) -> int:
    """Run a parsed `workbench sweep`; 0 when every trial finished, 1 when some failed."""
    grid = load_grid(args.grid)
    if args.dry_run:
        out(pd.DataFrame(grid.table()).to_markdown(index=False))
        return 0
    summary = run_sweep(
        grid, args.runs, args.backend, args.address, args.max_concurrent, args.retries
    )
    out(summary.drop(columns="error").to_markdown(index=False, floatfmt=".1f"))
    failed = summary[summary["status"] == "failed"]
    for row in failed.itertuples():
        print(f"{row.run}: {row.error}", file=sys.stderr)
    return 1 if len(failed) else 0


def main(argv: list[str] | None = None, out: Callable[[str], Any] = print) -> int:
    """`workbench sweep [options]`: like run_args, and 2 with a message on bad input."""
    parser = argparse.ArgumentParser(prog="workbench sweep", description=__doc__.splitlines()[0])
    args = add_arguments(parser).parse_args(argv)
    try:
        return run_args(args, out)
    except (ValueError, ImportError, FileNotFoundError, RuntimeError) as exc:
        print(f"workbench sweep: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

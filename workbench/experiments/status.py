"""Where every run under a folder stands: training now, paused at a checkpoint, failed or done.

Long studies train for hours in the background and are killed and resumed across sessions;
`run_status(root)` (and `workbench runs ROOT`) answers "what is left and when will it end"
from the run folders alone: config.json, metrics.csv, evals.csv, the latest checkpoint,
failure.json, result.json and the folder's lock (held by whichever process trains the run).
"""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

import pandas as pd

from workbench.runs.folder import RESULT, CheckpointError

STATES = ("training", "paused", "failed", "new", "complete")
"""Run states, in the order the table lists them.

training: a process holds the run's lock; paused: not training, resumes from its checkpoint;
failed: stopped on a non-finite loss or gradient (failure.json); new: nothing to resume from;
complete: reached its budget (result.json).
"""

COLUMNS = (
    "run", "state", "step", "total_steps", "progress", "resumes_from", "steps_per_s", "eta",
    "last_test", "best_test", "updated", "note",
)  # fmt: skip


def run_status(root: str | Path) -> pd.DataFrame:
    """One row per run folder under `root` (any depth), training runs first, then by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no runs folder at {root}")
    rows = [_status(cfg.parent, root) for cfg in sorted(root.glob("**/config.json"))]
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype(
        {c: "Int64" for c in ("step", "total_steps", "resumes_from", "steps_per_s")}
    )
    order = table["state"].map({s: i for i, s in enumerate(STATES)})
    return table.assign(_order=order).sort_values(["_order", "run"]).drop(columns="_order")


def _status(path: Path, root: Path) -> dict:
    """The status row of one run folder."""
    config = json.loads((path / "config.json").read_text())
    total = config.get("total_steps")
    metrics, evals = _read(path / "metrics.csv"), _read(path / "evals.csv")
    step = int(metrics["step"].iloc[-1]) if len(metrics) else 0
    rate = (
        float(metrics["steps_per_s"].iloc[-1])
        if "steps_per_s" in metrics and len(metrics)
        else None
    )
    state, resumes_from, note = _state(path), None, ""
    if state == "complete":
        step = int(json.loads((path / RESULT).read_text()).get("steps", total or step))
    elif state == "unfinished":  # only these need their checkpoint read
        resumes_from, note = _checkpoint_step(path)
        failure = path / "failure.json"
        failed = failure.exists() and json.loads(failure.read_text())
        if failed and failed["step"] > (resumes_from or 0):  # not resumed past it after a fix
            state = "failed"
            note = f"non-finite {failed['non_finite']} at step {failed['step']:,}"
        elif resumes_from is not None and total and resumes_from >= total:
            state, step = "complete", resumes_from
            note = "budget reached; result.json is written when the run is next opened"
        else:
            state = "paused" if resumes_from else "new"
    eta = None
    if state == "training" and rate and total:
        eta = _duration(max(total - step, 0) / rate)
    has_tests = "mean" in evals and len(evals) > 0
    logs = [p for p in (path / "metrics.csv", path / "config.json") if p.exists()]
    return {
        "run": str(path.relative_to(root)),
        "state": state,
        "step": step,
        "total_steps": total,
        "progress": f"{100 * step / total:.0f}%" if total else "",
        "resumes_from": resumes_from if state in ("paused", "failed") else None,
        "steps_per_s": round(rate) if rate and state == "training" else None,
        "eta": eta,
        "last_test": round(float(evals["mean"].iloc[-1]), 2) if has_tests else None,
        "best_test": round(float(evals["mean"].max()), 2) if has_tests else None,
        "updated": _duration(time.time() - logs[0].stat().st_mtime) + " ago",
        "note": note,
    }


def _state(path: Path) -> str:
    """training / complete / failed / paused / new for one run folder."""
    if _locked(path):
        return "training"
    if (path / RESULT).exists() and json.loads((path / RESULT).read_text()).get("completed"):
        return "complete"
    return "unfinished"


def _locked(path: Path) -> bool:
    """Whether another process holds the run folder's lock (RunDir.lock), i.e. trains it now."""
    lock = path / ".lock"
    if not lock.exists():
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _checkpoint_step(path: Path) -> tuple[int | None, str]:
    """The step the latest checkpoint resumes from (verified), or None and why not."""
    from workbench.experiments.sweep import checkpoint_step

    try:
        return checkpoint_step(path) or None, ""
    except CheckpointError as exc:
        return None, f"latest checkpoint unusable: {exc}"


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()


def _duration(seconds: float) -> str:
    """A short human duration: 45 s, 12 min, 3.4 h, 2.1 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"

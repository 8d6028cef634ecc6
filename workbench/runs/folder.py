"""Run folders: config, provenance, CSV logs, atomic checksummed checkpoints, and load_runs().

Layout of `runs/<game>__<model>__<tag>__s<seed>/`:
  config.json, env.json, metrics.csv, episodes.csv, evals.csv, failure.json (only on divergence),
  result.json (once the budget is reached), checkpoints/latest.pt (+ .sha256), checkpoints/best.pt.
A finished run is recognised by result.json alone, so run records can be kept (or committed)
without their checkpoints and reports redrawn from them without retraining.

config.json names the run's kind first (workbench.runs.kinds), then the config's fields; the
kind is never hashed or compared (it follows from the fields), so a folder written before kinds
were recorded is the same run as a new one of the same config.
"""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from workbench.runs.kinds import KIND_KEY, fields_of, kind_of
from workbench.runs.provenance import environment_info

LOGS = (
    "metrics.csv",
    "episodes.csv",
    "evals.csv",
    "alpha.csv",
    "archs.csv",
    "warnings.csv",
    "hardware.csv",
    "cells.csv",
)
RESULT = "result.json"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated or corrupted; never used silently."""


class CheckpointFallback(UserWarning):
    """The newest checkpoint was bad; training resumed from the one before it."""


PREVIOUS = "previous"
"""The segment checkpoint before `latest`, kept so that a corrupted newest one loses a segment."""


def run_name(game: str, model: str, tag: str, seed: int) -> str:
    """Folder name of a run: `<game>__<model>__<tag>__s<seed>`."""
    return f"{game}__{model}__{tag}__s{seed}"


def config_hash(config: dict) -> str:
    """Short stable hash of a config dict (keys sorted; a `kind` key is left out)."""
    return hashlib.sha256(json.dumps(fields_of(config), sort_keys=True).encode()).hexdigest()[:12]


def config_fields(config: Any) -> dict:
    """The fields of a config, a dataclass (`asdict`) or a dict (without its `kind`)."""
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else fields_of(config)


def config_record(config: Any) -> dict:
    """What config.json holds: the run's kind first (when the config names one), then the
    fields."""
    kind = config.get(KIND_KEY) if isinstance(config, dict) else getattr(config, "kind", None)
    return {**({KIND_KEY: kind} if kind else {}), **config_fields(config)}


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _rows_up_to(data: bytes, step: int) -> bytes:
    """A CSV log's header and its records whose `step` is at most `step`, each as its text was
    (a quoted field may span lines, e.g. a warning's message)."""
    taken: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(data.decode(), newline=""):
            taken.append(line)
            yield line

    def text() -> str:
        out = "".join(taken)
        taken.clear()
        return out

    reader = csv.reader(lines())
    column = next(reader).index("step")
    kept = [text()]
    for record in reader:
        raw = text()
        if float(record[column]) <= step:
            kept.append(raw)
    return "".join(kept).encode()


def _create_exclusive(path: Path, data: bytes) -> bool:
    """Create `path` whole with `data` unless it exists; False when another process got there first.

    Readers never see a half-written file: the data goes to a temporary file that is then
    hard-linked into place, and linking fails if the name is already taken.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def run_finished(path: str | Path, config: Any) -> bool:
    """Whether the run folder `path` holds a finished run of `config`; creates nothing."""
    fields = config_fields(config)
    result_file = Path(path) / RESULT
    if not result_file.exists():
        return False
    result = json.loads(result_file.read_text())
    if not result.get("completed", False):
        return False
    if result["config_hash"] == config_hash(fields):
        return True
    # finished before config fields were added: the same run if config.json, the config it
    # finished (same hash), plus the new fields' defaults is this config
    cfg_file = Path(path) / "config.json"
    if not cfg_file.exists():
        return False
    stored = fields_of(json.loads(cfg_file.read_text()))
    return (
        result["config_hash"] == config_hash(stored)
        and _with_new_defaults(stored, config) == fields
    )


class RunDir:
    """One run's folder; creating it on an existing folder with another config is an error."""

    def __init__(self, path: str | Path, config: Any) -> None:
        self.path = Path(path)
        self.config = config_fields(config)  # the fields (no kind): hashed and compared
        self._source = config  # the dataclass, whose field defaults tell old folders apart
        (self.path / "checkpoints").mkdir(parents=True, exist_ok=True)
        cfg_file = self.path / "config.json"
        record = json.dumps(config_record(config), indent=2).encode()
        if not _create_exclusive(cfg_file, record):
            check_same_config(self.path, config)
        # provenance of the training: written once, never by a later reader of a finished run
        env = json.dumps(environment_info(), indent=2).encode()
        _create_exclusive(self.path / "env.json", env)

    # --- logs -------------------------------------------------------------------------------
    def append(self, log: str, rows: list[dict]) -> None:
        """Append rows to a CSV log, writing the header the first time."""
        if not rows:
            return
        path = self.path / log
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def truncate_logs(self, step: int) -> None:
        """Drop log rows after `step` (written by a run killed after its last checkpoint).

        The rows kept stay byte for byte as written, so a resumed run's logs read exactly as an
        uninterrupted run's (no re-formatted numbers, one line ending throughout).
        """
        for log in LOGS:
            path = self.path / log
            if path.exists() and path.stat().st_size:
                _atomic_write_bytes(path, _rows_up_to(path.read_bytes(), step))

    def read(self, log: str) -> pd.DataFrame:
        """A CSV log as a DataFrame (empty when not written yet)."""
        path = self.path / log
        return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()

    # --- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, state: dict, name: str = "latest") -> Path:
        """Write checkpoints/<name>.pt atomically with a sha256 sidecar."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return self._save_bytes(buffer.getvalue(), name)

    def _save_bytes(self, data: bytes, name: str) -> Path:
        path = self.path / "checkpoints" / f"{name}.pt"
        digest = hashlib.sha256(data).hexdigest().encode()
        # new digest, then data, then digest: a kill at any point leaves a pair that verifies
        _atomic_write_bytes(path.with_suffix(".pt.sha256.new"), digest)
        _atomic_write_bytes(path, data)
        os.replace(path.with_suffix(".pt.sha256.new"), path.with_suffix(".pt.sha256"))
        return path

    def save_segment_checkpoint(self, state: dict) -> Path:
        """The checkpoint at a segment's end as `latest`; the one it replaces, if it verifies,
        is kept as `previous`, so a corrupted newest checkpoint costs one segment, not the run."""
        latest = self.path / "checkpoints" / "latest.pt"
        if latest.exists():
            try:
                self._save_bytes(verified_bytes(latest), PREVIOUS)
            except CheckpointError:
                pass  # a corrupted latest never replaces a good previous
        return self.save_checkpoint(state, "latest")

    def load_resume_checkpoint(self) -> dict | None:
        """The newest segment checkpoint that verifies (None: a fresh run). When `latest` is
        corrupted or truncated, `previous` is used with a notice on stderr (and a warning)."""
        if not self.has_checkpoint("latest") and not self.has_checkpoint(PREVIOUS):
            return None
        try:
            return self.load_checkpoint("latest")
        except CheckpointError as exc:
            if not self.has_checkpoint(PREVIOUS):
                raise
            state = self.load_checkpoint(PREVIOUS)  # raises too when both are bad
            message = (
                f"{exc}\nresuming from checkpoints/{PREVIOUS}.pt (step {state['step']:,}) "
                "instead: the segment after it is trained again"
            )
            print(f"warning: {message}", file=sys.stderr)
            warnings.warn(message, CheckpointFallback, stacklevel=2)
            return state

    def has_checkpoint(self, name: str = "latest") -> bool:
        """Whether checkpoints/<name>.pt exists."""
        return (self.path / "checkpoints" / f"{name}.pt").exists()

    def load_checkpoint(self, name: str = "latest") -> dict:
        """Load and verify checkpoints/<name>.pt; CheckpointError when missing or corrupted."""
        return load_checkpoint_file(self.path / "checkpoints" / f"{name}.pt")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the run folder: one process trains a run at a time."""
        with open(self.path / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def mark_complete(self, steps: int) -> None:
        """Write result.json: the run reached its budget and is never retrained."""
        self.write_json(
            RESULT, {"completed": True, "steps": steps, "config_hash": config_hash(self.config)}
        )

    def is_complete(self) -> bool:
        """Whether result.json says this config's run finished (checkpoints are not needed)."""
        return run_finished(self.path, self._source)

    def write_json(self, name: str, data: dict) -> None:
        """Write a JSON file into the run folder atomically."""
        _atomic_write_bytes(self.path / name, json.dumps(data, indent=2).encode())


def config_diff(path: str | Path, config: Any) -> dict[str, tuple[Any, Any]]:
    """The fields in which the run folder's config.json differs from `config`: name -> (old,
    new); empty when it holds this config (its kind and fields added since are not compared)."""
    fields = config_fields(config)
    stored = fields_of(json.loads((Path(path) / "config.json").read_text()))
    old = _with_new_defaults(stored, config)
    return {k: (old.get(k), v) for k, v in fields.items() if old.get(k) != v}


def check_same_config(path: str | Path, config: Any) -> None:
    """ValueError, with the differing fields, when the run folder's config.json is not `config`."""
    diff = config_diff(path, config)
    if diff:
        raise ValueError(
            f"{path} holds a run with another config (old, new): {diff}. "
            "Use another --out/--tag, or delete the folder to start over."
        )


def _with_new_defaults(old: dict, config: Any) -> dict:
    """`old` plus the defaults of config fields added since it was written (runs stay resumable)."""
    if not dataclasses.is_dataclass(config):
        return old
    added = {
        f.name: f.default
        for f in dataclasses.fields(config)
        if f.name not in old and f.default is not dataclasses.MISSING
    }
    return {**old, **added}


def finished_steps(path: str | Path) -> int | None:
    """The agent steps of a finished run (its result.json), or None while it is unfinished."""
    result_file = Path(path) / RESULT
    if not result_file.exists():
        return None
    result = json.loads(result_file.read_text())
    return int(result["steps"]) if result.get("completed", False) else None


def verified_bytes(path: str | Path) -> bytes:
    """A checkpoint file's bytes after checking its sha256; CheckpointError says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    data = path.read_bytes()
    digest_file = path.with_suffix(".pt.sha256")
    pending = path.with_suffix(".pt.sha256.new")  # written just before the data it describes
    valid = {f.read_text().strip() for f in (digest_file, pending) if f.exists()}
    if valid and hashlib.sha256(data).hexdigest() not in valid:
        raise CheckpointError(
            f"{path} is corrupted or truncated (sha256 differs from {digest_file.name}); "
            "delete it to restart from scratch or restore it from a copy"
        )
    return data


def load_checkpoint_file(path: str | Path) -> dict:
    """Load a checkpoint after checking its sha256; CheckpointError says what is wrong."""
    data = verified_bytes(path)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"{path} cannot be loaded ({type(exc).__name__}: {exc})") from exc


def load_runs(root: str | Path, log: str = "evals.csv") -> pd.DataFrame:
    """One tidy DataFrame of `log` across every run folder under `root`, with config columns
    (and `kind`, the run kind; None for a folder that is not a training run)."""
    frames = []
    for cfg_file in sorted(Path(root).glob("**/config.json")):
        path = cfg_file.parent / log
        if not path.exists() or not path.stat().st_size:
            continue
        df = pd.read_csv(path)
        config = json.loads(cfg_file.read_text())
        for key in (
            "game",
            "model",
            "seed",
            "tag",
            "distill",
            "strategy",
            "sampler",
            "space",
            "method",
            "arch_index",
        ):
            if key in config:
                df[key] = config[key]
        df["kind"] = _kind_or_none(config)
        df["run"] = cfg_file.parent.name
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _kind_or_none(config: dict) -> str | None:
    """The run kind of a config.json, None when it is no run kind's (e.g. a notebook job)."""
    try:
        return kind_of(config)
    except (TypeError, ValueError):
        return None

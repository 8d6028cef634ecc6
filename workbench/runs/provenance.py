"""What produced a result: package versions, git commit, host, time (written beside results)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = (
    "torch", "numpy", "gymnasium", "ale-py", "envpool", "pandas", "plotly", "kaleido", "papermill",
    "workbench",
)  # fmt: skip


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None when missing."""
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(root: str | Path = ".") -> dict[str, str | bool | None]:
    """The commit of the repository at `root` and whether the work tree has changes."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment_info(root: str | Path = ".") -> dict:
    """Everything needed to say where and with what a result was produced."""
    return {
        "time_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        **_training_device(),
        "packages": package_versions(),
        "process": process_settings(),
        "git": git_commit(root),
    }


PROCESS_VARIABLES = (
    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "WORKBENCH_OMP_SPIN",
    "WORKBENCH_MALLOC", "WORKBENCH_CHANNELS_LAST", "WORKBENCH_DEVICE",
)  # fmt: skip
"""Environment variables that change how fast (not what) a run computes."""


def process_settings() -> dict:
    """torch's thread count and the speed-related variables this process runs with (unset: None)."""
    import torch

    return {"torch_threads": torch.get_num_threads(),
            **{k: os.environ.get(k) for k in PROCESS_VARIABLES}}  # fmt: skip


def cpu_model() -> str:
    """CPU model and torch's SIMD level: one 2-core VM measured 2x apart on two hosts."""
    import torch

    name = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({torch.backends.cpu.get_cpu_capability()})"


def _training_device() -> dict:
    """The device training runs its networks on ($WORKBENCH_DEVICE; the CPU by default)."""
    from workbench.device import device_info, train_device

    try:
        return device_info(train_device())
    except ValueError as exc:
        return {"device": f"unusable: {exc}"}

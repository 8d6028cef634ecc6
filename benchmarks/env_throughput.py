"""Preprocessed Atari throughput of envpool vs gymnasium sync vs gymnasium async.

Measures agent steps per second (each step = 4 emulator frames, DQN preprocessing, training mode,
random actions) through `workbench.envs.make_atari_env`, so the VecEnv adapter cost is included.
Backends are measured interleaved (A, B, C, A, B, C, ...) because the machine is noisy; each
measurement builds a fresh env, warms it up untimed, then times `--steps` agent steps.

    python benchmarks/env_throughput.py [--game Breakout] [--num-envs 8]
                                        [--steps 4000] [--repeats 3]

Writes reports/benchmarks/env_throughput.json (all runs, medians, machine info, the command)
and env_throughput.md (a small table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from workbench.envs import available_backends, make_atari_env  # noqa: E402

CONFIGS = {  # name -> make_atari_env keywords
    "envpool": dict(backend="envpool"),
    "gymnasium-sync": dict(backend="gymnasium", vectorization="sync"),
    "gymnasium-async": dict(backend="gymnasium", vectorization="async"),
}
BASELINE = "gymnasium-sync"
FRAME_SKIP = 4
WARMUP_STEPS = 50  # batched steps before timing


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4000, help="agent steps (all envs) per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per backend, interleaved")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "reports" / "benchmarks")
    return parser.parse_args()


def measure(config: dict, game: str, num_envs: int, steps: int, seed: int) -> float:
    """Agent steps per second of one fresh env over `steps` agent steps (setup not timed)."""
    with make_atari_env(game, num_envs, mode="train", seed=seed, **config) as env:
        rng = np.random.default_rng(seed)
        batches = max(1, steps // num_envs)
        actions = rng.integers(0, env.num_actions, (WARMUP_STEPS + batches, num_envs))
        env.reset()
        for a in actions[:WARMUP_STEPS]:
            env.step(a)
        start = time.perf_counter()
        for a in actions[WARMUP_STEPS:]:
            env.step(a)
        elapsed = time.perf_counter() - start
    return batches * num_envs / elapsed


class OtherCpuUse:
    """Share of the machine's CPU time used by *other* processes during a block (Linux only).

    The machine is shared: a run where others used a large share of the cores is not comparable
    to an idle one, so each run records this next to its speed.
    """

    fraction: float | None = None

    def __enter__(self) -> OtherCpuUse:
        self._start = (_machine_busy_seconds(), _own_cpu_seconds(), time.perf_counter())
        return self

    def __exit__(self, *exc_info: object) -> None:
        busy, own, wall = self._start
        machine_busy = _machine_busy_seconds()
        if machine_busy is not None and busy is not None:
            cores = os.cpu_count() or 1
            other = (machine_busy - busy) - (_own_cpu_seconds() - own)
            self.fraction = max(0.0, other) / ((time.perf_counter() - wall) * cores)


def _machine_busy_seconds() -> float | None:
    """Non-idle CPU seconds of all cores since boot, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except OSError:
        return None
    idle, iowait = fields[3], fields[4]
    return (sum(fields) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process, its threads and its reaped children (async workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def machine_info() -> dict:
    """CPU, OS, Python and package versions, for reading the numbers later."""
    packages = ["numpy", "gymnasium", "ale-py", "envpool", "opencv-python-headless", "torch"]
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": cores,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def write_markdown(path: Path, report: dict) -> None:
    """A small table of median steps/s per backend and the ratio to gymnasium-sync."""
    a = report["settings"]
    lines = [
        f"# Atari env throughput: {a['game']}, {a['num_envs']} envs, training mode",
        "",
        f"Agent steps/s (1 step = {FRAME_SKIP} frames, DQN preprocessing, random actions); "
        f"median of {a['repeats']} interleaved runs of {a['steps']} steps. "
        f"{report['machine']['usable_cpus']} usable CPUs, {report['machine']['platform']}, "
        f"{report['date']}.",
        "",
        f"| backend | steps/s (median) | frames/s | vs {BASELINE} | runs: steps/s "
        "(CPU share used by other processes) |",
        "|---|---:|---:|---:|---|",
    ]
    for name, r in report["results"].items():
        runs = ", ".join(
            f"{x:,.0f}" + ("" if o is None else f" ({o:.0%})")
            for x, o in zip(r["runs"], r["other_processes_cpu_share"], strict=True)
        )
        lines.append(
            f"| {name} | {r['median']:,.0f} | {r['median'] * FRAME_SKIP:,.0f} | "
            f"{r['ratio_to_baseline']:.2f}x | {runs} |"
        )
    lines += ["", f"Command: `{report['command']}`", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    """Run the interleaved measurements and write the JSON and Markdown reports."""
    args = parse_args()
    configs = {k: v for k, v in CONFIGS.items() if v["backend"] in available_backends()}
    runs: dict[str, list[float]] = {name: [] for name in configs}
    others: dict[str, list[float | None]] = {name: [] for name in configs}
    for repeat in range(args.repeats):
        for name, config in configs.items():
            with OtherCpuUse() as other:
                rate = measure(config, args.game, args.num_envs, args.steps, args.seed + repeat)
            runs[name].append(rate)
            others[name].append(other.fraction)
            print(f"run {repeat + 1}/{args.repeats} {name:16s} {rate:8,.0f} steps/s", flush=True)
    medians = {name: statistics.median(r) for name, r in runs.items()}
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k != "out_dir"},
        "unit": "agent steps per second (each 4 frames)",
        "results": {
            name: {
                "median": medians[name],
                "ratio_to_baseline": medians[name] / medians[BASELINE],
                "runs": runs[name],
                "other_processes_cpu_share": others[name],
            }
            for name in runs
        },
        "baseline": BASELINE,
        "machine": machine_info(),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "env_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(args.out_dir / "env_throughput.md", report)
    for name, r in report["results"].items():
        print(f"{name:16s} median {r['median']:8,.0f} steps/s  {r['ratio_to_baseline']:.2f}x")


if __name__ == "__main__":
    main()

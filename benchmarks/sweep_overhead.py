"""Sweep overhead: the same small grid with the local backend and with a local Ray cluster.

Runs the grid (by default 4 A2C trials on Breakout) into fresh run folders, once with
`--backend local` (a spawned worker process per trial) and once with `--backend ray` on a
single-node Ray started here with as many CPUs as the machine has, and reports wall-clock seconds
of each, Ray's start-up and shut-down separately, and the ratios. Trials are identical on both
sides (the results are checked to be equal), so the difference is the scheduler's overhead.

    python benchmarks/sweep_overhead.py [--trials 4] [--steps 2000] [--repeats 1]

Writes reports/benchmarks/sweep_overhead.json (all runs, machine info, the command) and
sweep_overhead.md (a small table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from workbench.experiments.grid import parse_grid  # noqa: E402
from workbench.experiments.sweep import run_sweep  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4, help="seeds 0..N-1 of one config")
    parser.add_argument("--steps", type=int, default=2000, help="agent steps per trial")
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1, help="runs per backend, interleaved")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "reports" / "benchmarks")
    return parser.parse_args()


def grid(args: argparse.Namespace) -> dict:
    """The benchmark grid: N seeds of a small vanilla A2C on Breakout (gymnasium backend)."""
    return {
        "job": "train",
        "preset": "smoke",
        "games": ["Breakout"],
        "models": ["vanilla"],
        "seeds": list(range(args.trials)),
        "overrides": {
            "total_steps": args.steps,
            "num_envs": args.num_envs,
            "checkpoint_interval": max(args.steps // 2, 1),
            "eval_interval": args.steps,
            "eval_episodes": 1,
            "backend": "gymnasium",
        },
        "resources": {"cpus": 1, "gpus": 0},
    }


def cpu_seconds() -> float:
    """CPU seconds of all cores since boot (busy, not idle), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    except OSError:
        return float("nan")
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def run_local(spec: dict, cores: int) -> dict:
    """One local-backend sweep into a fresh folder: seconds, per-trial seconds, results."""
    with tempfile.TemporaryDirectory() as runs:
        t0, busy0 = time.perf_counter(), cpu_seconds()
        summary = run_sweep(spec, runs, backend="local", max_concurrent=cores)
        seconds = time.perf_counter() - t0
        return _record(summary, seconds, cpu_seconds() - busy0, Path(runs))


def run_ray(spec: dict, cores: int) -> dict:
    """Start a local Ray with `cores` CPUs, run the sweep on it, shut it down; time each."""
    import ray

    with tempfile.TemporaryDirectory() as runs:
        t0, busy0 = time.perf_counter(), cpu_seconds()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        init = time.perf_counter() - t0
        t1 = time.perf_counter()
        summary = run_sweep(spec, runs, backend="ray")
        seconds = time.perf_counter() - t1
        t2 = time.perf_counter()
        ray.shutdown()
        shutdown = time.perf_counter() - t2
        record = _record(summary, seconds, cpu_seconds() - busy0, Path(runs))
        return {**record, "init_seconds": init, "shutdown_seconds": shutdown}


def _record(summary: pd.DataFrame, seconds: float, busy: float, runs: Path) -> dict:
    """What one sweep measured, with the final scores to check both sides agree."""
    if (summary["status"] != "done").any():
        raise RuntimeError(f"a trial failed: {summary.to_dict('records')}")
    evals = {run: (runs / run / "evals.csv").read_text() for run in summary["run"]}
    return {
        "sweep_seconds": seconds,
        "trial_seconds": [float(s) for s in summary["seconds"]],
        "machine_busy_cpu_seconds": busy,
        "final_scores": [float(s) for s in summary["final_score"]],
        "evals": evals,
    }


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict:
    """CPU, OS, Python and package versions."""
    versions = {}
    for name in ("torch", "ray", "gymnasium", "ale-py", "pandas"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "nice": os.nice(0),
    }


def write_markdown(path: Path, report: dict) -> None:
    """The table of wall-clock seconds per backend and the ratios."""
    s, m, r = report["settings"], report["machine"], report["results"]
    load = report["load_average_before"]
    lines = [
        f"# Sweep overhead: {s['trials']} trials, local processes vs a local Ray cluster",
        "",
        f"{s['trials']} A2C trials (vanilla, Breakout, {s['steps']:,} agent steps, "
        f"{s['num_envs']} envs, gymnasium backend, 1 CPU and 1 torch thread each) run by "
        f"`run_sweep` with each backend, {s['repeats']} interleaved repeat(s), medians. "
        f"Both sides ran {min(s['trials'], m['usable_cpus'] or 1)} trials at a time and gave "
        f"identical evals: {report['identical_results']}.",
        "",
        "| backend | sweep (s) | + Ray start and stop (s) | trial (s, median) | runs (s) |",
        "|---|---:|---:|---:|---|",
    ]
    for name in ("local", "ray"):
        runs = r[name]
        start_stop = (
            f"{runs['median_init_seconds'] + runs['median_shutdown_seconds']:.1f}"
            if name == "ray"
            else "-"
        )
        lines.append(
            f"| {name} | {runs['median_sweep_seconds']:.1f} | {start_stop} | "
            f"{runs['median_trial_seconds']:.1f} | "
            f"{', '.join(f'{x:.1f}' for x in runs['sweep_seconds'])} |"
        )
    lines += [
        "",
        f"Ray / local, sweep only: **{report['ratio_sweep']:.2f}x**; including Ray's start-up "
        f"and shut-down: **{report['ratio_with_start']:.2f}x**.",
        "",
        "Where the time goes: the local backend starts a fresh spawned interpreter for every trial "
        "(torch and the envs are imported again each time), so that a trial whose process dies "
        "takes down only itself; Ray starts worker processes as soon as it starts (partly inside "
        "the start-up time above) and reuses them from trial to trial. Both costs are seconds "
        "per trial, nothing against trials of the `paper` budget (hours each).",
        "",
        f"Machine: {m['usable_cpus']} usable CPUs ({m['processor']}), {m['platform']}, Python "
        f"{m['python']}, torch {m['packages']['torch']}, ray {m['packages']['ray']}; "
        f"{report['date']}.",
        "",
        f"**Measured under load.** {report['load_note']} Load average (1, 5, 15 min) before: "
        f"{', '.join(f'{x:.1f}' for x in load)}; after: "
        f"{', '.join(f'{x:.1f}' for x in report['load_average_after'])}. The benchmark ran at "
        f"nice {m['nice']}, so absolute seconds are far above an idle machine's; the ratio is "
        "the figure to read, and even it is noisy.",
        "",
        f"Command: `{report['command']}`",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    """Run both backends interleaved and write the JSON and Markdown reports."""
    args = parse_args()
    spec = grid(args)
    parse_grid(spec)  # fail before timing anything
    cores = min(args.trials, len(os.sched_getaffinity(0)))
    load_before = load_average()
    runs: dict[str, list[dict]] = {"local": [], "ray": []}
    for repeat in range(args.repeats):
        for name, fn in (("local", run_local), ("ray", run_ray)):
            runs[name].append(fn(spec, cores))
            print(f"run {repeat + 1}/{args.repeats} {name:5s} "
                  f"{runs[name][-1]['sweep_seconds']:7.1f} s", flush=True)  # fmt: skip
    results = {}
    for name, records in runs.items():
        results[name] = {
            "sweep_seconds": [x["sweep_seconds"] for x in records],
            "median_sweep_seconds": statistics.median(x["sweep_seconds"] for x in records),
            "median_trial_seconds": statistics.median(
                t for x in records for t in x["trial_seconds"]
            ),
            "machine_busy_cpu_seconds": [x["machine_busy_cpu_seconds"] for x in records],
            "final_scores": [x["final_scores"] for x in records],
        }
        if name == "ray":
            for key in ("init_seconds", "shutdown_seconds"):
                results[name][key] = [x[key] for x in records]
                results[name][f"median_{key}"] = statistics.median(x[key] for x in records)
    local, ray = results["local"], results["ray"]
    start_stop = ray["median_init_seconds"] + ray["median_shutdown_seconds"]
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k != "out_dir"},
        "grid": spec,
        "results": results,
        "ratio_sweep": ray["median_sweep_seconds"] / local["median_sweep_seconds"],
        "ratio_with_start": (ray["median_sweep_seconds"] + start_stop)
        / local["median_sweep_seconds"],
        "identical_results": all(
            a["evals"] == b["evals"] for a, b in zip(runs["local"], runs["ray"], strict=True)
        ),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "load_note": os.environ.get(
            "BENCH_LOAD_NOTE",
            "Other processes may have been running on the machine; see the load averages.",
        ),
        "machine": machine_info(),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "sweep_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(args.out_dir / "sweep_overhead.md", report)
    print(f"ray/local: {report['ratio_sweep']:.2f}x sweep only, "
          f"{report['ratio_with_start']:.2f}x with Ray's start and stop")  # fmt: skip


if __name__ == "__main__":
    main()

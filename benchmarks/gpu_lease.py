"""One GPU lease, one command: notebook 06's laptop searches and A2C throughput on the GPU.

For a machine with a CUDA GPU, run from the repository root (the workbench importable):
  python benchmarks/gpu_lease.py --out OUT [--deadline 470] [--long-steps 1000000]
It
1. trains 256 PPO steps on the GPU as a smoke check (and stops if that fails);
2. starts, each in its own process, the SPOS and ENAS searches of notebook 06's `laptop` plan
   with their proxies (SPOS: 25 x 10 test games with the supernet's weights), and a longer SPOS
   search of --long-steps (same settings otherwise) that is stopped at the deadline, so its
   metrics.csv shows whether the supernet's policy leaves uniform with more steps;
3. meanwhile runs `benchmarks/train_throughput.py --device cuda` on cores of its own;
4. packs the search run folders without their checkpoints into OUT/runs.tar.gz (the searches
   cache their proxies in ranking.csv / controller.csv, so notebook 06 needs no weights).
Everything it prints also goes to OUT/lease.log.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAME, SPACE, SEED = "Breakout", 1, 0
LOG: Path | None = None


def say(message: str) -> None:
    """Print with a timestamp, and keep it in OUT/lease.log."""
    line = f"[{time.strftime('%H:%M:%S')}] {message}"
    print(line, flush=True)
    if LOG is not None:
        with LOG.open("a") as f:
            f.write(line + "\n")


def laptop_search(method: str, long_steps: int = 0):
    """The plan of notebook 06 at `laptop` and one of its search configs (or the long SPOS)."""
    from workbench.oneshot.study import oneshot_plan, search_config
    from workbench.presets import get_preset

    plan = oneshot_plan(get_preset("laptop").for_study("oneshot"))
    cfg = search_config(plan, SPACE, GAME, method, SEED)
    if long_steps:
        cfg = dataclasses.replace(
            cfg, total_steps=long_steps, checkpoint_interval=100_000,
            eval_interval=long_steps, tag=f"{method}-laptop-{long_steps:.0e}".replace("+0", ""),
        )  # fmt: skip
    return plan, cfg


def child(method: str, runs: Path, long_steps: int) -> None:
    """One search process: train (resuming), then rank the plan's candidates."""
    from workbench.oneshot.search import search_proxy, train_oneshot
    from workbench.runs.folder import run_name

    plan, cfg = laptop_search(method, long_steps)
    path = runs / run_name(GAME, cfg.model, cfg.tag, cfg.seed)
    t0 = time.perf_counter()
    result = train_oneshot(cfg, path, progress=False)
    say(f"{path.name}: {result.steps:,} steps in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    proxy = search_proxy(path, plan.archs(SPACE), episodes=plan.eval_episodes)
    say(f"{path.name}: proxy of {len(proxy)} in {time.perf_counter() - t0:.0f} s\n{proxy}")


def smoke(runs: Path) -> None:
    """256 PPO steps of a tiny SPOS search on the GPU, then its ranking of two candidates."""
    from workbench.oneshot.config import OneShotConfig
    from workbench.oneshot.search import search_proxy, train_oneshot

    cfg = OneShotConfig(
        game=GAME, space=SPACE, total_steps=256, num_envs=4, rollout_length=32, epochs=1,
        minibatches=2, eval_interval=256, eval_episodes=1, checkpoint_interval=128,
        log_interval=128, tag="gpu-smoke",
    )  # fmt: skip
    train_oneshot(cfg, runs / "smoke", progress=False)
    say(f"smoke ok: {search_proxy(runs / 'smoke', [0, 17], episodes=1).to_dict('records')}")


def pack(runs: Path, out: Path) -> None:
    """The run folders without checkpoints, as one archive (the lease returns few files)."""
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for run in sorted(p for p in runs.iterdir() if p.is_dir() and p.name != "smoke"):
            for f in sorted(run.rglob("*")):
                if f.is_file() and "checkpoints" not in f.parts and not f.name.startswith("."):
                    tar.add(f, arcname=str(f.relative_to(runs)))
    say(f"packed {out / 'runs.tar.gz'} ({(out / 'runs.tar.gz').stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    global LOG
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=Path, default=Path("/tmp/lease-runs"))
    parser.add_argument("--deadline", type=float, default=470, help="seconds until packing")
    parser.add_argument("--long-steps", type=int, default=1_000_000)
    parser.add_argument("--throughput-steps", type=int, default=12_000)
    parser.add_argument("--child", choices=("spos", "enas"), help=argparse.SUPPRESS)
    parser.add_argument("--child-long", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs.mkdir(parents=True, exist_ok=True)
    LOG = args.out / "lease.log"
    if args.child:
        child(args.child, args.runs, args.child_long)
        return
    start = time.perf_counter()
    os.environ.setdefault("WORKBENCH_DEVICE", "cuda")
    say(f"device {os.environ['WORKBENCH_DEVICE']}, {os.cpu_count()} CPUs, python {sys.version}")
    smoke(args.runs)

    cores = len(os.sched_getaffinity(0))
    search_cores = ",".join(map(str, range(4, cores))) if cores > 8 else None
    jobs = {}
    for name, method, long in (("spos", "spos", 0), ("enas", "enas", 0),
                               ("spos-long", "spos", args.long_steps)):  # fmt: skip
        cmd = [sys.executable, __file__, "--out", str(args.out), "--runs", str(args.runs),
               "--child", method, "--child-long", str(long)]  # fmt: skip
        if search_cores:
            cmd = ["taskset", "-c", search_cores, *cmd]
        env = {**os.environ, "OMP_NUM_THREADS": "2"}
        jobs[name] = subprocess.Popen(cmd, cwd=ROOT, env=env)
        say(f"started {name}: {' '.join(cmd)}")

    throughput = [sys.executable, "benchmarks/train_throughput.py", "--device", "cuda",
                  "--steps", str(args.throughput_steps), "--repeats", "2",
                  "--models", "vanilla", "resnet20", "--out", str(args.out)]  # fmt: skip
    if search_cores:
        throughput = ["taskset", "-c", "0-3", *throughput]
    left = max(1.0, args.deadline - (time.perf_counter() - start))
    try:  # the searches come first: the benchmark gets what is left before the deadline
        t = subprocess.run(throughput, cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=left)  # fmt: skip
        say(f"throughput rc {t.returncode}\n{t.stdout[-4000:]}\n{t.stderr[-3000:]}")
    except subprocess.TimeoutExpired as exc:
        say(f"throughput stopped at the deadline\n{exc.stdout}")

    for name, job in jobs.items():
        left = args.deadline - (time.perf_counter() - start)
        try:
            job.wait(timeout=max(1.0, left))
            say(f"{name} finished, rc {job.returncode}")
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
            say(f"{name} stopped at the deadline ({args.deadline:.0f} s)")
    pack(args.runs, args.out)
    say(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

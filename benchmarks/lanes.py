"""Two 1-thread runs at once vs one 2-thread run: which trains more steps per second in all?

The laptop grids (examples/grids/laptop_*.yaml) ask for 1 CPU per trial, so `workbench sweep`
trains two runs at once on 2 cores. This measures whether that pays, per algorithm and model:
  one run    one training process with 2 torch threads
  two lanes  two training processes at once, 1 torch thread each (OMP_NUM_THREADS=1)
Each run trains `--steps` agent steps on Breakout in a fresh interpreter, into a temporary
folder; its rate is the training loop's own (metrics.csv's steps_per_s: start-up and the final
test excluded, which the lanes would otherwise overlap), and a side's rate is the sum over its
runs, which start together and train the same steps. The sides alternate over the repeats; the
median is reported, as the ratio two lanes / one run.
Usage: python benchmarks/lanes.py [--algo a2c ppo] [--models vanilla resnet20] [--steps 6000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import sys
from workbench.config import A2CConfig
from workbench.rl.a2c import train
from workbench.config import PPOConfig
from workbench.rl.ppo import train_ppo
algo, model, steps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
common = dict(game="Breakout", model=model, total_steps=steps, eval_interval=steps,
              eval_episodes=1, checkpoint_interval=steps, log_interval=steps, tag="lanes")
if algo == "a2c":
    train(A2CConfig(**common, num_envs=16, rollout_length=5), out, progress=False)
else:
    train_ppo(PPOConfig(**common), out, progress=False)
"""


def side(algo: str, model: str, steps: int, lanes: int) -> float:
    """Agent steps per second in all of `lanes` runs at once (2 // lanes threads each)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(2 // lanes)}
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", TRAIN, algo, model, str(steps), f"{tmp}/run{i}"], env=env
            )
            for i in range(lanes)
        ]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError(f"a {algo} {model} run failed")
        rates = [
            pd.read_csv(f"{tmp}/run{i}/metrics.csv")["steps_per_s"].iloc[-1] for i in range(lanes)
        ]
        return float(sum(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", nargs="+", default=["a2c", "ppo"], choices=("a2c", "ppo"))
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"])
    parser.add_argument("--steps", type=int, default=6000, help="agent steps per run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()

    from workbench.runs.provenance import environment_info

    rows = []
    for algo in args.algo:
        for model in args.models:
            runs: dict[str, list[float]] = {"one run": [], "two lanes": []}
            for _ in range(args.repeats):
                runs["one run"].append(side(algo, model, args.steps, 1))
                runs["two lanes"].append(side(algo, model, args.steps, 2))
            one, two = (statistics.median(runs[k]) for k in ("one run", "two lanes"))
            rows.append({"algo": algo, "model": model, "one_run": one, "two_lanes": two,
                         "ratio": two / one, "runs": runs})  # fmt: skip
            print(f"{algo} {model}: one run {one:.0f}, two lanes {two:.0f} steps/s "
                  f"({two / one:.2f}x)", flush=True)  # fmt: skip
    env = environment_info(ROOT)
    command = " ".join(["python", "benchmarks/lanes.py", *sys.argv[1:]])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lanes.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "settings": vars(args) | {"out": str(args.out)},
                "command": command,
                "environment": env,
            },
            indent=2,
        )  # fmt: skip
    )
    lines = [
        "# Two 1-thread runs at once vs one 2-thread run (Breakout)",
        "",
        "Agent steps/s in all (the training loops' own rates, summed); "
        f"{args.steps:,} steps per run, median of {args.repeats} alternating repeats; "
        f"{env['cpu_count']} CPUs, torch {env['packages']['torch']}. Command: `{command}`",
        "",
        "| algo | model | one run (2 threads) | two lanes (1 thread each) | two lanes / one run |",
        "|---|---|---:|---:|---:|",
        *(
            f"| {r['algo']} | {r['model']} | {r['one_run']:.0f} | {r['two_lanes']:.0f} | "
            f"{r['ratio']:.2f} |"
            for r in rows
        ),  # fmt: skip
        "",
    ]
    (args.out / "lanes.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

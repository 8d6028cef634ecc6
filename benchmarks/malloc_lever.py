"""glibc malloc tuned vs glibc's defaults for the whole A2C loop, side by side (issue 3).

`train_throughput.py`'s `ours` side (vanilla, Breakout, 16 envs), each run a fresh interpreter,
the variants interleaved: WORKBENCH_MALLOC=system (glibc's defaults: large tensors come from
fresh mmaps, zeroed page by page) vs tuned (the default of workbench.rl.allocator).
Usage: python benchmarks/malloc_lever.py [--repeats 5] [--steps 12000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from a2c_levers import ratio, time_variants

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    from workbench.runs.provenance import environment_info

    variants = {"system": {"WORKBENCH_MALLOC": "system"}, "tuned": {"WORKBENCH_MALLOC": "tuned"}}
    loop = time_variants(args.steps, args.repeats, variants)
    result = {
        "loop_vanilla": {**loop, "tuned_over_system": ratio(loop, "tuned", "system")},
        "command": " ".join(sys.argv),
        "environment": environment_info(ROOT),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "malloc_lever.json").write_text(json.dumps(result, indent=2))
    env = result["environment"]
    runs = loop["steps_per_s"]
    lines = [
        "# glibc malloc tuned vs its defaults: the whole A2C loop (issue 3)",
        "",
        f"Vanilla, Breakout, 16 envs, rollout 5; agent steps/s of {args.steps:,}-step runs, each "
        f"a fresh interpreter, {args.repeats} interleaved repeats; {env['cpu_count']} CPUs "
        f"({env['cpu']}), torch {env['packages']['torch']}. Command: `{result['command']}`",
        "",
        "| variant | runs (steps/s) | median |",
        "|---|---|---:|",
        *(f"| {k} | {', '.join(f'{x:.0f}' for x in runs[k])} | {loop['median'][k]:.0f} |"
          for k in variants),
        "",
        f"tuned / system = **{result['loop_vanilla']['tuned_over_system']}**",
    ]  # fmt: skip
    (args.out / "malloc_lever.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""libgomp's spin-waiting vs OMP_WAIT_POLICY=PASSIVE, side by side (issue 3).

After each parallel op torch's idle OpenMP threads spin for a while before they sleep; in the A2C
loop they then compete with envpool's workers for the same 2 cores. PASSIVE makes them sleep at
once, which may cost the network work its wake-ups. Measured on `train_throughput.py`'s sides,
each run a fresh interpreter, the two policies interleaved: the whole loop (`ours`) and the
network work alone (`nn_only`), for each model given.
Usage: python benchmarks/omp_wait_lever.py [--repeats 5] [--steps 8000] [--models vanilla resnet20]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from a2c_levers import ratio, time_variants

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"default": {}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"}}
SIDES = ("ours", "nn_only")
SLOW = {"vanilla": 1, "resnet20": 8}
"""Steps divisor per model, so each run takes about as long (resnet20 trains ~8x slower)."""


def render(result: dict) -> str:
    """The Markdown report of a measurement."""
    env, rows = result["environment"], result["rows"]
    gains = ", ".join(f"{r['model']} {r['side']} {r['passive_over_default']}x" for r in rows)
    lines = [
        "# OpenMP wait policy: libgomp's spinning default vs PASSIVE (issue 3)",
        "",
        f"Breakout, 16 envs, rollout 5; agent steps/s, each run a fresh interpreter, "
        f"{result['repeats']} interleaved repeats; `ours` is the whole A2C loop, `nn_only` its "
        f"network work without envs; {env['cpu_count']} CPUs ({env['cpu']}), 2 torch threads, "
        f"torch {env['packages']['torch']}. Command: `{result['command']}`",
        "",
        "| model | side | steps per run | default runs | passive runs | default | passive | "
        "passive / default |",
        "|---|---|---:|---|---|---:|---:|---:|",
        *(f"| {r['model']} | {r['side']} | {r['steps']:,} | "
          f"{', '.join(f'{x:.0f}' for x in r['steps_per_s']['default'])} | "
          f"{', '.join(f'{x:.0f}' for x in r['steps_per_s']['passive'])} | "
          f"{r['median']['default']:.0f} | {r['median']['passive']:.0f} | "
          f"**{r['passive_over_default']}** |" for r in rows),
        "",
        "The wait policy is process-wide and fixed when torch loads, so it cannot follow the "
        "model: the workbench keeps libgomp's default unless every loop measured gains "
        f"(here: {gains}).",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8_000, help="per vanilla run")
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"], choices=SLOW)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    from workbench.experiments.provenance import environment_info

    rows = []
    for model in args.models:
        steps = max(800, args.steps // SLOW[model])
        for side in SIDES:
            runs = time_variants(steps, args.repeats, VARIANTS, side, model)
            rows.append({"model": model, "side": side, "steps": steps, **runs,
                         "passive_over_default": ratio(runs, "passive", "default")})  # fmt: skip
    result = {"rows": rows, "repeats": args.repeats, "command": " ".join(sys.argv),
              "environment": environment_info(ROOT)}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "omp_wait_lever.json").write_text(json.dumps(result, indent=2))
    report = render(result)
    (args.out / "omp_wait_lever.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()

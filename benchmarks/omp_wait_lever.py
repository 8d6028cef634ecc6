"""libgomp's idle-thread waiting: its default spin, shorter spins, and PASSIVE, side by side.

After each parallel op torch's idle OpenMP threads spin before they sleep (GOMP_SPINCOUNT
iterations, 300,000 by default: milliseconds on a 2.4 GHz core); in the A2C loop they then compete
with envpool's workers for the same 2 cores. PASSIVE makes them sleep at once, which costs the
network work a wake-up per op; a short spin may keep both. Measured on `train_throughput.py`'s
sides, each run a fresh interpreter, the variants interleaved: the whole loop (`ours`) and the
network work alone (`nn_only`), for each model given.
Usage: python benchmarks/omp_wait_lever.py [--repeats 5] [--steps 8000] [--models vanilla resnet20]
           [--variants default spin-10k spin-30k passive]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from a2c_levers import ratio, time_variants

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "default": {},
    "spin-3k": {"GOMP_SPINCOUNT": "3000"},
    "spin-10k": {"GOMP_SPINCOUNT": "10000"},
    "spin-30k": {"GOMP_SPINCOUNT": "30000"},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
}
"""Environment variables per variant, over a base with no wait setting and the workbench's own
opted out (workbench.openmp.libgomp_environ): `default` is libgomp's own spin, which `import
workbench` otherwise shortens to spin-30k."""
SIDES = ("ours", "nn_only")
SLOW = {"vanilla": 1, "resnet20": 8}
"""Steps divisor per model, so each run takes about as long (resnet20 trains ~8x slower)."""


def render(result: dict) -> str:
    """The Markdown report of a measurement."""
    env, rows, names = result["environment"], result["rows"], result["variants"]
    others = [n for n in names if n != "default"]
    lines = [
        "# OpenMP idle-thread waiting: libgomp's default spin vs shorter spins vs PASSIVE "
        "(issue 3)",
        "",
        f"Breakout, 16 envs, rollout 5; agent steps/s, each run a fresh interpreter, "
        f"{result['repeats']} interleaved repeats; `ours` is the whole A2C loop, `nn_only` its "
        f"network work without envs; {env['cpu_count']} CPUs ({env['cpu']}), 2 torch threads, "
        f"torch {env['packages']['torch']}. Variants: "
        + "; ".join(f"`{n}` {' '.join(f'{k}={v}' for k, v in VARIANTS[n].items()) or 'as is'}"
                    for n in names)
        + f". Command: `{result['command']}`",
        "",
        "| model | side | steps per run | " + " | ".join(f"{n} runs" for n in names) + " | "
        + " | ".join(f"{n} / default" for n in others) + " |",
        "|---|---|---:|" + "---|" * len(names) + "---:|" * len(others),
        *(f"| {r['model']} | {r['side']} | {r['steps']:,} | "
          + " | ".join(", ".join(f"{x:.0f}" for x in r["steps_per_s"][n]) for n in names) + " | "
          + " | ".join(f"**{r['over_default'][n]}**" for n in others) + " |" for r in rows),
        "",
        "Ratios are of medians. The wait settings are process-wide and fixed when torch loads "
        "libgomp, so they cannot follow the model: a setting is worth adopting only where every "
        "row gains or holds.",
        *(["", result["note"]] if result.get("note") else []),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8_000, help="per vanilla run")
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"], choices=SLOW)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS,
                        default=["default", "spin-10k", "spin-30k", "passive"])  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    parser.add_argument("--render", type=Path, help="only redraw the report of this JSON")
    args = parser.parse_args()
    if args.render:
        (args.out / "omp_wait_lever.md").write_text(render(json.loads(args.render.read_text())))
        return
    if "default" not in args.variants:
        parser.error("--variants must include default (the ratios' baseline)")
    from workbench.openmp import libgomp_environ
    from workbench.runs.provenance import environment_info

    base = libgomp_environ()
    variants = {n: VARIANTS[n] for n in args.variants}
    rows = []
    for model in args.models:
        steps = max(800, args.steps // SLOW[model])
        for side in SIDES:
            runs = time_variants(steps, args.repeats, variants, side, model, base)
            over = {n: ratio(runs, n, "default") for n in variants if n != "default"}
            rows.append({"model": model, "side": side, "steps": steps, **runs,
                         "over_default": over})  # fmt: skip
    result = {"rows": rows, "repeats": args.repeats, "variants": list(variants),
              "command": " ".join(sys.argv), "environment": environment_info(ROOT)}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "omp_wait_lever.json").write_text(json.dumps(result, indent=2))
    report = render(result)
    (args.out / "omp_wait_lever.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()

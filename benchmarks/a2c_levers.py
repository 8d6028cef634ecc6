"""Two levers on A2C throughput, each measured side by side (issue 3), as ratios.

1. Network work of one update (16 envs x rollout 5, no env), in one process, interleaved:
   keep    five acting forwards that keep their graphs, one backward through all five (our loop)
   batched five acting forwards in inference mode, then one forward and backward over all 80
2. The whole training loop (`train_throughput.py`'s `ours` side, each run a fresh interpreter,
   interleaved) with libgomp's default spin-waiting vs `OMP_WAIT_POLICY=PASSIVE`, which lets
   torch's idle OpenMP threads sleep at once and leave the cores to envpool's workers.
Usage: python benchmarks/a2c_levers.py [--updates 150] [--repeats 3] [--steps 12000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import torch
from interleaved import interleaved_seconds

from workbench.models import create_agent
from workbench.rl.losses import a2c_loss

ROOT = Path(__file__).resolve().parents[1]
NUM_ENVS, ROLLOUT, ACTIONS = 16, 5, 4


def nn_update(model: str, mode: str):
    """An update function doing one A2C update's network work the `mode` way."""
    torch.manual_seed(0)
    agent = create_agent(model, ACTIONS).train()
    opt = torch.optim.RMSprop(agent.parameters(), lr=1e-4, alpha=0.99, eps=1e-5)
    obs = torch.randint(0, 256, (ROLLOUT, NUM_ENVS, 4, 84, 84), dtype=torch.uint8)
    actions = torch.randint(0, ACTIONS, (ROLLOUT * NUM_ENVS,))
    returns = torch.randn(ROLLOUT * NUM_ENVS)

    def update() -> None:
        if mode == "keep":
            outs = [agent(obs[t]) for t in range(ROLLOUT)]
            logits = torch.cat([o[0] for o in outs])
            values = torch.cat([o[1] for o in outs])
        else:
            with torch.inference_mode():
                for t in range(ROLLOUT):
                    agent(obs[t])
            logits, values = agent(obs.flatten(0, 1))
        loss = a2c_loss(logits, values, actions, returns, entropy_coef=0.01)
        opt.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
        opt.step()

    return update


def time_nn(models: list[str], updates: int, repeats: int) -> dict:
    """Milliseconds per update, median over interleaved repeats."""
    sides = {(m, mode): nn_update(m, mode) for m in models for mode in ("keep", "batched")}
    for fn in sides.values():
        for _ in range(5):
            fn()
    seconds = interleaved_seconds(
        sides, repeats, lambda key: updates if key[0] == "vanilla" else max(10, updates // 8)
    )
    samples = {key: [1000 * s for s in runs] for key, runs in seconds.items()}
    out = {}
    for m in models:
        keep = statistics.median(samples[(m, "keep")])
        batched = statistics.median(samples[(m, "batched")])
        out[m] = {"keep_ms": round(keep, 2), "batched_ms": round(batched, 2),
                  "keep_over_batched": round(keep / batched, 3)}  # fmt: skip
    return out


def loop_rate(
    steps: int, env: dict, side: str = "ours", model: str = "vanilla", base: dict | None = None
) -> float:
    """A `train_throughput.py` side's steps/s (default `ours`, vanilla: the whole training loop)
    in a fresh interpreter, with extra environment variables over `base` (default: this
    process's environment)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--side", side,
         "--model", model, "--steps", str(steps)],
        capture_output=True, text=True, cwd=ROOT,
        env={**(os.environ if base is None else base), **env},
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"]


def time_variants(
    steps: int,
    repeats: int,
    variants: dict[str, dict],
    side: str = "ours",
    model: str = "vanilla",
    base: dict | None = None,
) -> dict:
    """A side's steps/s per variant (its extra environment variables over `base`), interleaved
    fresh runs."""
    samples: dict = {k: [] for k in variants}
    for r in range(repeats):
        for name, env in variants.items():
            samples[name].append(loop_rate(steps, env, side, model, base))
            rate = samples[name][-1]
            print(f"repeat {r}: {side} {model} {name:12s} {rate:7.0f} steps/s", flush=True)
    return {"steps_per_s": {k: [round(x, 1) for x in v] for k, v in samples.items()},
            "median": {k: round(statistics.median(v), 1) for k, v in samples.items()}}  # fmt: skip


def ratio(loop: dict, numerator: str, denominator: str) -> float:
    """Median steps/s of one variant over another's."""
    runs = loop["steps_per_s"]
    return round(statistics.median(runs[numerator]) / statistics.median(runs[denominator]), 3)


def time_loop(steps: int, repeats: int) -> dict:
    """Loop steps/s with libgomp's own spin and with OMP_WAIT_POLICY=PASSIVE, interleaved."""
    from workbench.openmp import libgomp_environ

    variants = {"default": {}, "omp_passive": {"OMP_WAIT_POLICY": "PASSIVE"}}
    # the children's `import workbench` would shorten the spin of `default`: opt them out
    loop = time_variants(steps, repeats, variants, base=libgomp_environ())
    return {**loop, "passive_over_default": ratio(loop, "omp_passive", "default")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    from workbench.runs.provenance import environment_info

    nn = time_nn(args.models, args.updates, args.repeats)
    print(json.dumps(nn, indent=1), flush=True)
    loop = time_loop(args.steps, args.repeats)
    result = {
        "nn_per_update": nn,
        "loop_vanilla": loop,
        "command": " ".join(sys.argv),
        "threads": torch.get_num_threads(),
        "environment": environment_info(ROOT),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "a2c_levers.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result["loop_vanilla"], indent=1))


if __name__ == "__main__":
    main()

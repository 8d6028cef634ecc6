"""Compiler and memory-layout levers on A2C's network work and loop (issue 3), as ratios.

1. One update's network work without envs (16 envs x rollout 5): five acting forwards on 16
   frames that keep their graphs, the A2C loss, one backward through all five, grad-norm
   clipping and RMSProp. Sides, in one process and interleaved, median of the repeats, as
   ratios to `nchw`:
     nchw       frames and weights in PyTorch's default NCHW memory format
     input_cl   frames in NHWC (channels_last) memory, weights as they are: what ActorCritic
                does unless WORKBENCH_CHANNELS_LAST=0
     full_cl    frames and weights in NHWC
     compile    nchw with the agent wrapped in torch.compile (inductor, default mode)
     compile+cl full_cl and torch.compile
2. The whole vanilla training loop (`train_throughput.py`'s `ours` side, each run a fresh
   interpreter, interleaved) with WORKBENCH_CHANNELS_LAST=0 and =1.
Usage: python benchmarks/nn_levers.py [--updates 100] [--repeats 3] [--loop-steps 12000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from interleaved import interleaved_seconds

from workbench.models import actor_critic, create_agent
from workbench.rl.losses import a2c_loss

ROOT = Path(__file__).resolve().parents[1]
NUM_ENVS, ROLLOUT, ACTIONS = 16, 5, 4
SIDES = ("nchw", "input_cl", "full_cl", "compile", "compile+cl")


def nn_update(model: str, side: str):
    """An update function doing one A2C update's network work with `side`'s levers."""
    torch.manual_seed(0)
    agent = create_agent(model, ACTIONS).train()
    obs = torch.randint(0, 256, (ROLLOUT, NUM_ENVS, 4, 84, 84), dtype=torch.uint8)
    if side in ("full_cl", "compile+cl"):
        agent = agent.to(memory_format=torch.channels_last)
    params = list(agent.parameters())
    net = torch.compile(agent) if side.startswith("compile") else agent
    layout = side != "nchw" and side != "compile"  # frames in NHWC (ActorCritic.forward_features)
    opt = torch.optim.RMSprop(params, lr=1e-4, alpha=0.99, eps=1e-5)
    actions = torch.randint(0, ACTIONS, (ROLLOUT * NUM_ENVS,))
    returns = torch.randn(ROLLOUT * NUM_ENVS)

    def update() -> None:
        actor_critic.CHANNELS_LAST = layout
        outs = [net(obs[t]) for t in range(ROLLOUT)]
        logits = torch.cat([o[0] for o in outs])
        values = torch.cat([o[1] for o in outs])
        loss = a2c_loss(logits, values, actions, returns, entropy_coef=0.01)
        opt.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    return update


def time_sides(models: list[str], updates: int, repeats: int) -> dict:
    """Milliseconds per update per (model, side), median over interleaved repeats."""
    sides, warmup_s = {}, {}
    for m in models:
        for side in SIDES:
            fn = nn_update(m, side)
            t0 = time.perf_counter()
            for _ in range(3):  # compiles forward and backward on the first call
                fn()
            warmup_s[(m, side)] = time.perf_counter() - t0
            sides[(m, side)] = fn
            print(f"{m} {side}: warm-up {warmup_s[(m, side)]:.1f} s", flush=True)
    seconds = interleaved_seconds(
        sides, repeats, lambda key: updates if key[0] == "vanilla" else max(10, updates // 8)
    )
    samples = {key: [1000 * s for s in runs] for key, runs in seconds.items()}
    out: dict = {}
    for m in models:
        base = statistics.median(samples[(m, "nchw")])
        out[m] = {
            side: {
                "ms_per_update": round(statistics.median(samples[(m, side)]), 2),
                "speedup": round(base / statistics.median(samples[(m, side)]), 3),
                "runs_ms": [round(x, 2) for x in samples[(m, side)]],
                "warmup_s": round(warmup_s[(m, side)], 1),
            }
            for side in SIDES
        }
    return out


def time_loop(steps: int, repeats: int) -> dict:
    """Vanilla loop steps/s with WORKBENCH_CHANNELS_LAST=0 and =1, fresh interpreters."""
    from a2c_levers import ratio, time_variants

    variants = {
        "nchw": {"WORKBENCH_CHANNELS_LAST": "0"},
        "input_cl": {"WORKBENCH_CHANNELS_LAST": "1"},
    }
    loop = time_variants(steps, repeats, variants)
    return {**loop, "input_cl_over_nchw": ratio(loop, "input_cl", "nchw")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"])
    parser.add_argument("--loop-steps", type=int, default=12_000, help="0: skip the loop")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    from workbench.runs.provenance import environment_info

    result = {
        "nn_per_update": time_sides(args.models, args.updates, args.repeats),
        "loop_vanilla": time_loop(args.loop_steps, args.repeats) if args.loop_steps else None,
        "command": " ".join(sys.argv),
        "threads": torch.get_num_threads(),
        "environment": environment_info(ROOT),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nn_levers.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Network work of one A2C update (16 envs x rollout 5, no env): compiler and layout",
        "",
        "| model | side | ms / update | speed-up over nchw | warm-up (s) |",
        "|---|---|---:|---:|---:|",
    ]
    for m, sides in result["nn_per_update"].items():
        for side, r in sides.items():
            lines.append(f"| {m} | {side} | {r['ms_per_update']} | {r['speedup']}x "
                         f"| {r['warmup_s']} |")  # fmt: skip
    loop = result["loop_vanilla"]
    if loop:
        lines += [
            "",
            "Whole vanilla loop (train_throughput.py `ours`, fresh interpreters, interleaved): "
            f"NCHW {loop['median']['nchw']} steps/s, NHWC frames {loop['median']['input_cl']} "
            f"steps/s, **{loop['input_cl_over_nchw']}x** (runs: {loop['steps_per_s']}).",
        ]
    lines += [
        "",
        f"Median of {args.repeats} interleaved repeats; {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}. Command: `{' '.join(sys.argv)}`",
    ]
    (args.out / "nn_levers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

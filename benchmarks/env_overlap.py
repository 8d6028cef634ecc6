"""Does overlapping env stepping with acting pay on this machine? Side by side, one process.

Sides (interleaved over repeats; median reported), both acting with the `vanilla` agent (no-grad
forward + sampling) on Breakout with the training preprocessing, 16 envs in all:
  sync      one envpool pool of 16 envs: act on all 16, step all 16, repeat
  pipelined two pools of 8 (one worker thread each): act on half B while half A steps in
            envpool's thread, then act on A while B steps (the classic half-batch overlap)
If pipelining is no faster, the acting and stepping already keep the cores busy and a
synchronous A2C is bounded by the two rates in series (see train_throughput.py).
Usage: python benchmarks/env_overlap.py [--steps 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
GAME, NUM_ENVS = "Breakout", 16


def pool(num_envs: int, seed: int, threads: int | None = None):  # noqa: ANN201 (envpool type)
    """An envpool pool with exactly the workbench's training settings."""
    from workbench.envs import make_atari_env

    env = make_atari_env(GAME, num_envs, mode="train", backend="envpool", seed=seed,
                         num_threads=threads)  # fmt: skip
    return env._pool  # the raw pool: its send/recv API is what pipelining needs


def actor(agent: torch.nn.Module, generator: torch.Generator):  # noqa: ANN201
    """obs -> int32 actions sampled from the agent's policy."""

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits, _ = agent(torch.from_numpy(obs))
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1).numpy()

    return act


def side_sync(act, steps: int) -> float:  # noqa: ANN001
    env = pool(NUM_ENVS, seed=0)
    obs, _ = env.reset()
    t0 = time.perf_counter()
    for _ in range(steps):
        obs = env.step(act(obs).astype(np.int32))[0]
    rate = steps * NUM_ENVS / (time.perf_counter() - t0)
    env.close()
    return rate


def side_pipelined(act, steps: int) -> float:  # noqa: ANN001
    a, b = pool(NUM_ENVS // 2, seed=0, threads=1), pool(NUM_ENVS // 2, seed=1, threads=1)
    obs_a, _ = a.reset()
    obs_b, _ = b.reset()
    a.send(act(obs_a).astype(np.int32))
    t0 = time.perf_counter()
    for _ in range(steps):
        b.send(act(obs_b).astype(np.int32))  # act on B while A steps
        obs_a = a.recv()[0]
        a.send(act(obs_a).astype(np.int32))  # act on A while B steps
        obs_b = b.recv()[0]
    rate = steps * NUM_ENVS / (time.perf_counter() - t0)
    a.recv()
    a.close()
    b.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="vector steps per side and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()

    from workbench.models import create_agent
    from workbench.runs.provenance import environment_info

    torch.manual_seed(0)
    act = actor(create_agent("vanilla", 4).eval(), torch.Generator().manual_seed(0))
    sides = {"sync": side_sync, "pipelined": side_pipelined}
    for side in sides.values():  # warm-up: first pools, first forwards
        side(act, 20)
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(args.repeats):
        for name, side in sides.items():
            runs[name].append(side(act, args.steps))
            print(f"repeat {r}: {name:9s} {runs[name][-1]:7.0f} agent steps/s", flush=True)
    median = {name: statistics.median(rates) for name, rates in runs.items()}
    ratio = median["pipelined"] / median["sync"]
    env = environment_info(ROOT)
    result = {
        "game": GAME, "num_envs": NUM_ENVS, "steps": args.steps, "repeats": args.repeats,
        "runs": runs, "median": median, "pipelined_over_sync": round(ratio, 3),
        "command": " ".join(["python", *sys.argv]), "machine": platform.machine(),
        "environment": env,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "env_overlap.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# Acting while the envs step: sync vs half-batch pipelining ({GAME}, {NUM_ENVS} envs)",
        "",
        f"Agent steps/s of acting (vanilla, no-grad forward + sampling) and env stepping only, "
        f"median of {args.repeats} interleaved repeats of {args.steps} vector steps; "
        f"{env['cpu_count']} CPUs, torch {env['packages']['torch']}.",
        "",
        "| side | steps/s | runs |",
        "|---|---:|---|",
        *[f"| {n} | {median[n]:.0f} | {[round(x) for x in runs[n]]} |" for n in sides],
        "",
        f"pipelined / sync: **{ratio:.2f}x**",
        "",
        f"Command: `{result['command']}`",
    ]
    (args.out / "env_overlap.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""A2C training throughput, side by side: this workbench vs Stable-Baselines3, and two ceilings.

Sides (each in its own subprocess, interleaved over repeats; median reported):
  ours      workbench A2C (Breakout, 16 envs, rollout 5), steady-state agent steps/s
  sb3       SB3 A2C, CnnPolicy (the Nature CNN), 16 envs (DummyVecEnv + AtariWrapper), rollout 5
  env_only  preprocessed Breakout stepping with random actions, 16 envs, our default backend
  nn_only   the network work of one A2C update, no env: 5 acting forwards on 16 frames +
            forward/backward/RMSProp step on 80 frames; reported as agent steps/s
Each side reports its peak RSS. ours and nn_only run as the workbench sets up a process (glibc
malloc tuned, libgomp's idle spin shortened: workbench.rl.allocator, workbench.openmp); sb3 runs
as it comes (WORKBENCH_OMP_SPIN=libgomp). With --device cuda the networks of ours, sb3 and
nn_only run on the GPU (env stepping stays on the CPU) and the report is
train_throughput_cuda.{md,json}. Usage:
  python benchmarks/train_throughput.py [--steps 16000] [--repeats 2] [--models vanilla resnet20]
                                        [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAME, NUM_ENVS, ROLLOUT = "Breakout", 16, 5


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def side_ours(model: str, steps: int) -> float:
    import pandas as pd

    from workbench.config import A2CConfig
    from workbench.rl.a2c import train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = A2CConfig(
            game=GAME,
            model=model,
            total_steps=steps,
            num_envs=NUM_ENVS,
            rollout_length=ROLLOUT,
            eval_interval=10**12,
            eval_episodes=1,
            checkpoint_interval=10**12,
            log_interval=steps // 10,
        )
        train(cfg, Path(tmp) / "run", progress=False)
        m = pd.read_csv(Path(tmp) / "run" / "metrics.csv")
    # elapsed at each row = step / cumulative rate; steady state from the first row (10%) on
    elapsed = m["step"] / m["steps_per_s"]
    return float((m["step"].iloc[-2] - m["step"].iloc[0]) / (elapsed.iloc[-2] - elapsed.iloc[0]))


def side_sb3(model: str, steps: int) -> float:
    from sb3_baseline import make_sb3_a2c, make_sb3_env
    from stable_baselines3.common.callbacks import BaseCallback

    if model != "vanilla":
        raise SystemExit("sb3 side: only the Nature CNN (vanilla)")

    class Clock(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.marks: list[tuple[int, float]] = []

        def _on_step(self) -> bool:
            self.marks.append((self.num_timesteps, time.perf_counter()))
            return True

    from workbench.device import train_device

    clock = Clock()
    agent = make_sb3_a2c(make_sb3_env(seed=0), seed=0, device=str(train_device()))
    agent.learn(total_timesteps=steps, callback=clock)
    (s0, t0), (s1, t1) = clock.marks[len(clock.marks) // 10], clock.marks[-1]
    return (s1 - s0) / (t1 - t0)


def side_env_only(model: str, steps: int) -> float:
    import numpy as np

    from workbench.envs import make_atari_env

    env = make_atari_env(GAME, NUM_ENVS, mode="train", seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = steps // NUM_ENVS
    for _ in range(n // 10):
        env.step(rng.integers(0, env.num_actions, NUM_ENVS))
    t0 = time.perf_counter()
    for _ in range(n):
        env.step(rng.integers(0, env.num_actions, NUM_ENVS))
    rate = n * NUM_ENVS / (time.perf_counter() - t0)
    env.close()
    return rate


def side_nn_only(model: str, steps: int) -> float:
    import torch

    from workbench.device import train_device
    from workbench.models import create_agent
    from workbench.rl.allocator import tune_malloc
    from workbench.rl.losses import a2c_loss

    tune_malloc()  # the allocator `ours` trains with, so the ceiling is its own
    device = train_device()
    agent = create_agent(model, 4).train().to(device)
    opt = torch.optim.RMSprop(agent.parameters(), lr=1e-3, alpha=0.99, eps=1e-5)
    obs = torch.randint(0, 256, (ROLLOUT, NUM_ENVS, 4, 84, 84), dtype=torch.uint8)
    actions = torch.randint(0, 4, (ROLLOUT * NUM_ENVS,), device=device)
    returns = torch.randn(ROLLOUT * NUM_ENVS, device=device)

    def update() -> None:
        for t in range(ROLLOUT):  # acting: each step's frames go to the device, logits come back
            with torch.no_grad():
                agent(obs[t].to(device))[0].cpu()
        logits, values = agent(obs.flatten(0, 1).to(device))
        loss = a2c_loss(logits, values, actions, returns, entropy_coef=0.01)
        opt.zero_grad()
        loss.total.backward()
        opt.step()

    n = max(5, steps // (ROLLOUT * NUM_ENVS))
    for _ in range(max(2, n // 10)):
        update()
    t0 = time.perf_counter()
    for _ in range(n):
        update()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * ROLLOUT * NUM_ENVS / (time.perf_counter() - t0)


SIDES = {"ours": side_ours, "sb3": side_sb3, "env_only": side_env_only, "nn_only": side_nn_only}


def serial_bound(env_rate: float, nn_rate: float) -> float:
    """Steps/s when env stepping and network work take turns on the same cores."""
    return 1.0 / (1.0 / env_rate + 1.0 / nn_rate)


def run_side(side: str, model: str, steps: int, device: str = "cpu") -> dict:
    """Run one side in a fresh interpreter; return its rate and peak RSS. SB3 runs with
    libgomp's own wait settings, as it comes; the others with this process's environment, whose
    `import workbench` shortened the spin."""
    from workbench.openmp import libgomp_environ

    base = libgomp_environ() if side == "sb3" else dict(os.environ)
    out = subprocess.run(
        [sys.executable, __file__, "--side", side, "--model", model, "--steps", str(steps)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, "WORKBENCH_DEVICE": device},
    )
    if out.returncode:
        raise RuntimeError(f"{side}/{model} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["vanilla", "resnet20"])
    parser.add_argument("--device", default="cpu", help="where the networks run: cpu or cuda")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    if args.side:  # child process
        rate = SIDES[args.side](args.model, args.steps)
        print(json.dumps({"steps_per_s": rate, "peak_rss_mb": peak_rss_mb()}))
        return

    from workbench.device import device_info, train_device
    from workbench.envs.backends import available_backends
    from workbench.runs.provenance import environment_info

    torch_device = train_device(args.device)
    device = device_info(torch_device)
    suffix = "" if torch_device.type == "cpu" else f"_{torch_device.type}"
    where = device.get("gpu", "no GPU")

    plan = [(s, m) for m in args.models for s in SIDES if not (s == "sb3" and m != "vanilla")]
    samples: dict[tuple[str, str], list[dict]] = {k: [] for k in plan}
    for r in range(args.repeats):
        for side, model in plan:
            res = run_side(side, model, args.steps, args.device)
            samples[(side, model)].append(res)
            print(
                f"repeat {r}: {side:8s} {model:9s} {res['steps_per_s']:8.0f} steps/s "
                f"{res['peak_rss_mb']:7.0f} MB",
                flush=True,
            )
    rows = []
    for (side, model), res in samples.items():
        rows.append(
            {
                "side": side,
                "model": model,
                "steps_per_s": statistics.median(r["steps_per_s"] for r in res),
                "all_steps_per_s": [round(r["steps_per_s"], 1) for r in res],
                "peak_rss_mb": max(r["peak_rss_mb"] for r in res),
            }
        )
    by = {(r["side"], r["model"]): r["steps_per_s"] for r in rows}
    ratios = {}
    for model in args.models:
        ours = by[("ours", model)]
        env, nn = by[("env_only", model)], by[("nn_only", model)]
        ratios[model] = {
            "ours_over_lower_ceiling": round(ours / min(env, nn), 3),
            # a synchronous A2C steps the envs, then runs the network: the two rates in series
            # (ours keeps the acting graphs instead of a second forward: it may pass this where
            # that is less network work, as on resnet20)
            "serial_bound_over_lower_ceiling": round(serial_bound(env, nn) / min(env, nn), 3),
            "ours_over_serial_bound": round(ours / serial_bound(env, nn), 3),
        }
        if ("sb3", model) in by:
            ratios[model]["ours_over_sb3"] = round(ours / by[("sb3", model)], 3)
    result = {
        "game": GAME,
        "num_envs": NUM_ENVS,
        "rollout_length": ROLLOUT,
        "steps_per_side": args.steps,
        "repeats": args.repeats,
        "rows": rows,
        "ratios": ratios,
        "command": " ".join(sys.argv),
        "machine": platform.processor() or platform.machine(),
        **device,
        "environment": environment_info(ROOT),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"train_throughput{suffix}.json").write_text(json.dumps(result, indent=2))
    env = result["environment"]
    lines = [
        f"# A2C training throughput ({GAME}, {NUM_ENVS} envs, rollout {ROLLOUT})",
        "",
        f"Agent steps/s (1 step = 4 frames), median of {args.repeats} interleaved repeats of "
        f"{args.steps:,} steps per side; {env['cpu_count']} CPUs ({env['cpu']}), "
        f"networks on {device['device']} ({where}), env backend "
        f"{'envpool' if 'envpool' in available_backends() else 'gymnasium'}, "
        f"torch {env['packages']['torch']}. Command: `{result['command']}`",
        "",
        "| side | model | steps/s | runs | peak RSS (MB) |",
        "|---|---|---:|---|---:|",
    ]
    lines += [
        f"| {r['side']} | {r['model']} | {r['steps_per_s']:.0f} | {r['all_steps_per_s']} | "
        f"{r['peak_rss_mb']:.0f} |"
        for r in rows
    ]
    lines += ["", "| model | ratio | value |", "|---|---|---:|"]
    lines += [f"| {m} | {k} | {v} |" for m, d in ratios.items() for k, v in d.items()]
    lines += [
        "",
        "`serial_bound` = 1 / (1/env_only + 1/nn_only): env stepping and nn_only's network work "
        "(no-grad acting forwards, then forward and backward over the rollout) taking turns, as "
        "in a synchronous A2C; overlapping the two phases did not pay on 2 cores "
        "(`env_overlap.md`). Our loop keeps the acting forwards' graphs and skips the second "
        "forward: less network work than nn_only on resnet20, so it can pass this bound there, "
        "and about 8% more on the Nature CNN (`a2c_levers.md`).",
        "",
        "ours and nn_only run as the workbench sets up a process: glibc malloc tuned "
        "(`malloc_lever.md`) and libgomp's idle spin shortened to GOMP_SPINCOUNT=30000 "
        "(`omp_wait_lever.md`); sb3 runs as it comes (libgomp's default spin, glibc's malloc).",
    ]
    (args.out / f"train_throughput{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

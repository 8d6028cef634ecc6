"""Learning check, side by side: this workbench's A2C (or PPO) vs Stable-Baselines3's.

Nature CNN, Breakout, the same budget and settings, N seeds each. A2C: 16 envs, rollout 5, gamma
0.99, entropy 1e-2, RMSProp lr 1e-3, 1/2-MSE value loss, grad clip 0.5 (issue 3). PPO
(`--algo ppo`, issue 7): the Atari PPOConfig, 8 envs x 128 steps, 4 epochs of 4 minibatches,
clip 0.1, Adam 2.5e-4 cosine-annealed (benchmarks/sb3_baseline.make_sb3_ppo; SB3 clips the value
prediction only, the workbench takes the max of clipped and unclipped losses as baselines does).
Both are scored by the same 30-game test protocol (workbench.rl.evaluation: full games, random
no-op starts, raw scores, sampled actions), plus a random policy. Finished runs are skipped, and
runs train in ten segments with a checkpoint after each, so a killed check resumes: the
workbench side exactly, SB3's from its saved model (its envs restart at the resume).
Usage: python benchmarks/learning_check.py [--algo a2c] [--steps 500000] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
GAME, NUM_ENVS, ROLLOUT, EPISODES = "Breakout", 16, 5, 30
SEGMENTS = 10


class SB3Agent(nn.Module):
    """An SB3 ActorCriticPolicy seen as a workbench agent: uint8 frames -> (logits, values)."""

    def __init__(self, policy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist = self.policy.get_distribution(obs)
        return dist.distribution.logits, self.policy.predict_values(obs).squeeze(-1)


class RandomAgent(nn.Module):
    """Uniform random policy (equal logits)."""

    def __init__(self, num_actions: int) -> None:
        super().__init__()
        self.num_actions = num_actions

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(obs.shape[0], self.num_actions), torch.zeros(obs.shape[0])


def run_ours(algo: str, seed: int, steps: int, out: Path) -> dict:
    from workbench.config import A2CConfig, PPOConfig
    from workbench.rl.a2c import train
    from workbench.rl.ppo import train_ppo

    common = dict(
        game=GAME, model="vanilla", total_steps=steps, seed=seed, eval_interval=steps,
        eval_episodes=EPISODES, checkpoint_interval=max(steps // SEGMENTS, 1),
        log_interval=10_000, tag="check",
    )  # fmt: skip
    folder = out / (f"ours_s{seed}" if algo == "a2c" else f"ppo_ours_s{seed}")
    t0 = time.perf_counter()
    if algo == "a2c":
        cfg = A2CConfig(**common, num_envs=NUM_ENVS, rollout_length=ROLLOUT)
        result = train(cfg, folder, progress=False)
    else:
        result = train_ppo(PPOConfig(**common), folder, progress=False)
    last = result.evals.iloc[-1]
    episodes = folder / "episodes.csv"
    curve = (
        pd.read_csv(episodes)[["step", "return"]]
        if episodes.exists()
        else pd.DataFrame({"step": [], "return": []})
    )
    return {
        "side": "workbench",
        "seed": seed,
        "seconds": time.perf_counter() - t0,
        "threads": torch.get_num_threads(),
        "scores": [float(x) for x in str(last["scores"]).split()],
        "curve": curve.to_dict(orient="list"),
    }


def run_sb3(algo: str, seed: int, steps: int, out: Path) -> dict:
    from sb3_baseline import a2c_lr, make_sb3_a2c, make_sb3_env, make_sb3_ppo, ppo_lr, use_schedule
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import BaseCallback

    from workbench.rl.evaluation import evaluate

    class Episodes(BaseCallback):
        def __init__(self, rows: dict[str, list]) -> None:
            super().__init__()
            self.rows = rows

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # Monitor sits below AtariWrapper: full-game raw score
                    self.rows["step"].append(self.num_timesteps)
                    self.rows["return"].append(float(info["episode"]["r"]))
            return True

    prefix = "" if algo == "a2c" else "ppo_"
    model_file = out / f"{prefix}sb3_s{seed}.zip"
    partial = out / f"{prefix}sb3_s{seed}_{steps}.partial.json"
    env = make_sb3_env(seed, num_envs=NUM_ENVS if algo == "a2c" else 8)
    rows, seconds = None, 0.0
    if partial.exists():  # a killed run: its model and curve after the last finished segment
        saved = json.loads(partial.read_text())
        rows, seconds = saved["curve"], saved["seconds"]
        agent = (A2C if algo == "a2c" else PPO).load(model_file, env=env, device="cpu")
        use_schedule(agent, a2c_lr if algo == "a2c" else ppo_lr, steps)
    elif algo == "a2c":
        agent = make_sb3_a2c(env, seed, total_steps=steps)
    else:
        agent = make_sb3_ppo(env, seed, steps)
    rows = rows or {"step": [], "return": []}
    segment = max(steps // SEGMENTS, 1)
    while agent.num_timesteps < steps:
        t0 = time.perf_counter()
        chunk = min(segment, steps - agent.num_timesteps)
        agent.learn(total_timesteps=chunk, callback=Episodes(rows), reset_num_timesteps=False)
        seconds += time.perf_counter() - t0
        agent.save(model_file, exclude=["learning_rate", "lr_schedule"])  # closures
        partial.write_text(json.dumps({"curve": rows, "seconds": seconds}))
    result = evaluate(
        SB3Agent(agent.policy), GAME, episodes=EPISODES, seed=seed * 1_000 + 1, backend="gymnasium"
    )
    return {
        "side": "sb3",
        "seed": seed,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "scores": result.scores,
        "curve": rows,
    }


def run_random(algo: str, seed: int, steps: int, out: Path) -> dict:
    from workbench.envs import make_atari_env
    from workbench.rl.evaluation import evaluate

    with make_atari_env(GAME, 1, mode="eval", backend="gymnasium") as env:
        n = env.num_actions
    result = evaluate(RandomAgent(n), GAME, episodes=EPISODES, seed=seed, backend="gymnasium")
    return {
        "side": "random",
        "seed": seed,
        "seconds": 0.0,
        "scores": result.scores,
        "curve": {"step": [], "return": []},
    }


SIDES = {"workbench": run_ours, "sb3": run_sb3, "random": run_random}


def report(algo: str, results: list[dict], steps: int, out_dir: Path) -> None:
    import plotly.graph_objects as go

    from workbench.runs.provenance import environment_info

    name = "learning_check" if algo == "a2c" else f"learning_check_{algo}"

    rows = [
        {
            "side": r["side"],
            "seed": r["seed"],
            "test_mean": np.mean(r["scores"]),
            "test_std": np.std(r["scores"]),
            "min": np.min(r["scores"]),
            "max": np.max(r["scores"]),
            "train_minutes": round(r["seconds"] / 60, 1),
            "threads": r.get("threads", ""),  # not recorded before 2026-11-22
        }
        for r in results
    ]
    table = pd.DataFrame(rows).round(2)
    summary = table.groupby("side")["test_mean"].agg(["mean", "std", "count"]).round(2)
    setup = "16 envs, rollout 5" if algo == "a2c" else "8 envs x 128 steps, 4x4 minibatches"
    caption = (
        f"{GAME}, Nature CNN, {steps:,} agent steps (4 frames each) per run, {setup}; "
        f"test score = mean raw score of {EPISODES} full games with random "
        "no-op starts, sampled actions"
    )
    fig = go.Figure()
    for r in results:
        c = pd.DataFrame(r["curve"])
        if len(c):
            c["smooth"] = c["return"].rolling(50, min_periods=1).mean()
            fig.add_scatter(
                x=c["step"], y=c["smooth"], name=f"{r['side']} seed {r['seed']}", mode="lines"
            )
    fig.update_layout(
        title={
            "text": f"{algo.upper()} learning check: workbench vs SB3<br><sup>{caption}; "
            "training games, raw score, rolling mean of 50</sup>"
        },
        xaxis_title="agent steps",
        yaxis_title="game score",
        template="plotly_white",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.write_html(out_dir / f"{name}.html", include_plotlyjs=True)
    try:
        fig.write_image(out_dir / f"{name}.png", width=1000, height=500)
    except Exception as exc:  # no Chromium: the HTML stays
        print(f"PNG skipped: {exc}")
    (out_dir / f"{name}.json").write_text(
        json.dumps(
            {
                "caption": caption,
                "runs": rows,
                "scores": {f"{r['side']}_s{r['seed']}": r["scores"] for r in results},
                "command": " ".join(sys.argv),
                "environment": environment_info(ROOT),
            },
            indent=2,
        )
    )
    (out_dir / f"{name}.md").write_text(
        f"# {algo.upper()} learning check\n\n{caption}.\n\n{table.to_markdown(index=False)}\n\n"
        f"Per side (mean and std over seeds of the test mean):\n\n{summary.to_markdown()}\n\n"
        "`train_minutes` is wall time only: a resumed workbench run counts the process that "
        "finished it, and runs may have used different torch thread counts (`threads`) or shared "
        "the machine, so it is no speed comparison (that is `train_throughput.py`).\n"
    )
    print(table.to_string(index=False))
    print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=("a2c", "ppo"), default="a2c")
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--sides", nargs="+", default=list(SIDES))
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "learning_check")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        for side in args.sides:
            prefix = "" if args.algo == "a2c" else f"{args.algo}_"
            done = args.runs / f"{prefix}{side}_s{seed}_{args.steps}.json"
            if not done.exists():
                print(f"{side} seed {seed}: training {args.steps:,} steps ...", flush=True)
                done.write_text(json.dumps(SIDES[side](args.algo, seed, args.steps, args.runs)))
            results.append(json.loads(done.read_text()))
            print(f"{side} seed {seed}: test mean {np.mean(results[-1]['scores']):.1f}", flush=True)
    report(args.algo, results, args.steps, args.out)


if __name__ == "__main__":
    main()

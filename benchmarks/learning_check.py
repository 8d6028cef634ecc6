"""Learning check, side by side: this workbench's A2C vs Stable-Baselines3's A2C.

Nature CNN, Breakout, the same budget and settings (16 envs, rollout 5, gamma 0.99, entropy 1e-2,
RMSProp lr 1e-3, 1/2-MSE value loss, grad clip 0.5), N seeds each. Both are scored by the same
30-game test protocol (workbench.rl.evaluation: full games, random no-op starts, raw scores,
sampled actions), plus a random policy. Finished runs are skipped, so a killed check resumes.
Usage: python benchmarks/learning_check.py [--steps 500000] [--seeds 0 1]
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


def run_ours(seed: int, steps: int, out: Path) -> dict:
    from workbench.config import A2CConfig
    from workbench.rl.a2c import train

    cfg = A2CConfig(
        game=GAME,
        model="vanilla",
        total_steps=steps,
        num_envs=NUM_ENVS,
        rollout_length=ROLLOUT,
        seed=seed,
        eval_interval=steps,
        eval_episodes=EPISODES,
        checkpoint_interval=max(steps // 4, 1),
        log_interval=10_000,
        tag="check",
    )
    t0 = time.perf_counter()
    result = train(cfg, out / f"ours_s{seed}", progress=False)
    last = result.evals.iloc[-1]
    episodes = out / f"ours_s{seed}" / "episodes.csv"
    curve = (
        pd.read_csv(episodes)[["step", "return"]]
        if episodes.exists()
        else pd.DataFrame({"step": [], "return": []})
    )
    return {
        "side": "workbench",
        "seed": seed,
        "seconds": time.perf_counter() - t0,
        "scores": [float(x) for x in str(last["scores"]).split()],
        "curve": curve.to_dict(orient="list"),
    }


def run_sb3(seed: int, steps: int, out: Path) -> dict:
    from sb3_baseline import make_sb3_a2c, make_sb3_env
    from stable_baselines3.common.callbacks import BaseCallback

    from workbench.rl.evaluation import evaluate

    class Episodes(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.rows: dict[str, list] = {"step": [], "return": []}

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # Monitor sits below AtariWrapper: full-game raw score
                    self.rows["step"].append(self.num_timesteps)
                    self.rows["return"].append(float(info["episode"]["r"]))
            return True

    t0 = time.perf_counter()
    agent = make_sb3_a2c(make_sb3_env(seed), seed, total_steps=steps)
    callback = Episodes()
    agent.learn(total_timesteps=steps, callback=callback)
    seconds = time.perf_counter() - t0
    agent.save(out / f"sb3_s{seed}.zip")
    result = evaluate(
        SB3Agent(agent.policy), GAME, episodes=EPISODES, seed=seed * 1_000 + 1, backend="gymnasium"
    )
    return {
        "side": "sb3",
        "seed": seed,
        "seconds": seconds,
        "scores": result.scores,
        "curve": callback.rows,
    }


def run_random(seed: int, steps: int, out: Path) -> dict:
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


def report(results: list[dict], steps: int, out_dir: Path) -> None:
    import plotly.graph_objects as go

    from workbench.experiments.provenance import environment_info

    rows = [
        {
            "side": r["side"],
            "seed": r["seed"],
            "test_mean": np.mean(r["scores"]),
            "test_std": np.std(r["scores"]),
            "min": np.min(r["scores"]),
            "max": np.max(r["scores"]),
            "train_minutes": round(r["seconds"] / 60, 1),
        }
        for r in results
    ]
    table = pd.DataFrame(rows).round(2)
    summary = table.groupby("side")["test_mean"].agg(["mean", "std", "count"]).round(2)
    caption = (
        f"{GAME}, Nature CNN, {steps:,} agent steps (4 frames each) per run, 16 envs, "
        f"rollout 5; test score = mean raw score of {EPISODES} full games with random "
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
            "text": f"A2C learning check: workbench vs SB3<br><sup>{caption}; "
            "training games, raw score, rolling mean of 50</sup>"
        },
        xaxis_title="agent steps",
        yaxis_title="game score",
        template="plotly_white",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.write_html(out_dir / "learning_check.html", include_plotlyjs=True)
    try:
        fig.write_image(out_dir / "learning_check.png", width=1000, height=500)
    except Exception as exc:  # no Chromium: the HTML stays
        print(f"PNG skipped: {exc}")
    (out_dir / "learning_check.json").write_text(
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
    (out_dir / "learning_check.md").write_text(
        f"# A2C learning check\n\n{caption}.\n\n{table.to_markdown(index=False)}\n\n"
        f"Per side (mean and std over seeds of the test mean):\n\n{summary.to_markdown()}\n"
    )
    print(table.to_string(index=False))
    print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
            done = args.runs / f"{side}_s{seed}_{args.steps}.json"
            if not done.exists():
                print(f"{side} seed {seed}: training {args.steps:,} steps ...", flush=True)
                done.write_text(json.dumps(SIDES[side](seed, args.steps, args.runs)))
            results.append(json.loads(done.read_text()))
            print(f"{side} seed {seed}: test mean {np.mean(results[-1]['scores']):.1f}", flush=True)
    report(results, args.steps, args.out)


if __name__ == "__main__":
    main()

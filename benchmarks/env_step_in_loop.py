"""How fast envpool steps inside the A2C loop: alone, after a sleep, and after network work.

One process per wait setting (libgomp's own idle spin, and the workbench's shortened one); in each
the same 16-env Breakout pool steps 5 times per "update" and, between steps, does nothing
(`alone`), sleeps (`sleep`: 12 ms per step, about a forward's time), or runs our loop's network
work (`nn`: a vanilla acting forward per step that keeps its graph, then the backward and
RMSProp step). Only the env steps are timed, so a slower `nn` than `sleep` is the cost the
network work leaves behind (idle OpenMP threads spinning, caches) for the envs.
Usage: python benchmarks/env_step_in_loop.py [--updates 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import workbench  # noqa: F401 (its process set-up: loaded before torch, as a notebook or the CLI does)

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"libgomp": {}, "short": {"WORKBENCH_OMP_SPIN": "short"}}
"""Variables per setting over workbench.openmp.libgomp_environ() (no wait setting, opted out)."""
MODES = ("alone", "sleep", "nn")
NUM_ENVS, ROLLOUT = 16, 5


def measure(updates: int, repeats: int) -> dict[str, list[float]]:
    """Env steps/s per mode, interleaved repeats, in this process."""
    import numpy as np
    import torch

    from workbench.envs import make_atari_env
    from workbench.models import create_agent
    from workbench.rl.allocator import tune_malloc
    from workbench.rl.losses import a2c_loss

    tune_malloc()
    env = make_atari_env("Breakout", NUM_ENVS, mode="train", seed=0)
    obs = torch.from_numpy(env.reset(seed=0))
    agent = create_agent("vanilla", env.num_actions).train()
    opt = torch.optim.RMSprop(agent.parameters(), lr=1e-4, alpha=0.99, eps=1e-5)
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)

    def run(mode: str, n: int) -> float:
        nonlocal obs
        stepping = 0.0
        for _ in range(n):
            logits_t, values_t, actions_t = [], [], []
            for _ in range(ROLLOUT):
                if mode == "nn":
                    logits, values = agent(obs)
                    action = torch.multinomial(logits.detach().softmax(-1), 1, generator=gen)[:, 0]
                    logits_t.append(logits), values_t.append(values), actions_t.append(action)
                    action = action.numpy()
                else:
                    if mode == "sleep":
                        time.sleep(0.012)
                    action = rng.integers(0, env.num_actions, NUM_ENVS)
                t0 = time.perf_counter()
                obs = torch.from_numpy(env.step(action)[0])
                stepping += time.perf_counter() - t0
            if mode == "nn":
                returns = torch.randn(ROLLOUT * NUM_ENVS, generator=gen)
                loss = a2c_loss(torch.cat(logits_t), torch.cat(values_t), torch.cat(actions_t),
                                returns, entropy_coef=0.01)  # fmt: skip
                opt.zero_grad()
                loss.total.backward()
                opt.step()
        return n * ROLLOUT * NUM_ENVS / stepping

    for mode in MODES:  # warm-up
        run(mode, 5)
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(repeats):
        for mode in MODES:
            rates[mode].append(round(run(mode, updates), 1))
    env.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.updates, args.repeats)))
        return
    from workbench.openmp import libgomp_environ
    from workbench.runs.provenance import environment_info

    base, results = libgomp_environ(), {}
    for name, extra in SETTINGS.items():
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--updates", str(args.updates),
             "--repeats", str(args.repeats)],
            capture_output=True, text=True, check=True, cwd=ROOT, env={**base, **extra},
        )  # fmt: skip
        rates = json.loads(out.stdout.strip().splitlines()[-1])
        results[name] = {"env_steps_per_s": rates,
                         "median": {m: statistics.median(r) for m, r in rates.items()}}  # fmt: skip
        print(name, results[name]["median"], flush=True)
    env = environment_info(ROOT)
    result = {"settings": SETTINGS, "results": results, "updates": args.updates,
              "repeats": args.repeats, "command": " ".join(sys.argv),
              "environment": env}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "env_step_in_loop.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# envpool's step rate inside the A2C loop (Breakout, 16 envs, vanilla network)",
        "",
        f"Env-step agent steps/s, only the steps timed; median of {args.repeats} interleaved "
        f"repeats of {args.updates} updates (5 steps each) per mode; {env['cpu_count']} CPUs "
        f"({env['cpu']}), torch {env['packages']['torch']}. Between steps: `alone` nothing, "
        "`sleep` 12 ms, `nn` our loop's network work. Command: "
        f"`{result['command']}`",
        "",
        "| idle spin | alone | sleep | nn | runs (alone; sleep; nn) | nn / sleep |",
        "|---|---:|---:|---:|---|---:|",
        *(f"| {name} | {r['median']['alone']:.0f} | {r['median']['sleep']:.0f} | "
          f"{r['median']['nn']:.0f} | "
          + "; ".join(", ".join(f"{x:.0f}" for x in r["env_steps_per_s"][m]) for m in MODES)
          + f" | **{r['median']['nn'] / r['median']['sleep']:.2f}** |"
          for name, r in results.items()),
        "",
        "`libgomp`: its default idle spin (GOMP_SPINCOUNT 300,000); `short`: the workbench's "
        "30,000 (`workbench.openmp`, `omp_wait_lever.md`).",
    ]  # fmt: skip
    (args.out / "env_step_in_loop.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

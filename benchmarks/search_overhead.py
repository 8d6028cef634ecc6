"""Seconds per A2C training iteration: soft supernet, hard top-2 supernet, plain ResNet-20.

One iteration is the network work of one A2C update on 16 envs x rollout 5 without envs: five
acting forwards on 16 frames that keep their graph, the loss, backward, RMSProp on the weights
and, for the supernets, the MACs cost and an Adam step on alpha (one-level, A2D Eq. 9). The three
sides run interleaved in one process (ABCABC...), median of the repeats, reported as ratios to
ResNet-20. Goal (issue 5): hard top-2 within 2x of ResNet-20 (RL-DARTS reports 2.5x for PPO).
A fourth side, `sampled child`, draws the same hard samples but runs only each sample's chosen
op with no alpha gradient: the single-path network being trained at that step, the floor of any
single-path search. hard / child is what the top-2 machinery itself costs (the second op's
forward and alpha's gradient); child / ResNet-20 is what the a2d op mix costs.

With --bilevel it times the soft supernet's alpha step instead: one-level (the shared backward),
DARTS first order (one more forward/backward on the next rollout) and second order (the virtual
step and the finite-difference Hessian-vector product: four more), as ratios to one-level, into
search_overhead_bilevel.{md,json}.
Usage: python benchmarks/search_overhead.py [--iterations 5] [--repeats 3] [--threads 2] [--bilevel]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch
from interleaved import interleaved_seconds

from workbench.config import SearchConfig
from workbench.models import ActorCritic, create_agent
from workbench.nas.sampling import HardGumbelTopK, SampleResult
from workbench.nas.search import make_search
from workbench.nas.supernet import Supernet
from workbench.rl.engine import Batch, Plugin
from workbench.rl.losses import a2c_loss

ROOT = Path(__file__).resolve().parents[1]
NUM_ENVS, ROLLOUT, ACTIONS = 16, 5, 4
SIDES = ("resnet20", "hard top-2 supernet", "sampled child", "soft supernet")
BILEVEL_SIDES = {"soft supernet": "one-level", "soft bi-level first order": "bi-level-first-order",
                 "soft bi-level second order": "bi-level"}  # fmt: skip


class ChosenPathOnly(HardGumbelTopK):
    """HardGumbelTopK's sample cut to its chosen op per cell, detached: the sampled child alone."""

    def __call__(self, logits, tau, generator=None) -> SampleResult:
        sample = super().__call__(logits, tau, generator)
        only = tuple((c,) for c in sample.chosen)
        return SampleResult(sample.weights.detach(), only, sample.chosen)


def make_side(name: str):
    """An iteration function for one side: A2C's update as the engine runs it, with the
    search plug-in's hooks (none for ResNet-20)."""
    torch.manual_seed(0)
    plugin: Plugin
    if name == "resnet20":
        agent, plugin = create_agent("resnet20", ACTIONS), Plugin()
    else:
        agent = ActorCritic(Supernet("a2d"), ACTIONS)
        strategy = BILEVEL_SIDES.get(name, "one-level")
        sampler = "soft" if name.startswith("soft") else "hard"
        cfg = SearchConfig(sampler=sampler, top_k=2, strategy=strategy)
        plugin = make_search(cfg, agent, run=None)
        if name == "sampled child":
            plugin.sampler = ChosenPathOnly(2)
    weights = plugin.weight_parameters(agent)
    optimizer = torch.optim.RMSprop(weights, lr=1e-3, alpha=0.99, eps=1e-5)
    generator = torch.Generator().manual_seed(0)
    obs = torch.randint(0, 255, (ROLLOUT, NUM_ENVS, 4, 84, 84), dtype=torch.uint8)
    actions = torch.zeros(ROLLOUT * NUM_ENVS, dtype=torch.long)
    returns = torch.zeros(ROLLOUT * NUM_ENVS)
    batch = Batch(obs.flatten(0, 1), actions, returns)  # train and validation
    plugin.begin_segment(0)

    def iteration() -> None:
        plugin.begin_update(0, 0, generator)
        logits, values = [], []
        for t in range(ROLLOUT):
            lo, va = agent(obs[t])
            plugin.on_forward()
            logits.append(lo)
            values.append(va)
        loss = a2c_loss(torch.cat(logits), torch.cat(values), actions, returns, entropy_coef=0.01)
        total = plugin.total_loss(loss.total)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(weights, 0.5)
        plugin.after_backward(batch, 1e-3)  # bi-level: from the 2nd call on, an alpha step
        optimizer.step()

    return iteration


def child_note(median: dict[str, float]) -> str:
    """One sentence splitting hard top-2's ratio into the op mix and the top-2 machinery."""
    hard, child, base = median["hard top-2 supernet"], median["sampled child"], median["resnet20"]
    return (
        f"The sampled child (the same hard samples, chosen op only, no alpha gradient) is "
        f"{child / base:.2f}x ResNet-20: that is the a2d op mix's cost; hard top-2 is "
        f"{hard / child:.2f}x the child: that is the top-2 machinery's cost (the second op's "
        "forward and alpha's gradient)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bilevel", action="store_true", help="time the bi-level alpha steps")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = "soft supernet" if args.bilevel else "resnet20"
    stem = "search_overhead_bilevel" if args.bilevel else "search_overhead"
    sides = {name: make_side(name) for name in (BILEVEL_SIDES if args.bilevel else SIDES)}
    for fn in sides.values():
        fn()  # warm-up
    times = interleaved_seconds(sides, args.repeats, lambda _: args.iterations)
    median = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "seconds_per_iteration": median,
        f"ratio_to_{base}": {n: median[n] / median[base] for n in median},
        "all_runs": times,
        "settings": vars(args) | {"out": str(args.out), "envs": NUM_ENVS, "rollout": ROLLOUT},
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "torch": torch.__version__, "threads": torch.get_num_threads()},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Search overhead: seconds per A2C iteration (16 envs x rollout 5, no env)",
        "",
        f"| side | s / iteration | x {base} |",
        "|---|---|---|",
        *(f"| {n} | {median[n]:.3f} | {median[n] / median[base]:.2f} |" for n in median),
        "",
        f"Median of {args.repeats} interleaved repeats of {args.iterations} iterations, "
        f"{args.threads} threads, torch {torch.__version__}, {platform.platform()}. "
        + (
            "Command: `python benchmarks/search_overhead.py --bilevel "
            f"--iterations {args.iterations} --repeats {args.repeats}`."
            if args.bilevel
            else "Goal: hard top-2 within 2x of ResNet-20. " + child_note(median)
        ),
    ]
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

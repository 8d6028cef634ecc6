"""Single-path one-shot search with uniform sampling (Guo et al. 2019; Mazyavkina et al. 4.3).

Fitting: each PPO update draws one architecture uniformly and runs (and trains) only its path
of the supernet: the rollout is played by that path and the PPO epochs backpropagate through
it, so the shared stem and Linear and that path's convs get real gradients. (The authors'
public code rewraps the loss value in a new tensor, `torch.tensor(loss, requires_grad=True)`,
so no gradient ever reaches the supernet's weights; tests/test_oneshot.py checks ours do.)
Selection: every candidate is played with the final supernet weights on the test protocol with
one common env seed, and ranked by its mean score (full enumeration; the spaces are small).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch

from workbench.device import train_device
from workbench.models import ActorCritic
from workbench.oneshot.config import search_run
from workbench.oneshot.spaces import OneShotSupernet
from workbench.rl.engine import Plugin
from workbench.rl.evaluation import evaluate
from workbench.runs.folder import RunDir, finished_steps, load_checkpoint_file

RANKING = "ranking.csv"


class UniformPaths(Plugin):
    """SPOS fitting: a uniformly drawn architecture per update (one PPO update per path)."""

    checkpoint_key = "schedule"

    def __init__(self, supernet: OneShotSupernet, run: RunDir | None = None) -> None:
        self.supernet, self.run = supernet, run

    def begin_update(self, update: int, step: int, generator: torch.Generator) -> None:
        """Draw this update's architecture."""
        n = len(self.supernet.space)
        self.supernet.set_arch(int(torch.randint(n, (1,), generator=generator)))

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> list:
        """One archs.csv row per update: the path it trained (also returned)."""
        arch = self.supernet.arch
        rows = [{"step": step, "arch": arch, "kernels": self.supernet.space.label(arch)}]
        if self.run is not None:
            self.run.append("archs.csv", rows)
        return rows

    def episode_fields(self) -> dict:
        return {"arch": self.supernet.arch}

    @contextmanager
    def evaluation(self) -> Iterator[bool]:
        """No test score during fitting: the architectures are ranked once, at the end."""
        yield False


def supernet_agent(state: dict) -> ActorCritic:
    """The supernet agent of a one-shot checkpoint, with its weights."""
    config = state["config"]
    agent = ActorCritic(OneShotSupernet(config["space"]), state["num_actions"])
    agent.load_state_dict(state["model"])
    return agent


def spos_ranking(
    run_dir: str | Path,
    archs: Sequence[int] | None = None,
    *,
    episodes: int = 10,
    seed: int = 12_345,
    progress: bool | None = False,
) -> pd.DataFrame:
    """Mean test score of each candidate with the supernet's final weights, best first.

    Scores are cached in the run's ranking.csv, so a ranking resumes where it stopped, other
    candidate sets reuse them, and a finished search whose candidates are all cached needs no
    checkpoint (run folders travel without their weights). `archs`: default the whole space.
    """
    run_dir = Path(run_dir)
    config, space, archs = search_run(run_dir, "spos", archs)
    cache = run_dir / RANKING
    cached = pd.read_csv(cache) if cache.exists() else pd.DataFrame()

    def scored(weights_step: int | None) -> pd.DataFrame:
        if not len(cached) or weights_step is None:
            return cached.iloc[:0]
        keep = ((cached["episodes"] == episodes) & (cached["seed"] == seed)
                & (cached["weights_step"] == weights_step))  # fmt: skip
        return cached[keep]

    done = scored(finished_steps(run_dir))
    todo = [a for a in archs if a not in set(done.get("arch", []))]
    if todo:
        state = load_checkpoint_file(run_dir / "checkpoints" / "latest.pt")
        weights_step = int(state["step"])
        done = scored(weights_step)
        todo = [a for a in archs if a not in set(done.get("arch", []))]
        agent = supernet_agent(state).to(train_device())
    for arch in todo:
        agent.backbone.set_arch(arch)
        result = evaluate(
            agent, config["game"], episodes=episodes, seed=seed,
            backend=config.get("backend", "auto"), progress=progress,
        )  # fmt: skip
        row = {"arch": arch, "kernels": space.label(arch), "proxy": result.mean,
               "proxy_std": result.std, "episodes": episodes, "seed": seed,
               "weights_step": weights_step}  # fmt: skip
        pd.DataFrame([row]).to_csv(cache, mode="a", header=not cache.exists(), index=False)
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
    ranked = done[done["arch"].isin(archs)].drop_duplicates("arch")
    return ranked.sort_values(["proxy", "arch"], ascending=[False, True]).reset_index(drop=True)

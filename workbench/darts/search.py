"""Running RL-DARTS (Alg. 1) into run folders: the supernet search, discrete cells trained from
scratch, and the IMPALA-CNN baseline, all with the PPO loop of workbench.rl.ppo.

Search (step 1): alpha is a parameter of the supernet encoder, so the PPO loop's Adam over the
agent's parameters trains it with the weights on the same RL loss (one-level, joint). The
`AlphaLog` schedule writes softmax(alpha / T) to alpha.csv every `alpha_log_interval` steps and
discretises alpha (step 2, Alg. 4) after every update: each new discrete cell gets a row of
cells.csv with the step it appeared at (the sequence RL-DARTS Fig. 6 evaluates). Evaluation
(step 3): `train_darts` on an `encoder="cell"` config trains the discrete cell from scratch.

Run folders are PPO's (config.json, metrics.csv, episodes.csv, checkpoints, result.json),
resumable exactly, plus alpha.csv, cells.csv (search) and wallclock.json (training seconds,
which the random-search baseline's budget is measured against). No archs.csv is written, so
the architecture inspector (A2D search runs) does not mistake these folders for its own.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import torch

from workbench.darts.config import DartsConfig
from workbench.darts.discretize import edge_label
from workbench.darts.genotype import Genotype
from workbench.darts.network import DartsCellNet, DartsSupernet
from workbench.models import ActorCritic
from workbench.models.impala_cnn import ImpalaCNN
from workbench.rl.engine import Plugin, TrainResult, train
from workbench.runs.folder import RunDir

ALPHA_LOG = "alpha.csv"
CELLS_LOG = "cells.csv"
WALLCLOCK = "wallclock.json"
SCORE_GAMES = 100
"""A run's score: the mean return of its last 100 training games (infinite levels, easy)."""


def build_encoder(cfg: DartsConfig, obs_shape: tuple[int, ...]) -> torch.nn.Module:
    """The config's encoder for observations of `obs_shape` (C, H, W)."""
    channels, size = obs_shape[0], obs_shape[-1]
    if cfg.encoder == "supernet":
        return DartsSupernet(
            cfg.op_space, cfg.depth, cfg.blocks, in_channels=channels, input_size=size,
            temperature=cfg.temperature, num_nodes=cfg.num_nodes,
        )  # fmt: skip
    if cfg.encoder == "cell":
        return DartsCellNet(
            cfg.cell(), cfg.depth, cfg.blocks, in_channels=channels, input_size=size
        )
    return ImpalaCNN(channels, size, channels=(cfg.depth,) * cfg.blocks)


def build_darts_agent(
    cfg: DartsConfig,
    num_actions: int,
    obs_shape: tuple[int, ...] | None = None,
    critic: bool = True,
) -> ActorCritic:
    """The config's encoder with the actor and critic heads (obs_shape None: the config's
    env, Procgen 3x64x64 or Atari 4x84x84)."""
    if obs_shape is None:
        obs_shape = (3, 64, 64) if cfg.env == "procgen" else (4, 84, 84)
    return ActorCritic(build_encoder(cfg, obs_shape), num_actions, critic=critic)


class Wallclock(Plugin):
    """Every RL-DARTS run: training seconds, summed over resumes, in wallclock.json (the
    random-search baseline's budget is measured against them)."""

    checkpoint_key = "schedule"

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def finish(self, run: RunDir, result: TrainResult) -> None:
        seconds = wallclock_seconds(run.path) + time.perf_counter() - self.start
        run.write_json(WALLCLOCK, {"seconds": seconds, "steps": result.steps})


class AlphaLog(Wallclock):
    """Records the supernet's op weights (alpha.csv) and each new discrete cell (cells.csv).

    alpha.csv (tidy): step, cell_type, edge (`in->1`, `1->2`, ...), op, weight.
    cells.csv: step, cell (0, 1, ... in order of appearance), genotype (JSON), normal, reduce.
    """

    def __init__(self, supernet: DartsSupernet, run: RunDir, cfg: DartsConfig) -> None:
        super().__init__()
        self.supernet, self.run, self.cfg = supernet, run, cfg
        self.last: str | None = None
        self.index = -1
        self.next_log = 0

    def begin_update(self, update: int, step: int, generator: torch.Generator) -> None:
        """Before the first update: the initial alpha and cell, at step 0."""
        if update == 0:
            for log in (ALPHA_LOG, CELLS_LOG):  # a crashed first attempt's step-0 rows
                (self.run.path / log).unlink(missing_ok=True)
            self.last, self.index, self.next_log = None, -1, 0
            self._record(0)

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> None:
        """After every update: a cells.csv row if the cell changed, alpha.csv when due."""
        self._record(step)

    def _record(self, step: int) -> None:
        final = step >= self.cfg.total_steps
        if step >= self.next_log or final:
            self.run.append(ALPHA_LOG, self.alpha_rows(step))
            while self.next_log <= step:
                self.next_log += self.cfg.alpha_log_interval
        genotype = self.supernet.genotype()
        text = genotype.to_json()
        if text != self.last:
            self.last, self.index = text, self.index + 1
            labels = {c: genotype.label(c) for c in ("normal", "reduce")}
            row = {"step": step, "cell": self.index, "genotype": text, **labels}
            self.run.append(CELLS_LOG, [row])

    def alpha_rows(self, step: int) -> list[dict]:
        """Tidy rows of the current softmax op weights."""
        rows = []
        with torch.no_grad():
            for cell_type, weights in self.supernet.op_weights().items():
                ops = self.supernet.space.ops(cell_type)
                for e, row in enumerate(weights.tolist()):
                    key = {"step": step, "cell_type": cell_type, "edge": edge_label(e)}
                    rows += [{**key, "op": op, "weight": w} for op, w in zip(ops, row, strict=True)]
        return rows

    def episode_fields(self) -> dict:
        """metrics.csv / episodes.csv: the index of the current discrete cell."""
        return {"cell": self.index}

    def state_dict(self) -> dict:
        return {"last": self.last, "index": self.index, "next_log": self.next_log}

    def load_state_dict(self, state: dict) -> None:
        self.last, self.index, self.next_log = state["last"], state["index"], state["next_log"]


def make_darts_plugin(cfg: DartsConfig, agent: ActorCritic, run: RunDir) -> Plugin:
    """The alpha and cell logs of a supernet search; the wallclock record of every run."""
    if cfg.encoder == "supernet":
        return AlphaLog(agent.backbone, run, cfg)
    return Wallclock()


train_darts = train
"""Train (or resume, or reuse when finished) an RL-DARTS config's agent into a run folder."""


def wallclock_seconds(run_dir: str | Path) -> float:
    """Training seconds a run has taken so far, summed over resumes (0 if never trained)."""
    path = Path(run_dir) / WALLCLOCK
    return float(json.loads(path.read_text())["seconds"]) if path.exists() else 0.0


def run_score(run_dir: str | Path, games: int = SCORE_GAMES) -> float:
    """Mean return of the run's last `games` training games (NaN before any game ended)."""
    path = Path(run_dir) / "episodes.csv"
    if not path.exists() or not path.stat().st_size:
        return float("nan")
    episodes = pd.read_csv(path)
    return float(episodes["return"].tail(games).mean()) if len(episodes) else float("nan")


def read_cells(run_dir: str | Path) -> pd.DataFrame:
    """The discrete cells of a search run in order (step, cell, genotype, normal, reduce)."""
    path = Path(run_dir) / CELLS_LOG
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: not an RL-DARTS search run, or not started")
    return pd.read_csv(path)


def final_genotype(run_dir: str | Path) -> Genotype:
    """The last discrete cell of a search run (the one RL-DARTS evaluates)."""
    cells = read_cells(run_dir)
    return Genotype.from_json(cells["genotype"].iloc[-1])


def read_alpha(run_dir: str | Path) -> pd.DataFrame:
    """alpha.csv of a search run (step, cell_type, edge, op, weight)."""
    path = Path(run_dir) / ALPHA_LOG
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: not an RL-DARTS search run, or not started")
    return pd.read_csv(path)

"""The one training engine: everything a run does that its algorithm does not.

`train(cfg, run_dir)` looks the config's run kind up in the registry (workbench.runs.kinds),
which names the algorithm (A2C, PPO) and the plug-in (a search, or nothing), and runs:

    config -> kind -> algorithm + plug-in -> segments of updates -> run folder

Training runs in segments of `checkpoint_interval` agent steps. Each segment starts from envs
freshly seeded with (seed, segment); its last rollout bootstraps from the critic like any other.
A checkpoint at a segment's end therefore holds the whole state of the run, so a resumed run
gives exactly the numbers of an uninterrupted one on CPU, with either env backend. The engine
owns the segments and their seeds, the device, the progress bar, the logging cadence, the
periodic test-score evaluation, the checkpoints and resume, divergence (failure.json) and the
TensorBoard mirror. An algorithm plays and learns one update at a time (`Algorithm`); a search
hooks into that through `Plugin`.
"""

from __future__ import annotations

import functools
import importlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import torch

from workbench.device import train_device
from workbench.envs import VecEnv
from workbench.progress import progress_bar
from workbench.rl.allocator import tune_malloc
from workbench.rl.evaluation import evaluate
from workbench.runs.folder import CheckpointError, RunDir
from workbench.runs.kinds import RunKind, get_kind
from workbench.runs.tensorboard import ScalarLog


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class NonFinite(RuntimeError):
    """A non-finite logit, loss or gradient norm (the engine records it as a divergence)."""


@dataclass
class TrainResult:
    """Where the run lives and what it reached."""

    run_dir: Path
    steps: int
    evals: pd.DataFrame
    completed: bool


Game = tuple[int, int, float, int]
"""A finished game of a rollout: (rollout step t, env index, raw score, length)."""


def segment_seed(seed: int, segment: int) -> int:
    """Seed of a segment's envs and action sampling."""
    return seed * 100_003 + segment


def next_multiple(step: int, interval: int) -> int:
    """The first multiple of `interval` after `step`: when the next log or test is due."""
    return (step // interval + 1) * interval


# --- the two protocols ------------------------------------------------------------------------


class Batch:
    """A rollout as a learning batch: flat observations and their loss targets (A2C's
    teacher scores when distilling). What `Plugin.after_backward` sees; the observations are
    concatenated only when a plug-in reads them."""

    def __init__(
        self,
        frames: list[torch.Tensor] | torch.Tensor,
        actions: torch.Tensor,
        returns: torch.Tensor,
        teacher_logits: torch.Tensor | None = None,
        teacher_values: torch.Tensor | None = None,
    ) -> None:
        self.frames, self.actions, self.returns = frames, actions, returns
        self.teacher_logits, self.teacher_values = teacher_logits, teacher_values

    @functools.cached_property
    def obs(self) -> torch.Tensor:
        """Observations (B, C, H, W), the rollout's steps one after another."""
        return torch.cat(self.frames) if isinstance(self.frames, list) else self.frames


class Plugin:
    """A search's hooks into training; every hook's default does nothing.

    The engine calls `begin_segment`, `begin_update`, `episode_fields`, `end_update`,
    `metric_fields`, `evaluation`, `finish` and the state methods; an algorithm calls the hooks
    inside its update (`on_forward`, `total_loss`, `after_backward`) where it has those moments.
    """

    checkpoint_key: ClassVar[str] = "plugin"
    """The key of this plug-in's state in a checkpoint."""

    def weight_parameters(self, agent: torch.nn.Module) -> list[torch.nn.Parameter]:
        """The parameters the algorithm's optimiser trains (a search keeps alpha for itself)."""
        return list(agent.parameters())

    def begin_segment(self, seed: int) -> None:
        """A segment starts on envs seeded with `seed`."""

    def begin_update(self, update: int, step: int, generator: torch.Generator) -> None:
        """Update number `update` (at agent step `step`) is about to play and learn."""

    def on_forward(self) -> None:
        """The algorithm just ran an acting forward that will be learned from."""

    def total_loss(self, task_loss: torch.Tensor) -> torch.Tensor:
        """The loss to minimise, given the algorithm's own (e.g. A2D Eq. 9 adds the cost)."""
        return task_loss

    def after_backward(self, batch: Batch, lr: float) -> None:
        """The weights' gradients are ready and not applied yet (e.g. an alpha step)."""

    def episode_fields(self) -> dict:
        """Extra columns of this update's episodes.csv rows (and its metrics row)."""
        return {}

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> None:
        """The update is done; `returns` are the scores of the games that ended in it."""

    def metric_fields(self) -> dict:
        """Extra columns of a metrics.csv row, computed when the row is written."""
        return {}

    @contextmanager
    def evaluation(self) -> Iterator[bool]:
        """Set up the network to test; yields False to skip the periodic evaluation."""
        yield True

    def finish(self, run: RunDir, result: TrainResult) -> None:
        """The engine has stopped (budget reached or paused); write any last records."""

    def state_dict(self) -> dict:
        """What a checkpoint must hold to resume exactly."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""


class UpdateStats(Protocol):
    """The loss terms of an update, read only when a metrics row is written."""

    def terms(self) -> dict:
        """Columns written after step and lr (loss, policy_loss, ...)."""

    def extra(self) -> dict:
        """Columns written after steps_per_s (e.g. the distillation terms)."""


class Algorithm(Protocol):
    """An RL algorithm as the engine drives it: an agent, its optimiser, one update at a time."""

    name: str
    """Label of the progress bar."""
    agent: torch.nn.Module
    optimizer: torch.optim.Optimizer
    evaluates: bool
    """Whether the periodic test-score evaluation applies (ALE games only)."""

    def make_env(self, seed: int) -> VecEnv:
        """The training envs of the run, seeded with `seed`."""

    def learning_rate(self, step: int) -> float:
        """The learning rate of the update that starts at agent step `step`."""

    def begin_segment(self) -> None:
        """A segment starts (state that must not cross a checkpoint is reset here)."""

    def update(
        self, env: VecEnv, obs: torch.Tensor, generator: torch.Generator, update: int, lr: float
    ) -> tuple[torch.Tensor, list[Game], UpdateStats]:
        """Play one rollout from `obs` and learn from it: (next obs, finished games, stats).
        Raises NonFinite on a non-finite logit, loss or gradient norm."""


AlgorithmFactory = Callable[[Any, RunKind, RunDir, torch.device], tuple[Algorithm, Plugin]]
"""(config, kind, run folder, device) -> the algorithm and plug-in of a fresh, seeded run."""

ALGORITHMS: dict[str, AlgorithmFactory] = {}
"""Algorithm name -> factory; each algorithm module registers its own when imported."""
ALGORITHM_MODULES = {"a2c": "workbench.rl.a2c", "ppo": "workbench.rl.ppo"}
"""The module that registers each algorithm (imported the first time it is needed)."""


def register_algorithm(name: str, factory: AlgorithmFactory) -> None:
    """Make `name` usable as a run kind's `algorithm`."""
    ALGORITHMS[name] = factory


def algorithm_factory(name: str) -> AlgorithmFactory:
    """The factory of algorithm `name`, importing its module if needed."""
    if name not in ALGORITHMS and name in ALGORITHM_MODULES:
        importlib.import_module(ALGORITHM_MODULES[name])
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; algorithms are {sorted(ALGORITHM_MODULES)}")
    return ALGORITHMS[name]


# --- the engine ---------------------------------------------------------------------------


def train(
    cfg: Any,
    run_dir: str | Path,
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train (or resume, or reuse when finished) the run `cfg` describes into `run_dir`;
    `stop_after_segments` pauses early; `tensorboard` mirrors metrics and test scores."""
    kind = get_kind(cfg.kind)
    run = RunDir(run_dir, cfg)
    with run.lock():  # another process training this run finishes first; then it is complete
        if run.is_complete():
            return TrainResult(run.path, cfg.total_steps, run.read("evals.csv"), True)
        device = train_device()  # a bad $WORKBENCH_DEVICE fails here, before any env is made
        tune_malloc()  # likewise a bad $WORKBENCH_MALLOC
        torch.manual_seed(cfg.seed)
        algorithm, plugin = algorithm_factory(kind.algorithm)(cfg, kind, run, device)
        result = _run(run, cfg, algorithm, plugin, progress, stop_after_segments, tensorboard)
        plugin.finish(run, result)
        if result.completed:
            run.mark_complete(result.steps)
        return result


def _run(
    run: RunDir,
    cfg: Any,
    algo: Algorithm,
    plugin: Plugin,
    progress: bool | None,
    stop_after_segments: int | None,
    tensorboard: bool,
) -> TrainResult:
    """The segments of a run, from its latest checkpoint (if any) to its budget or the pause."""
    scalars = ScalarLog(run.path, tensorboard)
    spu = cfg.num_envs * cfg.rollout_length
    total_updates = math.ceil(cfg.total_steps / spu)
    updates_per_segment = max(1, math.ceil(cfg.checkpoint_interval / spu))
    update, best_score, recent = resume(run, spu, algo.agent, algo.optimizer, plugin)

    bar = progress_bar(total_updates * spu, f"{algo.name} {cfg.game} {cfg.model}", progress)
    bar.update(update * spu)
    next_log = next_multiple(update * spu, cfg.log_interval)
    next_eval = next_multiple(update * spu, cfg.eval_interval)
    segments_done, t0, steps_at_t0 = 0, time.perf_counter(), update * spu

    while update < total_updates:
        # --- a segment: fresh envs from a derived seed, then updates until its checkpoint ------
        segment = update // updates_per_segment
        seed = segment_seed(cfg.seed, segment)
        checkpoint_step = segment * updates_per_segment * spu
        env = algo.make_env(seed)
        generator = torch.Generator().manual_seed(seed)
        obs = torch.from_numpy(env.reset(seed=seed))
        segment_end = min(total_updates, (segment + 1) * updates_per_segment)
        episode_rows: list[dict] = []
        algo.begin_segment()
        plugin.begin_segment(seed)
        while update < segment_end:
            step = update * spu
            lr = algo.learning_rate(step)
            for group in algo.optimizer.param_groups:
                group["lr"] = lr
            plugin.begin_update(update, step, generator)
            try:
                obs, games, stats = algo.update(env, obs, generator, update, lr)
            except NonFinite as exc:
                _diverge(run, env, step, str(exc), checkpoint_step)
            fields = plugin.episode_fields()
            for t, i, score, length in games:
                recent.append(score)
                episode_rows.append(
                    {"step": step + (t + 1) * cfg.num_envs, "env": i, "return": score,
                     "length": length, **fields}
                )  # fmt: skip
            update += 1
            step = update * spu
            bar.update(spu)
            plugin.end_update(step, [g[2] for g in games], generator)

            # --- logging and periodic evaluation ---------------------------------------------
            if step >= next_log or update == total_updates:
                next_log += cfg.log_interval
                rate = (step - steps_at_t0) / (time.perf_counter() - t0)
                mean_recent = float(np.mean(recent)) if recent else float("nan")
                row = {
                    "step": step, "lr": lr, **stats.terms(), "return_recent100": mean_recent,
                    "steps_per_s": rate, **stats.extra(), **fields, **plugin.metric_fields(),
                }  # fmt: skip
                run.append("metrics.csv", [row])
                scalars.add("train", row)
                run.append("episodes.csv", episode_rows)
                episode_rows = []
                bar.set_postfix(sps=f"{rate:.0f}", ret=f"{mean_recent:.1f}")
            if step >= next_eval or update == total_updates:
                next_eval += cfg.eval_interval
                if algo.evaluates:
                    with plugin.evaluation() as wanted:
                        if wanted:
                            best_score = evaluate_into(run, algo.agent, cfg, step, best_score,
                                                       scalars)  # fmt: skip
        run.append("episodes.csv", episode_rows)
        env.close()

        save_segment(run, update, spu, algo.agent, algo.optimizer, best_score, recent, plugin)
        segments_done += 1
        if stop_after_segments is not None and segments_done >= stop_after_segments:
            break
    bar.close()
    scalars.close()
    return TrainResult(run.path, update * spu, run.read("evals.csv"), update >= total_updates)


# --- checkpoints, resume, divergence and evaluation ------------------------------------------


def resume(
    run: RunDir,
    spu: int,
    agent: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    plugin: Plugin,
) -> tuple[int, float, deque]:
    """(update, best test score, recent returns) to start from: a fresh run's, or the newest
    checkpoint that verifies, loaded into the agent, the optimiser and the plug-in, with the
    logs written after that checkpoint dropped."""
    update, best_score, recent = 0, -math.inf, deque(maxlen=100)
    state = run.load_resume_checkpoint()
    if state is not None:
        agent.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get(plugin.checkpoint_key) is not None:
            plugin.load_state_dict(state[plugin.checkpoint_key])
        update, best_score = state["update"], state["best_score"]
        recent.extend(state["recent_returns"])
    run.truncate_logs(update * spu)
    return update, best_score, recent


def save_segment(
    run: RunDir,
    update: int,
    spu: int,
    agent: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    best_score: float,
    recent: deque,
    plugin: Plugin,
) -> None:
    """The checkpoint at a segment's end: everything `resume` needs to continue exactly."""
    run.save_segment_checkpoint(
        {
            "update": update,
            "step": update * spu,
            "model": agent.state_dict(),
            "optimizer": optimizer.state_dict(),
            plugin.checkpoint_key: plugin.state_dict(),
            "best_score": best_score,
            "recent_returns": list(recent),
            "num_actions": agent.actor.out_features,
            "config": run.config,
        }
    )


def _diverge(run: RunDir, env: VecEnv, step: int, what: str, checkpoint_step: int) -> None:
    """Record the failing step in failure.json and stop; the last good checkpoint stays."""
    run.write_json(
        "failure.json", {"step": step, "non_finite": what, "last_checkpoint_step": checkpoint_step}
    )
    env.close()
    raise TrainingDiverged(
        f"non-finite {what} at step {step:,} in {run.path}; the last good checkpoint (step "
        f"{checkpoint_step:,}) is kept and failure.json records the step"
    )


def evaluate_into(
    run: RunDir,
    agent: torch.nn.Module,
    cfg: Any,
    step: int,
    best_score: float,
    scalars: ScalarLog,
) -> float:
    """Run the test protocol, append to evals.csv, keep the best checkpoint; return the best."""
    result = evaluate(
        agent,
        cfg.game,
        episodes=cfg.eval_episodes,
        greedy=cfg.greedy_eval,
        seed=cfg.seed * 1_000 + step // cfg.eval_interval,
        backend=cfg.backend,
    )
    s = result.summary()
    scalars.add("test", {"step": step, "score_mean": s["mean"], "score_std": s["std"]})
    run.append(
        "evals.csv",
        [
            {
                "step": step,
                "mean": s["mean"],
                "std": s["std"],
                "min": s["min"],
                "max": s["max"],
                "episodes": cfg.eval_episodes,
                "greedy": cfg.greedy_eval,
                "scores": " ".join(map(str, s["scores"])),
            }
        ],
    )
    if s["mean"] > best_score:
        run.save_checkpoint(
            {
                "step": step,
                "model": agent.state_dict(),
                "eval": s,
                "num_actions": agent.actor.out_features,
                "config": run.config,
            },
            "best",
        )
        return s["mean"]
    return best_score


__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Batch",
    "CheckpointError",
    "Game",
    "NonFinite",
    "Plugin",
    "TrainResult",
    "TrainingDiverged",
    "UpdateStats",
    "next_multiple",
    "register_algorithm",
    "segment_seed",
    "train",
]

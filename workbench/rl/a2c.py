"""Synchronous advantage actor-critic (A2D Sec. 3, 4.1): one training loop, top to bottom.

Training runs in segments of `checkpoint_interval` agent steps. Each segment starts from envs
freshly seeded with (seed, segment); its last rollout bootstraps from the critic like any other.
A checkpoint at a segment's end therefore holds the whole state of the run, so a resumed run
gives exactly the numbers of an uninterrupted one on CPU, with either env backend.
"""

from __future__ import annotations

import math
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.config import A2CConfig, SearchConfig
from workbench.envs import make_atari_env
from workbench.experiments.runs import RunDir
from workbench.experiments.tensorboard import ScalarLog
from workbench.models import build_agent
from workbench.nas.search import Batch, SearchController
from workbench.progress import progress_bar
from workbench.rl.allocator import tune_malloc
from workbench.rl.device import train_device
from workbench.rl.distillation import actor_critic_losses
from workbench.rl.evaluation import evaluate, select_actions
from workbench.rl.losses import nstep_returns
from workbench.rl.schedules import a2d_learning_rate
from workbench.rl.teacher import Teacher, load_teacher


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """Where the run lives and what it reached."""

    run_dir: Path
    steps: int
    evals: pd.DataFrame
    completed: bool


def segment_seed(seed: int, segment: int) -> int:
    """Seed of a segment's envs and action sampling."""
    return seed * 100_003 + segment


def train(
    cfg: A2CConfig,
    run_dir: str | Path,
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train (or resume) an A2C agent into `run_dir`; `stop_after_segments` pauses early.

    `tensorboard` mirrors the metrics and test scores as TensorBoard scalars.
    With `cfg.distill` other than none, a frozen teacher scores the student's own rollout states
    and its KL (and value) terms join the loss (A2D Eq. 8); `actor+reuse-critic` trains no
    critic and uses the teacher's values for the td-errors and the bootstrap.
    """
    run = RunDir(run_dir, cfg)
    with run.lock():  # another process training this run finishes first; then it is complete
        return _train(run, cfg, progress, stop_after_segments, tensorboard)


def _train(
    run: RunDir,
    cfg: A2CConfig,
    progress: bool | None,
    stop_after_segments: int | None,
    tensorboard: bool,
) -> TrainResult:
    """The training loop of `train`, holding the run folder's lock."""
    if run.is_complete():
        return TrainResult(run.path, cfg.total_steps, run.read("evals.csv"), True)
    reuse_critic = cfg.distill == "actor+reuse-critic"
    scalars = ScalarLog(run.path, tensorboard)
    spu = cfg.steps_per_update
    total_updates = math.ceil(cfg.total_steps / spu)
    updates_per_segment = max(1, math.ceil(cfg.checkpoint_interval / spu))

    # --- agent, optimiser, and the state of a previous run in this folder --------------------
    device = train_device()  # a bad $WORKBENCH_DEVICE fails here, before any env is made
    tune_malloc()  # likewise a bad $WORKBENCH_MALLOC
    if isinstance(cfg, SearchConfig) and device.type != "cpu":
        raise ValueError(f"the differentiable searches train on the CPU only, not on {device}")
    torch.manual_seed(cfg.seed)
    env = make_atari_env(
        cfg.game, cfg.num_envs, mode="train", backend=cfg.backend, seed=segment_seed(cfg.seed, 0)
    )
    num_actions = env.num_actions
    env.close()
    teacher: Teacher | None = None
    if cfg.distill != "none":
        teacher = load_teacher(cfg.teacher, game=cfg.game, num_actions=num_actions)
    agent = build_agent(run.config, num_actions, critic=not reuse_critic).train()
    search = SearchController(cfg, agent) if isinstance(cfg, SearchConfig) else None
    agent.to(device)
    if teacher is not None:
        teacher.agent.to(device)
    weights = search.weight_parameters() if search else list(agent.parameters())
    optimizer = torch.optim.RMSprop(
        weights, lr=cfg.lr, alpha=cfg.rmsprop_alpha, eps=cfg.rmsprop_eps
    )
    update, best_score, recent = resume(run, spu, agent, optimizer, search=search)

    bar = progress_bar(total_updates * spu, f"a2c {cfg.game} {cfg.model}", progress)
    bar.update(update * spu)
    next_log = next_multiple(update * spu, cfg.log_interval)
    next_eval = next_multiple(update * spu, cfg.eval_interval)
    if search:
        next_alpha_log = next_multiple(update * spu, cfg.alpha_log_interval)
    segments_done, t0, steps_at_t0 = 0, time.perf_counter(), update * spu

    while update < total_updates:
        # --- a segment: fresh envs from a derived seed, then updates until its checkpoint ------
        segment = update // updates_per_segment
        seed = segment_seed(cfg.seed, segment)
        env = make_atari_env(cfg.game, cfg.num_envs, mode="train", backend=cfg.backend, seed=seed)
        generator = torch.Generator().manual_seed(seed)
        obs = torch.from_numpy(env.reset(seed=seed))
        segment_end = min(total_updates, (segment + 1) * updates_per_segment)
        episode_rows: list[dict] = []
        previous_batch: Batch | None = None  # bi-level: the last rollout, the alpha step's train
        while update < segment_end:
            step = update * spu
            lr = a2d_learning_rate(
                step,
                lr=cfg.lr,
                lr_final=cfg.lr_final,
                constant_steps=cfg.constant_steps,
                total_steps=cfg.total_steps,
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            if search:
                hardware = search.begin_update(step, generator)
                if hardware is not None:
                    run.append("hardware.csv", [hardware])

            # --- rollout: T steps of N envs; the acting forwards keep their graph for learning --
            step_obs, step_logits, step_values, step_actions = [], [], [], []
            rewards = torch.empty((cfg.rollout_length, cfg.num_envs))
            dones = torch.empty((cfg.rollout_length, cfg.num_envs))
            for t in range(cfg.rollout_length):
                logits, values = agent(obs.to(device, non_blocking=True))
                if search:
                    search.record_sample()
                if not torch.isfinite(logits).all():
                    _diverge(run, env, step, "policy logits", segment * updates_per_segment * spu)
                action = select_actions(logits.detach().cpu(), False, generator)
                next_obs, reward, term, trunc, infos = env.step(action.numpy())
                step_obs.append(obs)
                step_logits.append(logits)
                step_values.append(values)
                step_actions.append(action)
                rewards[t] = torch.from_numpy(reward)
                dones[t] = torch.from_numpy(term | trunc)
                obs = torch.from_numpy(next_obs)
                for i in np.flatnonzero(infos["game_over"]):
                    score = float(infos["episode_return"][i])
                    recent.append(score)
                    episode_rows.append(
                        {
                            "step": step + (t + 1) * cfg.num_envs,
                            "env": int(i),
                            "return": score,
                            "length": int(infos["episode_length"][i]),
                        }
                    )
            # --- the teacher scores the rollout states and the last one, in one batch ---------
            teacher_logits = teacher_values = None
            if teacher is not None:
                teacher_logits, teacher_values = teacher(torch.cat([*step_obs, obs]).to(device))
                teacher_logits = teacher_logits[: -cfg.num_envs]
            if reuse_critic:
                values = None
                bootstrap = teacher_values[-cfg.num_envs :]
            else:
                values = torch.cat(step_values)
                with torch.no_grad():
                    _, bootstrap = agent(obs.to(device))

            # --- learning: n-step returns, A2C (+ distillation) loss, one RMSProp step ---------
            returns = nstep_returns(rewards, dones, bootstrap.cpu(), cfg.gamma).to(device)
            logits = torch.cat(step_logits)
            if teacher is not None:
                teacher_values = teacher_values[: -cfg.num_envs]
            loss, distill = actor_critic_losses(
                logits,
                values,
                torch.cat(step_actions).to(device),
                returns.flatten(),
                teacher_logits,
                teacher_values,
                **loss_kwargs(cfg),
            )
            total = loss.total + distill.total
            if search and cfg.strategy == "one-level":
                total = total + search.cost()  # A2D Eq. 9: weights and alpha from one loss
            if not torch.isfinite(total):
                _diverge(
                    run, env, step, f"loss {loss} {distill}", segment * updates_per_segment * spu
                )
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(weights, cfg.max_grad_norm)
            if not torch.isfinite(grad_norm):
                _diverge(run, env, step, "gradient norm", segment * updates_per_segment * spu)
            if search and cfg.strategy == "one-level":
                search.one_level_step()
            elif search:
                # bi-level: this rollout validates an alpha step unrolled on the previous one
                batch = Batch(
                    torch.cat(step_obs),
                    torch.cat(step_actions),
                    returns.flatten(),
                    teacher_logits,
                    teacher_values,
                )
                search.optimizer.zero_grad(set_to_none=True)
                if previous_batch is not None:
                    search.bilevel_step(
                        previous_batch, batch, xi=lr, seed=seed * 1_000_003 + update,
                        loss_kwargs=loss_kwargs(cfg),
                    )  # fmt: skip
                previous_batch = batch
            optimizer.step()
            update += 1
            step = update * spu
            bar.update(spu)

            # --- logging and periodic evaluation ---------------------------------------------
            if step >= next_log or update == total_updates:
                next_log += cfg.log_interval
                rate = (step - steps_at_t0) / (time.perf_counter() - t0)
                mean_recent = float(np.mean(recent)) if recent else float("nan")
                row = {
                    "step": step,
                    "lr": lr,
                    "loss": total.item(),
                    "policy_loss": loss.policy.item(),
                    "value_loss": loss.value.item(),
                    "entropy": -loss.entropy.item(),
                    "grad_norm": float(grad_norm),
                    "return_recent100": mean_recent,
                    "steps_per_s": rate,
                }
                if teacher is not None:
                    row["actor_distill"] = distill.actor.item()
                    row["critic_distill"] = distill.critic.item()
                if search:
                    row.update(search.log_row())
                run.append("metrics.csv", [row])
                scalars.add("train", row)
                run.append("episodes.csv", episode_rows)
                episode_rows = []
                bar.set_postfix(sps=f"{rate:.0f}", ret=f"{mean_recent:.1f}")
            if search and (step >= next_alpha_log or update == total_updates):
                next_alpha_log += cfg.alpha_log_interval
                _log_search(run, search, step)
            if step >= next_eval or update == total_updates:
                next_eval += cfg.eval_interval
                with search.derived_network() if search else nullcontext():
                    best_score = _evaluate_into(run, agent, cfg, step, best_score, scalars)
        run.append("episodes.csv", episode_rows)
        env.close()

        save_segment(run, update, spu, agent, optimizer, best_score, recent, search=search)
        segments_done += 1
        if stop_after_segments is not None and segments_done >= stop_after_segments:
            break
    bar.close()
    scalars.close()
    if update >= total_updates:
        run.mark_complete(update * spu)
    return TrainResult(run.path, update * spu, run.read("evals.csv"), update >= total_updates)


def resume(
    run: RunDir, spu: int, agent: torch.nn.Module, optimizer: torch.optim.Optimizer, **parts: Any
) -> tuple[int, float, deque]:
    """(update, best test score, recent returns) to start from: a fresh run's, or the latest
    checkpoint's, loaded into the agent, the optimiser and each named part (a `state_dict`
    owner, or None), with the logs written after that checkpoint dropped."""
    update, best_score, recent = 0, -math.inf, deque(maxlen=100)
    if run.has_checkpoint():
        state = run.load_checkpoint()
        agent.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for name, part in parts.items():
            if part is not None:
                part.load_state_dict(state[name])
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
    **parts: Any,
) -> None:
    """The checkpoint at a segment's end: everything `resume` needs to continue exactly."""
    named = {name: part.state_dict() if part is not None else None for name, part in parts.items()}
    run.save_checkpoint(
        {
            "update": update,
            "step": update * spu,
            "model": agent.state_dict(),
            "optimizer": optimizer.state_dict(),
            **named,
            "best_score": best_score,
            "recent_returns": list(recent),
            "num_actions": agent.actor.out_features,
            "config": run.config,
        }
    )


def next_multiple(step: int, interval: int) -> int:
    """The first multiple of `interval` after `step`: when the next log or test is due."""
    return (step // interval + 1) * interval


def loss_kwargs(cfg: A2CConfig) -> dict:
    """The loss settings of `actor_critic_losses`, from the run config."""
    return {
        "arm": cfg.distill,
        "entropy_coef": cfg.entropy_coef,
        "value_coef": cfg.value_coef,
        "actor_coef": cfg.actor_distill_coef,
        "critic_coef": cfg.critic_distill_coef,
    }


def _log_search(run: RunDir, search: SearchController, step: int) -> None:
    """alpha.csv, archs.csv (each new derived architecture) and collapse warnings."""
    run.append("alpha.csv", search.alpha_rows(step))
    arch = search.arch_row(step)
    if arch is not None:
        run.append("archs.csv", [arch])
    message = search.collapse_warning(step)
    if message is not None:
        run.append("warnings.csv", [{"step": step, "warning": message}])


def _diverge(run: RunDir, env, step: int, what: str, checkpoint_step: int) -> None:
    """Record the failing step in failure.json and stop; the last good checkpoint stays."""
    run.write_json(
        "failure.json", {"step": step, "non_finite": what, "last_checkpoint_step": checkpoint_step}
    )
    env.close()
    raise TrainingDiverged(
        f"non-finite {what} at step {step:,} in {run.path}; the last good checkpoint (step "
        f"{checkpoint_step:,}) is kept and failure.json records the step"
    )


def _evaluate_into(
    run: RunDir,
    agent: torch.nn.Module,
    cfg: A2CConfig,
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

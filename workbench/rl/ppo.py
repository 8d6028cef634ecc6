"""Proximal policy optimisation (Schulman et al. 2017) as Mazyavkina et al. train their agents.

Atari defaults are the paper's Tab. 4 (SPEC §3): 8 envs x 128 steps per rollout, clip 0.1, value
coefficient 0.25, GAE lambda 0.95, gamma 0.99, entropy 0.01, Adam at 2.5e-4 cosine-annealed to 0,
gradient-norm clipping 0.5, 1e7 agent steps. The paper gives no epochs or minibatches: we use
baselines' PPO2 Atari defaults, 4 epochs of 4 minibatches (256 frames each); the authors' public
code used 5 epochs. `PPOConfig.procgen` gives Cobbe et al. (2020)'s Procgen settings.

The loop is A2C's (workbench.rl.a2c): segments of `checkpoint_interval` agent steps, each on envs
freshly seeded with (seed, segment) and closed by a checkpoint, so a resumed run reproduces an
uninterrupted one exactly on CPU; the same run folder layout, divergence handling and periodic
test-score evaluation. An `ArchSchedule` picks the architecture of each update, which is how
SPOS and ENAS (workbench.oneshot) train a weight-sharing supernet with this same loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from workbench.config import BACKENDS, _check_positive_int
from workbench.envs import VecEnv, make_atari_env, make_procgen_env
from workbench.experiments.runs import RunDir
from workbench.experiments.tensorboard import ScalarLog
from workbench.models import ActorCritic, create_agent
from workbench.progress import progress_bar
from workbench.rl.a2c import (
    TrainResult,
    _diverge,
    _evaluate_into,
    next_multiple,
    resume,
    save_segment,
    segment_seed,
)
from workbench.rl.allocator import tune_malloc
from workbench.rl.device import module_device, train_device
from workbench.rl.evaluation import select_actions
from workbench.rl.gae import gae

ENVS = ("atari", "procgen")
LR_SCHEDULES = ("cosine", "constant")


# --- the loss -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOLoss:
    """The loss terms of one minibatch; `total` is what is minimised."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor  # L_entropy = E[sum_a pi log pi], i.e. minus the entropy
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def ppo_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    old_values: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    *,
    clip: float,
    value_coef: float,
    entropy_coef: float,
    clip_value: bool = True,
) -> PPOLoss:
    """L = L_clip + value_coef L_value + entropy_coef L_entropy over a flat minibatch (B, ...).

    L_clip = E[max(-rho A, -clip(rho, 1 - eps, 1 + eps) A)] with rho = pi / pi_old;
    L_value = E[max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)] (clipped as in
    baselines and the authors' code; without the 1/2, so value_coef 0.25 equals baselines'
    0.5 * 1/2); L_entropy = E[sum_a pi log pi]. Advantages are used as given (normalise first).
    """
    log_probs = F.log_softmax(logits, dim=-1)
    new_log_prob = log_probs.gather(-1, actions[:, None]).squeeze(-1)
    log_ratio = new_log_prob - old_log_probs
    ratio = log_ratio.exp()
    policy = torch.max(-ratio * advantages, -ratio.clamp(1 - clip, 1 + clip) * advantages).mean()
    value_error = (values - returns).pow(2)
    if clip_value:
        clipped = old_values + (values - old_values).clamp(-clip, clip)
        value_error = torch.max(value_error, (clipped - returns).pow(2))
    value = value_error.mean()
    entropy = (log_probs.exp() * log_probs).sum(-1).mean()
    total = policy + value_coef * value + entropy_coef * entropy
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()  # Schulman's low-variance KL estimator
        clip_fraction = ((ratio - 1).abs() > clip).float().mean()
    return PPOLoss(total, policy, value, entropy, approx_kl, clip_fraction)


def cosine_lr(step: int, *, lr: float, total_steps: int) -> float:
    """lr * (1 + cos(pi * step / total)) / 2: `lr` at step 0, 0 at the end of the budget."""
    frac = min(1.0, max(0.0, step / total_steps))
    return lr * 0.5 * (1.0 + math.cos(math.pi * frac))


# --- the config -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOConfig:
    """PPO as Mazyavkina et al. Tab. 4 (Atari defaults); `PPOConfig.procgen` for Procgen.

    Steps are agent steps summed over envs (one Atari agent step = 4 emulator frames). The agent
    is the registered backbone `model`, or architecture `arch_index` of one-shot search space
    `space` (workbench.oneshot.spaces; `model` is then only the label in the run folder's name).
    """

    game: str = "Breakout"
    """Atari game (CamelCase ALE id) or, with env="procgen", a Procgen game (e.g. Starpilot)."""
    model: str = "vanilla"
    """Registered backbone (workbench models), or the label of a space architecture."""
    space: int | None = None
    """One-shot search space (1 or 2, Mazyavkina et al. Tab. 2) of `arch_index`."""
    arch_index: int | None = None
    """Architecture of `space` to train instead of `model` (workbench.oneshot.spaces)."""
    env: str = "atari"
    """atari (ALE, DQN preprocessing) or procgen (envpool, 3x64x64, easy distribution)."""
    total_steps: int = 10_000_000
    """Training budget in agent steps; Mazyavkina et al.: 1e7."""
    num_envs: int = 8
    """Parallel environments (paper: 8)."""
    rollout_length: int = 128
    """Steps per env per rollout (paper: 128)."""
    epochs: int = 4
    """Passes over each rollout (not in the paper; baselines' PPO2 Atari default)."""
    minibatches: int = 4
    """Minibatches per epoch (not in the paper; baselines' PPO2 Atari default)."""
    gamma: float = 0.99
    """Discount."""
    gae_lambda: float = 0.95
    """GAE lambda (paper: 0.95)."""
    clip: float = 0.1
    """PPO clip range epsilon (paper: 0.1), also used for the value clipping."""
    clip_value: bool = True
    """Clip the value update around the rollout's values (baselines, the authors' code)."""
    value_coef: float = 0.25
    """Weight of L_value = E[(V - R)^2] (paper: 0.25)."""
    entropy_coef: float = 0.01
    """Weight of L_entropy = E[sum pi log pi] (paper: 0.01)."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch (baselines, SB3)."""
    lr: float = 2.5e-4
    """Adam learning rate at the start (paper: 2.5e-4)."""
    lr_schedule: str = "cosine"
    """cosine (paper: cosine annealing to 0 at the end of the budget) or constant."""
    adam_eps: float = 1e-5
    """Adam epsilon (baselines, the authors' code)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clipping (baselines, the authors' code)."""
    seed: int = 0
    """Seed of everything: weights, action sampling, minibatches, env resets."""
    backend: str = "auto"
    """Atari backend: auto (envpool when installed), gymnasium or envpool."""
    eval_interval: int = 1_000_000
    """Agent steps between test-score evaluations (Atari only)."""
    eval_episodes: int = 30
    """Episodes per evaluation (the protocol uses 30)."""
    greedy_eval: bool = False
    """Evaluate with argmax actions instead of sampling."""
    checkpoint_interval: int = 1_000_000
    """Agent steps per segment; a checkpoint is written at the end of each segment."""
    log_interval: int = 10_000
    """Agent steps between rows of metrics.csv."""
    tag: str = "ppo"
    """Free label that goes into the run folder name."""

    def __post_init__(self) -> None:
        _check_positive_int(
            self, "total_steps", "num_envs", "rollout_length", "epochs", "minibatches",
            "eval_interval", "eval_episodes", "checkpoint_interval", "log_interval",
        )  # fmt: skip
        _check_choice(self.env, ENVS, "env")
        _check_choice(self.backend, BACKENDS, "backend")
        _check_choice(self.lr_schedule, LR_SCHEDULES, "lr_schedule")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("lr", "clip", "adam_eps", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("value_coef", "entropy_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.steps_per_update % self.minibatches:
            raise ValueError(
                f"num_envs * rollout_length = {self.steps_per_update} frames do not split into "
                f"{self.minibatches} equal minibatches"
            )
        if self.arch_index is not None:
            if self.space is None:
                raise ValueError("arch_index needs the search space it indexes (space=1 or 2)")
            from workbench.oneshot.spaces import get_space

            get_space(self.space).kernels(self.arch_index)  # raises for an index outside it

    @property
    def steps_per_update(self) -> int:
        """Agent steps consumed by one update (one rollout)."""
        return self.num_envs * self.rollout_length

    @property
    def minibatch_size(self) -> int:
        """Frames per minibatch."""
        return self.steps_per_update // self.minibatches

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all fields (for CLIs and sweeps)."""
        return [f.name for f in fields(cls)]

    @classmethod
    def procgen(cls, game: str = "Starpilot", **overrides: object) -> PPOConfig:
        """Cobbe et al. (2020)'s Procgen PPO: 64 envs x 256 steps, 3 epochs of 8 minibatches,
        gamma 0.999, lambda 0.95, Adam 5e-4 constant, entropy 0.01, clip 0.2, 25M steps, on
        IMPALA-CNN (SPEC §3). Their reward normalisation is not implemented here."""
        settings: dict[str, object] = dict(
            game=game, env="procgen", model="impala_cnn", total_steps=25_000_000, num_envs=64,
            rollout_length=256, epochs=3, minibatches=8, gamma=0.999, gae_lambda=0.95, lr=5e-4,
            lr_schedule="constant", entropy_coef=0.01, clip=0.2, value_coef=0.25,
        )  # fmt: skip
        return cls(**{**settings, **overrides})


def _check_choice(value: str, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, valid))}; got {value!r}")


def learning_rate(cfg: PPOConfig, step: int) -> float:
    """The learning rate of the update that starts at agent step `step`."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    return cosine_lr(step, lr=cfg.lr, total_steps=cfg.total_steps)


# --- envs and agents ------------------------------------------------------------------------


def make_train_env(cfg: PPOConfig, seed: int) -> VecEnv:
    """The training envs of a config, seeded with `seed`."""
    if cfg.env == "procgen":
        return make_procgen_env(cfg.game, cfg.num_envs, seed=seed)
    return make_atari_env(cfg.game, cfg.num_envs, mode="train", backend=cfg.backend, seed=seed)


def env_spec(cfg: PPOConfig) -> tuple[int, tuple[int, ...]]:
    """(number of actions, observation shape) of the config's game."""
    env = make_train_env(cfg, segment_seed(cfg.seed, 0))
    try:
        return env.num_actions, env.observation_shape
    finally:
        env.close()


def build_ppo_agent(cfg: PPOConfig, num_actions: int, obs_shape: tuple[int, ...]) -> ActorCritic:
    """The config's agent: a space architecture or a registered backbone, with the two heads."""
    channels, size = obs_shape[0], obs_shape[-1]
    if cfg.arch_index is not None:
        from workbench.oneshot.spaces import build_space_model

        backbone = build_space_model(cfg.space, cfg.arch_index, channels, size)
        return ActorCritic(backbone, num_actions)
    return create_agent(cfg.model, num_actions, in_channels=channels, input_size=size)


# --- architecture schedules (fixed here; SPOS and ENAS in workbench.oneshot) ---------------


class ArchSchedule:
    """Which architecture the agent runs in each update. This default: always the same one.

    Subclasses set the supernet's path in `begin_update`, may learn from the finished games in
    `end_update` (rows it returns go to archs.csv) and keep their state in the checkpoint.
    """

    def begin_update(self, update: int, generator: torch.Generator) -> None:
        """Prepare update number `update` (e.g. sample a path with `generator`)."""

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> list:
        """Learn from the scores of the games finished in this update; rows for archs.csv."""
        return []

    def log_fields(self) -> dict:
        """Extra columns of metrics.csv and episodes.csv (e.g. the architecture in use)."""
        return {}

    @contextmanager
    def evaluation(self) -> Iterator[bool]:
        """Set up the architecture to test; yields False to skip the periodic evaluation."""
        yield True

    def state_dict(self) -> dict:
        """What a checkpoint must hold to resume exactly."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`."""


# --- rollout and update ---------------------------------------------------------------------


class NonFinite(RuntimeError):
    """A non-finite logit, loss or gradient norm (the loop records it as a divergence)."""


@dataclass
class Rollout:
    """T steps of N envs, everything the update needs, plus the games that ended."""

    obs: torch.Tensor  # (T, N, C, H, W) uint8
    actions: torch.Tensor  # (T, N) int64
    log_probs: torch.Tensor  # (T, N)
    values: torch.Tensor  # (T, N)
    rewards: torch.Tensor  # (T, N), clipped in Atari training mode
    dones: torch.Tensor  # (T, N) 1.0 where the (life-)episode ended at step t
    bootstrap: torch.Tensor  # (N,) V of the state after the rollout
    games: list[tuple[int, int, float, int]]  # (t, env, raw score, length) of finished games


def collect_rollout(
    agent: ActorCritic, env: VecEnv, obs: torch.Tensor, length: int, generator: torch.Generator
) -> tuple[Rollout, torch.Tensor]:
    """Play `length` steps with sampled actions (no gradients); return the rollout and next obs."""
    n = env.num_envs
    frames = torch.empty((length, *obs.shape), dtype=obs.dtype)
    actions = torch.empty((length, n), dtype=torch.int64)
    log_probs, values, rewards, dones = (torch.empty((length, n)) for _ in range(4))
    games: list[tuple[int, int, float, int]] = []
    device = module_device(agent)
    for t in range(length):
        with torch.no_grad():
            logits, value = agent(obs.to(device, non_blocking=True))
        logits, value = logits.cpu(), value.cpu()  # sampling uses the run's CPU generator
        if not torch.isfinite(logits).all():
            raise NonFinite("policy logits")
        action = select_actions(logits, False, generator)
        next_obs, reward, term, trunc, infos = env.step(action.numpy())
        frames[t], actions[t], values[t] = obs, action, value
        log_probs[t] = F.log_softmax(logits, -1).gather(-1, action[:, None]).squeeze(-1)
        rewards[t] = torch.from_numpy(reward)
        dones[t] = torch.from_numpy(term | trunc)  # truncation as termination, as in A2C
        for i in np.flatnonzero(infos["game_over"]):
            games.append(
                (t, int(i), float(infos["episode_return"][i]), int(infos["episode_length"][i]))
            )
        obs = torch.from_numpy(next_obs)
    with torch.no_grad():
        _, bootstrap = agent(obs.to(device))
    rollout = Rollout(frames, actions, log_probs, values, rewards, dones, bootstrap.cpu(), games)
    return rollout, obs


def ppo_update(
    agent: ActorCritic,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    cfg: PPOConfig,
    generator: torch.Generator,
) -> dict[str, float]:
    """`epochs` passes of shuffled minibatches over the rollout; the mean loss terms."""
    advantages, returns = gae(
        rollout.rewards, rollout.values, rollout.dones, rollout.bootstrap,
        gamma=cfg.gamma, lam=cfg.gae_lambda,
    )  # fmt: skip
    device = module_device(agent)
    obs, actions = rollout.obs.flatten(0, 1).to(device), rollout.actions.flatten().to(device)
    old_log_probs = rollout.log_probs.flatten().to(device)
    old_values = rollout.values.flatten().to(device)
    advantages, returns = advantages.flatten().to(device), returns.flatten().to(device)
    params = [p for p in agent.parameters() if p.requires_grad]
    sums: dict[str, float] = {}
    for _ in range(cfg.epochs):
        order = torch.randperm(cfg.steps_per_update, generator=generator).to(device)
        for idx in order.split(cfg.minibatch_size):
            adv = advantages[idx]
            if cfg.normalize_advantages and len(idx) > 1:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            logits, values = agent(obs[idx])
            old = (actions[idx], old_log_probs[idx], old_values[idx], adv, returns[idx])
            loss = ppo_loss(
                logits, values, *old, clip=cfg.clip, value_coef=cfg.value_coef,
                entropy_coef=cfg.entropy_coef, clip_value=cfg.clip_value,
            )  # fmt: skip
            if not torch.isfinite(loss.total):
                raise NonFinite(f"loss (policy {loss.policy.item()}, value {loss.value.item()})")
            optimizer.zero_grad(set_to_none=True)  # paths not run keep no gradient (SPOS)
            loss.total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            if not torch.isfinite(grad_norm):
                raise NonFinite("gradient norm")
            optimizer.step()
            terms = {
                "loss": loss.total, "policy_loss": loss.policy, "value_loss": loss.value,
                "entropy": -loss.entropy, "approx_kl": loss.approx_kl,
                "clip_fraction": loss.clip_fraction, "grad_norm": grad_norm,
            }  # fmt: skip
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.item()
    count = cfg.epochs * cfg.minibatches
    return {key: value / count for key, value in sums.items()}


# --- the loop -------------------------------------------------------------------------------


def train_ppo(
    cfg: PPOConfig,
    run_dir: str | Path,
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Train (or resume) a PPO agent into `run_dir`; `stop_after_segments` pauses early.

    The run folder is A2C's: config.json, env.json, metrics.csv, episodes.csv, evals.csv,
    checkpoints/ (latest, best) and result.json once the budget is reached.
    """
    return train_run(
        cfg, run_dir, lambda run: (build_ppo_agent(cfg, *env_spec(cfg)), ArchSchedule()),
        progress=progress, stop_after_segments=stop_after_segments, tensorboard=tensorboard,
    )  # fmt: skip


def train_run(
    cfg: PPOConfig,
    run_dir: str | Path,
    build: Callable[[RunDir], tuple[ActorCritic, ArchSchedule]],
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
    after: Callable[[RunDir, TrainResult], None] | None = None,
) -> TrainResult:
    """Lock `run_dir`, reuse it when finished, else seed, `build` the agent and its schedule,
    run the PPO loop, call `after` (extra records) and mark the run complete at its budget.

    The one entry of every PPO-trained run: plain PPO, the one-shot searches and RL-DARTS.
    """
    run = RunDir(run_dir, cfg)
    with run.lock():
        if run.is_complete():
            return TrainResult(run.path, cfg.total_steps, run.read("evals.csv"), True)
        train_device()  # a bad $WORKBENCH_DEVICE fails here, before any env is made
        tune_malloc()  # likewise a bad $WORKBENCH_MALLOC
        torch.manual_seed(cfg.seed)
        agent, schedule = build(run)
        result = run_ppo(
            run, cfg, agent, schedule, progress=progress,
            stop_after_segments=stop_after_segments, tensorboard=tensorboard,
        )  # fmt: skip
        if after is not None:
            after(run, result)
        if result.completed:
            run.mark_complete(result.steps)
        return result


def run_ppo(
    run: RunDir,
    cfg: PPOConfig,
    agent: ActorCritic,
    schedule: ArchSchedule,
    *,
    progress: bool | None = None,
    stop_after_segments: int | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """The PPO loop on a freshly seeded `agent`, resuming from `run`'s checkpoint if any.

    The caller holds the run's lock and writes result.json (searches rank architectures first).
    """
    scalars = ScalarLog(run.path, tensorboard)
    spu = cfg.steps_per_update
    total_updates = math.ceil(cfg.total_steps / spu)
    updates_per_segment = max(1, math.ceil(cfg.checkpoint_interval / spu))
    agent.to(train_device())
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
    update, best_score, recent = resume(run, spu, agent, optimizer, schedule=schedule)

    bar = progress_bar(total_updates * spu, f"ppo {cfg.game} {cfg.model}", progress)
    bar.update(update * spu)
    next_log = next_multiple(update * spu, cfg.log_interval)
    next_eval = next_multiple(update * spu, cfg.eval_interval)
    segments_done, t0, steps_at_t0 = 0, time.perf_counter(), update * spu

    while update < total_updates:
        # --- a segment: fresh envs from a derived seed, then updates until its checkpoint ------
        segment = update // updates_per_segment
        seed = segment_seed(cfg.seed, segment)
        checkpoint_step = segment * updates_per_segment * spu
        env = make_train_env(cfg, seed)
        generator = torch.Generator().manual_seed(seed)
        obs = torch.from_numpy(env.reset(seed=seed))
        segment_end = min(total_updates, (segment + 1) * updates_per_segment)
        episode_rows: list[dict] = []
        while update < segment_end:
            step = update * spu
            lr = learning_rate(cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            schedule.begin_update(update, generator)
            try:
                rollout, obs = collect_rollout(agent, env, obs, cfg.rollout_length, generator)
                stats = ppo_update(agent, optimizer, rollout, cfg, generator)
            except NonFinite as exc:
                _diverge(run, env, step, str(exc), checkpoint_step)
            fields_now = schedule.log_fields()
            for t, i, score, length in rollout.games:
                recent.append(score)
                episode_rows.append(
                    {"step": step + (t + 1) * cfg.num_envs, "env": i, "return": score,
                     "length": length, **fields_now}
                )  # fmt: skip
            update += 1
            step = update * spu
            bar.update(spu)
            run.append("archs.csv", schedule.end_update(step, [g[2] for g in rollout.games],
                                                        generator))  # fmt: skip

            # --- logging and periodic evaluation ---------------------------------------------
            if step >= next_log or update == total_updates:
                next_log += cfg.log_interval
                rate = (step - steps_at_t0) / (time.perf_counter() - t0)
                mean_recent = float(np.mean(recent)) if recent else float("nan")
                row = {"step": step, "lr": lr, **stats, "return_recent100": mean_recent,
                       "steps_per_s": rate, **fields_now}  # fmt: skip
                run.append("metrics.csv", [row])
                scalars.add("train", row)
                run.append("episodes.csv", episode_rows)
                episode_rows = []
                bar.set_postfix(sps=f"{rate:.0f}", ret=f"{mean_recent:.1f}")
            if step >= next_eval or update == total_updates:
                next_eval += cfg.eval_interval
                if cfg.env == "atari":  # `evaluate` plays ALE games only
                    with schedule.evaluation() as wanted:
                        if wanted:
                            best_score = _evaluate_into(run, agent, cfg, step, best_score, scalars)
        run.append("episodes.csv", episode_rows)
        env.close()

        save_segment(run, update, spu, agent, optimizer, best_score, recent, schedule=schedule)
        segments_done += 1
        if stop_after_segments is not None and segments_done >= stop_after_segments:
            break
    bar.close()
    scalars.close()
    return TrainResult(run.path, update * spu, run.read("evals.csv"), update >= total_updates)

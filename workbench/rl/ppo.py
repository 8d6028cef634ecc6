"""Proximal policy optimisation (Schulman et al. 2017) as Mazyavkina et al. train their agents.

Atari defaults are the paper's Tab. 4 (SPEC §3): 8 envs x 128 steps per rollout, clip 0.1, value
coefficient 0.25, GAE lambda 0.95, gamma 0.99, entropy 0.01, Adam at 2.5e-4 cosine-annealed to 0,
gradient-norm clipping 0.5, 1e7 agent steps. The paper gives no epochs or minibatches: we use
baselines' PPO2 Atari defaults, 4 epochs of 4 minibatches (256 frames each); the authors' public
code used 5 epochs. `PPOConfig.procgen` gives Cobbe et al. (2020)'s Procgen settings.

PPO is an algorithm of the training engine (workbench.rl.engine), as A2C is: segments, the run
folder, resume, divergence handling and the periodic test-score evaluation are the engine's. A
plug-in picks the architecture of each update, which is how SPOS and ENAS (workbench.oneshot)
train a weight-sharing supernet, and RL-DARTS (workbench.darts) logs its cell, with this PPO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from workbench.config import PPOConfig
from workbench.device import module_device
from workbench.envs import VecEnv, make_atari_env, make_procgen_env
from workbench.models import ActorCritic
from workbench.rl.engine import (
    Batch,
    Game,
    NonFinite,
    Plugin,
    register_algorithm,
    segment_seed,
    train,
)
from workbench.rl.evaluation import select_actions
from workbench.rl.gae import gae
from workbench.runs.folder import RunDir
from workbench.runs.kinds import RunKind

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


# --- rollout and update ---------------------------------------------------------------------


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
    games: list[Game]  # (t, env, raw score, length) of finished games


def collect_rollout(
    agent: ActorCritic, env: VecEnv, obs: torch.Tensor, length: int, generator: torch.Generator
) -> tuple[Rollout, torch.Tensor]:
    """Play `length` steps with sampled actions (no gradients); return the rollout and next obs."""
    n = env.num_envs
    frames = torch.empty((length, *obs.shape), dtype=obs.dtype)
    actions = torch.empty((length, n), dtype=torch.int64)
    log_probs, values, rewards, dones = (torch.empty((length, n)) for _ in range(4))
    games: list[Game] = []
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
    plugin: Plugin | None = None,
    lr: float | None = None,
) -> dict[str, float]:
    """`epochs` passes of shuffled minibatches over the rollout; the mean loss terms.

    A plug-in's `total_loss` and `after_backward` hooks see every minibatch."""
    plugin = plugin if plugin is not None else Plugin()
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
            total = plugin.total_loss(loss.total)
            if not torch.isfinite(total):
                raise NonFinite(f"loss (policy {loss.policy.item()}, value {loss.value.item()})")
            optimizer.zero_grad(set_to_none=True)  # paths not run keep no gradient (SPOS)
            total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            if not torch.isfinite(grad_norm):
                raise NonFinite("gradient norm")
            plugin.after_backward(Batch(obs[idx], actions[idx], returns[idx]), lr or cfg.lr)
            optimizer.step()
            terms = {
                "loss": total, "policy_loss": loss.policy, "value_loss": loss.value,
                "entropy": -loss.entropy, "approx_kl": loss.approx_kl,
                "clip_fraction": loss.clip_fraction, "grad_norm": grad_norm,
            }  # fmt: skip
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.item()
    count = cfg.epochs * cfg.minibatches
    return {key: value / count for key, value in sums.items()}


@dataclass
class PPOStats:
    """The mean loss terms of an update's minibatches."""

    means: dict[str, float]

    def terms(self) -> dict:
        return self.means

    def extra(self) -> dict:
        return {}


class PPO:
    """PPO as the engine drives it: Adam over the agent, `ppo_update` on each rollout."""

    name = "ppo"

    def __init__(
        self, cfg: PPOConfig, agent: ActorCritic, plugin: Plugin, device: torch.device
    ) -> None:
        self.cfg, self.agent, self.plugin = cfg, agent, plugin
        self.evaluates = cfg.env == "atari"  # `evaluate` plays ALE games only
        self.optimizer = torch.optim.Adam(
            plugin.weight_parameters(agent), lr=cfg.lr, eps=cfg.adam_eps
        )

    def make_env(self, seed: int) -> VecEnv:
        return make_train_env(self.cfg, seed)

    def learning_rate(self, step: int) -> float:
        return learning_rate(self.cfg, step)

    def begin_segment(self) -> None:
        """Nothing of PPO's crosses an update."""

    def update(
        self, env: VecEnv, obs: torch.Tensor, generator: torch.Generator, update: int, lr: float
    ) -> tuple[torch.Tensor, list[Game], PPOStats]:
        """One rollout, then `epochs` passes of minibatches over it."""
        rollout, obs = collect_rollout(self.agent, env, obs, self.cfg.rollout_length, generator)
        means = ppo_update(self.agent, self.optimizer, rollout, self.cfg, generator, self.plugin,
                           lr)  # fmt: skip
        return obs, rollout.games, PPOStats(means)


def create_ppo(
    cfg: PPOConfig, kind: RunKind, run: RunDir, device: torch.device
) -> tuple[PPO, Plugin]:
    """The PPO of a fresh, seeded run: the kind's agent and plug-in, then Adam."""
    num_actions, obs_shape = env_spec(cfg)
    agent = kind.build_agent(cfg, num_actions, obs_shape, True)
    plugin = kind.make_plugin(cfg, agent, run) if kind.make_plugin else Plugin()
    agent.to(device)
    return PPO(cfg, agent, plugin, device), plugin


register_algorithm("ppo", create_ppo)

train_ppo = train
"""Train (or resume) a PPO-trained run (plain PPO, the one-shot searches, RL-DARTS)."""

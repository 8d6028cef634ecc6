"""Synchronous advantage actor-critic (A2D Sec. 3, 4.1) as an algorithm of the training engine.

One update: T steps of N envs whose acting forwards keep their graph, n-step returns, the A2C
loss plus the distillation terms of the run's arm (A2D Eq. 6-8, a frozen teacher scoring the
student's own rollout states), one RMSProp step. `actor+reuse-critic` trains no critic and uses
the teacher's values for the td-errors and the bootstrap. Segments, logging, evaluation and
checkpoints are the engine's (workbench.rl.engine); a search plugs in through its hooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from workbench.config import A2CConfig
from workbench.envs import VecEnv, make_atari_env
from workbench.rl.distillation import A2CLoss, DistillLoss, actor_critic_losses
from workbench.rl.engine import (
    Batch,
    Game,
    NonFinite,
    Plugin,
    TrainingDiverged,
    register_algorithm,
    segment_seed,
    train,
)
from workbench.rl.evaluation import select_actions
from workbench.rl.losses import nstep_returns
from workbench.rl.schedules import a2d_learning_rate
from workbench.rl.teacher import Teacher, load_teacher
from workbench.runs.folder import RunDir
from workbench.runs.kinds import RunKind


def loss_kwargs(cfg: A2CConfig) -> dict:
    """The loss settings of `actor_critic_losses`, from the run config."""
    return {
        "arm": cfg.distill,
        "entropy_coef": cfg.entropy_coef,
        "value_coef": cfg.value_coef,
        "actor_coef": cfg.actor_distill_coef,
        "critic_coef": cfg.critic_distill_coef,
    }


@dataclass
class A2CStats:
    """One update's loss terms, turned into numbers only when a metrics row is written."""

    total: torch.Tensor
    loss: A2CLoss
    distill: DistillLoss
    grad_norm: torch.Tensor
    distilling: bool

    def terms(self) -> dict:
        return {
            "loss": self.total.item(),
            "policy_loss": self.loss.policy.item(),
            "value_loss": self.loss.value.item(),
            "entropy": -self.loss.entropy.item(),
            "grad_norm": float(self.grad_norm),
        }

    def extra(self) -> dict:
        if not self.distilling:
            return {}
        return {"actor_distill": self.distill.actor.item(),
                "critic_distill": self.distill.critic.item()}  # fmt: skip


class A2C:
    """The A2C update on one agent, with an optional frozen teacher and a plug-in's hooks."""

    name = "a2c"
    evaluates = True

    def __init__(
        self,
        cfg: A2CConfig,
        agent: torch.nn.Module,
        plugin: Plugin,
        teacher: Teacher | None,
        device: torch.device,
    ) -> None:
        self.cfg, self.agent, self.plugin, self.teacher, self.device = (
            cfg, agent, plugin, teacher, device,
        )  # fmt: skip
        self.weights = plugin.weight_parameters(agent)
        self.optimizer = torch.optim.RMSprop(
            self.weights, lr=cfg.lr, alpha=cfg.rmsprop_alpha, eps=cfg.rmsprop_eps
        )
        self.loss_kwargs = loss_kwargs(cfg)

    def make_env(self, seed: int) -> VecEnv:
        cfg = self.cfg
        return make_atari_env(cfg.game, cfg.num_envs, mode="train", backend=cfg.backend, seed=seed)

    def learning_rate(self, step: int) -> float:
        cfg = self.cfg
        return a2d_learning_rate(
            step, lr=cfg.lr, lr_final=cfg.lr_final, constant_steps=cfg.constant_steps,
            total_steps=cfg.total_steps,
        )  # fmt: skip

    def begin_segment(self) -> None:
        """Nothing of A2C's crosses an update."""

    def update(
        self, env: VecEnv, obs: torch.Tensor, generator: torch.Generator, update: int, lr: float
    ) -> tuple[torch.Tensor, list[Game], A2CStats]:
        """Rollout (acting forwards keep their graph), n-step returns, loss, one RMSProp step."""
        cfg, agent, device, n = self.cfg, self.agent, self.device, self.cfg.num_envs
        step_obs, step_logits, step_values, step_actions = [], [], [], []
        rewards = torch.empty((cfg.rollout_length, n))
        dones = torch.empty((cfg.rollout_length, n))
        games: list[Game] = []
        for t in range(cfg.rollout_length):
            logits, values = agent(obs.to(device, non_blocking=True))
            self.plugin.on_forward()
            if not torch.isfinite(logits).all():
                raise NonFinite("policy logits")
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
                score, length = float(infos["episode_return"][i]), int(infos["episode_length"][i])
                games.append((t, int(i), score, length))

        # --- the teacher scores the rollout states and the last one, in one batch -------------
        teacher_logits = teacher_values = None
        if self.teacher is not None:
            teacher_logits, teacher_values = self.teacher(torch.cat([*step_obs, obs]).to(device))
            teacher_logits = teacher_logits[:-n]
        if agent.critic is None:  # actor+reuse-critic: the teacher is the critic
            values, bootstrap = None, teacher_values[-n:]
        else:
            values = torch.cat(step_values)
            with torch.no_grad():
                _, bootstrap = agent(obs.to(device))
        if teacher_values is not None:
            teacher_values = teacher_values[:-n]

        # --- learning: n-step returns, A2C (+ distillation) loss, one RMSProp step ------------
        returns = nstep_returns(rewards, dones, bootstrap.cpu(), cfg.gamma).to(device)
        actions = torch.cat(step_actions)
        loss, distill = actor_critic_losses(
            torch.cat(step_logits), values, actions.to(device), returns.flatten(),
            teacher_logits, teacher_values, **self.loss_kwargs,
        )  # fmt: skip
        total = self.plugin.total_loss(loss.total + distill.total)
        if not torch.isfinite(total):
            raise NonFinite(f"loss {loss} {distill}")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.weights, cfg.max_grad_norm)
        if not torch.isfinite(grad_norm):
            raise NonFinite("gradient norm")
        batch = Batch(step_obs, actions, returns.flatten(), teacher_logits, teacher_values)
        self.plugin.after_backward(batch, lr)
        self.optimizer.step()
        return obs, games, A2CStats(total, loss, distill, grad_norm, self.teacher is not None)


def create_a2c(
    cfg: A2CConfig, kind: RunKind, run: RunDir, device: torch.device
) -> tuple[A2C, Plugin]:
    """The A2C of a fresh, seeded run: teacher, agent (the kind's), plug-in, optimiser."""
    env = make_atari_env(
        cfg.game, cfg.num_envs, mode="train", backend=cfg.backend, seed=segment_seed(cfg.seed, 0)
    )
    num_actions, obs_shape = env.num_actions, env.observation_shape
    env.close()
    teacher = None
    if cfg.distill != "none":
        teacher = load_teacher(cfg.teacher, game=cfg.game, num_actions=num_actions)
    critic = cfg.distill != "actor+reuse-critic"
    agent = kind.build_agent(cfg, num_actions, obs_shape, critic).train()
    plugin = kind.make_plugin(cfg, agent, run) if kind.make_plugin else Plugin()
    agent.to(device)
    if teacher is not None:
        teacher.agent.to(device)
    return A2C(cfg, agent, plugin, teacher, device), plugin


register_algorithm("a2c", create_a2c)

__all__ = ["A2C", "TrainingDiverged", "create_a2c", "loss_kwargs", "train"]


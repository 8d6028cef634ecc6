"""The run kinds of workbench.oneshot: `ppo-tabular` (PPO of one architecture of a one-shot
space, a tabular benchmark's run) and `oneshot` (SPOS or ENAS on the weight-sharing supernet)."""

from __future__ import annotations

from workbench.config import PPOConfig
from workbench.oneshot.config import OneShotConfig
from workbench.rl.kinds import default_obs_shape, train_ppo
from workbench.runs.kinds import RunKind, register_kind


def build_space_agent(cfg: PPOConfig, num_actions: int, obs_shape: tuple | None, critic: bool):
    """Architecture `cfg.arch_index` of one-shot space `cfg.space` with the two heads."""
    from workbench.models import ActorCritic
    from workbench.oneshot.spaces import build_space_model

    channels, _, size = obs_shape or default_obs_shape(cfg)
    backbone = build_space_model(cfg.space, cfg.arch_index, channels, size)
    return ActorCritic(backbone, num_actions, critic=critic)


def build_oneshot_agent(cfg: OneShotConfig, num_actions: int, obs_shape: tuple | None,
                        critic: bool):  # fmt: skip
    """The weight-sharing supernet of `cfg.space` with the two heads."""
    from workbench.oneshot.search import build_supernet_agent

    return build_supernet_agent(cfg, num_actions, obs_shape or default_obs_shape(cfg), critic)


def make_oneshot_plugin(cfg: OneShotConfig, agent, run):
    """SPOS's uniform paths or ENAS's controller."""
    from workbench.oneshot.search import make_schedule

    return make_schedule(cfg, agent, run)


def train_oneshot(cfg: OneShotConfig, run_dir, **options):
    """Train a one-shot search run."""
    from workbench.oneshot.search import train_oneshot

    return train_oneshot(cfg, run_dir, **options)


register_kind(RunKind("ppo-tabular", PPOConfig, build_space_agent, train_ppo, algorithm="ppo"))
register_kind(RunKind("oneshot", OneShotConfig, build_oneshot_agent, train_oneshot,
                      make_plugin=make_oneshot_plugin, algorithm="ppo"))  # fmt: skip

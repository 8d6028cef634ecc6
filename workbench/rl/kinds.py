"""The run kinds of workbench.rl: `a2c` (A2CConfig on a registered backbone) and `ppo`
(PPOConfig on a registered backbone). Builders and trainers import their modules when called,
so that looking a kind up stays cheap."""

from __future__ import annotations

from workbench.config import A2CConfig, PPOConfig
from workbench.runs.kinds import RunKind, register_kind

ATARI_SHAPE = (4, 84, 84)
"""Observations of the Atari envs: 4 stacked 84x84 grey frames."""
PROCGEN_SHAPE = (3, 64, 64)
"""Observations of the Procgen envs: one 64x64 RGB frame."""


def default_obs_shape(cfg) -> tuple[int, int, int]:
    """The observation shape of a config's env: Procgen 3x64x64, else Atari 4x84x84."""
    return PROCGEN_SHAPE if getattr(cfg, "env", "atari") == "procgen" else ATARI_SHAPE


def build_backbone_agent(cfg, num_actions: int, obs_shape: tuple | None, critic: bool):
    """The registered backbone `cfg.model` with the actor and critic heads."""
    from workbench.models import create_agent

    channels, _, size = obs_shape or default_obs_shape(cfg)
    return create_agent(cfg.model, num_actions, in_channels=channels, input_size=size,
                        critic=critic)  # fmt: skip


def train_a2c(cfg, run_dir, **options):
    """Train an A2C run (any A2CConfig kind: plain, searched arch, a search)."""
    from workbench.rl.a2c import train

    return train(cfg, run_dir, **options)


def train_ppo(cfg, run_dir, **options):
    """Train a PPO run (any PPOConfig kind)."""
    import workbench.rl.ppo  # noqa: F401  (registers the ppo algorithm)
    from workbench.rl.engine import train

    return train(cfg, run_dir, **options)


register_kind(RunKind("a2c", A2CConfig, build_backbone_agent, train_a2c, algorithm="a2c"))
register_kind(RunKind("ppo", PPOConfig, build_backbone_agent, train_ppo, algorithm="ppo"))

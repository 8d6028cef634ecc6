"""The run kind of workbench.darts: `darts`, PPO with an RL-DARTS encoder (the supernet, a
discrete cell or IMPALA-CNN)."""

from __future__ import annotations

from workbench.darts.config import DartsConfig
from workbench.runs.kinds import RunKind, register_kind


def build_darts_agent(cfg: DartsConfig, num_actions: int, obs_shape: tuple | None,
                      critic: bool):  # fmt: skip
    """The config's encoder with the two heads (obs_shape None: Procgen 3x64x64 or Atari)."""
    from workbench.darts.search import build_darts_agent

    return build_darts_agent(cfg, num_actions, obs_shape, critic)


def make_darts_plugin(cfg: DartsConfig, agent, run):
    """The RL-DARTS plug-in (alpha and cell logs, wall-clock)."""
    from workbench.darts.search import make_darts_plugin

    return make_darts_plugin(cfg, agent, run)


def train_darts(cfg: DartsConfig, run_dir, **options):
    """Train an RL-DARTS run."""
    from workbench.darts.search import train_darts

    return train_darts(cfg, run_dir, **options)


register_kind(RunKind("darts", DartsConfig, build_darts_agent, train_darts,
                      make_plugin=make_darts_plugin, algorithm="ppo"))  # fmt: skip

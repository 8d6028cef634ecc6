"""The run kinds of workbench.nas: `a2c-arch` (A2C of a searched architecture) and `dnas` (a
differentiable agent search with the MACs cost, A2D)."""

from __future__ import annotations

from workbench.config import A2CConfig, SearchConfig
from workbench.rl.kinds import ATARI_SHAPE, train_a2c
from workbench.runs.kinds import RunKind, register_kind


def build_arch_agent(cfg: A2CConfig, num_actions: int, obs_shape: tuple | None, critic: bool):
    """The searched architecture `cfg.arch` with the actor and critic heads."""
    from workbench.models import ActorCritic
    from workbench.nas.space import build_model

    channels = (obs_shape or ATARI_SHAPE)[0]
    return ActorCritic(build_model(cfg.arch, in_channels=channels), num_actions, critic=critic)


def build_supernet_agent(cfg: SearchConfig, num_actions: int, obs_shape: tuple | None,
                         critic: bool):  # fmt: skip
    """The supernet of `cfg.space` with the heads, running its derived (argmax) architecture
    until a search sets its sampling."""
    from workbench.models import ActorCritic
    from workbench.nas.sampling import ArgmaxSampler
    from workbench.nas.supernet import Supernet

    backbone = Supernet(cfg.space, in_channels=(obs_shape or ATARI_SHAPE)[0])
    backbone.set_sampling(ArgmaxSampler(), 1.0)
    return ActorCritic(backbone, num_actions, critic=critic)


def make_search_plugin(cfg: SearchConfig, agent, run):
    """The search plug-in of `cfg.strategy` with the MACs cost."""
    from workbench.nas.search import make_search

    return make_search(cfg, agent, run)


register_kind(RunKind("a2c-arch", A2CConfig, build_arch_agent, train_a2c, algorithm="a2c"))
register_kind(RunKind("dnas", SearchConfig, build_supernet_agent, train_a2c,
                      make_plugin=make_search_plugin, algorithm="a2c"))  # fmt: skip

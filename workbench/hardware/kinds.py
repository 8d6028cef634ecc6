"""The run kind of workbench.hardware: `cosearch`, A3C-S's agent-accelerator co-search (a
differentiable search whose cost is the latency on the accelerator DAS finds)."""

from __future__ import annotations

from workbench.config import SearchConfig
from workbench.nas.kinds import build_supernet_agent
from workbench.rl.kinds import train_a2c
from workbench.runs.kinds import RunKind, register_kind


def make_cosearch_plugin(cfg: SearchConfig, agent, run):
    """The search plug-in of `cfg.strategy` with the latency cost."""
    from workbench.hardware.cosearch import make_cosearch

    return make_cosearch(cfg, agent, run)


register_kind(RunKind("cosearch", SearchConfig, build_supernet_agent, train_a2c,
                      make_plugin=make_cosearch_plugin, algorithm="a2c"))  # fmt: skip

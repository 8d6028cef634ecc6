"""The config of a one-shot search run: PPO on a weight-sharing supernet, SPOS or ENAS."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.config import PPOConfig, _check_positive_int
from workbench.oneshot.spaces import OneShotSpace, get_space
from workbench.runs.kinds import config_from_dict, kind_of

METHODS = ("spos", "enas")


@dataclass(frozen=True)
class OneShotConfig(PPOConfig):
    """A supernet of `space` trained with the PPO of `PPOConfig` (Mazyavkina et al. Sec. 4).

    spos: every update runs one architecture drawn uniformly (one PPO update per sampled path).
    enas: an LSTM controller samples an architecture ("child"); the child trains for
    `child_updates` PPO updates on the shared weights; its reward is the mean score of the
    games finished meanwhile; after `children_per_step` children the controller takes one
    REINFORCE step (Tab. 5: 10 child epochs, 3 NAS runner steps, entropy 1e-4, cosine lr from
    1e-3, baseline momentum 0.2).
    """

    model: str = "supernet"
    """Label in the run folder's name."""
    space: int | None = 1
    """Search space (1: 25 archs, 2: 32 archs)."""
    method: str = "spos"
    """spos (uniform single paths) or enas (LSTM controller, REINFORCE)."""
    tag: str = "spos"
    """Free label that goes into the run folder name."""
    child_updates: int = 10
    """ENAS: PPO updates per sampled child (Tab. 5: 10 child network epochs)."""
    children_per_step: int = 3
    """ENAS: children per controller step (Tab. 5: 3 NAS runner timesteps)."""
    controller_lr: float = 1e-3
    """ENAS: Adam learning rate of the controller, cosine-annealed over its steps (Tab. 5)."""
    controller_entropy: float = 1e-4
    """ENAS: weight of the controller's entropy bonus (Tab. 5)."""
    baseline_momentum: float = 0.2
    """ENAS: b <- m b + (1 - m) mean(R) (Tab. 5: 0.2, so the baseline follows recent rewards)."""
    controller_hidden: int = 64
    """ENAS: LSTM width (the authors' code: 64)."""

    def __post_init__(self) -> None:
        if self.space is None:
            raise ValueError("a one-shot search needs a search space (space=1 or 2)")
        get_space(self.space)
        if self.arch_index is not None:
            raise ValueError("a one-shot search has no fixed arch_index; it searches the space")
        super().__post_init__()
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        _check_positive_int(self, "child_updates", "children_per_step", "controller_hidden")
        if not self.controller_lr > 0:
            raise ValueError(f"controller_lr must be > 0, got {self.controller_lr}")
        if self.controller_entropy < 0:
            raise ValueError(f"controller_entropy must be >= 0, got {self.controller_entropy}")
        if not 0 <= self.baseline_momentum < 1:
            raise ValueError(f"baseline_momentum must be in [0, 1), got {self.baseline_momentum}")

    @property
    def kind(self) -> str:
        """The run kind: oneshot (SPOS or ENAS)."""
        return "oneshot"


def oneshot_config(run_dir: str | Path) -> OneShotConfig:
    """The OneShotConfig of a one-shot search's run folder (its config.json); ValueError naming
    the run's kind for any other run."""
    config = json.loads((Path(run_dir) / "config.json").read_text())
    kind = kind_of(config)
    if kind != "oneshot":
        raise ValueError(f"{run_dir} is not a one-shot search run (SPOS, ENAS) but a {kind} run")
    return config_from_dict(config)


def search_run(
    run_dir: Path, method: str, archs: Sequence[int] | None
) -> tuple[dict, OneShotSpace, list[int]]:
    """(config, space, candidates) of a `method` search's run folder, from its config.json (no
    checkpoint needed); the whole space when `archs` is None. Raises for another kind or
    method's run or a candidate outside the space."""
    cfg = oneshot_config(run_dir)
    if cfg.method != method:
        raise ValueError(f"{run_dir} is not a {method} search run (method {cfg.method!r})")
    config = dataclasses.asdict(cfg)
    space = get_space(config["space"])
    archs = list(range(len(space))) if archs is None else [int(a) for a in archs]
    for a in archs:
        space.choices(a)  # raises for an index outside the space
    return config, space, archs

"""Frozen, validated run configs. A run is a function of its config and seed."""

from __future__ import annotations

from dataclasses import dataclass, fields

BACKENDS = ("auto", "gymnasium", "envpool")
DISTILL_ARMS = ("none", "actor", "actor+reuse-critic", "actor+critic")


def _check_positive_int(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{type(owner).__name__}.{name} must be a positive integer, got {value!r}"
            )


@dataclass(frozen=True)
class A2CConfig:
    """Synchronous advantage actor-critic as A2D Sec. 4.1 (defaults are the paper's).

    Steps are agent steps summed over envs (one agent step = 4 emulator frames).
    """

    game: str = "Breakout"
    """Atari game (CamelCase ALE id, e.g. Breakout, SpaceInvaders)."""
    model: str = "vanilla"
    """Registered backbone (workbench models)."""
    total_steps: int = 30_000_000
    """Training budget in agent steps; A2D: 3e7."""
    num_envs: int = 16
    """Parallel environments."""
    rollout_length: int = 5
    """Steps per env per update (A2D: 5)."""
    gamma: float = 0.99
    """Discount."""
    lr: float = 1e-3
    """RMSProp learning rate while constant."""
    lr_final: float = 1e-4
    """Learning rate reached at the end of training by linear decay."""
    lr_constant_steps: int | None = None
    """Steps at constant lr before the decay (A2D: 1e7 of 3e7); None: a third of the budget."""
    entropy_coef: float = 1e-2
    """alpha1, weight of L_entropy = E[sum pi log pi]."""
    value_coef: float = 1.0
    """Weight of L_value = E[1/2 (R - V)^2] (A2D sums the terms with weight 1)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clipping (not in the paper; standard in A2C implementations)."""
    rmsprop_alpha: float = 0.99
    """RMSProp smoothing constant."""
    rmsprop_eps: float = 1e-5
    """RMSProp epsilon."""
    seed: int = 0
    """Seed of everything: weights, action sampling, env resets."""
    backend: str = "auto"
    """Environment backend: auto (envpool when installed), gymnasium or envpool."""
    eval_interval: int = 1_000_000
    """Agent steps between test-score evaluations during training."""
    eval_episodes: int = 30
    """Episodes per evaluation (the protocol uses 30)."""
    greedy_eval: bool = False
    """Evaluate with argmax actions instead of sampling."""
    checkpoint_interval: int = 500_000
    """Agent steps per segment; a checkpoint is written at the end of each segment."""
    log_interval: int = 10_000
    """Agent steps between rows of metrics.csv."""
    tag: str = "a2c"
    """Free label that goes into the run folder name."""
    distill: str = "none"
    """Distillation arm (A2D Tab. 2): none | actor | actor+reuse-critic | actor+critic."""
    teacher: str | None = None
    """Teacher for distillation: a shipped teacher name, a run folder or a checkpoint file."""
    actor_distill_coef: float = 1e-1
    """alpha2, weight of KL(teacher || student) over actions (A2D Eq. 6, 8)."""
    critic_distill_coef: float = 1e-3
    """alpha3, weight of 1/2 (V_student - V_teacher)^2 (A2D Eq. 7, 8); used by actor+critic."""

    def __post_init__(self) -> None:
        _check_positive_int(
            self,
            "total_steps",
            "num_envs",
            "rollout_length",
            "eval_interval",
            "eval_episodes",
            "checkpoint_interval",
            "log_interval",
        )
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("lr", "lr_final", "max_grad_norm", "rmsprop_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.distill not in DISTILL_ARMS:
            raise ValueError(f"distill must be one of {DISTILL_ARMS}, got {self.distill!r}")
        if self.distill != "none" and not self.teacher:
            raise ValueError(f"distill={self.distill!r} needs a teacher (name, run or file)")
        for name in ("entropy_coef", "value_coef", "actor_distill_coef", "critic_distill_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.lr_constant_steps is not None:
            _check_positive_int(self, "lr_constant_steps")
            if self.lr_constant_steps > self.total_steps:
                raise ValueError(
                    f"the lr schedule ends before it starts: lr_constant_steps="
                    f"{self.lr_constant_steps:,} > total_steps={self.total_steps:,}; lower it or "
                    "leave it None (a third of the budget, as A2D's 1e7 of 3e7)"
                )

    @property
    def constant_steps(self) -> int:
        """Steps at constant lr, resolved."""
        return self.lr_constant_steps or self.total_steps // 3

    @property
    def steps_per_update(self) -> int:
        """Agent steps consumed by one update."""
        return self.num_envs * self.rollout_length

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all fields (for CLIs and sweeps)."""
        return [f.name for f in fields(cls)]

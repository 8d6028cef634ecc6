"""Frozen, validated run configs. A run is a function of its config and seed.

`RunConfig` declares the fields every run has (game, budget, envs, discount, the loss weights
and optimiser basics, seed, evaluation, checkpoints, logs, tag) and validates them once;
`A2CConfig` and `PPOConfig` subclass it, change defaults and add their own fields. Each config
names its run kind (workbench.runs.kinds) with a read-only `kind` property that is not a field:
`dataclasses.asdict` and so the config hash of a run do not include it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields

from workbench.names import check_name

BACKENDS = ("auto", "gymnasium", "envpool")
DISTILL_ARMS = ("none", "actor", "actor+reuse-critic", "actor+critic")
ENVS = ("atari", "procgen")
LR_SCHEDULES = ("cosine", "constant")
ONESHOT_SPACE_SIZES = {1: 25, 2: 32}
"""Architectures of each one-shot search space (Mazyavkina et al. Tab. 2): what PPOConfig checks
`arch_index` against. workbench.oneshot.spaces builds the spaces and refuses one whose size
differs from this table."""


def _check_positive_int(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{type(owner).__name__}.{name} must be a positive integer, got {value!r}"
            )


def _check_choice(value: str, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, valid))}; got {value!r}")


def _check_at_least(owner: object, low: float, *names: str, strict: bool = False) -> None:
    for name in names:
        value = getattr(owner, name)
        if not (value > low if strict else value >= low):
            raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}, got {value}")


@dataclass(frozen=True)
class RunConfig:
    """The fields every run has, validated once. Defaults are A2C's (A2D Sec. 4.1);
    PPOConfig changes those PPO sets otherwise.

    Steps are agent steps summed over envs (one Atari agent step = 4 emulator frames).
    """

    game: str = "Breakout"
    """Atari game (CamelCase ALE id, e.g. Breakout, SpaceInvaders); PPO on Procgen: a Procgen
    game (e.g. Starpilot)."""
    model: str = "vanilla"
    """Registered backbone (workbench models), or only the label in the run folder's name when
    the run builds another network (a searched arch, a space architecture, a supernet)."""
    total_steps: int = 30_000_000
    """Training budget in agent steps; A2D: 3e7."""
    num_envs: int = 16
    """Parallel environments."""
    rollout_length: int = 5
    """Steps per env per update (A2D: 5)."""
    gamma: float = 0.99
    """Discount."""
    lr: float = 1e-3
    """Learning rate at the start (A2C: RMSProp while constant)."""
    entropy_coef: float = 1e-2
    """alpha1, weight of L_entropy = E[sum pi log pi]."""
    value_coef: float = 1.0
    """Weight of L_value (A2D: E[1/2 (R - V)^2], the terms summed with weight 1)."""
    max_grad_norm: float = 0.5
    """Gradient-norm clipping (not in A2D; standard in A2C and PPO implementations)."""
    seed: int = 0
    """Seed of everything: weights, action sampling, minibatches, env resets."""
    backend: str = "auto"
    """Atari backend: auto (envpool when installed), gymnasium or envpool."""
    eval_interval: int = 1_000_000
    """Agent steps between test-score evaluations during training (Atari only)."""
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

    def __post_init__(self) -> None:
        _check_positive_int(
            self, "total_steps", "num_envs", "rollout_length", "eval_interval", "eval_episodes",
            "checkpoint_interval", "log_interval",
        )  # fmt: skip
        _check_choice(self.backend, BACKENDS, "backend")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        _check_at_least(self, 0, "lr", "max_grad_norm", strict=True)
        _check_at_least(self, 0, "entropy_coef", "value_coef")

    @property
    def kind(self) -> str:
        """The run kind (workbench.runs.kinds) of this config; each config class names its own."""
        raise NotImplementedError(f"{type(self).__name__} names no run kind")

    @property
    def steps_per_update(self) -> int:
        """Agent steps consumed by one update (one rollout)."""
        return self.num_envs * self.rollout_length

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all fields (for CLIs and sweeps)."""
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class A2CConfig(RunConfig):
    """Synchronous advantage actor-critic as A2D Sec. 4.1 (defaults are the paper's, those of
    RunConfig)."""

    lr_final: float = 1e-4
    """Learning rate reached at the end of training by linear decay."""
    lr_constant_steps: int | None = None
    """Steps at constant lr before the decay (A2D: 1e7 of 3e7); None: a third of the budget."""
    rmsprop_alpha: float = 0.99
    """RMSProp smoothing constant."""
    rmsprop_eps: float = 1e-5
    """RMSProp epsilon."""
    distill: str = "none"
    """Distillation arm (A2D Tab. 2): none | actor | actor+reuse-critic | actor+critic."""
    teacher: str | None = None
    """Teacher for distillation: a shipped teacher name, a run folder or a checkpoint file."""
    actor_distill_coef: float = 1e-1
    """alpha2, weight of KL(teacher || student) over actions (A2D Eq. 6, 8)."""
    critic_distill_coef: float = 1e-3
    """alpha3, weight of 1/2 (V_student - V_teacher)^2 (A2D Eq. 7, 8); used by actor+critic."""
    arch: dict[str, str] | None = None
    """A searched architecture ({"cell_0": op, ...}) to train instead of the registered `model`;
    `model` is then only the label in the run folder's name."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_at_least(self, 0, "lr_final", "rmsprop_eps", strict=True)
        if self.distill not in DISTILL_ARMS:
            raise ValueError(f"distill must be one of {DISTILL_ARMS}, got {self.distill!r}")
        if self.distill != "none" and not self.teacher:
            raise ValueError(f"distill={self.distill!r} needs a teacher (name, run or file)")
        _check_at_least(self, 0, "actor_distill_coef", "critic_distill_coef")
        if self.lr_constant_steps is not None:
            _check_positive_int(self, "lr_constant_steps")
            if self.lr_constant_steps > self.total_steps:
                raise ValueError(
                    f"the lr schedule ends before it starts: lr_constant_steps="
                    f"{self.lr_constant_steps:,} > total_steps={self.total_steps:,}; lower it or "
                    "leave it None (a third of the budget, as A2D's 1e7 of 3e7)"
                )

    @property
    def kind(self) -> str:
        """a2c-arch when training a searched `arch`, else a2c."""
        return "a2c-arch" if self.arch else "a2c"

    @property
    def constant_steps(self) -> int:
        """Steps at constant lr, resolved."""
        return self.lr_constant_steps or self.total_steps // 3


@dataclass(frozen=True)
class PPOConfig(RunConfig):
    """PPO as Mazyavkina et al. Tab. 4 (Atari defaults); `PPOConfig.procgen` for Procgen.

    The agent is the registered backbone `model`, or architecture `arch_index` of one-shot
    search space `space` (workbench.oneshot.spaces; `model` is then only the label in the run
    folder's name). Training: workbench.rl.ppo.
    """

    # RunConfig's fields at PPO's defaults
    total_steps: int = 10_000_000
    """Training budget in agent steps; Mazyavkina et al.: 1e7."""
    num_envs: int = 8
    """Parallel environments (paper: 8)."""
    rollout_length: int = 128
    """Steps per env per rollout (paper: 128)."""
    lr: float = 2.5e-4
    """Adam learning rate at the start (paper: 2.5e-4)."""
    value_coef: float = 0.25
    """Weight of L_value = E[(V - R)^2] (paper: 0.25)."""
    checkpoint_interval: int = 1_000_000
    """Agent steps per segment; a checkpoint is written at the end of each segment."""
    tag: str = "ppo"
    """Free label that goes into the run folder name."""
    # PPO's own fields
    space: int | None = None
    """One-shot search space (1 or 2, Mazyavkina et al. Tab. 2) of `arch_index`."""
    arch_index: int | None = None
    """Architecture of `space` to train instead of `model` (workbench.oneshot.spaces)."""
    env: str = "atari"
    """atari (ALE, DQN preprocessing) or procgen (envpool, 3x64x64, easy distribution)."""
    epochs: int = 4
    """Passes over each rollout (not in the paper; baselines' PPO2 Atari default)."""
    minibatches: int = 4
    """Minibatches per epoch (not in the paper; baselines' PPO2 Atari default)."""
    gae_lambda: float = 0.95
    """GAE lambda (paper: 0.95)."""
    clip: float = 0.1
    """PPO clip range epsilon (paper: 0.1), also used for the value clipping."""
    clip_value: bool = True
    """Clip the value update around the rollout's values (baselines, the authors' code)."""
    normalize_advantages: bool = True
    """Normalise advantages per minibatch (baselines, SB3)."""
    lr_schedule: str = "cosine"
    """cosine (paper: cosine annealing to 0 at the end of the budget) or constant."""
    adam_eps: float = 1e-5
    """Adam epsilon (baselines, the authors' code)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive_int(self, "epochs", "minibatches")
        _check_choice(self.env, ENVS, "env")
        _check_choice(self.lr_schedule, LR_SCHEDULES, "lr_schedule")
        if not 0.0 <= self.gae_lambda <= 1.0:
            raise ValueError(f"gae_lambda must be in [0, 1], got {self.gae_lambda}")
        _check_at_least(self, 0, "clip", "adam_eps", strict=True)
        if self.steps_per_update % self.minibatches:
            raise ValueError(
                f"num_envs * rollout_length = {self.steps_per_update} frames do not split into "
                f"{self.minibatches} equal minibatches"
            )
        if self.arch_index is not None:
            check_arch_index(self.space, self.arch_index)

    @property
    def kind(self) -> str:
        """ppo-tabular when training architecture `arch_index` of a one-shot space, else ppo."""
        return "ppo-tabular" if self.arch_index is not None else "ppo"

    @property
    def minibatch_size(self) -> int:
        """Frames per minibatch."""
        return self.steps_per_update // self.minibatches

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


def check_arch_index(space: int | str | None, arch_index: int) -> None:
    """ValueError unless `arch_index` indexes an architecture of one-shot space `space`."""
    if space is None:
        raise ValueError("arch_index needs the search space it indexes (space=1 or 2)")
    number = check_name(
        str(space).removeprefix("space"), [str(n) for n in ONESHOT_SPACE_SIZES],
        "one-shot search space",
    )  # fmt: skip
    size = ONESHOT_SPACE_SIZES[int(number)]
    try:
        if isinstance(arch_index, bool):
            raise TypeError
        index = operator.index(arch_index)
    except TypeError:
        raise ValueError(f"an architecture index is an int, got {arch_index!r}") from None
    if not 0 <= index < size:
        raise ValueError(
            f"architecture {index} is not in search space {number}: its {size} architectures "
            f"are indexed 0..{size - 1}"
        )


SEARCH_STRATEGIES = ("one-level", "bi-level", "bi-level-first-order")
SEARCH_ARMS: dict[str, dict[str, str]] = {
    "vanilla-dnas": {"strategy": "one-level", "distill": "none"},
    "one-level": {"strategy": "one-level", "distill": "actor+critic"},
    "bi-level": {"strategy": "bi-level", "distill": "actor+critic"},
    "bi-level-first-order": {"strategy": "bi-level-first-order", "distill": "actor+critic"},
}
"""A2D Fig. 2: vanilla DNAS (no distillation) vs A2D (one-level) vs DARTS bi-level, second order
or (cheaper, DARTS' own ablation) first order."""


def search_arm(strategy: str, distill: str) -> str:
    """The SEARCH_ARMS name of a (strategy, distill) pair, else `<strategy>-<distill>`."""
    for name, arm in SEARCH_ARMS.items():
        if arm == {"strategy": strategy, "distill": distill}:
            return name
    return f"{strategy}-{distill}"


SAMPLERS = ("soft", "hard")


@dataclass(frozen=True)
class SearchConfig(A2CConfig):
    """Differentiable agent search (A2D Sec. 4.4, Alg. 1): an A2C run whose backbone is a supernet.

    Weights train as in A2CConfig; the architecture logits alpha with Adam. A2D's method is
    one-level with `distill="actor+critic"`; vanilla DNAS is one-level with `distill="none"`.
    """

    model: str = "supernet"
    total_steps: int = 20_000_000
    """Search budget in agent steps; A2D: 2e7."""
    space: str = "a2d"
    """Search space: a2d (14 cells, 5/4/5) or a3cs (12 cells)."""
    strategy: str = "one-level"
    """one-level (A2D), bi-level (DARTS 2nd order, next rollout as validation) or
    bi-level-first-order."""
    sampler: str = "soft"
    """soft: Gumbel-softmax over every op (A2D Eq. 10-11); hard: one op forward, top-K backward
    (A3C-S Eq. 6-8)."""
    top_k: int = 2
    """Ops per cell that get alpha gradients with the hard sampler (1 < K < 9)."""
    tau0: float = 5.0
    """Initial Gumbel-softmax temperature."""
    tau_decay: float = 0.98
    """Temperature factor per `tau_every` steps (5 -> ~0.09 after 2e7 steps)."""
    tau_every: int = 100_000
    """Agent steps per temperature decay."""
    arch_lr: float = 1e-3
    """Adam learning rate of alpha (A2D: 1e-3, fixed)."""
    arch_beta1: float = 0.9
    """Adam beta1 of alpha (A2D: momentum 0.9)."""
    cost_lambda: float = 1e-2
    """lambda of Eq. 9; the cost is expected MACs in units of ResNet-20's MACs (A2D gives no
    value: ours)."""
    alpha_log_interval: int = 10_000
    """Agent steps between rows of alpha.csv (op probabilities per cell) and archs.csv."""
    cost: str = "macs"
    """macs (A2D: expected MACs) or latency (A3C-S co-search: expected latency on the
    accelerator DAS finds for the derived network, in ResNet-20 DNNBuilder-like frame times)."""
    hw_interval: int = 100_000
    """Co-search: agent steps between accelerator searches for the current derived network."""
    das_iterations: int = 300
    """Co-search: DAS iterations (predictor calls) per accelerator search."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arch is not None:
            raise ValueError("a search has no fixed arch; derive one after the search")
        if self.space not in ("a2d", "a3cs"):
            raise ValueError(f"space must be a2d or a3cs, got {self.space!r}")
        if self.strategy not in SEARCH_STRATEGIES:
            raise ValueError(f"strategy must be one of {SEARCH_STRATEGIES}, got {self.strategy!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        if (
            isinstance(self.top_k, bool)
            or not isinstance(self.top_k, int)
            or not 1 < self.top_k < 9
        ):
            raise ValueError(f"top_k must be an integer with 1 < K < 9, got {self.top_k!r}")
        if not self.tau0 > 0:
            raise ValueError(f"the temperature tau0 must be > 0, got {self.tau0}")
        if not 0 < self.tau_decay <= 1:
            raise ValueError(f"tau_decay must be in (0, 1], got {self.tau_decay}")
        if self.cost_lambda < 0:
            raise ValueError(f"cost_lambda (lambda) must be >= 0, got {self.cost_lambda}")
        if not self.arch_lr > 0 or not 0 <= self.arch_beta1 < 1:
            raise ValueError(f"need arch_lr > 0 and 0 <= arch_beta1 < 1, got "
                             f"{self.arch_lr}, {self.arch_beta1}")  # fmt: skip
        if self.cost not in ("macs", "latency"):
            raise ValueError(f"cost must be macs or latency, got {self.cost!r}")
        _check_positive_int(self, "tau_every", "alpha_log_interval", "hw_interval",
                            "das_iterations")  # fmt: skip

    @property
    def kind(self) -> str:
        """cosearch for the latency cost (A3C-S), else dnas (A2D's MACs cost)."""
        return "cosearch" if self.cost == "latency" else "dnas"

"""The config of an RL-DARTS run: PPO on Procgen with a supernet, a discrete cell or IMPALA-CNN.

Defaults are the supernet search (RL-DARTS App. F.3 on Cobbe et al. 2020's Procgen PPO): 64 envs
x 256 steps, 3 epochs, minibatches of 256 frames (F.3: the largest power of two that fit their
GPU for a 16x3 supernet), gamma 0.999, GAE 0.95, clip 0.2, Adam 5e-4 constant, entropy 0.01,
25M steps, softmax temperature 5.0 (F.1, PPO). `DartsConfig.evaluation` gives F.3's tuned
evaluation settings (lr 1e-4, 1 epoch, minibatches of 256) at depth 64 x 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.config import PPOConfig, _check_positive_int
from workbench.darts.discretize import check_num_nodes
from workbench.darts.genotype import Genotype
from workbench.darts.ops import get_op_space
from workbench.envs.procgen import list_procgen_games
from workbench.names import check_name

ENCODERS = ("supernet", "cell", "impala_cnn")


@dataclass(frozen=True)
class DartsConfig(PPOConfig):
    """PPO (`PPOConfig`'s fields) with an RL-DARTS encoder: the supernet (alpha trained jointly
    with the weights by the RL loss, Alg. 1 step 1), a discrete cell, or IMPALA-CNN, stacked
    `blocks` deep at `depth` channels (16x3 for search, 64x3 for evaluation)."""

    game: str = "Starpilot"
    """Procgen game (envpool's spelling, e.g. Starpilot, Dodgeball), easy distribution."""
    model: str = ""
    """Label in the run folder's name; empty: derived from the encoder (e.g. darts-classic-16x3)."""
    env: str = "procgen"
    """procgen (RL-DARTS) or atari."""
    total_steps: int = 25_000_000
    """Agent steps; RL-DARTS discretises and evaluates at 25M (Sec. 4.4, App. D)."""
    num_envs: int = 64
    """Parallel environments (Cobbe et al.: 64)."""
    rollout_length: int = 256
    """Steps per env per rollout (Cobbe et al.: 256)."""
    epochs: int = 3
    """Passes over each rollout (Cobbe et al.: 3; F.3 swept 1-3)."""
    minibatches: int = 64
    """Minibatches per epoch: 64 x 256 = 16384 frames in minibatches of 256 (F.3)."""
    gamma: float = 0.999
    """Discount (Cobbe et al.)."""
    clip: float = 0.2
    """PPO clip range (Cobbe et al.)."""
    lr: float = 5e-4
    """Adam learning rate (Cobbe et al.; F.3 swept 1e-4, 2.5e-4, 5e-4)."""
    lr_schedule: str = "constant"
    """Constant (Cobbe et al.)."""
    tag: str = "darts"
    """Free label that goes into the run folder name."""
    encoder: str = "supernet"
    """supernet (search), cell (a discrete `genotype`) or impala_cnn (the baseline)."""
    op_space: str = "classic"
    """classic ((N, R, I) = (1, 1, 4)) or micro ((2, 0, 4)); RL-DARTS Sec. 4.1."""
    genotype: str = ""
    """The discrete cell (Genotype JSON) of encoder "cell"; empty otherwise."""
    depth: int = 16
    """Channels of every block: 16 for the supernet, 64 for evaluation (Sec. 3.1)."""
    blocks: int = 3
    """D, blocks stacked (3; 5 for the paper's fine-grained A/B tests)."""
    num_nodes: int = 4
    """I, intermediate nodes per cell (at least 2 for top-2 pruning)."""
    temperature: float = 5.0
    """Softmax temperature: p = softmax(alpha / T); F.1: 5.0 for PPO, 10.0 for Rainbow."""
    alpha_log_interval: int = 100_000
    """Agent steps between rows of alpha.csv (the cell is checked after every update)."""

    def __post_init__(self) -> None:
        if self.space is not None or self.arch_index is not None:
            raise ValueError("RL-DARTS runs use op_space, not the one-shot space/arch_index")
        check_name(self.encoder, ENCODERS, "RL-DARTS encoder")
        get_op_space(self.op_space)
        check_num_nodes(self.num_nodes)
        _check_positive_int(self, "depth", "blocks", "alpha_log_interval")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.encoder == "cell":
            if not self.genotype:
                raise ValueError('encoder "cell" needs a genotype (Genotype.to_json())')
            cell = Genotype.from_json(self.genotype)
            if (cell.op_space, cell.num_nodes) != (self.op_space, self.num_nodes):
                raise ValueError(
                    f"the genotype is a {cell.num_nodes}-node {cell.op_space!r} cell but the "
                    f"config says {self.num_nodes} nodes of {self.op_space!r}"
                )
        elif self.genotype:
            raise ValueError(f"encoder {self.encoder!r} takes no genotype (only encoder 'cell')")
        if self.env == "procgen":
            check_name(self.game, list_procgen_games(), "Procgen game")
        if not self.model:
            object.__setattr__(self, "model", self.default_label())
        super().__post_init__()

    @property
    def kind(self) -> str:
        """The run kind: darts (whichever encoder)."""
        return "darts"

    def default_label(self) -> str:
        """darts-<space>-16x3, cell-<hash>-64x3 or impala-64x3."""
        size = f"{self.depth}x{self.blocks}"
        if self.encoder == "supernet":
            return f"darts-{self.op_space}-{size}"
        if self.encoder == "cell":
            return f"cell-{self.cell().key()}-{size}"
        return f"impala-{size}"

    def cell(self) -> Genotype:
        """The genotype of encoder "cell"."""
        return Genotype.from_json(self.genotype)

    @classmethod
    def evaluation(
        cls, game: str, genotype: Genotype | None = None, **overrides: object
    ) -> DartsConfig:
        """Training from scratch at 64x3 with F.3's tuned settings (lr 1e-4, 1 epoch, minibatch
        256): the discrete `genotype`, or IMPALA-CNN when None."""
        settings: dict[str, object] = dict(
            game=game, lr=1e-4, epochs=1, depth=64, tag="darts-eval",
            encoder="impala_cnn" if genotype is None else "cell",
            genotype="" if genotype is None else genotype.to_json(),
            op_space="classic" if genotype is None else genotype.op_space,
            num_nodes=4 if genotype is None else genotype.num_nodes,
        )  # fmt: skip
        return cls(**{**settings, **overrides})

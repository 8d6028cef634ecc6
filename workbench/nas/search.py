"""Differentiable agent search as a plug-in of the training engine (A2D Alg. 1; DARTS bi-level).

`DnasSearch` owns what A2C does not: the sampler and its temperature, the cost (expected MACs
here; A3C-S's accelerator latency in workbench.hardware.cosearch), the Adam optimiser of alpha,
and the search logs (alpha.csv, archs.csv, collapse warnings). `OneLevelSearch` adds the cost to
the A2C loss and steps alpha from that one backward (A2D Eq. 9, `a2d_objective`; vanilla DNAS
is the same without distillation); `BiLevelSearch` steps alpha on the next rollout through one
virtual weight step on the last one (DARTS Eq. 6-8, second or first order).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.func import functional_call

from workbench.config import SearchConfig
from workbench.device import train_device
from workbench.models.profile import count_params
from workbench.nas.bilevel import darts_alpha_grad
from workbench.nas.cost import arch_macs, cost_loss, op_macs_table
from workbench.nas.sampling import ArgmaxSampler, HardGumbelTopK, Sampler, SoftGumbel, temperature
from workbench.nas.space import build_model
from workbench.nas.supernet import Supernet
from workbench.rl.a2c import loss_kwargs
from workbench.rl.distillation import actor_critic_losses
from workbench.rl.engine import Batch, Plugin, next_multiple
from workbench.runs.folder import RunDir

SKIP_SHARE_WARNING = 0.5
"""Warn when more than this share of cells derive to `skip` (DARTS' collapse)."""
ENTROPY_WARNING = 0.1
"""Warn when the mean alpha entropy per cell falls below this share of its maximum."""


class SearchCollapseWarning(UserWarning):
    """The derived architecture is collapsing (mostly skip, or alpha certain too early)."""


def a2d_objective(task_loss: Tensor, cost: Tensor, cost_lambda: float) -> Tensor:
    """A2D Eq. 9: L = L_A2C + L_distill + lambda * L_cost, one loss for the weights and alpha."""
    return task_loss + cost_lambda * cost


def make_sampler(cfg: SearchConfig) -> Sampler:
    """The configured sampler: soft Gumbel-softmax or hard Gumbel with top-K backward."""
    return SoftGumbel() if cfg.sampler == "soft" else HardGumbelTopK(cfg.top_k)


class MacsCost:
    """A2D's cost: the expected MACs of a sample, in units of ResNet-20's MACs."""

    def __init__(self, cfg: SearchConfig, run: RunDir) -> None:
        self.table = op_macs_table(cfg.space)

    def begin_update(self, step: int, supernet: Supernet) -> None:
        """Nothing to refresh: the MACs of an op do not change."""

    def __call__(self, sample) -> Tensor:
        """The sample's expected MACs, differentiable in alpha."""
        return cost_loss(sample, self.table)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Nothing to restore."""


class DnasSearch(Plugin):
    """Sampling, cost, the alpha optimiser and the search logs of one search run."""

    checkpoint_key = "search"

    def __init__(self, cfg: SearchConfig, agent: nn.Module, run: RunDir, cost=None) -> None:
        if not isinstance(agent.backbone, Supernet):
            raise TypeError("a search needs an agent whose backbone is a Supernet")
        self.cfg, self.agent, self.run = cfg, agent, run
        self.supernet: Supernet = agent.backbone
        self.sampler = make_sampler(cfg)
        self.cost = cost if cost is not None else MacsCost(cfg, run)
        self.alpha = self.supernet.alpha
        self.optimizer = torch.optim.Adam(
            [self.alpha], lr=cfg.arch_lr, betas=(cfg.arch_beta1, 0.999)
        )
        self.samples: list = []
        self.tau = cfg.tau0
        self.last_arch: dict[str, str] | None = None
        self.next_alpha_log: int | None = None
        self.segment_seed, self.update = 0, 0

    # --- the hooks of an update ---------------------------------------------------------------
    def weight_parameters(self, agent: nn.Module) -> list[nn.Parameter]:
        """Every agent parameter except alpha (they go to the weights' RMSProp)."""
        return [p for p in agent.parameters() if p is not self.alpha]

    def begin_segment(self, seed: int) -> None:
        self.segment_seed = seed

    def begin_update(self, update: int, step: int, generator: torch.Generator) -> None:
        """Set this step's temperature and sampling; let the cost refresh (co-search)."""
        cfg = self.cfg
        if self.next_alpha_log is None:  # the first update of this process (fresh or resumed)
            self.next_alpha_log = next_multiple(step, cfg.alpha_log_interval)
        self.update = update
        self.tau = temperature(step, cfg.tau0, cfg.tau_decay, cfg.tau_every)
        self.supernet.set_sampling(self.sampler, self.tau, generator)
        self.samples = []
        self.cost.begin_update(step, self.supernet)

    def on_forward(self) -> None:
        """Keep the sample of the forward just made (for the cost of this rollout)."""
        self.samples.append(self.supernet.last_sample)

    def expected_cost(self) -> Tensor:
        """Mean expected cost (unscaled) of this rollout's samples, differentiable in alpha."""
        return torch.stack([self.cost(s) for s in self.samples]).mean()

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> None:
        """alpha.csv, archs.csv (each new derived architecture) and collapse warnings, when due."""
        if step < self.next_alpha_log and step < self.cfg.total_steps:
            return
        self.next_alpha_log += self.cfg.alpha_log_interval
        self.run.append("alpha.csv", self.alpha_rows(step))
        arch = self.arch_row(step)
        if arch is not None:
            self.run.append("archs.csv", [arch])
        message = self.collapse_warning(step)
        if message is not None:
            self.run.append("warnings.csv", [{"step": step, "warning": message}])

    def metric_fields(self) -> dict:
        """Search columns for metrics.csv: tau, expected cost (unscaled), alpha entropy, skip
        share."""
        return {
            "tau": self.tau,
            "expected_cost": float(self.expected_cost().item()) if self.samples else None,
            "alpha_entropy": self.supernet.alpha_entropy(),
            "skip_share": self.supernet.skip_share(),
        }

    @contextmanager
    def evaluation(self) -> Iterator[bool]:
        """Test the derived (argmax) architecture, noise-free."""
        with self.derived_network():
            yield True

    @contextmanager
    def derived_network(self) -> Iterator[None]:
        """Within the block the supernet runs its derived (argmax) architecture, noise-free."""
        previous = self.supernet._sampling
        self.supernet.set_sampling(ArgmaxSampler(), 1.0)
        try:
            yield
        finally:
            self.supernet._sampling = previous

    # --- logs -------------------------------------------------------------------------------
    def alpha_rows(self, step: int) -> list[dict]:
        """alpha.csv rows: op probabilities per cell at `step`."""
        probs = self.supernet.probabilities()
        return [
            {"step": step, "tau": self.tau, "cell": cell, **probs.loc[cell].to_dict()}
            for cell in probs.index
        ]

    def arch_row(self, step: int) -> dict | None:
        """An archs.csv row when the derived architecture changed since the last call."""
        arch = self.supernet.derive()
        if arch == self.last_arch:
            return None
        self.last_arch = arch
        return {
            "step": step,
            "macs": arch_macs(arch, self.cfg.space),
            "params": count_params(build_model(arch, self.cfg.space)),
            "skip_share": self.supernet.skip_share(),
            "arch": json.dumps(arch),
        }

    def collapse_warning(self, step: int) -> str | None:
        """A message (also raised as SearchCollapseWarning) when the search is collapsing."""
        skip = self.supernet.skip_share()
        entropy = self.supernet.alpha_entropy() / self.supernet.max_entropy()
        problems = []
        if skip > SKIP_SHARE_WARNING:
            problems.append(f"{skip:.0%} of cells derive to skip")
        if entropy < ENTROPY_WARNING:
            problems.append(f"alpha entropy is {entropy:.0%} of its maximum")
        if not problems:
            return None
        message = f"step {step:,}: " + " and ".join(problems)
        warnings.warn(message, SearchCollapseWarning, stacklevel=2)
        return message

    def state_dict(self) -> dict:
        """What a checkpoint needs beyond the agent's weights (alpha lives in those)."""
        return {"optimizer": self.optimizer.state_dict(), "last_arch": self.last_arch,
                **self.cost.state_dict()}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        """Restore the alpha optimiser, the last derived architecture and the cost's state."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.last_arch = state["last_arch"]
        self.cost.load_state_dict(state)


class OneLevelSearch(DnasSearch):
    """A2D's search (vanilla DNAS without distillation): weights and alpha from one loss."""

    def total_loss(self, task_loss: Tensor) -> Tensor:
        return a2d_objective(task_loss, self.expected_cost(), self.cfg.cost_lambda)

    def after_backward(self, batch: Batch, lr: float) -> None:
        """Adam step of alpha from the gradient the shared backward left on it."""
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


class BiLevelSearch(DnasSearch):
    """DARTS: this rollout validates an alpha step unrolled on the previous one."""

    def begin_segment(self, seed: int) -> None:
        super().begin_segment(seed)
        self.previous: Batch | None = None  # the last rollout, the alpha step's train batch

    def after_backward(self, batch: Batch, lr: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)  # the A2C backward's alpha gradient
        if self.previous is not None:
            seed = self.segment_seed * 1_000_003 + self.update
            self.bilevel_step(self.previous, batch, xi=lr, seed=seed)
        self.previous = batch

    def bilevel_step(self, train: Batch, val: Batch, xi: float, seed: int) -> None:
        """Alpha step on `val` through one virtual weight step on `train` (DARTS Eq. 6-8)."""
        weights = {
            name: p.detach() for name, p in self.agent.named_parameters() if p is not self.alpha
        }
        settings = loss_kwargs(self.cfg)

        def loss_on(batch: Batch, with_cost: bool):
            def loss(w: dict[str, Tensor]) -> Tensor:
                generator = torch.Generator().manual_seed(seed)  # the same noise at every w
                self.supernet.set_sampling(self.sampler, self.tau, generator)
                buffers = {k: b.clone() for k, b in self.agent.named_buffers()}
                logits, values = functional_call(self.agent, {**w, **buffers}, (batch.obs,))
                total = batch_loss(logits, values, batch, **settings)
                if with_cost:
                    total = total + self.cfg.cost_lambda * self.cost(self.supernet.last_sample)
                return total

            return loss

        grad = darts_alpha_grad(
            loss_on(train, False),
            loss_on(val, True),
            weights,
            self.alpha,
            xi,
            second_order=self.cfg.strategy == "bi-level",
        )
        self.optimizer.zero_grad(set_to_none=True)
        self.alpha.grad = grad.detach()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def batch_loss(logits: Tensor, values: Tensor | None, batch: Batch, **loss_kwargs) -> Tensor:
    """The A2C (+ distillation) loss of a stored rollout, as the one-level loop computes it."""
    loss, distill = actor_critic_losses(
        logits,
        values,
        batch.actions,
        batch.returns,
        batch.teacher_logits,
        batch.teacher_values,
        **loss_kwargs,
    )
    return loss.total + distill.total


def make_search(cfg: SearchConfig, agent: nn.Module, run: RunDir, cost=None) -> DnasSearch:
    """The search plug-in of `cfg.strategy`, with the MACs cost unless `cost` is given."""
    device = train_device()
    if device.type != "cpu":
        raise ValueError(f"the differentiable searches train on the CPU only, not on {device}")
    search = OneLevelSearch if cfg.strategy == "one-level" else BiLevelSearch
    return search(cfg, agent, run, cost)

"""The search side of an A2C run whose backbone is a supernet (A2D Alg. 1; DARTS bi-level).

`SearchController` owns what A2C does not: the sampler and its temperature, the MACs cost, the
Adam optimiser of alpha, the one-level or bi-level alpha step, and the search logs (alpha.csv,
archs.csv, collapse warnings). The A2C loop calls it at fixed points of an update.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from workbench.config import SearchConfig
from workbench.models.profile import count_params
from workbench.nas.bilevel import darts_alpha_grad
from workbench.nas.cost import arch_macs, cost_loss, op_macs_table
from workbench.nas.sampling import ArgmaxSampler, HardGumbelTopK, Sampler, SoftGumbel, temperature
from workbench.nas.space import build_model
from workbench.nas.supernet import Supernet
from workbench.rl.distillation import actor_critic_losses

SKIP_SHARE_WARNING = 0.5
"""Warn when more than this share of cells derive to `skip` (DARTS' collapse)."""
ENTROPY_WARNING = 0.1
"""Warn when the mean alpha entropy per cell falls below this share of its maximum."""


class SearchCollapseWarning(UserWarning):
    """The derived architecture is collapsing (mostly skip, or alpha certain too early)."""


@dataclass
class Batch:
    """A stored rollout for the bi-level step: flat observations and their loss targets."""

    obs: Tensor
    actions: Tensor
    returns: Tensor
    teacher_logits: Tensor | None
    teacher_values: Tensor | None


def make_sampler(cfg: SearchConfig) -> Sampler:
    """The configured sampler: soft Gumbel-softmax or hard Gumbel with top-K backward."""
    return SoftGumbel() if cfg.sampler == "soft" else HardGumbelTopK(cfg.top_k)


class SearchController:
    """Sampling, cost, alpha optimisation and search logging for one search run."""

    def __init__(self, cfg: SearchConfig, agent: nn.Module) -> None:
        if not isinstance(agent.backbone, Supernet):
            raise TypeError("a search needs an agent whose backbone is a Supernet")
        self.cfg = cfg
        self.agent = agent
        self.supernet: Supernet = agent.backbone
        self.sampler = make_sampler(cfg)
        self.table = op_macs_table(cfg.space)
        self.alpha = self.supernet.alpha
        self.optimizer = torch.optim.Adam(
            [self.alpha], lr=cfg.arch_lr, betas=(cfg.arch_beta1, 0.999)
        )
        self.samples: list = []
        self.tau = cfg.tau0
        self.last_arch: dict[str, str] | None = None
        self.hardware = None  # co-search: the HardwareCost of the current derived network
        self.hardware_step = -1

    # --- the pieces of an update ------------------------------------------------------------
    def weight_parameters(self) -> list[nn.Parameter]:
        """Every agent parameter except alpha (they go to the weights' RMSProp)."""
        return [p for p in self.agent.parameters() if p is not self.alpha]

    def begin_update(self, step: int, generator: torch.Generator) -> dict | None:
        """Set this step's temperature and sampling; co-search: refresh hw(phi*) when due.

        Returns a hardware.csv row when a new accelerator was searched.
        """
        cfg = self.cfg
        self.tau = temperature(step, cfg.tau0, cfg.tau_decay, cfg.tau_every)
        self.supernet.set_sampling(self.sampler, self.tau, generator)
        self.samples = []
        if cfg.cost == "latency" and step // cfg.hw_interval != self.hardware_step:
            self.hardware_step = step // cfg.hw_interval
            self._search_hardware(self.supernet.derive())
            return self.hardware.row(step)
        return None

    def _search_hardware(self, arch: dict[str, str]) -> None:
        from workbench.hardware.cosearch import hardware_for  # the hardware stack, only if used

        seed = self.cfg.seed * 1_000 + self.hardware_step
        self.hardware = hardware_for(
            arch, self.cfg.space, iterations=self.cfg.das_iterations, seed=seed
        )

    def record_sample(self) -> None:
        """Keep the sample of the forward just made (for the cost of this rollout)."""
        self.samples.append(self.supernet.last_sample)

    def cost(self) -> Tensor:
        """lambda * mean expected cost (ResNet-20 MACs units) of this rollout's samples."""
        costs = torch.stack([self._sample_cost(s) for s in self.samples])
        return self.cfg.cost_lambda * costs.mean()

    def _sample_cost(self, sample) -> Tensor:
        """MACs (A2D) or accelerator latency (A3C-S) of one sample, normalised, differentiable."""
        if self.cfg.cost == "latency":
            from workbench.hardware.cosearch import latency_cost

            return latency_cost(sample.weights, self.hardware)
        return cost_loss(sample, self.table)

    def one_level_step(self) -> None:
        """Adam step of alpha from the gradient the shared backward left on it (A2D Eq. 9)."""
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def bilevel_step(
        self, train: Batch, val: Batch, xi: float, seed: int, loss_kwargs: dict
    ) -> None:
        """Alpha step on `val` through one virtual weight step on `train` (DARTS Eq. 6-8)."""
        weights = {
            name: p.detach() for name, p in self.agent.named_parameters() if p is not self.alpha
        }

        def loss_on(batch: Batch, with_cost: bool):
            def loss(w: dict[str, Tensor]) -> Tensor:
                generator = torch.Generator().manual_seed(seed)  # the same noise at every w
                self.supernet.set_sampling(self.sampler, self.tau, generator)
                buffers = {k: b.clone() for k, b in self.agent.named_buffers()}
                logits, values = functional_call(self.agent, {**w, **buffers}, (batch.obs,))
                total = batch_loss(logits, values, batch, **loss_kwargs)
                if with_cost:
                    total = total + self.cfg.cost_lambda * self._sample_cost(
                        self.supernet.last_sample
                    )
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

    # --- evaluation and logs -----------------------------------------------------------------
    @contextmanager
    def derived_network(self) -> Iterator[None]:
        """Within the block the supernet runs its derived (argmax) architecture, noise-free."""
        previous = self.supernet._sampling
        self.supernet.set_sampling(ArgmaxSampler(), 1.0)
        try:
            yield
        finally:
            self.supernet._sampling = previous

    def log_row(self) -> dict:
        """Search columns for metrics.csv: tau, expected MACs, alpha entropy, skip share."""
        expected = float(self.cost().item() / self.cfg.cost_lambda) if self.samples else None
        return {
            "tau": self.tau,
            "expected_cost": expected if self.cfg.cost_lambda else None,
            "alpha_entropy": self.supernet.alpha_entropy(),
            "skip_share": self.supernet.skip_share(),
        }

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
        return {
            "optimizer": self.optimizer.state_dict(),
            "last_arch": self.last_arch,
            "hardware_step": self.hardware_step,
            "hardware_arch": self.hardware.arch if self.hardware else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the alpha optimiser and the last derived architecture."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.last_arch = state["last_arch"]
        self.hardware_step = state.get("hardware_step", -1)
        if state.get("hardware_arch") is not None:  # DAS is seeded: the same design again
            self._search_hardware(state["hardware_arch"])


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

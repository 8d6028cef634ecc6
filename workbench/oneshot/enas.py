"""ENAS (Pham et al. 2018) as Mazyavkina et al. Sec. 4.2 and Tab. 5 adapt it to RL.

An LSTM controller chooses one kernel per searchable layer, each choice fed back as the next
step's input. Its child trains with PPO on the supernet's shared weights for `child_updates`
updates; the child's reward is the mean (raw, full-game) score of the games finished during
them (a child during which no game ended gives no reward and is left out of the controller
step). After `children_per_step` children the controller takes one REINFORCE step,
  L = -mean_i[(R_i - b) log pi(a_i)] - c_H mean_i[H_i],   then   b <- m b + (1 - m) mean_i R_i
(b starts at 0, as in the authors' code; gradient-norm clipping 0.5 as there), with Adam at a
learning rate cosine-annealed over the controller steps of the budget. The proxy performance
of an architecture is the controller's probability of sampling it (Sec. 5.3), computed exactly
for every architecture.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from workbench.oneshot.config import OneShotConfig, search_run
from workbench.oneshot.spaces import OneShotSpace, OneShotSupernet, get_space
from workbench.rl.engine import Plugin
from workbench.rl.ppo import cosine_lr
from workbench.runs.folder import RunDir, finished_steps, load_checkpoint_file

CONTROLLER_EPS = 1e-5
CONTROLLER_PROXY = "controller.csv"  # a search's proxy: its controller's probabilities
CONTROLLER_GRAD_NORM = 0.5


class Controller(nn.Module):
    """LSTM controller over a space's searchable layers: one categorical choice per layer."""

    def __init__(self, space: int | str | OneShotSpace, hidden: int = 64) -> None:
        super().__init__()
        self.space = get_space(space)
        sizes = [len(layer.kernels) for layer in self.space.layers]
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)
        # each choice but the last is the next step's input
        self.embeddings = nn.ModuleList(nn.Embedding(n, hidden) for n in sizes[:-1])

    def check_space(self, space: int | str | OneShotSpace) -> None:
        """Raise when asked about a space this controller was not built for."""
        asked = get_space(space)
        if asked != self.space:
            raise ValueError(
                f"this controller was built for search space {self.space.number} "
                f"({len(self.space)} architectures), not space {asked.number}"
            )

    def forward(self, choices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi and entropy (summed over layers) of architectures given as choices (B, L)."""
        batch = choices.shape[0]
        x = self.start.expand(batch, -1)
        state = None
        log_prob = torch.zeros(batch)
        entropy = torch.zeros(batch)
        for i, head in enumerate(self.heads):
            state = self.lstm(x, state)
            log_probs = F.log_softmax(head(state[0]), dim=-1)
            log_prob = log_prob + log_probs.gather(-1, choices[:, i : i + 1]).squeeze(-1)
            entropy = entropy - (log_probs.exp() * log_probs).sum(-1)
            if i < len(self.embeddings):
                x = self.embeddings[i](choices[:, i])
        return log_prob, entropy

    def choices_of(self, archs: Sequence[int]) -> torch.Tensor:
        """(B, L) choice positions of architecture indices."""
        return torch.tensor([self.space.choices(a) for a in archs], dtype=torch.int64)

    @torch.no_grad()
    def sample(self, generator: torch.Generator) -> int:
        """Draw an architecture index, layer by layer."""
        x, state, digits = self.start, None, []
        for i, head in enumerate(self.heads):
            state = self.lstm(x, state)
            probs = F.softmax(head(state[0]), dim=-1)
            choice = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            digits.append(int(choice))
            if i < len(self.embeddings):
                x = self.embeddings[i](choice)
        kernels = [layer.kernels[c] for layer, c in zip(self.space.layers, digits, strict=True)]
        return self.space.index(kernels)

    @torch.no_grad()
    def arch_probabilities(self, space: int | str | OneShotSpace | None = None) -> torch.Tensor:
        """Probability of sampling each architecture of the space, in index order (sums to 1)."""
        if space is not None:
            self.check_space(space)
        log_prob, _ = self(self.choices_of(range(len(self.space))))
        return log_prob.exp()


def reinforce_loss(
    log_probs: torch.Tensor,
    entropies: torch.Tensor,
    rewards: torch.Tensor,
    baseline: float,
    entropy_coef: float,
) -> torch.Tensor:
    """-mean[(R - b) log pi(a)] - entropy_coef mean[H]: descending it raises the probability of
    architectures that beat the baseline and lowers the others."""
    advantages = (rewards - baseline).detach()
    return -(advantages * log_probs).mean() - entropy_coef * entropies.mean()


def update_baseline(baseline: float, rewards: Sequence[float], momentum: float) -> float:
    """Exponential moving average b <- m b + (1 - m) mean(R)."""
    return momentum * baseline + (1.0 - momentum) * float(sum(rewards) / len(rewards))


class ControllerSchedule(Plugin):
    """ENAS: the controller's child runs until it has had `child_updates` PPO updates."""

    checkpoint_key = "schedule"

    def __init__(
        self,
        supernet: OneShotSupernet,
        controller: Controller,
        cfg: OneShotConfig,
        run: RunDir | None = None,
    ) -> None:
        controller.check_space(supernet.space)
        self.supernet, self.controller, self.cfg, self.run = supernet, controller, cfg, run
        self.optimizer = torch.optim.Adam(
            controller.parameters(), lr=cfg.controller_lr, eps=CONTROLLER_EPS
        )
        updates = math.ceil(cfg.total_steps / cfg.steps_per_update)
        self.total_controller_steps = max(1, updates // (cfg.child_updates * cfg.children_per_step))
        self.baseline = 0.0
        self.controller_steps = 0
        self.child: int | None = None
        self.child_updates_done = 0
        self.child_returns: list[float] = []
        self.pending: list[tuple[int, float]] = []

    def begin_update(self, update: int, step: int, generator: torch.Generator) -> None:
        """Sample a new child when the last one has had its updates."""
        if self.child is None:
            self.child = self.controller.sample(generator)
        self.supernet.set_arch(self.child)

    def end_update(self, step: int, returns: list[float], generator: torch.Generator) -> list:
        """Close the child after its updates (an archs.csv row, also returned); a controller
        step after `children_per_step`."""
        rows = self._close_child(step, returns)
        if self.run is not None:
            self.run.append("archs.csv", rows)
        return rows

    def _close_child(self, step: int, returns: list[float]) -> list:
        self.child_returns.extend(returns)
        self.child_updates_done += 1
        if self.child_updates_done < self.cfg.child_updates:
            return []
        games = self.child_returns
        reward = sum(games) / len(games) if games else math.nan
        row = {"step": step, "arch": self.child, "kernels": self.supernet.space.label(self.child),
               "reward": reward, "games": len(self.child_returns)}  # fmt: skip
        self.pending.append((self.child, reward))
        self.child, self.child_updates_done, self.child_returns = None, 0, []
        loss = math.nan
        if len(self.pending) == self.cfg.children_per_step:
            loss = self._controller_step()
        row.update(controller_step=self.controller_steps, baseline=self.baseline,
                   controller_loss=loss)  # fmt: skip
        return [row]

    def _controller_step(self) -> float:
        """One REINFORCE step on the children with a reward; returns its loss (NaN: none)."""
        scored = [(a, r) for a, r in self.pending if not math.isnan(r)]
        self.pending = []
        loss_value = math.nan
        if scored:
            lr = cosine_lr(
                self.controller_steps, lr=self.cfg.controller_lr,
                total_steps=self.total_controller_steps,
            )  # fmt: skip
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            archs, rewards = zip(*scored, strict=True)
            log_prob, entropy = self.controller(self.controller.choices_of(archs))
            loss = reinforce_loss(
                log_prob, entropy, torch.tensor(rewards), self.baseline,
                self.cfg.controller_entropy,
            )  # fmt: skip
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.controller.parameters(), CONTROLLER_GRAD_NORM)
            self.optimizer.step()
            self.baseline = update_baseline(self.baseline, rewards, self.cfg.baseline_momentum)
            loss_value = loss.item()
        self.controller_steps += 1
        return loss_value

    def episode_fields(self) -> dict:
        return {"arch": self.supernet.arch}

    @contextmanager
    def evaluation(self) -> Iterator[bool]:
        """Test the controller's most probable architecture, then restore the child."""
        current = self.supernet.arch
        self.supernet.set_arch(int(self.controller.arch_probabilities().argmax()))
        try:
            yield True
        finally:
            self.supernet.set_arch(current)

    def state_dict(self) -> dict:
        return {
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "controller_steps": self.controller_steps,
            "child": self.child,
            "child_updates_done": self.child_updates_done,
            "child_returns": list(self.child_returns),
            "pending": list(self.pending),
        }

    def load_state_dict(self, state: dict) -> None:
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.controller_steps = state["controller_steps"]
        self.child = state["child"]
        self.child_updates_done = state["child_updates_done"]
        self.child_returns = list(state["child_returns"])
        self.pending = [tuple(p) for p in state["pending"]]


def enas_proxy(run_dir: str | Path, archs: Sequence[int] | None = None) -> pd.DataFrame:
    """The controller's probability of each candidate (its proxy performance), best first.

    The whole space's probabilities are cached in the run's controller.csv, so a finished
    search needs no checkpoint once read (run folders travel without their weights).
    """
    run_dir = Path(run_dir)
    config, space, archs = search_run(run_dir, "enas", archs)
    cache = run_dir / CONTROLLER_PROXY
    table = pd.read_csv(cache) if cache.exists() else None
    final = finished_steps(run_dir)
    fresh = (table is not None and final is not None and len(table) == len(space)
             and bool((table["weights_step"] == final).all()))  # fmt: skip
    if not fresh:
        state = load_checkpoint_file(run_dir / "checkpoints" / "latest.pt")
        controller = Controller(config["space"], config["controller_hidden"])
        controller.load_state_dict(state["schedule"]["controller"])
        probs = controller.arch_probabilities(config["space"])
        table = pd.DataFrame(
            [{"arch": a, "kernels": space.label(a), "proxy": float(probs[a]),
              "weights_step": int(state["step"])} for a in range(len(space))]
        )  # fmt: skip
        table.to_csv(cache, index=False)
    table = table[table["arch"].isin(archs)]
    return table.sort_values(["proxy", "arch"], ascending=[False, True]).reset_index(drop=True)

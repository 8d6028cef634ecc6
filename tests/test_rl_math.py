"""A2C maths against hand-computed values: returns, losses, entropy sign, the lr schedule."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.config import A2CConfig
from workbench.rl.losses import a2c_loss, nstep_returns
from workbench.rl.schedules import a2d_learning_rate


def test_nstep_returns_by_hand() -> None:
    g = 0.9
    rewards = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    dones = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    bootstrap = torch.tensor([10.0, 5.0])
    r = nstep_returns(rewards, dones, bootstrap, g)
    # env 0: the episode ends at t=1, so R_1 = 0 and R_0 = 1 + 0.9 * 0; R_2 = 2 + 0.9 * 10
    # env 1: no end: R_2 = 0 + 0.9*5, R_1 = 1 + 0.9*R_2, R_0 = 0 + 0.9*R_1
    assert r[:, 0].tolist() == pytest.approx([1.0, 0.0, 11.0])
    r2 = 0.9 * 5
    r1 = 1 + 0.9 * r2
    assert r[:, 1].tolist() == pytest.approx([0.9 * r1, r1, r2])


def test_a2c_loss_by_hand() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]])  # pi = [1/4, 3/4]
    values = torch.tensor([2.0], requires_grad=True)
    loss = a2c_loss(logits, values, torch.tensor([1]), torch.tensor([5.0]), entropy_coef=0.01)
    delta = 3.0
    assert loss.policy.item() == pytest.approx(-delta * math.log(0.75))
    assert loss.value.item() == pytest.approx(0.5 * delta**2)
    neg_entropy = 0.25 * math.log(0.25) + 0.75 * math.log(0.75)
    assert loss.entropy.item() == pytest.approx(neg_entropy)
    assert loss.total.item() == pytest.approx(
        -delta * math.log(0.75) + 0.5 * delta**2 + 0.01 * neg_entropy
    )


def test_advantage_is_detached_in_the_policy_term() -> None:
    values = torch.tensor([1.0], requires_grad=True)
    loss = a2c_loss(
        torch.zeros(1, 2, requires_grad=True),
        values,
        torch.tensor([0]),
        torch.tensor([3.0]),
        entropy_coef=0.0,
    )
    loss.policy.backward()
    assert values.grad is None or values.grad.abs().sum() == 0


def test_entropy_term_pushes_towards_uniform() -> None:
    """Minimising + alpha1 * sum(pi log pi) must raise the entropy (the sign A2D uses)."""
    logits = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    loss = a2c_loss(logits, torch.zeros(1), torch.tensor([0]), torch.zeros(1), entropy_coef=1.0)
    loss.entropy.backward()
    stepped = logits - 0.1 * logits.grad
    h = lambda z: -(z.softmax(-1) * z.log_softmax(-1)).sum().item()  # noqa: E731
    assert h(stepped) > h(logits)


def test_lr_schedule_a2d_values() -> None:
    kw = {"lr": 1e-3, "lr_final": 1e-4, "constant_steps": 10_000_000, "total_steps": 30_000_000}
    assert a2d_learning_rate(0, **kw) == 1e-3
    assert a2d_learning_rate(10_000_000, **kw) == 1e-3
    assert a2d_learning_rate(20_000_000, **kw) == pytest.approx(5.5e-4)
    assert a2d_learning_rate(30_000_000, **kw) == pytest.approx(1e-4)
    assert A2CConfig().constant_steps == 10_000_000  # the paper's default budget


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"total_steps": 0}, "total_steps must be a positive integer"),
        ({"total_steps": 1.5e6}, "total_steps must be a positive integer"),
        ({"rollout_length": 0}, "rollout_length"),
        ({"total_steps": 1000, "lr_constant_steps": 2000}, "ends before it starts"),
        ({"backend": "gpu"}, "backend must be one of"),
        ({"entropy_coef": -1.0}, "entropy_coef"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        A2CConfig(**kwargs)

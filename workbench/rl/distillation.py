"""Actor-critic distillation losses (A2D Sec. 4.3, Eq. 6-8) as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from workbench.config import DISTILL_ARMS
from workbench.rl.losses import A2CLoss, a2c_loss


def actor_distill_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """KL(pi_teacher || pi_student) summed over actions, averaged over states (A2D Eq. 6)."""
    return F.kl_div(
        F.log_softmax(student_logits, dim=-1),
        F.log_softmax(teacher_logits.detach(), dim=-1),
        reduction="batchmean",
        log_target=True,
    )


def critic_distill_loss(student_values: torch.Tensor, teacher_values: torch.Tensor) -> torch.Tensor:
    """E[1/2 (V_student - V_teacher)^2] (A2D Eq. 7)."""
    return 0.5 * (student_values - teacher_values.detach()).pow(2).mean()


@dataclass(frozen=True)
class DistillLoss:
    """The distillation terms of one update; `total` is added to the A2C loss."""

    total: torch.Tensor
    actor: torch.Tensor
    critic: torch.Tensor


def distillation_loss(
    arm: str,
    student_logits: torch.Tensor,
    student_values: torch.Tensor | None,
    teacher_logits: torch.Tensor,
    teacher_values: torch.Tensor,
    *,
    actor_coef: float,
    critic_coef: float,
) -> DistillLoss:
    """alpha2 L_actor_distill + alpha3 L_critic_distill for one arm of A2D Tab. 2.

    `none` adds nothing; `actor` and `actor+reuse-critic` add the KL term only (the latter
    bootstraps with the teacher's values elsewhere); `actor+critic` adds both (Eq. 8).
    """
    if arm not in DISTILL_ARMS:
        raise ValueError(f"distillation arm must be one of {DISTILL_ARMS}, got {arm!r}")
    zero = student_logits.new_zeros(())
    if arm == "none":
        return DistillLoss(zero, zero, zero)
    actor = actor_distill_loss(teacher_logits, student_logits)
    critic = zero
    if arm == "actor+critic":
        if student_values is None:
            raise ValueError("actor+critic distillation needs a student critic")
        critic = critic_distill_loss(student_values, teacher_values)
    return DistillLoss(actor_coef * actor + critic_coef * critic, actor, critic)


def actor_critic_losses(
    logits: torch.Tensor,
    values: torch.Tensor | None,
    actions: torch.Tensor,
    returns: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    teacher_values: torch.Tensor | None,
    *,
    arm: str,
    entropy_coef: float,
    value_coef: float,
    actor_coef: float,
    critic_coef: float,
) -> tuple[A2CLoss, DistillLoss]:
    """The A2C loss and the arm's distillation terms of one batch (A2D Eq. 8).

    A student without a critic (values None, `actor+reuse-critic`) takes the teacher's values as
    its critic: td-errors use them and no value loss is optimised.
    """
    reuse = values is None
    loss = a2c_loss(
        logits,
        teacher_values if reuse else values,
        actions,
        returns,
        entropy_coef=entropy_coef,
        value_coef=0.0 if reuse else value_coef,
    )
    distill = distillation_loss(
        arm,
        logits,
        values,
        teacher_logits,
        teacher_values,
        actor_coef=actor_coef,
        critic_coef=critic_coef,
    )
    return loss, distill

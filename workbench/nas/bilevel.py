"""DARTS' bi-level architecture gradient (Liu et al. 2019, Eq. 6-8) as a pure function.

The weights are a dict of tensors so that losses can be evaluated at virtual weights with
`torch.func.functional_call` without touching the live parameters (whose values an autograd
graph of the current rollout may still hold).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Loss = Callable[[dict[str, Tensor]], Tensor]
"""A loss of the weights; it reads alpha (a leaf tensor requiring grad) by closure."""


def darts_alpha_grad(
    train_loss: Loss,
    val_loss: Loss,
    weights: dict[str, Tensor],
    alpha: Tensor,
    xi: float,
    *,
    second_order: bool = True,
    fd_scale: float = 1e-2,
) -> Tensor:
    """d/d alpha of L_val(w - xi grad_w L_train(w, alpha), alpha).

    Second order: grad_alpha L_val(w', alpha) - xi * H grad_w' L_val, with the Hessian-vector
    product H v = (grad_alpha L_train(w + eps v) - grad_alpha L_train(w - eps v)) / (2 eps),
    eps = fd_scale / |v| (DARTS Eq. 8). First order (or xi = 0): grad_alpha L_val(w, alpha).
    """
    names = list(weights)
    if not second_order or xi == 0:
        return torch.autograd.grad(val_loss(weights), alpha, allow_unused=True)[0]
    w = {k: v.detach().requires_grad_(True) for k, v in weights.items()}
    grads = torch.autograd.grad(train_loss(w), [w[k] for k in names], allow_unused=True)
    unrolled = {
        k: (w[k] - xi * g if g is not None else w[k]).detach().requires_grad_(True)
        for k, g in zip(names, grads, strict=True)
    }
    val = val_loss(unrolled)
    d_alpha, *d_w = torch.autograd.grad(
        val, [alpha, *(unrolled[k] for k in names)], allow_unused=True
    )
    d_alpha = torch.zeros_like(alpha) if d_alpha is None else d_alpha
    v = {k: g for k, g in zip(names, d_w, strict=True) if g is not None}
    norm = torch.sqrt(sum((g**2).sum() for g in v.values()))
    if not norm > 0:
        return d_alpha
    eps = fd_scale / norm

    def alpha_grad_at(sign: float) -> Tensor:
        shifted = {k: (w[k] + sign * eps * v[k] if k in v else w[k]).detach() for k in names}
        grad = torch.autograd.grad(train_loss(shifted), alpha, allow_unused=True)[0]
        return torch.zeros_like(alpha) if grad is None else grad

    hessian_vector = (alpha_grad_at(1.0) - alpha_grad_at(-1.0)) / (2 * eps)
    return d_alpha - xi * hessian_vector

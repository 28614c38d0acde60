"""Loss functions of the estimators (arXiv:1805.00020 section 3; arXiv:1808.00973 for ALICE).

Conventions as in MadMiner: samples drawn at θ₀ have y = 0, at θ₁ have y = 1;
r = p(x|θ₀)/p(x|θ₁) and the classifier decision function is s = 1/(1 + r).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["alices_loss", "sally_loss"]


def sally_loss(t_hat: torch.Tensor, t_xz: torch.Tensor) -> torch.Tensor:
    """SALLY: mean squared error between the estimated score and the joint score.

    Example:
        >>> float(sally_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])))
        0.5
    """
    return F.mse_loss(t_hat, t_xz)


def alices_loss(
    log_r_hat: torch.Tensor,
    t_hat: torch.Tensor,
    y: torch.Tensor,
    r_xz: torch.Tensor,
    t_xz: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """ALICES: cross entropy against the joint target s(x,z) = 1/(1 + r(x,z)) plus α × score MSE.

    The score term uses only samples drawn at θ₀ (y = 0), where t(x,z|θ₀) is an unbiased
    estimate of the score. ŝ = 1/(1 + r̂) = sigmoid(−log r̂), evaluated with logits for stability.

    Args:
        log_r_hat: estimated log r(x|θ₀,θ₁), shape (n,).
        t_hat: estimated score ∇_θ₀ log r̂, shape (n, p).
        y: labels, shape (n,).
        r_xz: joint likelihood ratios, shape (n,).
        t_xz: joint scores at θ₀, shape (n, p).
        alpha: weight of the score term.

    Example:
        >>> loss = alices_loss(torch.zeros(2), torch.zeros(2, 1), torch.tensor([0.0, 1.0]),
        ...                    torch.ones(2), torch.zeros(2, 1), alpha=1.0)
        >>> round(float(loss), 4)  # ln 2: r̂ = r = 1
        0.6931
    """
    s_xz = 1.0 / (1.0 + r_xz)
    cross_entropy = F.binary_cross_entropy_with_logits(-log_r_hat, s_xz)
    from_theta0 = (1.0 - y)[:, None]
    score_mse = ((from_theta0 * (t_hat - t_xz)) ** 2).sum(dim=1).mean() / t_hat.shape[1]
    return cross_entropy + alpha * score_mse

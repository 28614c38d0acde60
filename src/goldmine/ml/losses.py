"""Loss functions of the estimators (arXiv:1805.00020 section 3 and table I; arXiv:1808.00973 for ALICE).

Conventions as in MadMiner: samples drawn at θ₀ have y = 0, at θ₁ have y = 1;
r = p(x|θ₀)/p(x|θ₁) and the classifier decision function is s = 1/(1 + r), so that
ŝ = sigmoid(−log r̂). The parameterised-ratio family combines three terms:

=========  ==========================================  ======================
method     ratio term                                   score term (× α)
=========  ==========================================  ======================
CARL       cross entropy against the labels y           —
ROLR       y(r̂ − r)² + (1−y)(1/r̂ − 1/r)²               —
RASCAL     as ROLR                                      (1−y)|t̂ − t(x,z|θ₀)|²
ALICE      cross entropy against s(x,z) = 1/(1 + r)     —
ALICES     as ALICE                                     as RASCAL
CASCAL     as CARL                                      as RASCAL
=========  ==========================================  ======================

The score term uses only samples drawn at θ₀, where t(x,z|θ₀) is an unbiased estimate of
t(x|θ₀). SALLY and SALLINO regress the joint score at a reference point. NDE maximises the
likelihood of a conditional density estimator p̂(x|θ) on samples x ~ p(x|θ); SCANDAL adds
α|∇_θ log p̂(x|θ) − t(x,z|θ)|² (arXiv:1805.12244).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from goldmine.ml import MORPHING_AWARE_PREFIX

__all__ = ["RATIO_LOSSES", "RatioLoss", "density_loss", "local_score_loss", "ratio_loss"]


@dataclass(frozen=True)
class RatioLoss:
    """The terms of a parameterised-ratio loss."""

    classification: str | None  # "labels" (CARL), "joint" (ALICE) or None
    regression: bool  # ROLR's regression on r and 1/r
    score: bool  # the α-weighted score term


_LOG_R_CLIP = 10.0

#: the loss terms of each parameterised-ratio method.
RATIO_LOSSES: dict[str, RatioLoss] = {
    "carl": RatioLoss("labels", False, False),
    "rolr": RatioLoss(None, True, False),
    "rascal": RatioLoss(None, True, True),
    "alice": RatioLoss("joint", False, False),
    "alices": RatioLoss("joint", False, True),
    "cascal": RatioLoss("labels", False, True),
}


def local_score_loss(t_hat: torch.Tensor, t_xz: torch.Tensor) -> torch.Tensor:
    """SALLY/SALLINO: mean squared error between the estimated score and the joint score.

    Example:
        >>> float(local_score_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])))
        0.5
    """
    return F.mse_loss(t_hat, t_xz)


def ratio_loss(
    method: str,
    log_r_hat: torch.Tensor,
    t_hat: torch.Tensor | None,
    y: torch.Tensor,
    r_xz: torch.Tensor,
    t_xz: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """The loss of a parameterised-ratio method (see the table in the module docstring).

    Args:
        method: one of :data:`RATIO_LOSSES`, optionally with the morphing-aware prefix.
        log_r_hat: estimated log r(x|θ₀,θ₁), shape (n,).
        t_hat: estimated score ∇_θ₀ log r̂, shape (n, p); only needed with a score term.
        y: labels, shape (n,).
        r_xz: joint likelihood ratios, shape (n,).
        t_xz: joint scores at θ₀, shape (n, p).
        alpha: weight of the score term.

    Example:
        >>> zeros, y = torch.zeros(2), torch.tensor([0.0, 1.0])
        >>> round(float(ratio_loss("alices", zeros, torch.zeros(2, 1), y, torch.ones(2), torch.zeros(2, 1), 1.0)), 4)
        0.6931
        >>> float(ratio_loss("rolr", zeros, None, y, torch.tensor([2.0, 0.5]), torch.zeros(2, 1), 1.0))
        0.25
    """
    terms = RATIO_LOSSES[method.removeprefix(MORPHING_AWARE_PREFIX)]
    loss = torch.zeros((), dtype=log_r_hat.dtype, device=log_r_hat.device)
    if terms.classification is not None:
        target = y if terms.classification == "labels" else 1.0 / (1.0 + r_xz)
        loss = loss + F.binary_cross_entropy_with_logits(-log_r_hat, target)
    if terms.regression:
        # r(x,z) is an unbiased estimate of r(x) for z ~ p(z|x,θ₁) (y = 1), 1/r(x,z) of 1/r(x) for
        # z ~ p(z|x,θ₀) (y = 0). Ratios are clipped at e^±10 against the heavy tails of r(x,z).
        log_r_hat = torch.clamp(log_r_hat, -_LOG_R_CLIP, _LOG_R_CLIP)
        r_xz = torch.clamp(r_xz, math.exp(-_LOG_R_CLIP), math.exp(_LOG_R_CLIP))
        from_theta1 = y * (torch.exp(log_r_hat) - r_xz) ** 2
        from_theta0 = (1.0 - y) * (torch.exp(-log_r_hat) - 1.0 / r_xz) ** 2
        loss = loss + (from_theta1 + from_theta0).mean()
    if terms.score:
        from_theta0 = (1.0 - y)[:, None]
        loss = loss + alpha * ((from_theta0 * (t_hat - t_xz)) ** 2).sum(dim=1).mean() / t_hat.shape[1]
    return loss


def density_loss(method: str, log_p: torch.Tensor, t_hat: torch.Tensor | None, t_xz: torch.Tensor,
                 alpha: float) -> torch.Tensor:
    """NDE: −mean log p̂(x|θ); SCANDAL: plus α × the score MSE (samples drawn at θ).

    Example:
        >>> log_p = torch.tensor([-1.0, -3.0])
        >>> float(density_loss("nde", log_p, None, torch.zeros(2, 1), 1.0))
        2.0
        >>> float(density_loss("scandal", log_p, torch.ones(2, 1), torch.zeros(2, 1), 0.5))
        2.5
    """
    loss = -log_p.mean()
    if method == "scandal":
        loss = loss + alpha * ((t_hat - t_xz) ** 2).sum(dim=1).mean() / t_hat.shape[1]
    elif method != "nde":
        raise ValueError(f"unknown density method {method!r}")
    return loss

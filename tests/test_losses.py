"""Each loss against a value computed by hand, and the minimiser of each loss."""

import math

import numpy as np
import pytest
import torch

from goldmine.ml import RATIO_METHODS
from goldmine.ml.losses import RATIO_LOSSES, local_score_loss, ratio_loss

# Two samples: one drawn at θ₀ (y = 0, r = 2, t = 1), one at θ₁ (y = 1, r = 0.5, t = −1);
# the estimator says log r̂ = 0 (r̂ = 1, ŝ = 1/2) and t̂ = 0.5 for both.
LOG_R_HAT = torch.zeros(2, dtype=torch.float64)
T_HAT = torch.full((2, 1), 0.5, dtype=torch.float64)
Y = torch.tensor([0.0, 1.0], dtype=torch.float64)
R_XZ = torch.tensor([2.0, 0.5], dtype=torch.float64)
T_XZ = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
ALPHA = 2.0

LN2 = math.log(2)
# Cross entropies with ŝ = 1/2 are ln 2 whatever the target.
CROSS_ENTROPY = LN2
# ROLR: the θ₀ sample regresses 1/r: (1/r̂ − 1/r)² = (1 − 1/2)² = 0.25; the θ₁ sample regresses r:
# (r̂ − r)² = (1 − 0.5)² = 0.25.
ROLR = (0.25 + 0.25) / 2
# Score term: only the θ₀ sample, (0.5 − 1)² = 0.25, averaged over 2 samples and 1 parameter.
SCORE = ALPHA * 0.25 / 2

EXPECTED = {
    "carl": CROSS_ENTROPY,
    "rolr": ROLR,
    "rascal": ROLR + SCORE,
    "alice": CROSS_ENTROPY,
    "alices": CROSS_ENTROPY + SCORE,
    "cascal": CROSS_ENTROPY + SCORE,
}


def test_every_ratio_method_has_a_hand_computed_value():
    assert set(EXPECTED) == set(RATIO_METHODS) == set(RATIO_LOSSES)


@pytest.mark.parametrize("method", RATIO_METHODS)
def test_ratio_loss_against_hand_computed_value(method):
    value = ratio_loss(method, LOG_R_HAT, T_HAT, Y, R_XZ, T_XZ, ALPHA)
    assert float(value) == pytest.approx(EXPECTED[method], rel=1e-12)


def test_cross_entropy_targets_differ_between_carl_and_alice():
    """With log r̂ = log 2 for a y = 0 sample of r(x,z) = 2: CARL wants r̂ → ∞, ALICE is at its optimum."""
    log_r = torch.tensor([LN2], dtype=torch.float64, requires_grad=True)
    args = (None, torch.zeros(1, dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64),
            torch.zeros((1, 1), dtype=torch.float64), 0.0)
    for method, gradient_sign in (("carl", -1), ("alice", 0)):
        (gradient,) = torch.autograd.grad(ratio_loss(method, log_r, *args), log_r)
        assert np.sign(round(float(gradient), 12)) == gradient_sign, method


def test_local_score_loss_is_the_mean_squared_error():
    t_hat = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    t_xz = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert float(local_score_loss(t_hat, t_xz)) == pytest.approx((1 + 4 + 1 + 1) / 4)

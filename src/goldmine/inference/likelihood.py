"""What every exact likelihood shares: log r(x|θ₀, θ₁) from log p(x|θ), with the per-event
θ-independent terms (:meth:`Likelihood.angular_integrals`) computed once for all θ.

The exact likelihoods are :class:`~goldmine.inference.exact.ExactLikelihood` (``ee_mumu``
through its detector) and :class:`~goldmine.inference.exact_ww.ExactWW` (``ee_ww`` at
parton level).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["Likelihood"]


class Likelihood(ABC):
    """An exact likelihood p(x|θ): a subclass gives :meth:`angular_integrals` and :meth:`log_likelihood`.

    Example:
        >>> class Exponential(Likelihood):  # p(x|θ) = θ e^(−θx) on x > 0; no per-event precomputation
        ...     def angular_integrals(self, x):
        ...         return np.asarray(x, dtype=float)
        ...     def log_likelihood(self, x, theta, integrals=None):
        ...         theta = np.asarray(theta, dtype=float)[..., :1]
        ...         return np.log(theta) - theta * self.angular_integrals(x)
        >>> Exponential().log_likelihood_ratio([0.0, 1.0], [2.0], [1.0]).round(4).tolist()  # log 2 − x
        [0.6931, -0.3069]
    """

    @abstractmethod
    def angular_integrals(self, x: np.ndarray) -> np.ndarray:
        """The θ-independent terms of p(x|θ) per event, passed back to :meth:`log_likelihood` for many θ."""

    @abstractmethod
    def log_likelihood(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """log p(x|θ) (up to a θ-independent term per event): shape (n,) for θ of shape (p,), (m, n) for (m, p)."""

    def log_likelihood_ratio(self, x: np.ndarray, theta0: np.ndarray, theta1: np.ndarray,
                             integrals: np.ndarray | None = None) -> np.ndarray:
        """log r(x|θ₀, θ₁) = log p(x|θ₀) − log p(x|θ₁), shape (n,) or (m, n) for m values of θ₀.

        An event that neither θ can produce (outside the acceptance or the phase space) gets NaN.

        Args:
            x: observations, shape (n, n_observables).
            theta0: shape (p,) or (m, p).
            theta1: shape (p,).
            integrals: precomputed :meth:`angular_integrals` of ``x``.
        """
        if integrals is None:
            integrals = self.angular_integrals(x)
        with np.errstate(invalid="ignore"):
            return self.log_likelihood(x, theta0, integrals) - self.log_likelihood(x, theta1, integrals)

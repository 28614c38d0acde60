"""The exact parton-level likelihood of ``ee_ww``: the five LEP angles and the two W masses.

At parton level the observables x = (cos Θ, cos θ_ℓ, φ_ℓ, cos θ_j, φ_j, m_ℓν, m_jj)
(:mod:`goldmine.physics.ww_angles`; the masses are m(ℓν) and m(jj)) fix the generator's
phase-space point z up to what carries no θ information or is summed:

- the overall azimuth φ of the W⁻ (the beams are unpolarised: |M|² does not depend on it);
- the lepton charge: with the CP-conjugate azimuths of ℓ⁺ events, both charges share one
  density (C- and P-conserving couplings; tested), so x is evaluated in the ℓ⁻ channel;
- the lepton flavour and the quark doublet (massless fermions, diagonal CKM: the same |M|²);
- which jet is the quark: the fold (cos θ_j, φ_j) ~ (−cos θ_j, φ_j + π) adds the two
  assignments.

Observing the W masses makes the likelihood exact without any integration (integrating them
out would be a two-dimensional integral per event; the masses are observed instead, which is
what a parton-level analysis sees). So

    dσ/dx(θ) = 8 · 2π · 4 m_ℓν m_jj · Σ_fold Σ_σ |M_σ(z(x)|θ)|²,    p(x|θ) = dσ/dx(θ) / σ(θ),

with 8 channels, the φ integral, dm² = 2m dm for each W, and σ(θ) the semileptonic cross
section of :meth:`~goldmine.physics.processes.EEWW.cross_section`. Each amplitude is linear in θ,
M = c₀ + Σᵢ θᵢ cᵢ (:meth:`~goldmine.physics.processes.EEWW.amplitude_components`), so per event
dσ/dx = aᵀ Q(x) a with a = (1, θ) and a real symmetric 4 × 4 matrix Q, computed once; the
likelihood at any θ then costs a quadratic form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from goldmine.inference.likelihood import Likelihood
from goldmine.physics.processes import EEWW
from goldmine.physics.processes.ee_ww import COLUMNS

__all__ = ["REQUIRED", "ExactWW"]

#: the observables the exact likelihood needs (all built-in, :data:`goldmine.detection.observables.WW_OBSERVABLES`).
REQUIRED = ("cos_theta_w", "cos_theta_l", "phi_l", "cos_theta_j", "phi_j", "m_lnu", "m_jj")
_CHANNELS = 8
_BLOCK = 20_000  # events per amplitude evaluation (≈ 1 kB each)
#: σ(θ) is quadratic: central differences are exact up to rounding, ~10⁻¹³ with this step
_STEP = 1e-3


def _coefficients(theta: np.ndarray) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    return np.concatenate([np.ones(theta.shape[:-1] + (1,)), theta], axis=-1)


@dataclass(frozen=True)
class ExactWW(Likelihood):
    """Exact log-likelihood ratios and scores of parton-level ``ee_ww`` events.

    Args:
        process: the process (its couplings and √s).
        observable_names: the columns of the observations passed in (:data:`REQUIRED` among them).

    Example:
        >>> process = EEWW(sqrt_s=189.0)
        >>> x = np.array([[0.8, -0.5, 1.0, 0.3, -2.0, 80.0, 80.5]])
        >>> exact = ExactWW(process, REQUIRED)
        >>> density = exact.density(x, np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0]]))  # pb per unit of x
        >>> density.shape, bool(np.all(density > 0))
        ((2, 1), True)
    """

    process: EEWW
    observable_names: Sequence[str]

    def __post_init__(self) -> None:
        missing = [name for name in REQUIRED if name not in self.observable_names]
        if missing:
            raise ValueError(f"the exact ee_ww likelihood needs the observables {missing}")

    def phase_space_points(self, x: np.ndarray) -> np.ndarray:
        """The generator's points z(x) of the two jet assignments (ℓ⁻ channel, φ = 0), shape (2, n, 11)."""
        names = list(self.observable_names)
        x = np.atleast_2d(np.asarray(x, dtype=float))
        column = {name: x[:, names.index(name)] for name in REQUIRED}
        points = np.zeros((2, len(x), len(COLUMNS)))
        points[:, :, 0] = column["m_lnu"]  # the W⁻ is the leptonic one in the ℓ⁻ channel
        points[:, :, 1] = column["m_jj"]
        points[:, :, 2] = column["cos_theta_w"]
        points[:, :, 4] = column["cos_theta_l"]
        points[:, :, 5] = column["phi_l"]
        # The W⁺'s antiquark at the folded angles, or at the other jet's (π − θ_j, φ_j + π).
        points[0, :, 6], points[0, :, 7] = column["cos_theta_j"], column["phi_j"]
        points[1, :, 6], points[1, :, 7] = -column["cos_theta_j"], column["phi_j"] + np.pi
        return points

    def angular_integrals(self, x: np.ndarray, chunk_size: int = _BLOCK) -> np.ndarray:
        """The matrices Q(x) with dσ/dx(θ) = aᵀ Q a, a = (1, θ), in pb per unit of x (the name is
        the ee_mumu likelihood's: the per-event θ-independent terms the infer stage precomputes).

        Returns:
            shape (n_events, 4, 4), real symmetric.
        """
        points = self.phase_space_points(x)
        n = points.shape[1]
        matrices = np.empty((n, 4, 4))
        for start in range(0, n, chunk_size):
            block = slice(start, start + chunk_size)
            total = 0.0
            for assignment in points[:, block]:
                components = self.process.amplitude_components(assignment)  # (4, n, 2)
                total = total + np.real(np.einsum("anx,bnx->nab", components, components.conj()))
            masses = points[0, block, 0] * points[0, block, 1]
            # a point outside the phase space (m_ℓν + m_jj > √s) has no density; its frames may be NaN
            inside = np.isfinite(total).all(axis=(1, 2))
            matrices[block] = np.where(inside[:, None, None], total, 0.0) * (
                _CHANNELS * 2.0 * np.pi * 4.0 * masses)[:, None, None]
        return matrices

    def density(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """dσ/dx(θ) in pb per unit of x: shape (n,) for θ of shape (p,), (m, n) for (m, p)."""
        if integrals is None:
            integrals = self.angular_integrals(x)
        a = _coefficients(theta)
        return np.einsum("...a,nab,...b->...n", a, integrals, a)

    def fiducial_cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(θ) of all semileptonic events in pb (parton level keeps them all), scalar or shape (m,)."""
        return self.process.cross_section(theta)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """log p(x|θ), normalised over x: shape (n,) or (m, n)."""
        with np.errstate(divide="ignore"):  # −inf outside the phase space
            return (np.log(self.density(x, theta, integrals))
                    - np.log(np.asarray(self.fiducial_cross_section(theta)))[..., None])

    def score(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """t(x|θ) = ∇_θ log p(x|θ) = 2 (Q a)ᵢ / aᵀQa − ∇ log σ(θ), shape (n, p)."""
        if integrals is None:
            integrals = self.angular_integrals(x)
        theta = np.asarray(theta, dtype=float)
        a = _coefficients(theta)
        gradient = 2.0 * np.einsum("nab,b->na", integrals, a)[:, 1:]
        shifts = _STEP * np.eye(len(theta))
        sigma_gradient = (self.fiducial_cross_section(theta + shifts)
                          - self.fiducial_cross_section(theta - shifts)) / (2.0 * _STEP)
        log_sigma_gradient = sigma_gradient / self.fiducial_cross_section(theta)
        return gradient / self.density(x, theta, integrals)[:, None] - log_sigma_gradient

"""The exact detector-level likelihood of ``ee_mumu`` under the parametrised detector, and which
exact likelihood applies to an analysis (:func:`unavailable_because`, :func:`from_config`; the
parton-level one of ``ee_ww`` is :mod:`goldmine.inference.exact_ww`).

At Born level the only θ-dependent latent variable is the μ⁻ polar angle θ_t (the
μ⁺ flies at π − θ_t, c = cos θ_t). The detector accepts the pair with probability
A(c) = ε(c) ε(−c) (ε per bin of the true |cos θ|, or ε·1[|c| < a]), smears both
polar angles with Gaussians of width σ (folded onto [0, π], see
:mod:`goldmine.detection.detector`), and keeps the charges of both muons with
probability (1 − p)², swaps them with probability p² (a same-sign pair, 2p(1 − p),
is rejected). Energies and azimuths carry no θ information and cancel in every ratio.
With dσ/dcosθ = F(θ)(1 + c)² + B(θ)(1 − c)² and the kernels K of the measured angles,

    I±(x) = ∫ dθ_t sin θ_t (1 ± cos θ_t)² A(cos θ_t) K(θ₁|θ_t) K(θ₂|π − θ_t).

A swapped event has its "μ⁻" measured at the true μ⁺: its density is
∫ dθ_t sin θ_t dσ/dcosθ_t A K(θ₁|π − θ_t) K(θ₂|θ_t). With θ_t → π − θ_t (sin θ_t and,
because ε depends on |cos θ| only, A are unchanged; (1 ± c)² → (1 ∓ c)²) this is
F I₋(x) + B I₊(x): a swap maps I₊ ↔ I₋. Hence

    p(x|θ) ∝ [F(θ) J₊(x) + B(θ) J₋(x)] / σ_fid(θ),   J± = (1 − p)² I± + p² I∓,
    σ_fid(θ) = [(1 − p)² + p²] (F + B) Σ_k ε_k² ∫_{e_k < |c| < e_{k+1}} (1 + c)² dc,

(the integral of (1 − c)² over the symmetric bins is the same). I± is a one-dimensional
integral done once per event on a fine grid (spacing σ/10, at most 0.003; where ε jumps inside a grid
cell the weights integrate the piecewise-linear interpolant exactly), after which the
likelihood at any θ costs two multiplications. The φ measurements would tell a folded
polar angle from an unfolded one, which p(x|θ) ignores: it is exact while the
acceptance keeps the muons many σ away from the beam axis. This is the validation
harness of every estimator (arXiv:1805.00020, section on the validation with an
exactly known likelihood).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from goldmine.detection.detector import MuonDetector
from goldmine.inference import exact_ww
from goldmine.inference.likelihood import Likelihood
from goldmine.physics.processes import EEMuMu, get_process

__all__ = ["ExactLikelihood", "from_config", "unavailable_because"]

_REQUIRED = ("cos_theta_mu_minus", "cos_theta_mu_plus")
#: the largest grid spacing in the true angle, rad. Where a measured angle lies outside the
#: acceptance, the integrand falls steeply at its edge, and the rule's error there grows with the
#: spacing squared whatever σ is: at σ = 0.1 it is 7·10⁻⁵ in log r with spacing σ/10, 6·10⁻⁶ with
#: this one (3·10⁻⁶ at the default σ = 0.03, where σ/10 is this spacing).
_MAX_SPACING = 0.003


def unavailable_because(config: Mapping[str, Any]) -> str | None:
    """Why the exact likelihood does not describe an analysis's events, or None when it does.

    It is exact for ``ee_mumu`` at Born level through the parametrised muon detector, with
    both muon angles among the observables; a shower (QED radiation: the muons are no longer
    back to back), a detector card, or cuts and efficiencies on the reconstructed event (which
    its normalisation ignores) make it an approximation, so it is not used there at all.
    For ``ee_ww`` it is exact at parton level (``detector.parton``, no shower, no cuts or
    efficiencies) with the observables :data:`goldmine.inference.exact_ww.REQUIRED`.

    Example:
        >>> unavailable_because({"process": {"name": "ee_mumu", "parameters": {}}, "shower": {"enabled": True},
        ...                      "detector": {}, "cuts": [], "efficiencies": [], "observables": list(_REQUIRED)})
        'the shower moves the muons away from back to back (QED radiation)'
        >>> unavailable_because({"process": {"name": "ee_ww"}, "shower": {"enabled": False},
        ...                      "detector": {"parton": True}, "cuts": [], "efficiencies": [],
        ...                      "observables": list(exact_ww.REQUIRED)}) is None
        True
    """
    name = config["process"]["name"]
    if name == "ee_ww":
        return _ww_unavailable_because(config)
    if name != "ee_mumu":
        return f"it is known for ee_mumu and ee_ww only, not {name!r}"
    if "sin2_theta_w" in config["process"]["parameters"] and not config["finite_differences"]["grid"]:
        return ("it is compared on the θ grid, where sin2_theta_w (which does not morph) has weights only with "
                "'finite_differences.grid': true")
    if config["shower"]["enabled"]:
        return "the shower moves the muons away from back to back (QED radiation)"
    if "card" in config["detector"]:
        return "a detector card replaces the parametrised muon detector it integrates over"
    for key in ("cuts", "efficiencies"):
        if config[key]:
            return f"config {key!r} select or reweight reconstructed events, which its normalisation ignores"
    return _missing_observables(config, _REQUIRED)


def _ww_unavailable_because(config: Mapping[str, Any]) -> str | None:
    if config["shower"]["enabled"]:
        return "for ee_ww it is known at parton level only, and the shower turns the quarks into hadrons"
    if not config["detector"].get("parton", False):
        return "for ee_ww it is known at parton level only (detector.parton: true), not through a detector"
    for key in ("cuts", "efficiencies"):
        if config[key]:
            return f"config {key!r} select or reweight events, which its normalisation ignores"
    return _missing_observables(config, exact_ww.REQUIRED)


def _missing_observables(config: Mapping[str, Any], required: Sequence[str]) -> str | None:
    built_in = [name for name in config["observables"] if isinstance(name, str)]
    missing = [name for name in required if name not in built_in]
    if missing:
        return f"it needs the observables {missing} (built-in), which the config does not list"
    return None


def from_config(config: Mapping[str, Any], observable_names: Sequence[str]) -> ExactLikelihood | exact_ww.ExactWW:
    """The exact likelihood of an analysis for which :func:`unavailable_because` is None.

    Args:
        config: the validated configuration.
        observable_names: the columns of the observations it will be given.

    Example:
        >>> config = {"process": {"name": "ee_ww", "sqrt_s": 189.0, "cutoff": 1000.0, "couplings": {}},
        ...           "detector": {"parton": True}}
        >>> type(from_config(config, exact_ww.REQUIRED)).__name__
        'ExactWW'
    """
    process = get_process(config["process"])
    if config["process"]["name"] == "ee_ww":
        return exact_ww.ExactWW(process, observable_names)
    return ExactLikelihood(process, MuonDetector.from_config(config["detector"]), observable_names)


@dataclass(frozen=True)
class ExactLikelihood(Likelihood):
    """Exact log-likelihood ratios and scores of ``ee_mumu`` events.

    Args:
        process: the process (its couplings and √s).
        detector: the muon detector the events went through.
        observable_names: the columns of the observations passed in.

    Example:
        >>> import numpy as np
        >>> exact = ExactLikelihood(EEMuMu(), MuonDetector(), ["cos_theta_mu_minus", "cos_theta_mu_plus"])
        >>> x = np.array([[0.5, -0.5], [-0.5, 0.5]])
        >>> log_r = exact.log_likelihood_ratio(x, [0.0, 0.2], [0.0, 0.0])  # c_aa > 0 favours forward μ⁻
        >>> bool(log_r[0] > 0 > log_r[1])
        True
    """

    process: EEMuMu
    detector: MuonDetector
    observable_names: Sequence[str]

    def __post_init__(self) -> None:
        missing = [name for name in _REQUIRED if name not in self.observable_names]
        if missing:
            raise ValueError(f"the exact likelihood needs the observables {missing}")

    def _angles(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        names = list(self.observable_names)
        x = np.atleast_2d(np.asarray(x, dtype=float))
        cos1 = np.clip(x[:, names.index("cos_theta_mu_minus")], -1.0, 1.0)
        cos2 = np.clip(x[:, names.index("cos_theta_mu_plus")], -1.0, 1.0)
        return np.arccos(cos1), np.arccos(cos2)

    def angular_integrals(self, x: np.ndarray, chunk_size: int = 4096) -> np.ndarray:
        """The coefficients (J₊, J₋) of F and B in p(x|θ) per event, scaled by a common per-event factor.

        Returns:
            array of shape (n_events, 2).
        """
        theta1, theta2 = self._angles(x)
        sigma = self.detector.angle_resolution
        if sigma == 0.0:
            cos_true = np.cos(theta1)
            shapes = np.stack([(1 + cos_true) ** 2, (1 - cos_true) ** 2], axis=1)
            return self._with_charge_swaps(shapes * self._relative_pair_efficiency(cos_true)[:, None])
        theta_min = np.arccos(self.detector.acceptance_bins[0][-1])
        n_grid = int(np.ceil((np.pi - 2 * theta_min) / min(0.1 * sigma, _MAX_SPACING))) + 1
        grid = np.linspace(theta_min, np.pi - theta_min, n_grid)
        step = grid[1] - grid[0]
        with np.errstate(divide="ignore"):  # sin θ = 0 at the poles when the acceptance reaches them
            log_jacobian = np.log(np.sin(grid))
        shapes = np.stack([(1 + np.cos(grid)) ** 2, (1 - np.cos(grid)) ** 2], axis=1)
        weights = self._quadrature_weights(grid)
        # Both kernels are Gaussians in the true angle, around θ₁ and π − θ₂: their product is one
        # of width σ/√2 around the midpoint, below e⁻⁶⁴ of its peak beyond ±8σ. Each event is
        # integrated on the grid points within that window only (the whole grid when σ is wide).
        window = min(n_grid, int(np.ceil(16 * sigma / step)) + 1)
        offsets = np.arange(window)
        chunk_size = max(1, chunk_size * 161 // max(window, 161))  # bounded memory however wide the window
        integrals = np.empty((len(theta1), 2))
        for start in range(0, len(theta1), chunk_size):
            t1 = theta1[start : start + chunk_size, None]
            t2 = theta2[start : start + chunk_size, None]
            middle = 0.5 * (t1[:, 0] + np.pi - t2[:, 0])
            first = np.clip(np.rint((middle - theta_min) / step).astype(np.int64) - window // 2, 0, n_grid - window)
            points = first[:, None] + offsets
            true = grid[points]
            log_kernel = (
                self._log_kernel(t1, true, sigma) + self._log_kernel(t2, np.pi - true, sigma) + log_jacobian[points]
            )
            log_kernel -= log_kernel.max(axis=1, keepdims=True)
            kernel = np.exp(log_kernel) * weights[points]
            integrals[start : start + chunk_size] = np.einsum("nk,nkc->nc", kernel, shapes[points])
        return self._with_charge_swaps(integrals)

    def _relative_pair_efficiency(self, cos_true: np.ndarray) -> np.ndarray:
        """ε(c) ε(−c) = ε(|c|)² over its largest value (a common factor, which cancels)."""
        return (self.detector.efficiency_of(cos_true) / self.detector.acceptance_bins[1].max()) ** 2

    def _with_charge_swaps(self, integrals: np.ndarray) -> np.ndarray:
        """(J₊, J₋) from (I₊, I₋): a swapped pair exchanges I₊ and I₋ (module docstring)."""
        kept, swapped = (1 - self.detector.charge_misid) ** 2, self.detector.charge_misid**2
        return kept * integrals + swapped * integrals[:, ::-1]

    def _quadrature_weights(self, grid: np.ndarray) -> np.ndarray:
        """Weights w with ∫ A(cos θ_t) s(θ_t) dθ_t ≈ Σ w_i s(grid_i) for smooth s (A relative, piecewise constant).

        Each grid cell contributes the integral of A times the linear interpolant of s: the
        trapezoid rule where A is constant on the cell, and still second order in the spacing
        where ε jumps inside it (where the trapezoid rule would be only first order).
        """
        step = grid[1] - grid[0]
        inside = self._relative_pair_efficiency(np.cos(grid[:-1] + 0.5 * step))
        weights = np.zeros(len(grid))
        weights[:-1] += 0.5 * step * inside
        weights[1:] += 0.5 * step * inside
        edges = self.detector.acceptance_bins[0]
        inner_edges = edges[1:-1] if edges[0] == 0 else edges[:-1]
        breaks = np.concatenate([np.arccos(inner_edges), np.pi - np.arccos(inner_edges)])
        cells = np.floor((breaks - grid[0]) / step).astype(np.int64)
        for cell in np.unique(cells[(cells >= 0) & (cells < len(grid) - 1)]):
            left, right = grid[cell], grid[cell + 1]
            ends = np.unique(np.concatenate([[left, right], breaks[(breaks > left) & (breaks < right)]]))
            if len(ends) == 2:
                continue
            a, b = ends[:-1], ends[1:]
            efficiency = self._relative_pair_efficiency(np.cos(0.5 * (a + b)))
            trapezoid = 0.5 * step * inside[cell]
            weights[cell] += efficiency @ ((right - a) ** 2 - (right - b) ** 2) / (2 * step) - trapezoid
            weights[cell + 1] += efficiency @ ((b - left) ** 2 - (a - left) ** 2) / (2 * step) - trapezoid
        return weights

    @staticmethod
    def _log_kernel(measured: np.ndarray, true: np.ndarray, sigma: float) -> np.ndarray:
        """log of the folded Gaussian density of a measured polar angle (three images)."""
        direct = -0.5 * ((measured - true) / sigma) ** 2
        # The mirror images matter only within a few σ of 0 and π; their log-sum with the
        # direct term, written out, costs a third of scipy's general logsumexp.
        below = -0.5 * ((measured + true) / sigma) ** 2
        above = -0.5 * ((2 * np.pi - measured - true) / sigma) ** 2
        largest = np.maximum(direct, np.maximum(below, above))
        return largest + np.log(np.exp(direct - largest) + np.exp(below - largest) + np.exp(above - largest))

    def _coefficients(self, theta: np.ndarray) -> np.ndarray:
        """(F, B) of dσ/dcosθ, shape (..., 2)."""
        forward, backward = self.process._angular_coefficients(np.asarray(theta, dtype=float))
        return np.stack([forward, backward], axis=-1)

    def fiducial_cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ × acceptance × efficiency² × P(opposite-sign charges) in pb, scalar or shape (m,)."""
        edges, efficiencies = self.detector.acceptance_bins
        acceptance = 2 * np.diff(edges) + 2 * np.diff(edges**3) / 3  # ∫ (1 ± c)² dc over ±[e_k, e_{k+1}]
        misid = self.detector.charge_misid
        opposite_sign = (1 - misid) ** 2 + misid**2
        return opposite_sign * (efficiencies**2 @ acceptance) * self._coefficients(theta).sum(axis=-1)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """log p(x|θ) up to a θ-independent term per event.

        Args:
            x: observations, shape (n, n_observables).
            theta: shape (p,) or (m, p).
            integrals: precomputed :meth:`angular_integrals` (for many θ on the same events).

        Returns:
            shape (n,) or (m, n).
        """
        if integrals is None:
            integrals = self.angular_integrals(x)
        coefficients = self._coefficients(theta)
        density = np.einsum("...k,nk->...n", coefficients, integrals)
        normalisation = self.fiducial_cross_section(theta)
        with np.errstate(divide="ignore"):  # −inf outside the acceptance, where p(x|θ) = 0
            return np.log(density) - np.log(np.asarray(normalisation))[..., None]

    def score(self, x: np.ndarray, theta: np.ndarray, integrals: np.ndarray | None = None) -> np.ndarray:
        """t(x|θ) = ∇_θ log p(x|θ), shape (n, p), by central differences (step 10⁻⁴, error ~10⁻⁸)."""
        if integrals is None:
            integrals = self.angular_integrals(x)
        theta = np.asarray(theta, dtype=float)
        step = 1e-4
        columns = []
        for i in range(len(theta)):
            shift = np.zeros_like(theta)
            shift[i] = step
            up = self.log_likelihood(x, theta + shift, integrals)
            down = self.log_likelihood(x, theta - shift, integrals)
            columns.append((up - down) / (2 * step))
        return np.stack(columns, axis=-1)

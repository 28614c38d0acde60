"""Expected limits from Asimov data of the Standard Model (or any reference point).

The extended likelihood of n events is L(θ) = Pois(n | Lσ(θ)) Π_e p(x_e|θ). On Asimov
data of θ_ref, q(θ) = −2 log L(θ)/L(θ_ref) is

    unbinned:  q(θ) = 2L [σ(θ) − σ_ref − σ_ref log(σ(θ)/σ_ref) − σ_ref E_ref[log r(x|θ,θ_ref)]],
    binned:    q(θ) = 2 Σ_b [ν_b(θ) − n_b + n_b log(n_b/ν_b(θ))],  n_b = ν_b(θ_ref),

(Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727, for the Asimov construction). Intervals
follow from the profiled q and Wilks' theorem (one degree of freedom per parameter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

__all__ = ["Interval", "binned_q", "centred_mean_log_ratio", "interval_below", "profiled_intervals", "unbinned_q"]


def unbinned_q(cross_sections: np.ndarray, reference_cross_section: float, mean_log_ratio: np.ndarray,
               luminosity: float) -> np.ndarray:
    """Expected q(θ) of the unbinned extended likelihood.

    Args:
        cross_sections: σ(θ) on the grid, shape (m,).
        reference_cross_section: σ(θ_ref).
        mean_log_ratio: E_ref[log r(x|θ, θ_ref)] on the grid, shape (m,).
        luminosity: in pb⁻¹.

    Example:
        >>> float(unbinned_q(np.array([1.0]), 1.0, np.array([0.0]), 100.0)[0])
        0.0
    """
    ratio = cross_sections / reference_cross_section
    return 2.0 * luminosity * reference_cross_section * (ratio - 1.0 - np.log(ratio) - mean_log_ratio)


def centred_mean_log_ratio(mean_log_ratio: np.ndarray, thetas: np.ndarray, reference: np.ndarray,
                           mean_score: np.ndarray) -> np.ndarray:
    """E_ref[log r(x|θ,θ_ref)] with the score control variate: subtract (θ − θ_ref)·Ê_ref[t(x|θ_ref)].

    The true score has zero mean under θ_ref, so the subtraction only removes the
    Monte Carlo fluctuation of the finite event sample (and an estimator's bias in its
    mean score): without it the minimum of the "Asimov" q would sit at the sample's
    maximum-likelihood point, about √(Lσ/N_events) interval half-widths away from θ_ref.

    Example:
        >>> centred_mean_log_ratio(np.array([0.1, -0.1]), np.array([[1.0], [-1.0]]), np.zeros(1), np.array([0.1]))
        array([0., 0.])
    """
    return mean_log_ratio - (np.atleast_2d(thetas) - reference) @ mean_score


def binned_q(expected: np.ndarray, asimov: np.ndarray) -> np.ndarray:
    """Expected q(θ) of a binned Poisson likelihood.

    Args:
        expected: ν_b(θ) on the grid, shape (m, n_bins).
        asimov: n_b, shape (n_bins,).

    Example:
        >>> float(binned_q(np.array([[4.0]]), np.array([4.0]))[0])
        0.0
    """
    expected = np.asarray(expected, dtype=float)
    asimov = np.broadcast_to(asimov, expected.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(asimov > 0, asimov * np.log(asimov / expected), 0.0)
    return 2.0 * np.sum(expected - asimov + log_term, axis=-1)


@dataclass(frozen=True)
class Interval:
    """A confidence interval of one parameter: the connected region around the best fit.

    An end is ``None`` when q stays below the threshold up to the edge of the scanned grid:
    the interval is open on that side, and the edge is no limit.

    Args:
        low: the lower end, or None (open).
        high: the upper end, or None (open).
        flags: what a physicist would call impossible about it, e.g. ``excludes_asimov_point``.

    Example:
        >>> Interval(-0.1, None).contains(0.5), Interval(-0.1, None).width
        (True, inf)
    """

    low: float | None
    high: float | None
    flags: tuple[str, ...] = ()

    @property
    def width(self) -> float:
        if self.low is None or self.high is None:
            return float("inf")
        return self.high - self.low

    def contains(self, value: float) -> bool:
        return (self.low is None or self.low <= value) and (self.high is None or value <= self.high)


def profiled_intervals(grid_axes: Sequence[np.ndarray], q: np.ndarray, confidence_level: float = 0.6827
                       ) -> list[Interval]:
    """Interval of each parameter where the profiled q is below the Wilks threshold.

    Args:
        grid_axes: the grid values of each parameter.
        q: q on the grid, shape (len(axis_0), len(axis_1), ...).
        confidence_level: e.g. 0.6827 (threshold 1) or 0.95 (threshold 3.84).

    Returns:
        one :class:`Interval` per parameter, its ends linearly interpolated between grid
        points; an end is open (None) where q does not cross the threshold inside the grid.

    Example:
        >>> axis = np.linspace(-2, 2, 41)
        >>> [round(profiled_intervals([axis], axis**2)[0].high, 3)]
        [1.0]
        >>> profiled_intervals([axis], (axis - 1.5)**2)[0].high is None  # open: q < 1 up to the edge
        True
    """
    threshold = chi2.ppf(confidence_level, df=1)
    q = q - q.min()
    intervals = []
    for axis_index, axis in enumerate(grid_axes):
        others = tuple(i for i in range(q.ndim) if i != axis_index)
        intervals.append(interval_below(axis, q.min(axis=others) if others else q, threshold))
    return intervals


def interval_below(axis: np.ndarray, profile: np.ndarray, threshold: float | np.ndarray) -> Interval:
    """The connected region around the minimum of ``profile`` where it is below ``threshold``.

    Args:
        axis: the parameter values, shape (n,).
        profile: the profiled q at them, shape (n,).
        threshold: one value (Wilks), or one per axis value (a Neyman construction's critical values).

    Returns:
        the :class:`Interval`, its ends linearly interpolated in profile − threshold; open (None)
        where that stays negative up to the edge of the axis.

    Example:
        >>> axis = np.linspace(-2, 2, 41)
        >>> round(interval_below(axis, axis**2, np.where(axis > 0, 4.0, 1.0)).high, 3)
        2.0
    """
    excess = np.asarray(profile, dtype=float) - threshold
    best = int(np.argmin(profile))
    return Interval(_crossing(axis, excess, best, -1), _crossing(axis, excess, best, +1))


def _crossing(axis: np.ndarray, excess: np.ndarray, start: int, step: int) -> float | None:
    i = start
    while 0 <= i + step < len(axis):
        j = i + step
        if excess[j] >= 0:
            fraction = -excess[i] / (excess[j] - excess[i])
            return float(axis[i] + fraction * (axis[j] - axis[i]))
        i = j
    return None

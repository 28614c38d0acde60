"""A Neyman construction from toys: confidence intervals that cover whatever the likelihood's calibration.

Wilks' theorem turns q into intervals with the χ² thresholds, which is right only when q is
the log-likelihood ratio of the true model (and asymptotically). A learned ratio that is
over-confident (say log r̂ = 2 log r) gives intervals that under-cover. The Neyman
construction replaces the threshold by the distribution of the same statistic under the
hypothesis: for each value θ_k of a parameter on the grid, toys are drawn at the point of
its profile line (the other parameters at their profiled values on the observed data) and
the critical value q_crit(θ_k) is the CL quantile of the toys' profiled q at θ_k. The
confidence interval is {θ_k: q_obs(θ_k) < q_crit(θ_k)} (its connected part around the best
fit). This is the profile construction of the LHC (hybrid frequentist: nuisance parameters
at their conditional estimates), on the grid the limits are read from.

Toys are drawn only where q_obs(θ_k) < :data:`SIMULATED_BELOW`; elsewhere θ_k is excluded.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from goldmine.inference.coverage import ToyLikelihood, profile_line, profiles, toy_counts
from goldmine.inference.grid import Grid
from goldmine.inference.limits import Interval, interval_below
from goldmine.inference.methods import CONFIDENCE_LEVELS, MethodResult
from goldmine.physics.morphing import Morphed

__all__ = ["SIMULATED_BELOW", "construct", "critical_values", "intervals"]

#: toys are drawn at an axis value only where the observed profiled q is below this: four times
#: the 95% CL Wilks threshold (3.84), so that a ratio over-confident by a factor up to four
#: still has its critical values computed wherever its interval can end.
SIMULATED_BELOW = 16.0


def critical_values(likelihood: ToyLikelihood, events: Morphed, grid: Grid, q_observed: np.ndarray,
                    n_toys: int, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Critical values of each parameter's profiled q along its profile line.

    Args:
        likelihood: the method's toy likelihood on ``grid``.
        events: the events the toys are drawn from.
        grid: the grid.
        q_observed: the observed (here: Asimov) q on the grid, shape ``grid.shape``.
        n_toys: toys per point of a profile line.
        rng: the random generator.

    Returns:
        CL label → per parameter, the critical value at each axis value, shape (len(axis),);
        NaN where no toys were drawn (q_observed above :data:`SIMULATED_BELOW`: excluded).
    """
    result = {label: [np.full(n, np.nan) for n in grid.shape] for label in CONFIDENCE_LEVELS}
    for k, profile in enumerate(profiles(q_observed, grid)):
        on_line = profile_line(q_observed, grid, k)
        for i in np.flatnonzero(profile[0] < SIMULATED_BELOW):
            toys = np.concatenate([profiles(likelihood.q(counts), grid)[k][:, i] for counts in
                                   toy_counts(events(grid.points[on_line[i]]), likelihood.luminosity, n_toys, rng)])
            for label, level in CONFIDENCE_LEVELS.items():
                result[label][k][i] = np.quantile(toys, level)
    return result


def intervals(grid: Grid, q_observed: np.ndarray, critical: dict[str, list[np.ndarray]]
              ) -> dict[str, tuple[Interval, ...]]:
    """The Neyman intervals {θ_k: q_obs(θ_k) < q_crit(θ_k)} of each parameter (connected part around the best fit).

    Where no critical value was computed the axis value is excluded (the crossing is
    interpolated towards q_obs there, as if q_crit were 0).

    Example:
        >>> grid = Grid(("c",), (np.linspace(-2, 2, 41),), np.zeros(1))
        >>> critical = {"68": [np.full(41, 4.0)], "95": [np.full(41, np.nan)]}
        >>> result = intervals(grid, grid.axes[0] ** 2, critical)
        >>> round(result["68"][0].high, 3), result["95"][0].high
        (2.0, 0.0)
    """
    profiled = [profile[0] for profile in profiles(q_observed, grid)]
    return {label: tuple(interval_below(axis, profile, np.nan_to_num(values, nan=0.0))
                         for axis, profile, values in zip(grid.axes, profiled, critical[label]))
            for label in CONFIDENCE_LEVELS}


def construct(result: MethodResult, likelihood: ToyLikelihood, events: Morphed, grid: Grid, n_toys: int,
              rng: np.random.Generator) -> MethodResult:
    """``result`` with its intervals from the Neyman construction on its own q (members unchanged)."""
    critical = critical_values(likelihood, events, grid, result.q, n_toys, rng)
    return dataclasses.replace(result, intervals=intervals(grid, result.q, critical), construction="neyman")

"""Validation against the exact likelihood with error bars, and the results that must fail.

Every method's intervals are compared with the exact likelihood's on the same test events:
both ends, the shift of the centre in units of the exact half-width, and the width ratio.
The error bars come from a bootstrap over the test events (each replicate multiplies every
event's weight by a Poisson(1) count, the same counts for every method, so the fluctuation
all methods share cancels in their differences). A replicate re-evaluates q only along each
method's nominal profile lines (:func:`goldmine.inference.limits.profile_lines`): the
profile is stationary in the other parameters, so fixing them at their nominal profiled
values changes the replicate's ends at second order only, and the per-event values on
p × n_axis points are all a replicate needs.

A result fails when it is impossible or biased beyond its error bar:

- ``narrower``: an interval narrower than the exact one by more than :data:`FAIL_SIGMAS`
  error bars and more than :data:`~goldmine.inference.results.NARROWER_TOLERANCE` (no correct
  likelihood of the same events beats the exact one; the bootstrap does not see the
  randomness of training, which an ensemble's spread adds where there is one);
- ``shifted``: a centre more than :data:`FAIL_SIGMAS` error bars and more than
  :data:`SHIFT_TOLERANCE` exact half-widths away from the exact centre;
- ``fisher_above_truth``: Fisher information above the parton-level truth information of
  the same events (an upper bound for every detector-level method) by more than
  :data:`FISHER_TOLERANCE` in some direction.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.linalg import eigh
from scipy.stats import chi2

from goldmine.inference import limits
from goldmine.inference.grid import Grid
from goldmine.inference.methods import CONFIDENCE_LEVELS, MethodResult
from goldmine.inference.results import NARROWER_TOLERANCE
from goldmine.physics.morphing import Morphed

__all__ = [
    "FAIL_SIGMAS",
    "FISHER_TOLERANCE",
    "SHIFT_TOLERANCE",
    "binned_path_q",
    "bootstrap_intervals",
    "bootstrap_methods",
    "compare_with_exact",
    "fisher_failures",
    "unbinned_path_q",
]

#: a difference from exact fails beyond this many error bars (3: with ~20 compared numbers
#: per run, a correct method fails by chance in about 3% of runs).
FAIL_SIGMAS = 3.0

#: a shifted centre fails only beyond this many exact half-widths as well: a shift of 0.1
#: half-widths changes the coverage of a 68% interval by less than one percentage point.
SHIFT_TOLERANCE = 0.1

#: Fisher information may exceed the truth by this fraction (the largest generalised
#: eigenvalue): a detector-level information on the same events can reach the truth's only
#: through the noise of its score estimate; on the default run the largest eigenvalue
#: relative to truth is 1.0000 for exact and 1.0002 for SALLY.
FISHER_TOLERANCE = 0.01

#: the bootstrap re-evaluates a profile line where its nominal q is below this (:func:`_path_indices`).
PATH_Q_BELOW = 8.0

PathQ = Callable[[np.ndarray], np.ndarray]
"""Event multipliers of each replicate, shape (R, n_events) → q at the path points, shape (R, m)
(not minimum-subtracted)."""


def unbinned_path_q(events: Morphed, thetas: np.ndarray, log_r: np.ndarray, joint_scores: np.ndarray,
                    reference: np.ndarray, luminosity: float) -> PathQ:
    """q of the extended unbinned likelihood at ``thetas`` for reweighted events.

    Args:
        events: the test events.
        thetas: the path points, shape (m, p).
        log_r: per-event log r(x|θ, θ_ref) at the path points, shape (m, n_events).
        joint_scores: the events' scores whose weighted mean is the control variate, shape (n_events, p).
        reference: θ_ref.
        luminosity: in pb⁻¹.

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> events = Morphed(find_components((2,)), np.array([[1.0, 0.0, 1.0]] * 2))
        >>> q = unbinned_path_q(events, np.array([[0.0], [1.0]]), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros(1), 1.0)
        >>> np.round(q(np.ones((1, 2))), 4).tolist()  # the rate alone: 2·2·(2 − 1 − log 2)
        [[0.0, 1.2274]]
    """
    weights_ref = events(reference)
    weights = events(thetas)
    steps = thetas - reference

    def q(multipliers: np.ndarray) -> np.ndarray:
        w_ref = multipliers * weights_ref
        sigma_ref = w_ref.sum(axis=1)
        mean_log_r = (w_ref @ log_r.T) / sigma_ref[:, None]
        control = (w_ref @ joint_scores) / sigma_ref[:, None]
        return np.stack([limits.unbinned_q(total, s, m - steps @ c, luminosity)
                         for total, s, m, c in zip(multipliers @ weights.T, sigma_ref, mean_log_r, control)])

    return q


def binned_path_q(events: Morphed, thetas: np.ndarray, index: np.ndarray, n_bins: int, reference: np.ndarray,
                  luminosity: float) -> PathQ:
    """q of a binned Poisson likelihood at ``thetas`` for reweighted events (bins fixed per event).

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> events = Morphed(find_components((1,)), np.array([[1.0, 1.0], [1.0, -1.0]]))  # 1 ± θ
        >>> q = binned_path_q(events, np.array([[0.0], [0.5]]), np.array([0, 1]), 2, np.zeros(1), 1.0)
        >>> np.round(q(np.ones((1, 2))), 4).tolist()  # 2·[(1.5 − 1 − log 1.5) + (0.5 − 1 + log 2)]
        [[0.0, 0.5754]]
    """
    weights_ref = events(reference)
    weights = events(thetas)
    members = [np.flatnonzero(index == b) for b in range(n_bins)]

    def q(multipliers: np.ndarray) -> np.ndarray:
        expected = np.stack([multipliers[:, e] @ weights[:, e].T for e in members], axis=-1)
        asimov = np.stack([multipliers[:, e] @ weights_ref[e] for e in members], axis=-1)
        return np.stack([limits.binned_q(luminosity * nu, luminosity * n) for nu, n in zip(expected, asimov)])

    return q


def bootstrap_intervals(paths: Sequence[tuple[np.ndarray, PathQ]], n_events: int, n_replicates: int = 50,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """The intervals of each bootstrap replicate, from q along each parameter's profile line.

    Args:
        paths: per parameter, (its axis values, the :data:`PathQ` of its profile line).
        n_events: the number of test events.
        n_replicates: bootstrap replicates; the same ``seed`` gives every method the same ones.
        seed: of the Poisson(1) event counts.

    Returns:
        confidence-level label → ends, shape (n_replicates, p, 2), NaN where open.

    Example:
        >>> axis = np.linspace(-2, 2, 41)
        >>> ends = bootstrap_intervals([(axis, lambda m: np.outer(m.mean(axis=1), axis**2))], 1000, n_replicates=20)
        >>> bool(np.all(np.abs(ends["68"][:, 0, 1] - 1) < 0.1))  # q scaled by the mean count, ±3%
        True
    """
    counts = np.random.default_rng(seed).poisson(1.0, size=(n_replicates, n_events)).astype(float)
    ends = {label: np.full((n_replicates, len(paths), 2), np.nan) for label in CONFIDENCE_LEVELS}
    for k, (axis, path_q) in enumerate(paths):
        for r, replicate_q in enumerate(path_q(counts)):
            q, _ = limits.profile_lines([axis], replicate_q)[0]
            for label, level in CONFIDENCE_LEVELS.items():
                interval = limits.interval_below(axis, q, chi2.ppf(level, df=1))
                low, high = interval.low, interval.high
                ends[label][r, k] = [np.nan if low is None else low, np.nan if high is None else high]
    return ends


def _path_indices(profile: np.ndarray) -> np.ndarray:
    """The profile-line points a bootstrap replicate is evaluated at: every other axis value
    where the nominal profile is below :data:`PATH_Q_BELOW`, and two beyond on each side.

    A replicate's ends move by a few per cent of a half-width, so its crossings of the 95% CL
    threshold (3.84) lie where the nominal profile is below 8; every other point suffices for
    the cubic crossing (:func:`~goldmine.inference.limits.interval_below`), and the spread of
    the replicates, the error bar, does not depend on it. A flow's bootstrap costs a third.

    Example:
        >>> _path_indices(np.linspace(-2, 2, 21) ** 2 * 4).tolist()  # below 8 from index 3 to 17
        [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    """
    below = np.flatnonzero(profile < PATH_Q_BELOW)
    first, last = max(below.min() - 2, 0), min(below.max() + 2, len(profile) - 1)
    indices = np.arange(first, last + 1, 2)
    return indices if indices[-1] == last else np.append(indices, last)


def bootstrap_methods(results: Mapping[str, MethodResult], events: Morphed, grid: Grid, luminosity: float,
                      joint_scores: np.ndarray, log_ratios: Mapping[str, Callable[[np.ndarray], np.ndarray] | None],
                      bins: Mapping[str, tuple[np.ndarray, int]], n_replicates: int = 50,
                      own_scores: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """:func:`bootstrap_intervals` of every method that says how to re-evaluate it, each along its own profile lines.

    Args:
        results: the methods' nominal results.
        events: the test events.
        grid: the grid.
        luminosity: in pb⁻¹.
        joint_scores: the events' scores whose weighted mean is the control variate (their exact scores).
        log_ratios: method → (θ of shape (m, p) → per-event log r(x|θ, θ_ref), shape (m, n)), None for
            the rate alone: the unbinned methods.
        bins: method → (the bin of each event, number of bins): the binned methods.
        n_replicates: bootstrap replicates (the same for every method).
        own_scores: method → the per-event scores of its own control variate instead of ``joint_scores``
            (a calibrated ratio's t̂ − Ê_cal[t̂], :mod:`goldmine.inference.ratio_calibration`).

    Returns:
        method → the replicates' ends (:func:`bootstrap_intervals`).
    """
    replicas = {}
    for method, result in results.items():
        if result.q is None or (method not in log_ratios and method not in bins):
            continue
        paths = []
        for axis, (profile, points) in zip(grid.axes, limits.profile_lines(grid.axes, result.q)):
            path = _path_indices(profile)
            axis, points = axis[path], points[path]
            if method in bins:
                path_q = binned_path_q(events, points, *bins[method], grid.reference, luminosity)
            else:
                log_ratio = log_ratios[method]
                log_r = np.zeros((len(points), len(events))) if log_ratio is None else log_ratio(points)
                scores = (own_scores or {}).get(method, joint_scores)
                path_q = unbinned_path_q(events, points, log_r, scores, grid.reference, luminosity)
            paths.append((axis, path_q))
        replicas[method] = bootstrap_intervals(paths, len(events), n_replicates)
    return replicas


def _ends(intervals: Sequence[limits.Interval]) -> np.ndarray:
    return np.array([[np.nan if i.low is None else i.low, np.nan if i.high is None else i.high] for i in intervals])


def _metrics(ends: np.ndarray, exact: np.ndarray) -> dict[str, np.ndarray]:
    """Ends (…, p, 2) against exact ends of the same shape: low, high, shift, width ratio."""
    half = (exact[..., 1] - exact[..., 0]) / 2
    return {"low": ends[..., 0], "high": ends[..., 1],
            "shift": ((ends[..., 0] + ends[..., 1]) / 2 - (exact[..., 0] + exact[..., 1]) / 2) / half,
            "width_ratio": (ends[..., 1] - ends[..., 0]) / (2 * half)}


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def compare_with_exact(results: Mapping[str, MethodResult], bootstrap: Mapping[str, Mapping[str, np.ndarray]],
                       names: Sequence[str], exact: str = "exact") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every method's intervals against the exact ones, with error bars, and the failures.

    Args:
        results: the methods' results (``exact`` among them).
        bootstrap: method → :func:`bootstrap_intervals` of that method (methods without one
            get error bars from their ensemble alone, or none).
        names: the parameter names.
        exact: the reference method.

    Returns:
        (method → label → parameter → {"exact_low", "exact_high", "low", "high", "shift",
        "width_ratio"}, each number with an "…_error"; the failures, each {"method",
        "confidence_level", "parameter", "reason"}).
    """
    comparison: dict[str, Any] = {}
    failed: list[dict[str, Any]] = []
    for method, result in results.items():
        if method == exact or result.q is None:
            continue
        comparison[method] = {}
        for label in CONFIDENCE_LEVELS:
            exact_ends = _ends(results[exact].intervals[label])
            nominal = _metrics(_ends(result.intervals[label]), exact_ends)
            variances = {key: np.zeros(len(names)) for key in nominal}
            known = False
            if method in bootstrap and exact in bootstrap:
                replicas = _metrics(bootstrap[method][label], bootstrap[exact][label])
                with warnings.catch_warnings():  # all-NaN where an end is open: no error bar
                    warnings.simplefilter("ignore", RuntimeWarning)
                    for key, values in replicas.items():
                        variances[key] = variances[key] + np.nanvar(values, axis=0)
                known = True
            if len(result.members) > 1:
                members = _metrics(np.stack([_ends(m.intervals[label]) for m in result.members]), exact_ends)
                with warnings.catch_warnings():  # all-NaN where an end is open: no error bar
                    warnings.simplefilter("ignore", RuntimeWarning)
                    for key, values in members.items():  # the error of the mean of the members
                        variances[key] = variances[key] + np.nanvar(values, axis=0, ddof=1) / len(result.members)
                known = True
            errors = {key: np.sqrt(v) if known else np.full(len(names), np.nan) for key, v in variances.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                exact_errors = (np.sqrt(np.nanvar(bootstrap[exact][label], axis=0)) if exact in bootstrap
                                else np.full((len(names), 2), np.nan))
            entry = {}
            for k, name in enumerate(names):
                numbers = {"exact_low": exact_ends[k, 0], "exact_low_error": exact_errors[k, 0],
                           "exact_high": exact_ends[k, 1], "exact_high_error": exact_errors[k, 1]}
                for key in nominal:
                    numbers[key] = nominal[key][k]
                    numbers[f"{key}_error"] = errors[key][k]
                entry[name] = {key: _number(value) for key, value in numbers.items()}
                failed += [{"method": method, "confidence_level": label, "parameter": name, "reason": reason}
                           for reason in _interval_failures(entry[name])]
            comparison[method][label] = entry
    return comparison, failed


def _interval_failures(numbers: Mapping[str, float | None]) -> list[str]:
    reasons = []
    ratio, ratio_error = numbers["width_ratio"], numbers["width_ratio_error"]
    if ratio is not None and ratio_error is not None and 1 - ratio > max(FAIL_SIGMAS * ratio_error,
                                                                         NARROWER_TOLERANCE):
        reasons.append(f"narrower than exact: width ratio {ratio:.4f} ± {ratio_error:.4f}")
    shift, shift_error = numbers["shift"], numbers["shift_error"]
    if (shift is not None and shift_error is not None and abs(shift) > FAIL_SIGMAS * shift_error
            and abs(shift) > SHIFT_TOLERANCE):
        reasons.append(f"shifted from exact: centre {shift:+.3f} ± {shift_error:.3f} exact half-widths")
    return reasons


def fisher_failures(results: Mapping[str, MethodResult], truth: str = "truth") -> list[dict[str, Any]]:
    """Every method whose Fisher information exceeds the truth information in some direction.

    The largest generalised eigenvalue λ of I v = λ I_truth v is the most any direction's
    information exceeds the truth's; it fails above 1 + :data:`FISHER_TOLERANCE` (plus three
    ensemble spreads, relative, where there is an ensemble).

    Example:
        >>> results = {"truth": MethodResult(information=np.eye(2)),
        ...            "net": MethodResult(information=np.diag([1.5, 0.5]))}
        >>> fisher_failures(results)[0]["reason"]
        'Fisher information above the truth bound: largest eigenvalue relative to truth 1.5000'
    """
    bound = results[truth].information
    failed = []
    for method, result in results.items():
        if method == truth or result.information is None:
            continue
        largest = float(eigh(result.information, bound, eigvals_only=True)[-1])
        tolerance = FISHER_TOLERANCE
        if result.information_std is not None:
            spread = np.asarray(result.information_std)
            tolerance += FAIL_SIGMAS * float(np.max(np.diag(spread) / np.diag(bound)))
        if largest > 1 + tolerance:
            failed.append({"method": method, "confidence_level": None, "parameter": None,
                           "reason": f"Fisher information above the truth bound: largest eigenvalue relative to "
                                     f"truth {largest:.4f}"})
    return failed

"""Observed results: q(θ), the best fit θ̂ and the intervals of each method on a data set.

A data set is an event file with one weight per event, the same in every benchmark column
(1 for an observed event: real data, or pseudo-data of :func:`draw_pseudo_data`); an event
of weight n counts n times, so weighted Asimov data work too. Its extended log-likelihood on
the grid is the toys' (:class:`~goldmine.inference.coverage.ToyLikelihood`) with the data's
events as rows,

    log L(θ) = Σ_i n_i ℓ_i(θ) + N log σ(θ) − L σ(θ),   N = Σ_i n_i,

ℓ_i = log r(x_i|θ, θ_ref) for an unbinned method (the exact likelihood, a learned ratio),
zero for the rate alone, and for a histogram (of observables or of SALLY's score) the bins
of the expected limits, with the data's counts per bin. σ(θ), the bins' ν_b(θ) and the bin
edges come from the test events, as for the expected limits. q(θ) = 2[log L(θ̂) − log L(θ)];
the intervals are profiled with Wilks' thresholds (:func:`~goldmine.inference.limits.profiled_intervals`),
with the same open ends as the expected ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from goldmine.exceptions import EventFileError
from goldmine.inference import coverage, limits
from goldmine.inference.grid import Grid
from goldmine.inference.methods import CONFIDENCE_LEVELS, bin_indices, histogram_model, uniform_edges
from goldmine.inference.systematics import Systematics
from goldmine.io import events
from goldmine.physics.morphing import Morphed

__all__ = [
    "Data",
    "Observed",
    "binned",
    "draw_pseudo_data",
    "histogram",
    "read_data",
    "unbinned",
]


@dataclass(frozen=True, eq=False)
class Data:
    """The events of a data set, in the analysis's order of observables.

    Args:
        observations: shape (n, n_observables).
        counts: how often each event was observed, shape (n,) (1 for real data).
        source: where the data come from, for messages and limits.json.
    """

    observations: np.ndarray
    counts: np.ndarray
    source: str

    @property
    def n_events(self) -> float:
        return float(np.sum(self.counts))


@dataclass(frozen=True, eq=False)
class Observed:
    """What the data say about θ with one method.

    Args:
        q: q(θ) on the grid, shape ``grid.shape``, minimum 0.
        best_fit: θ̂, shape (p,) (:func:`~goldmine.inference.limits.best_fit`).
        intervals: confidence-level label → one :class:`~goldmine.inference.limits.Interval` per parameter.
        band: the expected band of the intervals from toys (:func:`goldmine.inference.toys.expected_band`),
            or None.
    """

    q: np.ndarray
    best_fit: np.ndarray
    intervals: Mapping[str, tuple[limits.Interval, ...]]
    band: Mapping[str, Sequence[Mapping[str, Sequence[float | None]]]] | None = None

    @classmethod
    def from_log_likelihood(cls, grid: Grid, log_likelihood: np.ndarray) -> Observed:
        """The result of log L(θ) on the grid (flat or grid-shaped, up to a constant)."""
        log_likelihood = np.asarray(log_likelihood, dtype=float).reshape(grid.shape)
        q = 2.0 * (log_likelihood.max() - log_likelihood)
        # limits.profiled_intervals, with the profiles computed once for both levels
        profiles = [profile for profile, _ in limits.profile_lines(grid.axes, q)]
        intervals = {label: tuple(limits.interval_below(axis, profile, chi2.ppf(level, df=1))
                                  for axis, profile in zip(grid.axes, profiles))
                     for label, level in CONFIDENCE_LEVELS.items()}
        return cls(q, limits.best_fit(grid.axes, q), intervals)


def unbinned(log_ratio: np.ndarray, counts: np.ndarray, events: Morphed, grid: Grid, luminosity: float) -> Observed:
    """An unbinned extended likelihood on data (the rate alone: a table of zeros, one row).

    Args:
        log_ratio: log r(x_i|θ_g, θ_ref) of each data event on the grid, shape (n, n_grid)
            (:func:`~goldmine.inference.coverage.log_ratio_table`).
        counts: how often each data event was observed, shape (n,).
        events: the test events (their σ(θ)).
        grid: the grid.
        luminosity: in pb⁻¹.

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> events = Morphed(find_components((2,)), np.array([[1.0, 1.0, 0.0]]))  # σ(θ) = 1 + θ
        >>> grid = Grid(("c",), (np.linspace(-0.5, 0.5, 101),), np.zeros(1))
        >>> observed = unbinned(np.zeros((1, 101)), np.array([120.0]), events, grid, luminosity=100.0)
        >>> round(float(observed.best_fit[0]), 4)  # N = Lσ(θ̂): 120 events at L = 100 pb⁻¹
        0.2
    """
    likelihood = coverage.ToyLikelihood.unbinned(log_ratio, events, grid, luminosity)
    return Observed.from_log_likelihood(grid, likelihood.log_likelihood(np.asarray(counts, dtype=float)[None])[0])


def _per_bin(test_bins: np.ndarray, data_bins: np.ndarray, n_bins: int, counts: np.ndarray) -> np.ndarray:
    """The data's count in each bin; refused where the test events expect none at any θ."""
    per_bin = np.bincount(data_bins, weights=counts, minlength=n_bins)
    empty = np.flatnonzero((np.bincount(test_bins, minlength=n_bins) == 0) & (per_bin > 0))
    if len(empty):
        raise EventFileError(f"{per_bin[empty].sum():g} data events fall into bins {empty.tolist()}, which hold no "
                             "test events (expected 0 events at every θ): use more test events or fewer bins")
    return per_bin


def histogram(events: Morphed, test_values: np.ndarray, data_values: np.ndarray, counts: np.ndarray, bins: int,
              grid: Grid, luminosity: float, nuisances: Systematics | None = None) -> Observed:
    """The pyhf model of the expected limits' histogram (:func:`~goldmine.inference.methods.histogram`:
    equal-width bins over the test events' range, systematics profiled) with the data's counts.

    Args:
        events: the test events.
        test_values: the test events' histogrammed observables, shape (n_test, k).
        data_values: the data's, shape (n, k).
        counts: how often each data event was observed, shape (n,).
        bins: bins per observable.
        grid: the grid.
        luminosity: in pb⁻¹.
        nuisances: the systematics, profiled as in the expected limits.
    """
    edges = uniform_edges(test_values, bins)
    test_bins, n_bins = bin_indices(test_values, edges)
    per_bin = _per_bin(test_bins, bin_indices(data_values, edges)[0], n_bins, counts)
    model = histogram_model(events, test_values, bins, grid, luminosity, nuisances, observed=per_bin)
    return Observed.from_log_likelihood(grid, -0.5 * model.q(grid.points))


def binned(test_bins: np.ndarray, data_bins: np.ndarray, n_bins: int, counts: np.ndarray, events: Morphed,
           grid: Grid, luminosity: float) -> Observed:
    """A Poisson histogram on data: its expected counts ν_b(θ) from the test events' bins.

    Args:
        test_bins: the bin of each test event, shape (n_test,) (:func:`~goldmine.inference.methods.bin_indices`).
        data_bins: the bin of each data event in the same binning, shape (n,).
        n_bins: the number of bins.
        counts: how often each data event was observed, shape (n,).
        events: the test events.
        grid: the grid.
        luminosity: in pb⁻¹.

    Raises:
        EventFileError: when data fall into a bin without test events (ν_b = 0 at every θ:
            the data are impossible under every θ; more test events or fewer bins).
    """
    per_bin = _per_bin(test_bins, data_bins, n_bins, counts)
    likelihood = dataclasses.replace(coverage.ToyLikelihood.binned(test_bins, n_bins, events, grid, luminosity),
                                     rows=None)
    return Observed.from_log_likelihood(grid, likelihood.log_likelihood(per_bin[None])[0])


def read_data(path: str | Path, names: Sequence[str]) -> Data:
    """The events of a data file, its observables in the order ``names``.

    Args:
        path: an event file (goldmine's or MadMiner's layout) whose every event has the same
            weight in every benchmark column: 1 for an observed event, n for an event seen n times.
        names: the observables of the analysis.

    Raises:
        EventFileError: naming the file and the observables it lacks, or the first event whose
            weight depends on the benchmark or is negative.
    """
    available = events.read_observable_names(path)
    missing = [name for name in names if name not in available]
    if missing:
        raise EventFileError(f"{path}: data without the analysis's observables {missing} (the file has "
                             f"{list(available)})")
    block = events.read(path)
    weights = block.weights
    varying = np.flatnonzero(np.ptp(weights, axis=1) > 1e-9 * np.abs(weights).max(axis=1))
    if len(varying):
        raise EventFileError(f"{path}: event {varying[0]} has weights {weights[varying[0]].tolist()} that depend on "
                             f"the benchmark ({len(varying)} events do): data have one weight per event, the number "
                             "of times it was observed (1 for real data; `goldmine pseudodata` writes such files)")
    counts = weights[:, 0] if weights.shape[1] else np.zeros(0)
    negative = np.flatnonzero(counts < 0)
    if len(negative):
        raise EventFileError(f"{path}: event {negative[0]} has weight {counts[negative[0]]:g} < 0: a data event is "
                             "observed a number of times ≥ 0")
    columns = [available.index(name) for name in names]
    return Data(block.observations[:, columns], counts, str(path))


def draw_pseudo_data(weights: np.ndarray, luminosity: float, rng: np.random.Generator,
                     source: str = "the events") -> np.ndarray:
    """How often each event is in one pseudo-experiment: N ~ Poisson(L σ(θ)) events drawn with
    replacement ∝ w_e(θ) (the toys' draw, :func:`~goldmine.inference.coverage.toy_counts`).

    Args:
        weights: w_e(θ) in pb, shape (n_events,), summing to σ(θ).
        luminosity: in pb⁻¹.
        rng: the random generator.
        source: what the events are, for the error message.

    Returns:
        counts, shape (n_events,), integers.

    Raises:
        EventFileError: naming the first event whose weight at θ is negative.

    Example:
        >>> counts = draw_pseudo_data(np.array([0.5, 1.5]), 1000.0, np.random.default_rng(1))
        >>> bool(abs(counts.sum() - 2000) < 5 * np.sqrt(2000)), bool(abs(counts[1] / counts.sum() - 0.75) < 0.05)
        (True, True)
    """
    [batch] = coverage.toy_counts(np.asarray(weights, dtype=float), luminosity, 1, rng, source)
    return np.asarray(batch.toarray()[0], dtype=np.int64)

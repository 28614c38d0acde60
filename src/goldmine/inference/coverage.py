"""Pseudo-experiments from held-out events, and the coverage of each method's intervals.

A toy at a true θ has N ~ Poisson(L σ(θ)) events, drawn with replacement from the test
events with probability ∝ w_e(θ) (their morphed weights). Every method sees the same toys.
Its extended log-likelihood on the grid is

    log L(θ) = Σ_rows n_row ℓ_row(θ) + N log σ(θ) − L σ(θ),

with one row per event and ℓ_e(θ) = log r(x_e|θ, θ_ref) for an unbinned likelihood (exact or
learned ratio), or one row per bin and ℓ_b(θ) = log[ν_b(θ)/(Lσ(θ))] − log[ν_b(θ_ref)/(Lσ_ref)]
for a histogram (of observables, or of SALLY's score). ℓ is tabulated once on the grid
(:class:`ToyLikelihood`), so a batch of toys is one matrix product of their row counts with
the table. A toy's profiled q at the true value below the Wilks threshold (χ², one degree
of freedom) means its confidence set covers the truth; the fraction of toys that cover,
with its binomial error, is the coverage (:func:`coverage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.stats import chi2

from goldmine.exceptions import EventFileError
from goldmine.inference.grid import Grid
from goldmine.inference.methods import CONFIDENCE_LEVELS
from goldmine.physics.morphing import Morphed

__all__ = [
    "ToyLikelihood",
    "coverage",
    "log_ratio_table",
    "profile_line",
    "profiles",
    "toy_counts",
    "undercovers",
]

def log_ratio_table(log_ratio: Callable[[np.ndarray], np.ndarray], thetas: np.ndarray, n_events: int,
                    chunk: int = 32) -> np.ndarray:
    """Per-event log r(x_e|θ, θ_ref) at every θ, tabulated once for all toys.

    Args:
        log_ratio: θ of shape (k, p) → log r of every event, shape (k, n_events) (e.g.
            :meth:`~goldmine.inference.exact.ExactLikelihood.log_likelihood_ratio` or
            :func:`~goldmine.ml.estimators.evaluate_log_ratio` with the events bound).
        thetas: shape (m, p), e.g. ``grid.points``.
        n_events: the number of events.
        chunk: θ values per call (memory: chunk × n_events float64).

    Returns:
        shape (n_events, m), float32: a toy sums a few thousand entries per θ, and the
        rounding (10⁻⁷ relative per entry) stays far below the 10⁻² that matters in q.

    Example:
        >>> log_ratio_table(lambda t: t[:, :1] * np.ones(3), np.array([[0.0], [1.0]]), 3)[0].tolist()
        [0.0, 1.0]
    """
    table = np.empty((n_events, len(thetas)), dtype=np.float32)
    for start in range(0, len(thetas), chunk):
        table[:, start : start + chunk] = np.asarray(log_ratio(thetas[start : start + chunk])).T
    return table


@dataclass(frozen=True, eq=False)
class ToyLikelihood:
    """The extended log-likelihood of any toy on the grid: a table of ℓ per row and σ(θ).

    Args:
        table: ℓ_row(θ_g), shape (n_rows, n_grid), float32 or float64.
        cross_sections: σ(θ_g) in pb, shape (n_grid,).
        luminosity: in pb⁻¹.
        rows: the row of each event (its bin), shape (n_events,); None: one row per event.

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> events = Morphed(find_components((2,)), np.array([[1.0, 0.0, 1.0]]))  # σ(θ) = 1 + θ²
        >>> grid = Grid(("c",), (np.linspace(-1, 1, 5),), np.zeros(1))
        >>> rate_only = ToyLikelihood.unbinned(np.zeros((1, 5)), events, grid, luminosity=100.0)
        >>> q = rate_only.q(np.array([[100.0]]))  # Asimov: 100 events at θ = 0, q = 200 (θ² − log(1 + θ²))
        >>> np.round(q, 1).tolist()
        [[61.4, 5.4, 0.0, 5.4, 61.4]]
    """

    table: np.ndarray
    cross_sections: np.ndarray
    luminosity: float
    rows: np.ndarray | None = None

    @classmethod
    def unbinned(cls, log_ratio: np.ndarray, events: Morphed, grid: Grid, luminosity: float) -> ToyLikelihood:
        """An unbinned likelihood from per-event log r(x_e|θ_g, θ_ref), shape (n_events, n_grid)."""
        return cls(log_ratio, events.total(grid.points), luminosity)

    @classmethod
    def binned(cls, index: np.ndarray, n_bins: int, events: Morphed, grid: Grid, luminosity: float) -> ToyLikelihood:
        """A histogram: ``index`` is each event's bin (:func:`~goldmine.inference.methods.bin_indices`)."""
        bins = events.binned(index, n_bins)
        cross_sections = events.total(grid.points)
        with np.errstate(divide="ignore", invalid="ignore"):
            # A bin without test events has ν = 0 at every θ (log 0 − log 0 → 0): no toy ever fills it.
            shape = np.log(bins(grid.points)) - np.log(cross_sections)[:, None]
            shape -= np.log(bins(grid.reference)) - np.log(events.total(grid.reference))
        table = np.nan_to_num(shape.T, nan=0.0, posinf=0.0, neginf=-1e30)
        return cls(table, cross_sections, luminosity, np.asarray(index))

    def log_likelihood(self, counts: np.ndarray) -> np.ndarray:
        """log L(θ_g) of each toy, up to a constant per toy.

        Args:
            counts: how often each event is in each toy, shape (n_toys, n_events), sparse or dense.

        Returns:
            shape (n_toys, n_grid), float64.
        """
        counts = sparse.csr_matrix(counts, dtype=self.table.dtype)
        if self.rows is not None:
            counts = counts @ sparse.csr_matrix((np.ones(len(self.rows), dtype=self.table.dtype),
                                                 (np.arange(len(self.rows)), self.rows)),
                                                shape=(len(self.rows), len(self.table)))
        summed = np.asarray(counts @ self.table, dtype=np.float64)
        n = np.asarray(counts.sum(axis=1), dtype=np.float64)
        return summed + n * np.log(self.cross_sections) - self.luminosity * self.cross_sections

    def q(self, counts: np.ndarray) -> np.ndarray:
        """q(θ_g) = −2 log L(θ_g)/L(θ̂) of each toy, shape (n_toys, n_grid), minimum 0."""
        log_l = self.log_likelihood(counts)
        return 2.0 * (log_l.max(axis=1, keepdims=True) - log_l)


def toy_counts(weights: np.ndarray, luminosity: float, n_toys: int, rng: np.random.Generator,
               source: str = "the test events", batch: int = 256) -> Iterator[sparse.csr_matrix]:
    """Pseudo-experiments at one θ, in batches: how often each event is drawn in each toy.

    Args:
        weights: w_e(θ) of the events (pb), shape (n_events,); they sum to σ(θ).
        luminosity: in pb⁻¹; a toy has N ~ Poisson(L σ(θ)) events.
        n_toys: the number of toys.
        rng: the random generator.
        source: what the events are, for the error message.
        batch: toys per batch.

    Yields:
        sparse counts of shape (batch, n_events), float32 (a toy holds a few thousand of the
        events), batches adding up to ``n_toys`` rows.

    Raises:
        EventFileError: naming the first event whose weight at θ is negative (no probability).

    Example:
        >>> batches = list(toy_counts(np.array([1.0, 3.0]), 100.0, 1000, np.random.default_rng(0)))
        >>> counts = sparse.vstack(batches).toarray()
        >>> counts.shape, round(float(counts[:, 1].sum() / counts.sum()), 2)  # drawn ∝ weight
        ((1000, 2), 0.75)
    """
    weights = np.asarray(weights, dtype=float)
    negative = np.flatnonzero(weights < 0)
    if len(negative):
        raise EventFileError(f"{source}: event {negative[0]} has weight {weights[negative[0]]:.4g} < 0 at the "
                             f"toys' θ ({len(negative)} events negative); toys draw events with probability ∝ weight")
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    for start in range(0, n_toys, batch):
        size = min(batch, n_toys - start)
        sizes = rng.poisson(luminosity * total, size)
        drawn = np.minimum(np.searchsorted(cumulative, rng.random(sizes.sum()) * total, side="right"),
                           len(weights) - 1)
        # Repeated (toy, event) pairs add up in the conversion to CSR.
        yield sparse.csr_matrix((np.ones(len(drawn), dtype=np.float32), (np.repeat(np.arange(size), sizes), drawn)),
                                shape=(size, len(weights)))


def profiles(q: np.ndarray, grid: Grid) -> list[np.ndarray]:
    """The profiled q of each parameter: the minimum over the others, shape (n_toys, len(axis)) each.

    Example:
        >>> grid = Grid(("a", "b"), (np.arange(2.0), np.arange(3.0)), np.zeros(2))
        >>> [p.tolist() for p in profiles(np.arange(6.0)[None], grid)]
        [[[0.0, 3.0]], [[0.0, 1.0, 2.0]]]
    """
    q = np.asarray(q).reshape(-1, *grid.shape)
    result = []
    for k in range(len(grid.shape)):
        others = tuple(1 + i for i in range(len(grid.shape)) if i != k)
        result.append(q.min(axis=others) if others else q)
    return result


def profile_line(q: np.ndarray, grid: Grid, k: int) -> np.ndarray:
    """For each value of parameter k, the grid point where q is smallest (the others profiled): flat indices.

    Example:
        >>> grid = Grid(("a", "b"), (np.arange(2.0), np.arange(3.0)), np.zeros(2))
        >>> profile_line(np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 2.0]]), grid, 0).tolist()
        [1, 3]
    """
    q = np.asarray(q).reshape(grid.shape)
    flat = np.moveaxis(np.arange(q.size).reshape(grid.shape), k, 0).reshape(grid.shape[k], -1)
    return flat[np.arange(grid.shape[k]), np.moveaxis(q, k, 0).reshape(grid.shape[k], -1).argmin(axis=1)]


def undercovers(covered: float, level: float, n_toys: int, sigmas: float = 2.0) -> bool:
    """True when the coverage is below the level by more than ``sigmas`` binomial errors (at the level).

    Example:
        >>> undercovers(0.60, 0.6827, 1000), undercovers(0.67, 0.6827, 1000)
        (True, False)
    """
    return bool(covered < level - sigmas * np.sqrt(level * (1 - level) / n_toys))


def coverage(likelihoods: Mapping[str, ToyLikelihood], events: Morphed, grid: Grid, true_indices: Sequence[int],
             luminosity: float, n_toys: int, rng: np.random.Generator,
             critical_values: Mapping[str, Mapping[str, Sequence[np.ndarray]]] | None = None) -> list[dict]:
    """Coverage of every method's confidence sets at each true θ, from the same toys for all methods.

    Args:
        likelihoods: method → its toy likelihood.
        events: the test events the toys are drawn from.
        grid: the grid of the likelihoods' tables.
        true_indices: the true θ of the toys, as flat grid indices (the truth lies on the grid).
        luminosity: in pb⁻¹.
        n_toys: toys per true θ.
        rng: the random generator.
        critical_values: method → CL label → per parameter the critical value of its profiled q
            at each axis value (:func:`goldmine.inference.neyman.critical_values`); methods not
            here use Wilks' thresholds.

    Returns:
        one entry per true θ: ``{"theta", "expected_events", "methods": {method: {"construction",
        label: {parameter: {"coverage", "error", "level", "undercovers"}}}}}``; ``error`` is the
        binomial error √(c(1 − c)/n), ``undercovers`` is :func:`undercovers`.
    """
    critical_values = critical_values or {}
    positions = np.stack(np.unravel_index(np.asarray(true_indices), grid.shape), axis=1)
    points = []
    for flat, position in zip(true_indices, positions):
        theta = grid.points[flat]
        covered = {method: np.zeros((len(CONFIDENCE_LEVELS), len(grid.shape))) for method in likelihoods}
        for counts in toy_counts(events(theta), luminosity, n_toys, rng):
            for method, likelihood in likelihoods.items():
                profiled = profiles(likelihood.q(counts), grid)
                for i, (label, level) in enumerate(CONFIDENCE_LEVELS.items()):
                    for k, profile in enumerate(profiled):
                        threshold = (critical_values[method][label][k][position[k]] if method in critical_values
                                     else chi2.ppf(level, df=1))
                        covered[method][i, k] += np.sum(profile[:, position[k]] < threshold)
        entry = {}
        for method, counts_covered in covered.items():
            entry[method] = {"construction": "neyman" if method in critical_values else "asymptotic"}
            for i, (label, level) in enumerate(CONFIDENCE_LEVELS.items()):
                fractions = counts_covered[i] / n_toys
                entry[method][label] = {
                    name: {"coverage": float(c), "error": float(np.sqrt(c * (1 - c) / n_toys)), "level": level,
                           "undercovers": undercovers(c, level, n_toys)}
                    for name, c in zip(grid.names, fractions)}
        points.append({"theta": theta.tolist(),
                       "expected_events": float(luminosity * events.total(theta)),
                       "methods": entry})
    return points

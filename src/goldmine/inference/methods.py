"""One function per inference method, each on plain data, each returning a :class:`MethodResult`.

Every method sees the same test events (their morphed weights, :class:`~goldmine.physics.morphing.Morphed`),
the same grid and the Asimov data of the grid's reference point:

- :func:`rate`: the total cross section only;
- :func:`histogram`: a histogram of observables, as a pyhf model;
- :func:`exact_likelihood`: the exact likelihood (``ee_mumu``);
- :func:`local_score`: SALLY (histogram of the learned score) and SALLINO (1-D histogram of
  the score projected on θ − θ_ref, per θ);
- :func:`learned_ratio`: the parameterised-ratio, morphing-aware and density estimators
  (the learned likelihood ratio in the extended unbinned likelihood);
- :func:`truth` and :func:`histogram_information`: Fisher information only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from goldmine.inference import fisher, limits, systematics
from goldmine.inference.exact import ExactLikelihood
from goldmine.inference.exact_ww import ExactWW
from goldmine.inference.grid import Grid, Scan, refined_scan
from goldmine.inference.histfactory import HistogramModel
from goldmine.physics.morphing import Morphed

__all__ = [
    "CONFIDENCE_LEVELS",
    "MethodResult",
    "bin_indices",
    "exact_likelihood",
    "histogram",
    "histogram_information",
    "learned_ratio",
    "local_score",
    "profiled_histogram_information",
    "profiled_unbinned_q",
    "quantile_edges",
    "rate",
    "truth",
    "uniform_edges",
]

#: the confidence levels of the reported intervals, by label.
CONFIDENCE_LEVELS = {"68": 0.6827, "95": 0.95}

#: the learned-ratio and SALLINO scans are exact where q < this, just above the largest
#: threshold read off q (the 2-D 95% CL contour, 5.99): every grid cell a contour or an
#: interval end crosses then has exact values at all its corners (see refined_scan).
EXACT_BELOW = 6.0


@dataclass(frozen=True, eq=False)
class MethodResult:
    """What one method says about θ.

    Args:
        q: q(θ) on the grid, shape ``grid.shape``, minimum 0; None for Fisher-only methods.
        intervals: confidence-level label → one :class:`~goldmine.inference.limits.Interval` per parameter.
        information: the Fisher information at the reference point, or None.
        information_std: the spread of the ensemble members' Fisher information, or None.
        members: each ensemble member's own result (only for ensembles).
        q_exact_below: q is exact where it is below this, interpolated above (None: exact everywhere, or
            the checked interpolation of :func:`~goldmine.inference.grid.refined_scan`).
        q_interpolation_error: where q is that checked interpolation, its largest |Δq| at the check points.
        construction: how the intervals were made from q: "asymptotic" (Wilks' thresholds) or
            "neyman" (critical values from toys, :mod:`goldmine.inference.neyman`).
        profiled_information: the Fisher information with the nuisance parameters profiled, or
            None (no systematics); ``information`` is then the projected one (nuisance parameters known).
    """

    q: np.ndarray | None = None
    intervals: Mapping[str, tuple[limits.Interval, ...]] = field(default_factory=dict)
    information: np.ndarray | None = None
    information_std: np.ndarray | None = None
    members: tuple[MethodResult, ...] = ()
    q_exact_below: float | None = None
    q_interpolation_error: float | None = None
    construction: str = "asymptotic"
    profiled_information: np.ndarray | None = None

    @classmethod
    def from_q(cls, grid: Grid, q: np.ndarray, **fields) -> MethodResult:
        """The result of q on the grid (flat or grid-shaped), with its profiled intervals."""
        q = np.asarray(q, dtype=float).reshape(grid.shape)
        q = q - q.min()
        intervals = {label: tuple(limits.profiled_intervals(grid.axes, q, level))
                     for label, level in CONFIDENCE_LEVELS.items()}
        return cls(q=q, intervals=intervals, **fields)

    @classmethod
    def from_scan(cls, grid: Grid, scan: Scan, **fields) -> MethodResult:
        """The result of a :func:`~goldmine.inference.grid.refined_scan`, saying how exact its q is."""
        return cls.from_q(grid, scan.q, q_exact_below=scan.exact_below,
                          q_interpolation_error=scan.interpolation_error, **fields)


def bin_indices(values: np.ndarray, edges: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Flat bin index of each event in a (multi-dimensional) histogram; out-of-range values go to the edge bins.

    Example:
        >>> bin_indices(np.array([[0.1], [0.6], [5.0]]), [np.array([0.0, 0.5, 1.0])])
        (array([0, 1, 1]), 2)
    """
    index = np.zeros(len(values), dtype=np.int64)
    n_bins = 1
    for column, axis_edges in enumerate(edges):
        n_axis = len(axis_edges) - 1
        axis_index = np.clip(np.searchsorted(axis_edges, values[:, column], side="right") - 1, 0, n_axis - 1)
        index = index * n_axis + axis_index
        n_bins *= n_axis
    return index, n_bins


def uniform_edges(values: np.ndarray, bins: int) -> list[np.ndarray]:
    """Equal-width bins from the smallest to the largest value of each column."""
    return [np.linspace(column.min(), column.max(), bins + 1) for column in values.T]


def quantile_edges(values: np.ndarray, weights: np.ndarray, bins: int) -> list[np.ndarray]:
    """Bins of equal weight per column (SALLY's score histogram), from the smallest to the largest value.

    Example:
        >>> quantile_edges(np.array([[0.0], [1.0], [2.0], [3.0]]), np.ones(4), 2)[0].tolist()
        [0.0, 1.0, 3.0]
    """
    edges = []
    for column in values.T:
        order = np.argsort(column)
        cumulative = np.cumsum(weights[order]) / weights.sum()
        inner = np.interp(np.linspace(0, 1, bins + 1)[1:-1], cumulative, column[order])
        edges.append(np.concatenate([[column.min()], inner, [column.max()]]))
    return edges


def _binned_q(events: Morphed, index: np.ndarray, n_bins: int, thetas: np.ndarray, reference: np.ndarray,
              luminosity: float) -> np.ndarray:
    bins = events.binned(index, n_bins, luminosity)
    return limits.binned_q(bins(np.atleast_2d(thetas)), bins(reference))


def _unbinned_q(events: Morphed, grid: Grid, mean_log_r: np.ndarray, control: np.ndarray, luminosity: float,
                thetas: np.ndarray | None = None, nuisances: systematics.Systematics | None = None) -> np.ndarray:
    """Asimov q of the extended unbinned likelihood, with the score control variate and the nuisance parameters
    profiled (:func:`profiled_unbinned_q`)."""
    thetas = grid.points if thetas is None else thetas
    centred = limits.centred_mean_log_ratio(mean_log_r, thetas, grid.reference, control)
    return profiled_unbinned_q(events, thetas, grid.reference, centred, luminosity, nuisances)


def profiled_unbinned_q(events: Morphed, thetas: np.ndarray, reference: np.ndarray, mean_log_ratio: np.ndarray,
                        luminosity: float, nuisances: systematics.Systematics | None = None) -> np.ndarray:
    """:func:`~goldmine.inference.limits.unbinned_q` with the nuisance parameters profiled.

    The rate nuisances (normalisation, luminosity) scale the expected number of events by
    k ~ N(1, δ) (profiled in closed form). A shape variation multiplies each event's weight by
    f(x, α) = 1 + α s(x), s = (up − down)/2, α ~ N(0, 1): the density becomes
    p(x|θ) f(x, α)/S(θ, α) with S = E_θ[f] = 1 + α E_θ[s] (from the morphing), the rate
    L σ(θ) k S(θ, α), so that per θ

        q = 2 L σ_ref [σ k S/σ_ref − 1 − log(σ k S/σ_ref) − E_ref[log r] − E_ref[log f(x, α)] + log S] + (k−1)²/δ² + α²,

    minimised over α (L-BFGS-B, |α| ≤ 5) with k in closed form. The shape ratio f/S is
    exact for a variation that depends on x only (a tilt); for the generator's weight
    variations f depends on the parton-level z, and its expectation E[f | x] belongs here:
    what the per-nuisance ratio networks learn (:mod:`goldmine.ml.nuisances`), whose ĝ(x)
    the learned ratios get as the shapes' up and down.

    Args:
        events: the test events.
        thetas: shape (m, p).
        reference: θ_ref.
        mean_log_ratio: E_ref[log r(x|θ, θ_ref)] at ``thetas`` (centred), shape (m,).
        luminosity: in pb⁻¹.
        nuisances: the systematics (None: none).
    """
    nuisances = nuisances or systematics.Systematics()
    thetas = np.atleast_2d(thetas)
    cross_sections, reference_cross_section = events.total(thetas), float(events.total(reference))
    delta = nuisances.rate_uncertainty
    if not nuisances.shapes:
        return _rate_profiled_q(cross_sections, reference_cross_section, mean_log_ratio, luminosity, delta)
    slopes = np.column_stack([(shape.up - shape.down) / 2.0 for shape in nuisances.shapes])
    weights_ref = events(reference)
    probabilities = weights_ref / weights_ref.sum()
    mean_slopes = Morphed(events.components, slopes.T @ events.component_weights)(thetas) / cross_sections[:, None]
    expected_ref = luminosity * reference_cross_section

    def q_and_gradient(alpha: np.ndarray, point: int) -> tuple[float, np.ndarray]:
        factors = 1.0 + slopes @ alpha
        normalisation = 1.0 + mean_slopes[point] @ alpha
        if normalisation <= 0 or np.any(factors <= 0):
            return np.inf, np.zeros_like(alpha)
        shifted = mean_log_ratio[point] + probabilities @ np.log(factors) - np.log(normalisation)
        expected = luminosity * cross_sections[point]
        scale = systematics.profiled_rate_scale(expected * normalisation, expected_ref, delta)
        value = float(_rate_profiled_q(cross_sections[point : point + 1] * normalisation, reference_cross_section,
                                       np.array([shifted]), luminosity, delta)[0]) + float(alpha @ alpha)
        # k is at its minimum: only α's explicit dependence counts (envelope theorem)
        gradient = 2.0 * (expected * scale * mean_slopes[point] - expected_ref * (probabilities / factors) @ slopes
                          + alpha)
        return value, gradient

    bounds = [(-5.0, 5.0)] * slopes.shape[1]
    # single-threaded BLAS: the products over events are matrix-vector products, which OpenBLAS's
    # threads slow down ~7x (8 vs 60 ms per evaluation of 10⁵ events here)
    with threadpool_limits(1):
        return np.array([minimize(q_and_gradient, np.zeros(slopes.shape[1]), args=(point,), jac=True,
                                  method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-9}).fun
                         for point in range(len(thetas))])


def _rate_profiled_q(cross_sections: np.ndarray, reference_cross_section: float, mean_log_ratio: np.ndarray,
                     luminosity: float, rate_uncertainty: float) -> np.ndarray:
    """:func:`~goldmine.inference.limits.unbinned_q` with the expected count scaled by k ~ N(1, δ), k profiled.

    The normalisation and luminosity uncertainties scale the rate and leave p(x|θ) alone, so
    the learned ratio needs no nuisance input: k has a closed form
    (:func:`~goldmine.inference.systematics.profiled_rate_scale`).
    """
    if rate_uncertainty == 0:
        return limits.unbinned_q(cross_sections, reference_cross_section, mean_log_ratio, luminosity)
    scale = systematics.profiled_rate_scale(luminosity * cross_sections, luminosity * reference_cross_section,
                                            rate_uncertainty)
    return (limits.unbinned_q(cross_sections * scale, reference_cross_section, mean_log_ratio, luminosity)
            + ((scale - 1.0) / rate_uncertainty) ** 2)


def _score_information(events: Morphed, scores: np.ndarray, reference: np.ndarray, luminosity: float) -> np.ndarray:
    return fisher.score_information(events(reference), scores, events.total_gradient(reference), luminosity)


def _profiled_score_information(events: Morphed, scores: np.ndarray, reference: np.ndarray, luminosity: float,
                                nuisances: systematics.Systematics | None) -> np.ndarray | None:
    """The profiled information of an estimated score, or None without nuisance parameters."""
    if nuisances is None or not nuisances.any:
        return None
    full = systematics.score_information_with_nuisances(
        _score_information(events, scores, reference, luminosity), events(reference), scores,
        events.total_gradient(reference), luminosity, nuisances)
    return systematics.profiled_information(full, len(reference))


def truth(events: Morphed, reference: np.ndarray, luminosity: float,
          nuisances: systematics.Systematics | None = None) -> MethodResult:
    """Parton-level Fisher information of the events (no limits: q would need the latent z); with
    ``nuisances`` also profiled, each nuisance parameter a per-event weight derivative."""
    weights, gradients = events(reference), events.gradient(reference)
    profiled = None
    if nuisances is not None and nuisances.any:
        profiled = systematics.profiled_information(
            systematics.truth_information_with_nuisances(weights, gradients, luminosity, nuisances), len(reference))
    return MethodResult(information=fisher.truth_information(weights, gradients, luminosity),
                        profiled_information=profiled)


def rate(events: Morphed, grid: Grid, luminosity: float, nuisances: systematics.Systematics | None = None
         ) -> MethodResult:
    """The total rate alone: a Poisson count of mean L σ(θ).

    With ``nuisances``, the count is scaled by k ~ N(1, δ), profiled, δ the nuisance
    parameters' rate effects added in quadrature (a shape variation counts by the change of
    the total it makes at θ_ref).

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> events = Morphed(find_components((2,)), np.array([[1.0, 0.0, 1.0]]))  # σ(θ) = 1 + θ²
        >>> grid = Grid(("c",), (np.linspace(-1, 1, 201),), np.zeros(1))
        >>> result = rate(events, grid, luminosity=100.0)
        >>> interval = result.intervals["68"][0]  # q = 2·100·(θ² − log(1 + θ²)) ≈ 100 θ⁴ = 1 at θ ≈ ±0.32
        >>> round(interval.high, 2), result.information.tolist()
        (0.32, [[0.0]])
    """
    sigma_ref = float(events.total(grid.reference))
    gradient = events.total_gradient(grid.reference)
    information = fisher.rate_information(sigma_ref, gradient, luminosity)
    effects, profiled = [], None
    if nuisances is not None and nuisances.any:
        effects = systematics.rate_effects(events(grid.reference), nuisances)
        profiled = systematics.profiled_information(
            systematics.rate_nuisance_information(information, sigma_ref, gradient, luminosity, effects),
            len(grid.reference))
    q = _rate_profiled_q(events.total(grid.points), sigma_ref, np.zeros(len(grid.points)), luminosity,
                         float(np.linalg.norm(effects)))
    return MethodResult.from_q(grid, q, information=information, profiled_information=profiled)


def histogram_information(events: Morphed, values: np.ndarray, bins: int, reference: np.ndarray,
                          luminosity: float) -> np.ndarray:
    """Fisher information of an equal-width histogram of ``values`` (shape (n, k), k-dimensional)."""
    bins_morphed = events.binned(*bin_indices(values, uniform_edges(values, bins)), luminosity)
    return fisher.histogram_information(bins_morphed(reference), bins_morphed.gradient(reference), 1.0)


def profiled_histogram_information(events: Morphed, values: np.ndarray, bins: int, reference: np.ndarray,
                                   luminosity: float, nuisances: systematics.Systematics) -> np.ndarray:
    """:func:`histogram_information` with the nuisance parameters profiled.

    The bins are the items of :func:`~goldmine.inference.systematics.truth_information_with_nuisances`:
    each nuisance parameter changes a bin's yield by its rate effect or its binned shape
    variation, linearly, as pyhf's normsys-free model of :func:`histogram` with a lumi and
    symmetric histosys modifiers.
    """
    index, n_bins = bin_indices(values, uniform_edges(values, bins))
    bins_morphed = events.binned(index, n_bins, luminosity)
    nominal = bins_morphed(reference)
    weights_ref = events(reference)
    filled = nominal > 0
    shapes = []
    for shape in nuisances.shapes:
        up, down = shape.binned(weights_ref, index, n_bins)
        shapes.append(systematics.ShapeVariation(shape.name, up[filled], down[filled]))
    binned = systematics.Systematics(nuisances.normalisation, nuisances.luminosity, tuple(shapes))
    full = systematics.truth_information_with_nuisances(nominal[filled], bins_morphed.gradient(reference)[filled],
                                                        1.0, binned)
    return systematics.profiled_information(full, len(reference))


def histogram_model(events: Morphed, values: np.ndarray, bins: int, grid: Grid, luminosity: float,
                    nuisances: systematics.Systematics | None = None,
                    observed: np.ndarray | None = None) -> HistogramModel:
    """The pyhf model of an equal-width histogram of the test events' ``values`` (shape (n_events, k)).

    Its data are the Asimov counts at the grid's reference point, or ``observed`` (counts per
    bin); ``nuisances`` give its normsys, lumi and one histosys per shape variation.
    """
    return _binned_model(events, *bin_indices(values, uniform_edges(values, bins)), grid, luminosity, nuisances,
                         observed)


def _binned_model(events: Morphed, index: np.ndarray, n_bins: int, grid: Grid, luminosity: float,
                  nuisances: systematics.Systematics | None = None,
                  observed: np.ndarray | None = None) -> HistogramModel:
    """The pyhf model of the events in bins ``index``, each shape variation binned as a histosys."""
    nuisances = nuisances or systematics.Systematics()
    bins_morphed = events.binned(index, n_bins, luminosity)
    weights_ref = events(grid.reference)
    shapes = {shape.name: shape.binned(weights_ref, index, n_bins) for shape in nuisances.shapes}
    counts = bins_morphed(grid.reference) if observed is None else observed
    return HistogramModel(grid.names, events.components, bins_morphed.component_weights.T, counts,
                          nuisances.normalisation, nuisances.luminosity, shapes)


def histogram(events: Morphed, values: np.ndarray, bins: int, grid: Grid, luminosity: float,
              nuisances: systematics.Systematics | None = None) -> tuple[MethodResult, HistogramModel]:
    """An equal-width histogram of ``values`` as a pyhf model, and q from pyhf.

    Args:
        events: the test events.
        values: the histogrammed observables, shape (n_events, k).
        bins: bins per observable.
        grid: the grid (its reference point gives the Asimov counts).
        luminosity: in pb⁻¹.
        nuisances: the systematics (normsys, lumi, one histosys per shape variation), profiled by pyhf.

    Returns:
        (the result, the pyhf model); with nuisance parameters the result's ``information`` is
        the projected and ``profiled_information`` the profiled Fisher information of pyhf's model.
    """
    model = histogram_model(events, values, bins, grid, luminosity, nuisances)
    bins_morphed = events.binned(*bin_indices(values, uniform_edges(values, bins)), luminosity)
    information = fisher.histogram_information(bins_morphed(grid.reference), bins_morphed.gradient(grid.reference),
                                               1.0)
    profiled = None
    if model.nuisance_names:
        profiled = systematics.profiled_information(model.information(grid.reference), len(grid.names))
    return MethodResult.from_q(grid, model.q(grid.points), information=information,
                               profiled_information=profiled), model


def exact_likelihood(exact: ExactLikelihood | ExactWW, observations: np.ndarray, events: Morphed, grid: Grid,
                     luminosity: float, control: np.ndarray, integrals: np.ndarray | None = None,
                     chunk: int = 64, nuisances: systematics.Systematics | None = None) -> MethodResult:
    """The exact likelihood (``ee_mumu`` through its detector, ``ee_ww`` at parton level) on every grid point.

    ``control``: the control variate every method shares (see :func:`learned_ratio`); ``nuisances``:
    profiled in q (:func:`profiled_unbinned_q`) and in the Fisher information.
    """
    if integrals is None:
        integrals = exact.angular_integrals(observations)
    weights_ref = events(grid.reference)
    weights = weights_ref / weights_ref.sum()
    points = grid.points
    mean_log_r = np.concatenate([
        exact.log_likelihood_ratio(observations, points[i : i + chunk], grid.reference, integrals) @ weights
        for i in range(0, len(points), chunk)])
    scores = exact.score(observations, grid.reference, integrals)
    q = _unbinned_q(events, grid, mean_log_r, control, luminosity, nuisances=nuisances)
    return MethodResult.from_q(grid, q, information=_score_information(events, scores, grid.reference, luminosity),
                               profiled_information=_profiled_score_information(events, scores, grid.reference,
                                                                                luminosity, nuisances))


def local_score(method: str, member_scores: Sequence[np.ndarray], events: Morphed, grid: Grid, luminosity: float,
                bins: int, nuisances: systematics.Systematics | None = None) -> MethodResult:
    """SALLY or SALLINO from the learned score t̂(x|θ_ref) of each ensemble member (their mean is the estimate).

    SALLY: the histogram of the p-dimensional score (``bins`` quantile bins per component at
    the reference point). SALLINO: for each θ the 1-D histogram of t̂·(θ − θ_ref) with
    ``bins`` quantile bins. With ``nuisances`` the Fisher information is also given profiled,
    and SALLY's q too: its score histogram becomes a pyhf model like :func:`histogram`'s (normsys,
    lumi, and each shape variation's per-event factors binned as a histosys, which is exact for
    a binned likelihood: a bin's varied yield is the sum of its events' varied weights).
    SALLINO's q (a new histogram for every θ) is not profiled.
    """
    weights_ref = events(grid.reference)

    def one(scores: np.ndarray) -> MethodResult:
        information = _score_information(events, scores, grid.reference, luminosity)
        profiled = _profiled_score_information(events, scores, grid.reference, luminosity, nuisances)
        if method == "sally":
            index, n_bins = bin_indices(scores, quantile_edges(scores, weights_ref, bins))
            if nuisances is not None and nuisances.any:
                q = _binned_model(events, index, n_bins, grid, luminosity, nuisances).q(grid.points)
            else:
                q = _binned_q(events, index, n_bins, grid.points, grid.reference, luminosity)
            return MethodResult.from_q(grid, q, information=information, profiled_information=profiled)

        def evaluate(indices: np.ndarray) -> np.ndarray:
            values = np.zeros(len(indices))
            for k, theta in enumerate(grid.points[indices]):
                direction = theta - grid.reference
                if np.any(direction):
                    projected = (scores @ direction)[:, None]
                    index, n_bins = bin_indices(projected, quantile_edges(projected, weights_ref, bins))
                    values[k] = _binned_q(events, index, n_bins, theta, grid.reference, luminosity)[0]
            return values

        return MethodResult.from_scan(grid, refined_scan(evaluate, grid, EXACT_BELOW), information=information,
                                      profiled_information=profiled)

    members = [one(scores) for scores in member_scores]
    if len(members) == 1:
        return members[0]
    ensemble = one(np.mean(member_scores, axis=0))
    spread = np.std([member.information for member in members], axis=0)
    return replace(ensemble, information_std=spread, members=tuple(members))


def learned_ratio(member_mean_log_ratio: Sequence[Callable[[np.ndarray], np.ndarray]],
                  control: np.ndarray, events: Morphed, grid: Grid, luminosity: float,
                  nuisances: systematics.Systematics | None = None) -> MethodResult:
    """A learned likelihood ratio r̂(x|θ, θ_ref) in the extended unbinned likelihood.

    Args:
        member_mean_log_ratio: per ensemble member, θ of shape (k, p) → E_ref[log r̂(x|θ, θ_ref)], shape (k,)
            (e.g. :func:`goldmine.ml.estimators.mean_log_ratio` on the test events).
        control: the control variate every method shares, shape (p,): the events' mean exact score
            Ê_ref[t(x|θ_ref)] where the exact likelihood exists, else zero
            (:func:`goldmine.inference.analysis.run_inference`); an estimator's own mean score would hide its bias,
            unless on independent events its normaliser calibrates that bias first (a calibrated ratio's
            :meth:`~goldmine.inference.ratio_calibration.RatioCalibration.control`).
        events: the test events.
        grid: the grid.
        luminosity: in pb⁻¹.
        nuisances: the systematics, profiled in q (:func:`profiled_unbinned_q`): the rate scale
            in closed form, each shape variation through its factors up and down per event:
            the per-nuisance networks' ĝ(x) (:mod:`goldmine.ml.nuisances`, as the infer stage
            gives them) or the per-event weight factors.

    Returns:
        the result of the ensemble mean of log r̂ (its members' own results beside it); q is
        exact below :data:`EXACT_BELOW` or a checked interpolation (:func:`~goldmine.inference.grid.refined_scan`).
    """
    points = grid.points
    cache = np.full((len(member_mean_log_ratio), len(points)), np.nan)

    def mean_log_r(member: int, indices: np.ndarray) -> np.ndarray:
        missing = indices[np.isnan(cache[member, indices])]
        if len(missing):
            cache[member, missing] = member_mean_log_ratio[member](points[missing])
        return cache[member, indices]

    def scan(members: Sequence[int]) -> MethodResult:
        def evaluate(indices: np.ndarray) -> np.ndarray:
            log_r = np.mean([mean_log_r(m, indices) for m in members], axis=0)
            return _unbinned_q(events, grid, log_r, control, luminosity, points[indices], nuisances)

        return MethodResult.from_scan(grid, refined_scan(evaluate, grid, EXACT_BELOW))

    n_members = len(member_mean_log_ratio)
    ensemble = scan(range(n_members))
    if n_members == 1:
        return ensemble
    return replace(ensemble, members=tuple(scan([m]) for m in range(n_members)))

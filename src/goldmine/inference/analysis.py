"""Fisher information and expected limits of every method on the test events.

Methods: ``rate`` (total cross section only), ``histogram`` (observables, as a pyhf
model), ``exact`` (the exact likelihood, for ``ee_mumu``), and every trained estimator:
SALLY (histogram of the learned score), SALLINO (1-D histogram of the score projected on
θ − θ_ref, per θ) and the parameterised-ratio methods (the learned likelihood ratio in
the extended unbinned likelihood), all on the same test events and Asimov data of the
reference point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from goldmine.detection.detector import MuonDetector
from goldmine.inference import fisher, limits
from goldmine.inference.exact import ExactLikelihood
from goldmine.inference.histfactory import HistogramModel
from goldmine.io import events
from goldmine.mining import EventPool
from goldmine.physics.morphing import monomial_gradients, monomials
from goldmine.physics.processes import get_process

__all__ = ["bin_indices", "binned_component_yields", "run_inference"]


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


def binned_component_yields(index: np.ndarray, n_bins: int, component_weights: np.ndarray,
                            luminosity: float) -> np.ndarray:
    """Expected events per bin of each morphing component, shape (n_components, n_bins)."""
    yields = np.zeros((component_weights.shape[1], n_bins))
    for c in range(component_weights.shape[1]):
        yields[c] = luminosity * np.bincount(index, weights=component_weights[:, c], minlength=n_bins)
    return yields


def _quantile_edges(values: np.ndarray, weights: np.ndarray, bins: int) -> list[np.ndarray]:
    edges = []
    for column in values.T:
        order = np.argsort(column)
        cumulative = np.cumsum(weights[order]) / weights.sum()
        inner = np.interp(np.linspace(0, 1, bins + 1)[1:-1], cumulative, column[order])
        edges.append(np.concatenate([[column.min()], inner, [column.max()]]))
    return edges


def _uniform_edges(values: np.ndarray, bins: int) -> list[np.ndarray]:
    return [np.linspace(column.min(), column.max(), bins + 1) for column in values.T]


def _histogram_fisher(yields: np.ndarray, components: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Fisher information of a histogram from component yields (luminosity already included)."""
    expected = monomials(theta, components) @ yields
    gradients = np.einsum("cp,cb->bp", monomial_gradients(theta, components), yields)
    return fisher.histogram_information(expected, gradients, 1.0)


def _weighted_mean_over_events(function, thetas: np.ndarray, weights: np.ndarray, description: str,
                               progress: bool, chunk: int = 32) -> np.ndarray:
    """Σ_e w_e f(x_e|θ) / Σ_e w_e for every θ, evaluating f on a few θ at a time (bounded memory)."""
    starts = tqdm(range(0, len(thetas), chunk), desc=description, unit="chunk", disable=not progress)
    return np.concatenate([function(thetas[i : i + chunk]) @ weights for i in starts]) / weights.sum()


def _summary(q: np.ndarray, space_axes: list[np.ndarray], names: tuple[str, ...]) -> dict[str, Any]:
    shape = tuple(len(axis) for axis in space_axes)
    grid_q = q.reshape(shape)
    result: dict[str, Any] = {"q": grid_q.tolist()}
    for label, level in (("68", 0.6827), ("95", 0.95)):
        intervals = limits.profiled_intervals(space_axes, grid_q, level)
        result[f"interval_{label}"] = dict(zip(names, [list(i) for i in intervals]))
    return result


@dataclass
class _Context:
    """What every method's inference shares: test events, morphing, grid and Asimov point."""

    pool: EventPool
    observations: np.ndarray
    reference: np.ndarray
    weights_ref: np.ndarray
    sigma_ref: float
    grad_sigma_ref: np.ndarray
    grid: np.ndarray
    sigma_grid: np.ndarray
    luminosity: float
    progress: bool

    @property
    def components(self) -> np.ndarray:
        return self.pool.space.morphing.components

    def binned_q(self, index: np.ndarray, n_bins: int, thetas: np.ndarray | None = None) -> np.ndarray:
        """Asimov q of a histogram given each event's bin, on the grid (or at ``thetas``)."""
        thetas = self.grid if thetas is None else thetas
        yields = binned_component_yields(index, n_bins, self.pool.component_weights, self.luminosity)
        return limits.binned_q(monomials(thetas, self.components) @ yields,
                               monomials(self.reference, self.components) @ yields)

    def unbinned_q(self, mean_log_r: np.ndarray, mean_score: np.ndarray) -> np.ndarray:
        """Asimov q on the grid of the extended unbinned likelihood (score control variate applied)."""
        centred = limits.centred_mean_log_ratio(mean_log_r, self.grid, self.reference, mean_score)
        return limits.unbinned_q(self.sigma_grid, self.sigma_ref, centred, self.luminosity)

    def score_information(self, scores: np.ndarray) -> np.ndarray:
        return fisher.score_information(self.weights_ref, scores, self.grad_sigma_ref, self.luminosity)

    def mean_at_reference(self, values: np.ndarray) -> np.ndarray:
        return self.weights_ref @ values / self.sigma_ref


def _local_score_q(method: str, scores: np.ndarray, context: _Context, bins: int) -> np.ndarray:
    """SALLY: histogram of the p-dimensional score; SALLINO: for each θ, the 1-D histogram of
    the score projected on θ − θ_ref (quantile bins at the reference point)."""
    if method == "sally":
        return context.binned_q(*bin_indices(scores, _quantile_edges(scores, context.weights_ref, bins)))
    values = np.empty(len(context.grid))
    for i, theta in enumerate(context.grid):
        direction = theta - context.reference
        if not np.any(direction):
            values[i] = 0.0
            continue
        projected = (scores @ direction)[:, None]
        index, n_bins = bin_indices(projected, _quantile_edges(projected, context.weights_ref, bins))
        values[i] = context.binned_q(index, n_bins, theta[None, :])[0]
    return values


def _ratio_scan(model, context: _Context, description: str) -> tuple[np.ndarray, np.ndarray]:
    """E_ref[log r̂(x|θ,θ_ref)] on the grid and E_ref[t̂(x|θ_ref)] of one ratio model."""
    from goldmine.ml.estimators import evaluate_log_ratio, evaluate_ratio_score

    at_reference = evaluate_log_ratio(model, context.observations, context.reference[None, :])
    mean_log_r = _weighted_mean_over_events(
        lambda thetas: evaluate_log_ratio(model, context.observations, thetas) - at_reference,
        context.grid, context.weights_ref, description, context.progress)
    mean_score = context.mean_at_reference(evaluate_ratio_score(model, context.observations, context.reference))
    return mean_log_r, mean_score


def run_inference(config: Mapping[str, Any], test_file: str | Path, model_files: Mapping[str, Sequence[Path]],
                  progress: bool = True) -> dict[str, Any]:
    """Compute Fisher information, expected limits and validation metrics of every method.

    An ensemble's prediction is the mean of its members' (log r̂ or t̂); each member's own
    limits and Fisher information give the ensemble spread reported beside them.

    Args:
        config: the validated configuration.
        test_file: event file of the test events (weights sum to the fiducial σ).
        model_files: method name → the model file of each ensemble member.
        progress: show progress bars.

    Returns:
        dict with "fisher", "limits", "validation" and "workspace" (the pyhf workspace of the histogram).
    """
    from goldmine.ml import SCORE_METHODS
    from goldmine.ml.estimators import evaluate_log_ratio, evaluate_score
    from goldmine.ml.models import load_model

    settings = config["inference"]
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    pool = EventPool(space, test.observations, test.weights)
    reference = space.benchmark(config["mining"]["reference_benchmark"])
    grid = space.grid(settings["grid_points"])
    context = _Context(
        pool=pool, observations=test.observations, reference=reference, weights_ref=pool.weights(reference),
        sigma_ref=float(pool.cross_section(reference)), grad_sigma_ref=pool.cross_section_gradient(reference),
        grid=grid, sigma_grid=pool.cross_section(grid), luminosity=settings["luminosity"], progress=progress,
    )
    axes = [np.linspace(low, high, settings["grid_points"]) for low, high in space.ranges]
    components = context.components
    luminosity = context.luminosity

    information: dict[str, np.ndarray] = {}
    information_spread: dict[str, np.ndarray] = {}
    q: dict[str, np.ndarray] = {}
    member_q: dict[str, list[np.ndarray]] = {}
    validation: dict[str, Any] = {}

    information["truth"] = fisher.truth_information(
        context.weights_ref, pool.component_weights @ monomial_gradients(reference, components), luminosity)
    information["rate"] = fisher.rate_information(context.sigma_ref, context.grad_sigma_ref, luminosity)
    q["rate"] = limits.unbinned_q(context.sigma_grid, context.sigma_ref, np.zeros(len(grid)), luminosity)

    # Histogram of observables, as a pyhf model.
    histogram = settings["histogram"]
    columns = [names.index(name) for name in histogram["observables"]]
    edges = _uniform_edges(test.observations[:, columns], histogram["bins"])
    index, n_bins = bin_indices(test.observations[:, columns], edges)
    yields = binned_component_yields(index, n_bins, pool.component_weights, luminosity)
    asimov = monomials(reference, components) @ yields
    model = HistogramModel(space.names, components, yields, asimov, histogram["systematics"]["normalisation"])
    q["histogram"] = model.q(grid, progress=progress)
    if histogram["systematics"]["normalisation"] == 0:
        q_numpy = limits.binned_q(monomials(grid, components) @ yields, asimov)
        validation["pyhf_vs_numpy_histogram_max_abs_q_difference"] = float(
            np.max(np.abs(q["histogram"] - (q_numpy - q_numpy.min()))))
    information["histogram"] = _histogram_fisher(yields, components, reference)
    for column, name in enumerate(names):
        single = test.observations[:, [column]]
        single_index, single_bins = bin_indices(single, _uniform_edges(single, histogram["bins"]))
        single_yields = binned_component_yields(single_index, single_bins, pool.component_weights, luminosity)
        information[f"histogram_1d:{name}"] = _histogram_fisher(single_yields, components, reference)

    exact = integrals = None
    if config["process"]["name"] == "ee_mumu" and "card" not in config["detector"]:
        exact = ExactLikelihood(get_process(config["process"]), MuonDetector.from_config(config["detector"]), names)
        integrals = exact.angular_integrals(test.observations)
        exact_scores = exact.score(test.observations, reference, integrals)
        information["exact"] = context.score_information(exact_scores)
        mean_log_r = _weighted_mean_over_events(
            lambda thetas: exact.log_likelihood_ratio(test.observations, thetas, reference, integrals),
            grid, context.weights_ref, "exact likelihood on the grid", progress)
        mean_score = context.mean_at_reference(exact_scores)
        validation["exact_mean_score_at_reference"] = mean_score.tolist()
        q["exact"] = context.unbinned_q(mean_log_r, mean_score)
        validation_thetas = space.sample_uniform(50, np.random.default_rng(0))
        true_log_r = exact.log_likelihood_ratio(test.observations, validation_thetas, reference, integrals)
        validation["exact_log_r_variance"] = float(np.mean(np.var(true_log_r, axis=1)))
        validation["exact_score_variance"] = np.var(exact_scores, axis=0).tolist()

    bins = settings["score_histogram"]["bins"]
    for method, paths in model_files.items():
        members = [load_model(path)[0] for path in paths]
        if method in SCORE_METHODS:
            scores = [evaluate_score(member, test.observations) for member in members]
            mean_scores = np.mean(scores, axis=0)
            information[method] = context.score_information(mean_scores)
            q[method] = _local_score_q(method, mean_scores, context, bins)
            if len(members) > 1:
                information_spread[method] = np.std([context.score_information(s) for s in scores], axis=0)
                member_q[method] = [_local_score_q(method, s, context, bins) for s in scores]
            if exact is not None:
                validation[f"{method}_score_mse"] = np.mean((mean_scores - exact_scores) ** 2, axis=0).tolist()
        else:
            scans = [_ratio_scan(member, context, f"{method} on the grid") for member in members]
            mean_log_r = np.mean([scan[0] for scan in scans], axis=0)
            mean_score = np.mean([scan[1] for scan in scans], axis=0)
            validation[f"{method}_mean_score_at_reference"] = mean_score.tolist()
            q[method] = context.unbinned_q(mean_log_r, mean_score)
            if len(members) > 1:
                member_q[method] = [context.unbinned_q(*scan) for scan in scans]
            if exact is not None:
                estimated = np.mean([evaluate_log_ratio(m, test.observations, validation_thetas)
                                     - evaluate_log_ratio(m, test.observations, reference[None, :])
                                     for m in members], axis=0)
                validation[f"{method}_log_r_mse"] = float(np.mean((estimated - true_log_r) ** 2))

    limit_results: dict[str, Any] = {method: _summary(values, axes, space.names) for method, values in q.items()}
    for method, values in member_q.items():
        per_member = [_summary(v, axes, space.names) for v in values]
        limit_results[method]["members"] = [m["interval_68"] for m in per_member]
        limit_results[method]["interval_68_spread"] = {
            name: np.std([m["interval_68"][name] for m in per_member], axis=0).tolist() for name in space.names}
    limit_results["_grid"] = {"parameters": list(space.names), "axes": [a.tolist() for a in axes],
                              "luminosity_pb": luminosity, "reference": reference.tolist()}
    if "exact" in limit_results:
        exact_interval = limit_results["exact"]["interval_68"]
        for method, result in limit_results.items():
            if method.startswith("_") or method == "exact":
                continue
            validation[f"{method}_interval_68_width_over_exact"] = {
                name: (result["interval_68"][name][1] - result["interval_68"][name][0])
                / (exact_interval[name][1] - exact_interval[name][0]) for name in space.names}
    fisher_results: dict[str, Any] = {method: matrix.tolist() for method, matrix in information.items()}
    fisher_results["_meta"] = {"parameters": list(space.names), "theta": reference.tolist(),
                               "luminosity_pb": luminosity}
    if information_spread:
        fisher_results["_ensemble_std"] = {method: m.tolist() for method, m in information_spread.items()}
    return {"fisher": fisher_results, "limits": limit_results, "validation": validation,
            "workspace": dict(model.workspace)}

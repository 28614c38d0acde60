"""Fisher information and expected limits of every method on the test events.

Methods: ``rate`` (total cross section only), ``histogram`` (observables, as a pyhf
model), ``sally`` (histogram of the learned score), ``alices`` (learned likelihood
ratio) and ``exact`` (the exact likelihood, for ``ee_mumu``), all on the same test
events and Asimov data of the reference point.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from goldmine import events
from goldmine.detector import MuonDetector
from goldmine.exact import ExactLikelihood
from goldmine.inference import fisher, limits
from goldmine.inference.histfactory import HistogramModel
from goldmine.mining import EventPool
from goldmine.morphing import monomial_gradients, monomials
from goldmine.processes import get_process

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


def run_inference(config: Mapping[str, Any], test_file: str | Path, model_files: Mapping[str, str | Path],
                  progress: bool = True) -> dict[str, Any]:
    """Compute Fisher information, expected limits and validation metrics.

    Args:
        config: the validated configuration.
        test_file: event file of the test events (weights sum to the fiducial σ).
        model_files: method name ("sally", "alices") → trained model file.
        progress: show progress bars.

    Returns:
        dict with "fisher", "limits", "validation" and "workspace" (the pyhf workspace of the histogram).
    """
    from goldmine.ml.estimators import evaluate_log_ratio, evaluate_ratio_score, evaluate_score
    from goldmine.ml.models import load_model

    settings = config["inference"]
    luminosity = settings["luminosity"]
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    pool = EventPool(space, test.observations, test.weights)
    components = space.morphing.components
    reference = space.benchmark(config["mining"]["reference_benchmark"])
    weights_ref = pool.weights(reference)
    sigma_ref = float(pool.cross_section(reference))
    grad_sigma_ref = pool.cross_section_gradient(reference)
    grid = space.grid(settings["grid_points"])
    axes = [np.linspace(low, high, settings["grid_points"]) for low, high in space.ranges]
    sigma_grid = pool.cross_section(grid)

    information: dict[str, np.ndarray] = {}
    q: dict[str, np.ndarray] = {}

    information["truth"] = fisher.truth_information(weights_ref, pool.component_weights @ monomial_gradients(
        reference, components), luminosity)
    information["rate"] = fisher.rate_information(sigma_ref, grad_sigma_ref, luminosity)
    q["rate"] = limits.unbinned_q(sigma_grid, sigma_ref, np.zeros(len(grid)), luminosity)

    # Histogram of observables, as a pyhf model.
    histogram = settings["histogram"]
    columns = [names.index(name) for name in histogram["observables"]]
    edges = _uniform_edges(test.observations[:, columns], histogram["bins"])
    index, n_bins = bin_indices(test.observations[:, columns], edges)
    yields = binned_component_yields(index, n_bins, pool.component_weights, luminosity)
    asimov = monomials(reference, components) @ yields
    model = HistogramModel(space.names, components, yields, asimov,
                           histogram["systematics"]["normalisation"])
    q["histogram"] = model.q(grid, progress=progress)
    q_histogram_numpy = limits.binned_q(monomials(grid, components) @ yields, asimov)
    information["histogram"] = _histogram_fisher(yields, components, reference)
    for column, name in enumerate(names):
        single_index, single_bins = bin_indices(test.observations[:, [column]],
                                                _uniform_edges(test.observations[:, [column]], histogram["bins"]))
        single_yields = binned_component_yields(single_index, single_bins, pool.component_weights, luminosity)
        information[f"histogram_1d:{name}"] = _histogram_fisher(single_yields, components, reference)

    validation: dict[str, Any] = {}
    if "sally" in model_files:
        sally, _ = load_model(model_files["sally"])
        scores = evaluate_score(sally, test.observations)
        information["sally"] = fisher.score_information(weights_ref, scores, grad_sigma_ref, luminosity)
        bins = config["inference"]["score_histogram"]["bins"]
        score_index, score_bins = bin_indices(scores, _quantile_edges(scores, weights_ref, bins))
        score_yields = binned_component_yields(score_index, score_bins, pool.component_weights, luminosity)
        q["sally"] = limits.binned_q(monomials(grid, components) @ score_yields,
                                     monomials(reference, components) @ score_yields)

    exact = None
    if config["process"]["name"] == "ee_mumu":
        exact = ExactLikelihood(get_process(config["process"]), MuonDetector.from_config(config["detector"]), names)
        integrals = exact.angular_integrals(test.observations)
        exact_scores = exact.score(test.observations, reference, integrals)
        information["exact"] = fisher.score_information(weights_ref, exact_scores, grad_sigma_ref, luminosity)
        mean_log_r = _weighted_mean_over_events(
            lambda thetas: exact.log_likelihood_ratio(test.observations, thetas, reference, integrals),
            grid, weights_ref, "exact likelihood on the grid", progress)
        mean_score = weights_ref @ exact_scores / sigma_ref
        validation["exact_mean_score_at_reference"] = mean_score.tolist()
        mean_log_r = limits.centred_mean_log_ratio(mean_log_r, grid, reference, mean_score)
        q["exact"] = limits.unbinned_q(sigma_grid, sigma_ref, mean_log_r, luminosity)

    if "alices" in model_files:
        alices, _ = load_model(model_files["alices"])
        log_r_at_reference = evaluate_log_ratio(alices, test.observations, reference[None, :])
        mean_log_r = _weighted_mean_over_events(
            lambda thetas: evaluate_log_ratio(alices, test.observations, thetas) - log_r_at_reference,
            grid, weights_ref, "ALICES on the grid", progress)
        mean_score = weights_ref @ evaluate_ratio_score(alices, test.observations, reference) / sigma_ref
        validation["alices_mean_score_at_reference"] = mean_score.tolist()
        mean_log_r = limits.centred_mean_log_ratio(mean_log_r, grid, reference, mean_score)
        q["alices"] = limits.unbinned_q(sigma_grid, sigma_ref, mean_log_r, luminosity)
        if exact is not None:
            rng = np.random.default_rng(0)
            thetas = space.sample_uniform(50, rng)
            true = exact.log_likelihood_ratio(test.observations, thetas, reference, integrals)
            estimated = evaluate_log_ratio(alices, test.observations, thetas) - evaluate_log_ratio(
                alices, test.observations, reference[None, :])
            validation["alices_log_r_mse"] = float(np.mean((estimated - true) ** 2))
            validation["exact_log_r_variance"] = float(np.mean(np.var(true, axis=1)))

    validation["pyhf_vs_numpy_histogram_max_abs_q_difference"] = (
        float(np.max(np.abs(q["histogram"] - (q_histogram_numpy - q_histogram_numpy.min()))))
        if histogram["systematics"]["normalisation"] == 0 else None
    )
    limit_results = {method: _summary(values, axes, space.names) for method, values in q.items()}
    limit_results["_grid"] = {"parameters": list(space.names), "axes": [a.tolist() for a in axes],
                              "luminosity_pb": luminosity, "reference": reference.tolist()}
    if "exact" in limit_results:
        for method, result in limit_results.items():
            if method.startswith("_") or method == "exact":
                continue
            validation[f"{method}_interval_68_width_over_exact"] = {
                name: (result["interval_68"][name][1] - result["interval_68"][name][0])
                / (limit_results["exact"]["interval_68"][name][1] - limit_results["exact"]["interval_68"][name][0])
                for name in space.names
            }
    fisher_results = {method: matrix.tolist() for method, matrix in information.items()}
    fisher_results["_meta"] = {"parameters": list(space.names), "theta": reference.tolist(),
                               "luminosity_pb": luminosity}
    return {"fisher": fisher_results, "limits": limit_results, "validation": validation,
            "workspace": dict(model.workspace)}

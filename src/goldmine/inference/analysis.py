"""Fisher information and expected limits of every method on the test events: the composition
of the per-method functions of :mod:`goldmine.inference.methods` that the ``infer`` stage calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.inference import calibration, diagnostics, limits, methods, toys
from goldmine.inference import exact as exact_module
from goldmine.inference.grid import analysis_grid
from goldmine.inference.results import fisher_document, flag_intervals, limits_document
from goldmine.io import events

__all__ = ["run_inference"]

log = logging.getLogger(__name__)


def run_inference(config: Mapping[str, Any], test_file: str | Path, model_files: Mapping[str, Sequence[Path]],
                  progress: bool = True) -> dict[str, Any]:
    """Compute Fisher information, expected limits and validation metrics of every method.

    An ensemble's prediction is the mean of its members' (log r̂ or t̂); each member's own
    limits and Fisher information give the ensemble spread reported beside them. Every
    unbinned q shares one control variate, the events' mean exact score where the exact likelihood
    exists, else their mean joint score (:func:`~goldmine.inference.methods.joint_score`). Where the
    exact likelihood exists, the validation compares every method's interval ends with it, with
    bootstrap error bars, and lists what fails (:mod:`goldmine.inference.diagnostics`, logged as warnings); the
    calibration closure of every ratio is there too (:mod:`goldmine.inference.calibration`).

    Args:
        config: the validated configuration.
        test_file: event file of the test events (weights sum to the fiducial σ).
        model_files: method name → the model file of each ensemble member.
        progress: unused (kept for the stage's call); the scans log instead.

    Returns:
        dict with "fisher" and "limits" (the documents of :mod:`goldmine.inference.results`,
        validated), "validation" and "workspace" (the pyhf workspace of the histogram).
    """
    from goldmine.ml import SCORE_METHODS
    from goldmine.ml.estimators import evaluate_log_ratio, evaluate_ratio_score, evaluate_score, mean_log_ratio
    from goldmine.ml.models import load_model

    settings = config["inference"]
    luminosity = settings["luminosity"]
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    x = test.observations
    morphed = space.morphing.morph(test.weights)
    grid = analysis_grid(config, space)
    reference = grid.reference
    weights_ref = morphed(reference)
    results: dict[str, methods.MethodResult] = {}
    validation: dict[str, Any] = {}
    # per method, what the bootstrap re-evaluates: per-event log r at given θ (None: rate only), or bins
    log_ratios: dict[str, Any] = {"rate": None}
    bins: dict[str, tuple[np.ndarray, int]] = {}

    exact = None
    reason = exact_module.unavailable_because(config)
    if reason is not None:
        log.info("no exact likelihood: %s", reason)
    else:
        exact = exact_module.from_config(config, names)
        integrals = exact.angular_integrals(x)
        exact_scores = exact.score(x, reference, integrals)
    # The control variate every method shares, zero in expectation: where the exact likelihood is known,
    # the events' mean exact score t(x|θ_ref) = E[t(x,z)|x], the sample's fluctuation as the observables
    # see it (the joint score adds the latent part no method sees: on ee_ww at parton level, where the jet
    # fold hides half of the joint information, its linear term pulled the exact q's minimum to the edge
    # of the grid); otherwise the mean joint score, zero identically.
    joint_scores = exact_scores if exact is not None else methods.joint_score(morphed, reference)
    control = weights_ref @ joint_scores / weights_ref.sum()
    validation["control_variate_mean_joint_score"] = control.tolist()

    results["truth"] = methods.truth(morphed, reference, luminosity)
    results["rate"] = methods.rate(morphed, grid, luminosity)
    histogram = settings["histogram"]
    columns = x[:, [names.index(name) for name in histogram["observables"]]]
    uncertainty = histogram["systematics"]["normalisation"]
    results["histogram"], model = methods.histogram(morphed, columns, histogram["bins"], grid, luminosity,
                                                    uncertainty)
    if uncertainty == 0:  # the bootstrap re-evaluates the Poisson likelihood alone: no systematics
        bins["histogram"] = methods.bin_indices(columns, methods.uniform_edges(columns, histogram["bins"]))
        binned = morphed.binned(*bins["histogram"], luminosity)
        q_numpy = limits.binned_q(binned(grid.points), binned(reference)).reshape(grid.shape)
        validation["pyhf_vs_numpy_histogram_max_abs_q_difference"] = float(
            np.max(np.abs(results["histogram"].q - (q_numpy - q_numpy.min()))))
    for column, name in enumerate(names):
        results[f"histogram_1d:{name}"] = methods.MethodResult(information=methods.histogram_information(
            morphed, x[:, [column]], histogram["bins"], reference, luminosity))

    if exact is not None:
        results["exact"] = methods.exact_likelihood(exact, x, morphed, grid, luminosity, control, integrals)
        log_ratios["exact"] = lambda thetas: exact.log_likelihood_ratio(x, thetas, reference, integrals)
        validation["exact_mean_score_at_reference"] = (weights_ref @ exact_scores / weights_ref.sum()).tolist()
        validation_thetas = space.sample_uniform(50, np.random.default_rng(0))
        true_log_r = exact.log_likelihood_ratio(x, validation_thetas, reference, integrals)
        validation["exact_log_r_variance"] = float(np.mean(np.var(true_log_r, axis=1)))
        validation["exact_score_variance"] = np.var(exact_scores, axis=0).tolist()

    for method, paths in model_files.items():
        members = [load_model(path)[0] for path in paths]
        if method in SCORE_METHODS:
            scores = [evaluate_score(member, x) for member in members]
            results[method] = methods.local_score(method, scores, morphed, grid, luminosity,
                                                  settings["score_histogram"]["bins"])
            if method == "sally":
                mean = np.mean(scores, axis=0)
                bins[method] = methods.bin_indices(mean, methods.quantile_edges(
                    mean, weights_ref, settings["score_histogram"]["bins"]))
            if exact is not None:
                validation[f"{method}_score_mse"] = np.mean((np.mean(scores, axis=0) - exact_scores) ** 2,
                                                            axis=0).tolist()
            continue
        # an estimator's own mean score: zero for an unbiased one, up to the control variate
        validation[f"{method}_mean_score_at_reference"] = np.mean(
            [weights_ref @ evaluate_ratio_score(member, x, reference) / weights_ref.sum() for member in members],
            axis=0).tolist()
        scans = [lambda thetas, member=member: mean_log_ratio(member, x, weights_ref, thetas) for member in members]
        results[method] = methods.learned_ratio(scans, control, morphed, grid, luminosity)
        log_ratios[method] = lambda thetas, members=members: np.mean(
            [evaluate_log_ratio(member, x, thetas) for member in members], axis=0)
        if exact is not None:
            estimated = np.mean([evaluate_log_ratio(m, x, validation_thetas) - evaluate_log_ratio(m, x, reference[None])
                                 for m in members], axis=0)
            validation[f"{method}_log_r_mse"] = float(np.mean((estimated - true_log_r) ** 2))

    closure_at = [name for name in space.benchmark_names if not np.array_equal(space.benchmark(name), reference)]
    thetas = np.array([space.benchmark(name) for name in closure_at])
    validation["calibration"] = {method: calibration.closure(morphed, x, names, thetas, closure_at, log_ratio(thetas),
                                                             reference)
                                 for method, log_ratio in log_ratios.items() if log_ratio is not None}
    failed = diagnostics.fisher_failures(results)
    if exact is not None:
        replicas = diagnostics.bootstrap_methods(results, morphed, grid, luminosity, joint_scores, log_ratios, bins)
        validation["intervals_against_exact"], interval_failures = diagnostics.compare_with_exact(
            results, replicas, space.names)
        failed += interval_failures
    for failure in failed:
        where = f" {failure['confidence_level']}% CL {failure['parameter']}" if failure["parameter"] else ""
        log.warning("FAILED %s%s: %s", failure["method"], where, failure["reason"])
    validation["failed"] = failed
    if settings["intervals"] == "neyman":  # after the diagnostics, which compare the asymptotic intervals
        results |= toys.neyman_results(config, x, names, morphed, grid, results, model_files)
    results = flag_intervals(results, reference, space.names, failed)
    return {"fisher": fisher_document(results, grid, luminosity), "limits": limits_document(results, grid, luminosity),
            "validation": validation, "workspace": dict(model.workspace)}

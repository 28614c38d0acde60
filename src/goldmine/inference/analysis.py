"""Fisher information, expected limits and, on data, observed results of every method on the
test events: the composition of the per-method functions of :mod:`goldmine.inference.methods`
and :mod:`goldmine.inference.observed` that the ``infer`` stage calls.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.exceptions import ConfigError
from goldmine.inference import calibration, coverage, diagnostics, limits, methods, observed, systematics, toys
from goldmine.inference import exact as exact_module
from goldmine.inference import ratio_calibration as ratio_calibration_module
from goldmine.inference.grid import Grid, analysis_grid
from goldmine.inference.results import fisher_document, flag_intervals, limits_document
from goldmine.io import events
from goldmine.physics.finite_differences import Differenced
from goldmine.physics.morphing import Morphed

__all__ = ["run_inference"]

log = logging.getLogger(__name__)

#: the MSE of a learned log r against the exact one is a mean over the first this many test
#: events (generated independently, so any subset is a fair sample): its relative statistical
#: error is about √(2/n) = 1.4% for Gaussian errors, and a flow's 50-θ evaluation costs 3 s, not 20.
MSE_EVENTS = 10_000


def run_inference(config: Mapping[str, Any], test_file: str | Path, model_files: Mapping[str, Sequence[Path]],
                  progress: bool = True, data_file: str | Path | None = None,
                  nuisance_model: str | Path | None = None,
                  calibration_file: str | Path | None = None) -> dict[str, Any]:
    """Compute Fisher information, expected limits and validation metrics of every method, and
    with data its observed results.

    An ensemble's prediction is the mean of its members' (log r̂ or t̂); each member's own
    limits and Fisher information give the ensemble spread reported beside them. Every
    unbinned q shares one control variate, the events' mean exact score where the exact likelihood
    exists, else their mean joint score, zero identically (no centring); a ratio calibrated on
    ``calibration_file`` has its own instead (:mod:`goldmine.inference.ratio_calibration`). Where the
    exact likelihood exists, the validation compares every method's interval ends with it, with
    bootstrap error bars, and lists what fails (:mod:`goldmine.inference.diagnostics`, logged as warnings); the
    calibration closure of every ratio is there too (:mod:`goldmine.inference.calibration`). Without it,
    and without systematics, every method's intervals are compared with the histogram's in the same way
    (``intervals_against_histogram``: width ratio and shift in histogram half-widths, with error bars).

    Args:
        config: the validated configuration.
        test_file: event file of the test events (weights sum to the fiducial σ).
        model_files: method name → the model file of each ensemble member.
        progress: unused (kept for the stage's call); the scans log instead.
        data_file: an event file of data (:func:`goldmine.inference.observed.read_data`): every
            method with expected limits except SALLINO (its binning changes with θ, so it has
            no likelihood of the data) also gives its observed q, best fit and intervals.
        nuisance_model: the per-nuisance ratio networks (:mod:`goldmine.ml.nuisances`) of the shape
            variations: the learned ratios' q is profiled with their ĝ(x) instead of the per-event
            weight factors (which the exact likelihood keeps), and the validation compares the two.
        calibration_file: the ratio training sample, whose events at θ_ref calibrate every learned ratio
            (:mod:`goldmine.inference.ratio_calibration`) when ``inference.ratio_calibration.events`` > 0:
            each ratio's q (scan, bootstrap, closure, data) is then the calibrated ratio's, and the
            validation's ``ratio_calibration`` has its calibration's means.

    Returns:
        dict with "fisher" and "limits" (the documents of :mod:`goldmine.inference.results`,
        validated; limits.json with the ``observed`` block of each method on data),
        "validation" and "workspace" (the pyhf workspace of the histogram).
    """
    from goldmine.ml import SCORE_METHODS
    from goldmine.ml.estimators import LogRatioTable, evaluate_log_ratio, evaluate_ratio_score, evaluate_score
    from goldmine.ml.models import load_model

    settings = config["inference"]
    luminosity = settings["luminosity"]
    calibrating = settings["ratio_calibration"]["events"] > 0 and any(
        method not in SCORE_METHODS for method in model_files)
    if calibrating and calibration_file is None:
        raise ConfigError("config key 'inference.ratio_calibration.events' > 0 calibrates the learned ratios on the "
                          "ratio training sample: give it (goldmine infer --calibration samples/ratio.h5)")
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    x = test.observations
    # read first: a bad data file fails before the scans, not after
    data = None if data_file is None else observed.read_data(data_file, names)
    grid = analysis_grid(config, space)
    x_calibration = None if not calibrating else ratio_calibration_module.calibration_events(
        calibration_file, grid.reference, settings["ratio_calibration"]["events"])
    # morphed to any θ, or (parameters that do not morph) known at benchmarks that include the grid
    space.weights_known_at(grid.points, "goldmine infer (limits over the θ grid)")
    morphed = space.evaluator(test.weights)
    reference = grid.reference
    weights_ref = morphed(reference)
    results: dict[str, methods.MethodResult] = {}
    validation: dict[str, Any] = {}
    # per method, what the bootstrap re-evaluates: per-event log r at given θ (None: rate only), or bins
    log_ratios: dict[str, Any] = {"rate": None}
    bins: dict[str, tuple[np.ndarray, int]] = {}
    # per calibrated method, its per-event control scores t̂ − Ê_cal[t̂] (the bootstrap's, replacing the shared ones)
    own_scores: dict[str, np.ndarray] = {}
    # per method, its observed result from data: each uses the likelihood of its expected limits
    observers: dict[str, Callable[[observed.Data], observed.Observed]] = {
        "rate": lambda data: observed.unbinned(np.zeros((1, len(grid.points))), [data.n_events], morphed, grid,
                                               luminosity)}

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
    # of the grid); otherwise the mean joint score ∇ log w_e − ∇ log σ̂, which the morphing makes zero
    # identically (Σ_e ∇w_e = ∇σ̂): no centring.
    control = np.zeros(len(reference)) if exact is None else weights_ref @ exact_scores / weights_ref.sum()
    validation["control_variate_mean_joint_score"] = control.tolist()

    nuisances = systematics.Systematics.from_config(
        settings["systematics"], {name: x[:, column] for column, name in enumerate(names)},
        systematics.weight_variations(test_file, weights_ref) if settings["systematics"]["weights"] else ())
    if nuisances.any:
        log.info("nuisance parameters: %s", ", ".join(systematics.nuisance_names(nuisances)))
    learned_nuisances = nuisances
    if nuisance_model is not None and nuisances.shapes:
        learned_nuisances, validation["nuisance_ratios"] = _learned_shapes(nuisance_model, x, weights_ref, nuisances)
    results["truth"] = methods.truth(morphed, reference, luminosity, nuisances)
    results["rate"] = methods.rate(morphed, grid, luminosity, nuisances)
    histogram = settings["histogram"]
    histogram_columns = [names.index(name) for name in histogram["observables"]]
    columns = x[:, histogram_columns]
    histogram_edges = methods.uniform_edges(columns, histogram["bins"])
    histogram_bins = methods.bin_indices(columns, histogram_edges)
    if space.morphs:
        results["histogram"], model = methods.histogram(morphed, columns, histogram["bins"], grid, luminosity,
                                                        nuisances)
        observers["histogram"] = lambda data: observed.histogram(
            morphed, columns, data.observations[:, histogram_columns], data.counts, histogram["bins"], grid,
            luminosity, nuisances)
    else:
        # The pyhf model's modifiers are the morphing's components: without them, the same Poisson
        # likelihood (without systematics) from the weights on the grid's benchmarks.
        if nuisances.any:
            raise ConfigError(f"inference.systematics: the histogram's nuisance parameters are profiled in the pyhf "
                              f"model, which needs morphing; the parameters {list(space.names)} do not morph")
        results["histogram"], model = _grid_histogram(morphed, columns, histogram_bins, histogram["bins"], grid,
                                                      luminosity), None
        observers["histogram"] = lambda data: observed.binned(
            histogram_bins[0], methods.bin_indices(data.observations[:, histogram_columns], histogram_edges)[0],
            histogram_bins[1], data.counts, morphed, grid, luminosity)
    if not nuisances.any:  # the bootstrap re-evaluates the Poisson likelihood alone: no systematics
        bins["histogram"] = histogram_bins
        binned = morphed.binned(*bins["histogram"], luminosity)
        q_numpy = limits.binned_q(binned(grid.points), binned(reference)).reshape(grid.shape)
        validation["pyhf_vs_numpy_histogram_max_abs_q_difference"] = float(
            np.max(np.abs(results["histogram"].q - (q_numpy - q_numpy.min()))))
    for column, name in enumerate(names):
        values = x[:, [column]]
        profiled = None
        if nuisances.any:
            profiled = methods.profiled_histogram_information(morphed, values, histogram["bins"], reference,
                                                              luminosity, nuisances)
        results[f"histogram_1d:{name}"] = methods.MethodResult(
            information=methods.histogram_information(morphed, values, histogram["bins"], reference, luminosity),
            profiled_information=profiled)

    if exact is not None:
        results["exact"] = methods.exact_likelihood(exact, x, morphed, grid, luminosity, control, integrals,
                                                    nuisances=nuisances)
        log_ratios["exact"] = lambda thetas: exact.log_likelihood_ratio(x, thetas, reference, integrals)
        observers["exact"] = lambda data: _observed_unbinned(
            lambda thetas, x_data: exact.log_likelihood_ratio(x_data, thetas, reference,
                                                              exact.angular_integrals(x_data)),
            data, morphed, grid, luminosity)
        validation["exact_mean_score_at_reference"] = (weights_ref @ exact_scores / weights_ref.sum()).tolist()
        validation_thetas = space.sample_uniform(50, np.random.default_rng(0))
        true_log_r = exact.log_likelihood_ratio(x, validation_thetas, reference, integrals)
        validation["exact_log_r_variance"] = float(np.mean(np.var(true_log_r, axis=1)))
        validation["exact_score_variance"] = np.var(exact_scores, axis=0).tolist()

    # the benchmarks other than θ_ref: where every ratio's closure is checked
    closure_at = [name for name in space.benchmark_names if not np.array_equal(space.benchmark(name), reference)]
    closure_thetas = np.array([space.benchmark(name) for name in closure_at])
    for method, paths in model_files.items():
        members = [load_model(path)[0] for path in paths]
        if method in SCORE_METHODS:
            scores = [evaluate_score(member, x) for member in members]
            results[method] = methods.local_score(method, scores, morphed, grid, luminosity,
                                                  settings["score_histogram"]["bins"], nuisances)
            if method == "sally":
                mean = np.mean(scores, axis=0)
                edges = methods.quantile_edges(mean, weights_ref, settings["score_histogram"]["bins"])
                bins[method] = methods.bin_indices(mean, edges)
                observers[method] = lambda data, members=members, edges=edges: observed.binned(
                    bins["sally"][0], methods.bin_indices(np.mean([evaluate_score(m, data.observations)
                                                                   for m in members], axis=0), edges)[0],
                    bins["sally"][1], data.counts, morphed, grid, luminosity)
            if exact is not None:
                validation[f"{method}_score_mse"] = np.mean((np.mean(scores, axis=0) - exact_scores) ** 2,
                                                            axis=0).tolist()
            continue
        test_scores = np.mean([evaluate_ratio_score(member, x, reference) for member in members], axis=0)
        # an estimator's own mean score: zero for an unbiased one, up to the control variate
        validation[f"{method}_mean_score_at_reference"] = (weights_ref @ test_scores / weights_ref.sum()).tolist()
        # the scan, the bootstrap and the calibration ask for many of the same θ: each is evaluated once
        tables = [LogRatioTable(member, x) for member in members]
        normaliser = _no_normaliser
        method_control = control
        if x_calibration is not None:
            ratio_calibration = ratio_calibration_module.RatioCalibration(
                [LogRatioTable(member, x_calibration) for member in members],
                np.mean([evaluate_ratio_score(member, x_calibration, reference) for member in members], axis=0),
                reference)
            normaliser = ratio_calibration.log_normaliser
            method_control = ratio_calibration.control(test_scores, weights_ref)
            own_scores[method] = test_scores - ratio_calibration.mean_score
        scans = [lambda thetas, table=table, k=k, normaliser=normaliser: table.mean(thetas, weights_ref)
                 - normaliser(thetas, k) for k, table in enumerate(tables)]
        results[method] = methods.learned_ratio(scans, method_control, morphed, grid, luminosity, learned_nuisances)
        log_ratios[method] = lambda thetas, tables=tables, normaliser=normaliser: (
            np.mean([table(thetas) for table in tables], axis=0) - normaliser(thetas)[:, None])
        observers[method] = lambda data, members=members, normaliser=normaliser: _observed_unbinned(
            lambda thetas, x_data: np.mean([evaluate_log_ratio(m, x_data, thetas) for m in members], axis=0)
            - normaliser(thetas)[:, None], data, morphed, grid, luminosity)
        if x_calibration is not None:
            validation.setdefault("ratio_calibration", {})[method] = _calibration_record(
                ratio_calibration, method_control, grid.points[np.argmin(results[method].q)],
                dict(zip(closure_at, closure_thetas)))
        if exact is not None:
            subset = x[:MSE_EVENTS]
            estimated = np.mean([evaluate_log_ratio(m, subset, validation_thetas)
                                 - evaluate_log_ratio(m, subset, reference[None]) for m in members], axis=0)
            validation[f"{method}_log_r_mse"] = float(np.mean((estimated - true_log_r[:, :MSE_EVENTS]) ** 2))

    validation["calibration"] = {method: calibration.closure(morphed, x, names, closure_thetas, closure_at,
                                                             log_ratio(closure_thetas), reference)
                                 for method, log_ratio in log_ratios.items() if log_ratio is not None}
    failed = diagnostics.fisher_failures(results)
    if exact is not None:
        replicas = diagnostics.bootstrap_methods(results, morphed, grid, luminosity, exact_scores, log_ratios, bins,
                                                 own_scores=own_scores)
        validation["intervals_against_exact"], interval_failures = diagnostics.compare_with_exact(
            results, replicas, space.names)
        failed += interval_failures
    elif "histogram" in bins:
        # zero control variate, as for the nominal q: a replica's own mean joint score is zero too
        no_control = np.zeros((len(x), len(reference)))
        validation["intervals_against_histogram"] = _against_histogram(
            results, diagnostics.bootstrap_methods(results, morphed, grid, luminosity, no_control, log_ratios, bins,
                                                   own_scores=own_scores), space.names)
    for failure in failed:
        where = f" {failure['confidence_level']}% CL {failure['parameter']}" if failure["parameter"] else ""
        log.warning("FAILED %s%s: %s", failure["method"], where, failure["reason"])
    validation["failed"] = failed
    if settings["intervals"] == "neyman":  # after the diagnostics, which compare the asymptotic intervals
        results |= toys.neyman_results(config, x, names, morphed, grid, results, model_files)
    results = flag_intervals(results, reference, space.names, failed)
    observed_results, data_meta = None, None
    if data is not None:
        observed_results = {method: observe(data) for method, observe in observers.items() if method in results}
        data_meta = {"file": str(data_file), "events": data.n_events}
        if settings["band"]["toys"]:
            observed_results = _with_bands(config, observed_results, x, names, morphed, grid, model_files)
        for method, result in observed_results.items():
            log.info("%s on %s: best fit %s", method, data_file, dict(zip(space.names, result.best_fit.round(4))))
    return {"fisher": fisher_document(results, grid, luminosity),
            "limits": limits_document(results, grid, luminosity, observed_results, data_meta),
            "validation": validation, "workspace": None if model is None else dict(model.workspace)}


def _calibration_record(ratio_calibration: ratio_calibration_module.RatioCalibration, control: np.ndarray,
                        minimum: np.ndarray, benchmarks: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """What validation.json keeps of one ratio's calibration: its estimator's mean score over the calibration
    events (a bias stays visible there) with its standard error, the control variate, and the log normaliser
    at q's minimum and at the benchmarks (far from θ_ref, where a mis-normalised ratio shows)."""
    normaliser = ratio_calibration.log_normaliser
    return {"events": ratio_calibration.n_events,
            "mean_score_calibration": ratio_calibration.mean_score.tolist(),
            "mean_score_calibration_error": ratio_calibration.mean_score_error.tolist(),
            "control_variate": control.tolist(),
            "minimum": minimum.tolist(),
            "log_normaliser_at_minimum": float(normaliser(minimum)[0]),
            "log_normaliser_at_benchmarks": {name: float(normaliser(theta)[0]) for name, theta in benchmarks.items()}}


def _no_normaliser(thetas: np.ndarray, member: int | None = None) -> np.ndarray:
    """An uncalibrated ratio's log normaliser: zero at every θ."""
    return np.zeros(len(np.atleast_2d(thetas)))


def _grid_histogram(events: Differenced, values: np.ndarray, binned_values: tuple[np.ndarray, int], bins: int,
                    grid: Grid, luminosity: float) -> methods.MethodResult:
    """The histogram method of :func:`goldmine.inference.methods.histogram` without pyhf: its
    equal-width bins (``binned_values``: each event's bin and their number, of ``bins`` per observable)
    and Poisson likelihood, ν_b(θ) from the weights at the grid's benchmarks."""
    index, n_bins = binned_values
    binned = events.binned(index, n_bins, luminosity)
    return methods.MethodResult.from_q(
        grid, limits.binned_q(binned(grid.points), binned(grid.reference)),
        information=methods.histogram_information(events, values, bins, grid.reference, luminosity))


def _against_histogram(results: Mapping[str, methods.MethodResult],
                       replicas: Mapping[str, Mapping[str, np.ndarray]], names: Sequence[str]) -> dict[str, Any]:
    """Without an exact likelihood, every method's intervals against the configured histogram's.

    Whether learning beats the histogram is the question this answers, so being narrower is
    no failure here; the error bars are those of :func:`~goldmine.inference.diagnostics.compare_with_exact`
    (the bootstrap over the test events, shared with the histogram, plus the error of the
    ensemble mean), and the histogram's own ends are named ``histogram_low`` and ``histogram_high``.
    """
    comparison, _ = diagnostics.compare_with_exact(results, replicas, names, exact="histogram")
    return {method: {label: {name: {key.replace("exact_", "histogram_"): value for key, value in numbers.items()}
                             for name, numbers in parameters.items()}
                     for label, parameters in levels.items()}
            for method, levels in comparison.items()}


def _learned_shapes(path: str | Path, x: np.ndarray, weights: np.ndarray, nuisances: systematics.Systematics
                    ) -> tuple[systematics.Systematics, dict[str, Any]]:
    """The systematics with each shape variation's per-event factors replaced by its network's ĝ(x), and per
    shape variation how ĝ compares with the factors on the test events: their weighted means (ĝ = E[f | x]
    keeps the rate effect) and the weighted RMS of ĝ − f (for a variation of x alone, the network's error).

    Raises:
        EventFileError: when the model's nuisance parameters are not the analysis's shape variations.
    """
    from goldmine.exceptions import EventFileError
    from goldmine.ml.nuisances import evaluate_nuisance_ratios, load_nuisance_model

    model, _ = load_nuisance_model(path)
    wanted = [shape.name for shape in nuisances.shapes]
    if sorted(model.names) != sorted(wanted):
        raise EventFileError(f"{path}: networks of the nuisance parameters {list(model.names)}, but "
                             f"inference.systematics has the shape variations {wanted}")
    ratios = evaluate_nuisance_ratios(model, x)
    probabilities = weights / weights.sum()
    comparison = {}
    for shape in nuisances.shapes:
        learned = dict(zip(("up", "down"), ratios[shape.name]))
        comparison[shape.name] = {
            direction: {"mean_learned": float(probabilities @ learned[direction]),
                        "mean_per_event": float(probabilities @ factors),
                        "rms_difference": float(np.sqrt(probabilities @ (learned[direction] - factors) ** 2))}
            for direction, factors in (("up", shape.up), ("down", shape.down))}
    shapes = tuple(systematics.ShapeVariation(shape.name, *ratios[shape.name]) for shape in nuisances.shapes)
    return dataclasses.replace(nuisances, shapes=shapes), comparison


def _with_bands(config: Mapping[str, Any], observed_results: Mapping[str, observed.Observed], x: np.ndarray,
                names: Sequence[str], morphed: Morphed, grid: Grid, model_files: Mapping[str, Sequence[Path]]
                ) -> dict[str, observed.Observed]:
    """The observed results with the expected band of every method that has toys (``inference.band``)."""
    settings = config["inference"]["band"]
    rng = np.random.default_rng(settings["seed"])
    likelihoods = toys.toy_likelihoods(config, x, names, morphed, grid, model_files)
    # the rate alone: every test event in one row whose ℓ is zero
    likelihoods["rate"] = coverage.ToyLikelihood(np.zeros((1, len(grid.points))), morphed.total(grid.points),
                                                 config["inference"]["luminosity"], np.zeros(len(x), dtype=np.int64))
    return {method: dataclasses.replace(result, band=toys.expected_band(likelihoods[method], morphed, grid,
                                                                        settings["toys"], rng))
            if method in likelihoods else result for method, result in observed_results.items()}


def _observed_unbinned(log_ratio: Callable[[np.ndarray, np.ndarray], np.ndarray], data: observed.Data,
                       morphed: Morphed, grid: Grid, luminosity: float) -> observed.Observed:
    """An unbinned method on data: log r (θ of shape (k, p), x → shape (k, n)) tabulated on the data's events."""
    seen = data.counts > 0
    x_data = data.observations[seen]
    table = coverage.log_ratio_table(lambda thetas: log_ratio(thetas, x_data), grid.points, len(x_data))
    return observed.unbinned(table, data.counts[seen], morphed, grid, luminosity)

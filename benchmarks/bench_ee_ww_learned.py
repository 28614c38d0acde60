"""Learned vs the best 1-D histogram vs the truth bound at detector level, with error bars (docs/ee_ww.md).

Run as ``python benchmarks/bench_ee_ww_learned.py [--directory DIR] [--events-per-chunk N]
[--ensemble K] [--methods sally ...] [--epochs E]``. It runs the stages of ``config/ee_ww.yaml``
(generate, Pythia 8 shower, the LEP-like detector with the semileptonic WW reconstruction, mine,
train ``K`` independently seeded members of each method, infer) from Python, keeping every
stage's output in ``DIR`` so that a rerun redoes only what is missing, and prints (and writes
to ``DIR/summary.json``):

- σ = 1/√I_ii (one parameter, the others fixed) of the truth bound, of the cos Θ_W histogram and
  of SALLY's ensemble-mean score used as an optimal observable (:func:`linear_information`), their
  ratios with the bootstrap over the test events and the spread of single members, and the
  score histogram's σ as binned and with its few-events-per-bin bias removed, for 4, 8, 12 bins
  per component (:func:`binned_information`);
- the one-parameter 68% and 95% CL intervals (the others at the SM, as LEP quoted them) of the
  histogram and of SALLY (q as the workflow computes it, on 161 points per line), their width
  ratio with the bootstrap, the members' spread, and the width over the truth bound's;
- each method's profiled intervals against the histogram's
  (``validation.intervals_against_histogram`` of ``goldmine infer``, whose learned ratios are
  calibrated as ``inference.ratio_calibration`` says; ``DIR/results`` holds its q grids for
  ``scripts/one_parameter_intervals.py``);
- the 1-D histogram of every observable ranked by its Fisher information;
- for a ratio method (``--methods sally alices``), where its q goes wrong (:func:`ratio_diagnosis`),
  and its one-parameter intervals once normalised on the training sample's SM events and given a
  control variate for the test sample's fluctuation (:func:`ratio_calibration`);
- the wall time of each stage.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from goldmine import api
from goldmine.inference import diagnostics, fisher, limits, methods
from goldmine.inference.grid import analysis_grid
from goldmine.inference.methods import CONFIDENCE_LEVELS
from goldmine.inference.ratio_calibration import RatioCalibration, calibration_events
from goldmine.io import events
from goldmine.ml.estimators import LogRatioTable, evaluate_ratio_score, evaluate_score, mean_log_ratio
from goldmine.ml.models import load_model

REPOSITORY = Path(__file__).resolve().parents[1]


def _timed(label: str, times: dict[str, float], output: Path, function, *arguments, **keywords):
    """Run a stage unless its output exists (a rerun redoes only what is missing)."""
    if output.exists():
        return None
    start = time.perf_counter()
    result = function(*arguments, **keywords)
    times[label] = times.get(label, 0.0) + time.perf_counter() - start
    return result


def configure(events_per_chunk: int, ensemble: int, methods: list[str], epochs: int | None) -> dict:
    config = api.load_config(REPOSITORY / "config" / "ee_ww.yaml")
    config["generation"]["events_per_chunk"] = events_per_chunk
    config["training"]["ensemble"] = ensemble
    config["training"]["methods"] = methods
    if epochs is not None:
        for family in ("local_score", "ratio"):
            config["training"][family]["epochs"] = epochs
    return config


def run(config: dict, directory: Path, n_replicates: int = 100, n_axis: int = 161
        ) -> tuple[dict, dict, dict[str, float]]:
    times: dict[str, float] = {}
    setup = directory / "setup.h5"
    _timed("setup", times, setup, api.setup, config, setup)
    chunks = []
    for chunk in range(config["generation"]["chunks"]):
        lhe, particles = directory / f"chunk{chunk}.lhe.gz", directory / f"chunk{chunk}.particles.h5"
        chunks.append(directory / f"chunk{chunk}.h5")
        _timed("generate", times, lhe, api.generate, config, setup, lhe, chunk)
        _timed("shower", times, particles, api.shower_events, config, lhe, particles, chunk)
        _timed("detect", times, chunks[-1], api.detect, config, setup, particles, chunks[-1], chunk)
    merged = directory / "events.h5"
    _timed("merge", times, merged, api.merge, chunks, merged)
    samples_directory = directory / "samples"
    _timed("mine", times, samples_directory / "test.h5", api.mine, config, merged, samples_directory)
    samples = {family: samples_directory / f"{family}.h5" for family in ("local_score", "ratio", "test")}
    models = []
    for method in config["training"]["methods"]:
        family = "local_score" if method in ("sally", "sallino") else "ratio"
        for member in range(config["training"]["ensemble"]):
            models.append(directory / "models" / f"{method}_{member}.pt")
            _timed(f"train {method}", times, models[-1], api.train, config, method, samples[family], setup,
                   models[-1], member)
    start = time.perf_counter()
    # the ratio sample's SM events calibrate the learned ratios (inference.ratio_calibration of ee_ww.yaml)
    result = api.infer(config, samples["test"], models, directory / "results", calibration=samples["ratio"])
    times["infer"] = time.perf_counter() - start
    start = time.perf_counter()
    sally = [path for path in models if path.name.startswith("sally_")]
    scans = one_parameter(config, samples["test"], sally, n_replicates, n_axis)
    times["one-parameter scans"] = time.perf_counter() - start
    for method in config["training"]["methods"]:
        if method not in ("sally", "sallino"):
            members = [path for path in models if path.name.startswith(f"{method}_")]
            scans[f"diagnosis {method}"] = ratio_diagnosis(config, samples["test"], members)
            start = time.perf_counter()
            scans[f"calibration {method}"] = ratio_calibration(config, samples["test"], samples["ratio"], members,
                                                               sally)
            times[f"calibration {method}"] = time.perf_counter() - start
    return result, scans, times


def ratio_diagnosis(config: dict, test_file: Path, model_files: list[Path]) -> dict:
    """Where a learned ratio's q goes wrong: its own mean score at the SM (zero for a correct ratio),
    and its minimum and one-parameter 68% intervals with the shared control variate (the workflow's
    q) and with that mean score removed instead (which hides a bias linear in θ, leaving the rest)."""
    space = events.read_parameter_space(test_file)
    test = events.read(test_file)
    x = test.observations
    morphed = space.require_morphing("the benchmark's diagnosis").morph(test.weights)
    grid = analysis_grid(config, space)
    weights_ref = morphed(grid.reference)
    members = [load_model(path)[0] for path in model_files]
    own = np.mean([weights_ref @ evaluate_ratio_score(m, x, grid.reference) for m in members],
                  axis=0) / weights_ref.sum()
    scans = [lambda thetas, m=m: mean_log_ratio(m, x, weights_ref, thetas) for m in members]
    centre = tuple(int(np.argmin(np.abs(axis - value))) for axis, value in zip(grid.axes, grid.reference))
    diagnosis: dict = {"own_mean_score": own.tolist()}
    # Without an exact likelihood the shared control variate is the events' mean joint score, zero.
    for label, control in (("shared control variate", np.zeros(len(grid.reference))),
                           ("own mean score removed", own)):
        q = methods.learned_ratio(scans, control, morphed, grid, config["inference"]["luminosity"]).q
        lowest = np.unravel_index(np.argmin(q), q.shape)
        ends = []
        for k, axis in enumerate(grid.axes):
            line = q[centre[:k] + (slice(None),) + centre[k + 1:]]
            interval = limits.interval_below(axis, line - line.min(), 1.0)
            ends.append([interval.low, interval.high])
        diagnosis[label] = {"minimum_at": [float(axis[i]) for axis, i in zip(grid.axes, lowest)],
                            "q_reference_above_minimum": float(q[centre] - q.min()), "one_parameter_68": ends}
    return diagnosis


def ratio_calibration(config: dict, test_file: Path, ratio_file: Path, model_files: list[Path],
                      score_files: list[Path] = (), n_axis: int = 81) -> dict:
    """One-parameter intervals of a learned ratio (the ensemble mean of log r̂) with two corrections that
    use the events drawn at θ_ref in the training sample (``y = 1``: 100 000 here, independent of the test
    events), each separately and together:

    - *normalised*: log r̂(x|θ) − log Ê_cal[r̂(x|θ)/r̂(x|θ_ref)], as the true ratio has E_ref[r(x|θ)] = 1 for
      every θ (and r(x|θ_ref) = 1);
    - *test − cal control*: the control variate (θ − θ_ref)·(Ê_test[t̂] − Ê_cal[t̂]) of the estimator's
      score t̂ at θ_ref, zero in expectation: it removes the test sample's own fluctuation of the mean
      score, which the joint-score control cannot where σ is the test events' own total (there it is
      zero identically), and leaves the estimator's bias Ê_cal[t̂] in place.

    Also q at the degenerate corner (−0.2, +0.4, +0.2) and at (−0.2, −0.08, +0.2) above the SM, the
    standard error of the test events' mean score, and the mean over the test events of each SALLY
    member's t̂ in ``score_files`` (another estimator's view of the same fluctuation).
    """
    space = events.read_parameter_space(test_file)
    test = events.read(test_file)
    x = test.observations
    morphed = space.require_morphing("the benchmark's calibration").morph(test.weights)
    reference = analysis_grid(config, space).reference
    weights_ref = morphed(reference)
    x_cal = calibration_events(ratio_file, reference, config["inference"]["ratio_calibration"]["events"])
    members = [load_model(path)[0] for path in model_files]
    own_test = np.mean([weights_ref @ evaluate_ratio_score(m, x, reference) for m in members],
                       axis=0) / weights_ref.sum()
    # the workflow's calibration (goldmine.inference.ratio_calibration), here on one-parameter lines
    calibration = RatioCalibration([LogRatioTable(m, x_cal) for m in members],
                                   np.mean([evaluate_ratio_score(m, x_cal, reference) for m in members], axis=0),
                                   reference)
    own_cal, log_normaliser = calibration.mean_score, calibration.log_normaliser

    def mean_log_r(thetas: np.ndarray) -> np.ndarray:
        return np.mean([mean_log_ratio(m, x, weights_ref, thetas) for m in members], axis=0)

    corners = np.array([[-0.2, 0.4, 0.2], [-0.2, -0.08, 0.2]])
    score_test = evaluate_ratio_score(members[0], x, reference)
    spread = np.sqrt(weights_ref**2 @ (score_test - own_test) ** 2) / weights_ref.sum()
    result: dict = {"n_calibration": len(x_cal), "own_mean_score_test": own_test.tolist(),
                    "own_mean_score_test_error": spread.tolist(),
                    "sally_mean_score_test": [(weights_ref @ evaluate_score(load_model(path)[0], x)
                                               / weights_ref.sum()).tolist() for path in score_files],
                    "own_mean_score_calibration": own_cal.tolist(),
                    "own_mean_score_calibration_error": calibration.mean_score_error.tolist(),
                    "log_normaliser_at_corners": log_normaliser(corners).tolist()}
    for k, name in enumerate(space.names):
        low, high = space.ranges[k]
        axis = np.linspace(low, high, n_axis)
        points = np.vstack([np.tile(reference, (n_axis, 1)), corners])
        points[:n_axis, k] = axis
        centre = int(np.argmin(np.abs(axis - reference[k])))
        raw, normaliser = mean_log_r(points), log_normaliser(points)
        control = (points - reference) @ (own_test - own_cal)
        for label, centred in (("shared control variate", raw), ("test - cal control", raw - control),
                               ("normalised", raw - normaliser), ("normalised, test - cal control",
                                                                  raw - normaliser - control)):
            q = methods.profiled_unbinned_q(morphed, points, reference, centred, config["inference"]["luminosity"])
            line = q[:n_axis] - q[:n_axis].min()
            entry = result.setdefault(label, {"corners_above_reference": (q[n_axis:] - q[centre]).tolist()})
            entry[name] = {cl: list(_ends(axis, line, threshold)) for cl, threshold in _thresholds().items()}
    return result


def _ends(axis: np.ndarray, q: np.ndarray, threshold: float) -> tuple[float, float]:
    profile, _ = limits.profile_lines([axis], q)[0]  # as diagnostics.bootstrap_intervals does for the replicas
    interval = limits.interval_below(axis, profile, threshold)
    return (np.nan if interval.low is None else interval.low, np.nan if interval.high is None else interval.high)


def one_parameter(config: dict, test_file: Path, model_files: list[Path], n_replicates: int, n_axis: int) -> dict:
    """One-parameter intervals (the others at the SM) of the cos Θ_W histogram, of SALLY from each
    member's score and from the ensemble mean score, and the truth bound, with a bootstrap over
    the test events (the same Poisson counts for every method, seed 0).

    Returns:
        label → method → ends, nominal shape (p, 2) and replicas (R, p, 2); "sigma" → method →
        (nominal (p,), replicas (R, p)), σ = 1/√I_ii of the parton-level truth information and of
        the linear statistics of the histogram and of each SALLY score (:func:`linear_information`);
        "sally_binned_sigma": bins per component → (bias removed? → σ) of the histogram of the
        ensemble-mean score, binned as the workflow bins it (:func:`binned_information`).
    """
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    x = test.observations
    morphed = space.require_morphing("the benchmark's one-parameter scans").morph(test.weights)
    grid = analysis_grid(config, space)
    reference, luminosity = grid.reference, config["inference"]["luminosity"]
    weights_ref = morphed(reference)
    column = x[:, [names.index("cos_theta_w")]]
    binnings = {"histogram": methods.bin_indices(column, methods.uniform_edges(column, config["inference"][
        "histogram"]["bins"]))}
    scores = [evaluate_score(load_model(path)[0], x) for path in model_files]
    bins = config["inference"]["score_histogram"]["bins"]
    for label, score in [(f"sally_{m}", s) for m, s in enumerate(scores)] + [("sally", np.mean(scores, axis=0))]:
        binnings[label] = methods.bin_indices(score, methods.quantile_edges(score, weights_ref, bins))
    # finer than the inference grid: the 68% CL interval of Δg₁ᶻ spans 4 of its 21 points
    axes = [np.linspace(low, high, n_axis) for low, high in space.ranges]
    lines = [np.repeat(reference[None], n_axis, axis=0) for _ in axes]
    for k, axis in enumerate(axes):
        lines[k][:, k] = axis
    result: dict = {label: {} for label in _thresholds()}
    counts = np.random.default_rng(0).poisson(1.0, size=(n_replicates, len(x))).astype(float)
    for method, (index, n_bins) in binnings.items():
        paths = [(axis, diagnostics.binned_path_q(morphed, line, index, n_bins, reference, luminosity))
                 for axis, line in zip(axes, lines)]
        replicas = diagnostics.bootstrap_intervals(paths, len(x), n_replicates)
        for label, threshold in _thresholds().items():
            nominal = np.array([_ends(axis, path_q(np.ones((1, len(x))))[0], threshold) for axis, path_q in paths])
            result[label][method] = (nominal, replicas[label])
    gradients = morphed.gradient(reference)
    bases = {"truth": None, "histogram": _indicators(*binnings["histogram"])}
    bases |= {f"sally_{m}": _with_constant(score) for m, score in enumerate(scores)}
    bases["sally"] = _with_constant(np.mean(scores, axis=0))
    result["sigma"] = {}
    for method, basis in bases.items():
        def sigma(multipliers: np.ndarray, basis=basis) -> np.ndarray:
            if basis is None:
                information = fisher.truth_information(multipliers * weights_ref, multipliers[:, None] * gradients,
                                                       luminosity)
            else:
                information = linear_information(multipliers * weights_ref, multipliers[:, None] * gradients, basis,
                                                 luminosity)
            return 1 / np.sqrt(np.diag(information))

        result["sigma"][method] = (sigma(np.ones(len(x))), np.array([sigma(c) for c in counts]))
    # the score histogram's information against its bins per component: biased up where bins hold few events
    result["sally_binned_sigma"] = {}
    mean = np.mean(scores, axis=0)
    for n_per_component in sorted({4, bins, 12}):
        index, n_bins = methods.bin_indices(mean, methods.quantile_edges(mean, weights_ref, n_per_component))
        result["sally_binned_sigma"][n_per_component] = {
            corrected: 1 / np.sqrt(np.diag(binned_information(weights_ref, gradients, index, n_bins, luminosity,
                                                               corrected))) for corrected in (False, True)}
    result["names"] = space.names
    return result


def _with_constant(score: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(score)), score])


def _indicators(index: np.ndarray, n_bins: int) -> np.ndarray:
    basis = np.zeros((len(index), n_bins))
    basis[np.arange(len(index)), index] = 1
    return basis[:, basis.any(axis=0)]


def linear_information(weights: np.ndarray, gradients: np.ndarray, basis: np.ndarray, luminosity: float
                       ) -> np.ndarray:
    """Information of the sums Σ_events f_i(x) over the observed events, L Gᵀ M⁻¹ G.

    G_ij = Σ_e f_i ∂_j w_e and M = Σ_e w_e f fᵀ are the derivative of the sums' means and their
    covariance (a Poisson process: E[Σ f] = L∫dσ f, Cov = L∫dσ f fᵀ). With bin indicators it is
    the histogram's information; with f = (1, t̂) it is the information of the learned score as an
    optimal observable (LEP's method), a lower bound on what its full distribution holds, linear
    in the events (no binning, so no bias from few events per bin).
    """
    g = basis.T @ gradients
    m = basis.T @ (weights[:, None] * basis)
    return luminosity * g.T @ np.linalg.solve(m, g)


def binned_information(weights: np.ndarray, gradients: np.ndarray, index: np.ndarray, n_bins: int,
                       luminosity: float, corrected: bool) -> np.ndarray:
    """Histogram information L Σ_b ∂σ_b ∂σ_bᵀ/σ_b of Monte Carlo events, optionally less its bias.

    A bin's ∂σ_b, a sum of event weight derivatives, carries the variance Σ_e ∂w_e ∂w_eᵀ, which
    the square adds on average: subtracting it removes the leading bias of bins with few events.
    """
    basis = _indicators(index, n_bins)
    sigma, derivative = basis.T @ weights, basis.T @ gradients
    information = luminosity * (derivative.T / sigma) @ derivative
    if corrected:
        variance = np.einsum("eb,ei,ej->bij", basis, gradients, gradients)
        information = information - luminosity * np.einsum("bij,b->ij", variance, 1 / sigma)
    return information


def _thresholds() -> dict[str, float]:
    """Wilks' one-parameter thresholds of the confidence levels."""
    return {label: float(chi2.ppf(level, df=1)) for label, level in CONFIDENCE_LEVELS.items()}


def _width(ends: np.ndarray) -> np.ndarray:
    return ends[..., 1] - ends[..., 0]


def report(result: dict, scans: dict, times: dict[str, float]) -> dict:
    """Print the comparison and return its numbers (for the docs)."""
    fisher_document = result["fisher"]["methods"]
    names = scans["names"]
    summary: dict = {"one_parameter": {}, "fisher_sigma": {}, "profiled": {}}
    truth = np.diag(np.asarray(fisher_document["truth"]["matrix"]))
    print("1-D histograms by Fisher information (I_ii / I_truth,ii):")
    ranked = sorted((key for key in fisher_document if key.startswith("histogram_1d:")),
                    key=lambda key: -np.sum(np.diag(np.asarray(fisher_document[key]["matrix"])) / truth))
    for key in ranked:
        print(f"  {key:32s}", np.round(np.diag(fisher_document[key]["matrix"]) / truth, 3).tolist())
    sigma = scans["sigma"]
    n_members = sum(key.startswith("sally_") for key in sigma)
    (histogram_sigma, histogram_replicas), (truth_sigma, truth_replicas) = sigma["histogram"], sigma["truth"]
    ensemble_sigma, ensemble_replicas = sigma["sally"]
    members = np.array([sigma[f"sally_{m}"][0] for m in range(n_members)]) / histogram_sigma
    fisher_summary = {
        "truth": truth_sigma, "histogram": histogram_sigma, "sally": ensemble_sigma,
        "sally_over_histogram": ensemble_sigma / histogram_sigma,
        "sally_over_histogram_bootstrap": np.std(ensemble_replicas / histogram_replicas, axis=0),
        "member_over_histogram": members.mean(axis=0),
        "member_over_histogram_spread": members.std(axis=0, ddof=1),
        "sally_over_truth": ensemble_sigma / truth_sigma,
        "sally_over_truth_bootstrap": np.std(ensemble_replicas / truth_replicas, axis=0),
        "histogram_over_truth": histogram_sigma / truth_sigma}
    for n, both in scans["sally_binned_sigma"].items():
        for corrected, value in both.items():
            key = f"sally_binned_{n}{'_corrected' if corrected else ''}_over_histogram"
            fisher_summary[key] = value / histogram_sigma
    summary["fisher_sigma"] = {key: value.tolist() for key, value in fisher_summary.items()}
    print("Fisher σ = 1/√I_ii (others fixed); SALLY: the ensemble-mean score as a linear statistic:")
    for key, value in fisher_summary.items():
        print(f"  {key:40s}", np.round(value, 4).tolist())
    for label, threshold in _thresholds().items():
        histogram, histogram_replicas = scans[label]["histogram"]
        ensemble, ensemble_replicas = scans[label]["sally"]
        truth_width = 2 * np.sqrt(threshold) * truth_sigma
        truth_width_replicas = 2 * np.sqrt(threshold) * truth_replicas
        member_ratios = np.array([_width(scans[label][f"sally_{m}"][0]) / _width(histogram) for m in range(n_members)])
        entry = {
            "histogram_ends": histogram.tolist(), "sally_ends": ensemble.tolist(), "truth_width": truth_width.tolist(),
            "sally_over_histogram": (_width(ensemble) / _width(histogram)).tolist(),
            "sally_over_histogram_bootstrap": np.nanstd(_width(ensemble_replicas) / _width(histogram_replicas),
                                                        axis=0).tolist(),
            "member_over_histogram": member_ratios.mean(axis=0).tolist(),
            "member_over_histogram_spread": member_ratios.std(axis=0, ddof=1).tolist(),
            "histogram_over_truth": (_width(histogram) / truth_width).tolist(),
            "sally_over_truth": (_width(ensemble) / truth_width).tolist(),
            "sally_over_truth_bootstrap": np.nanstd(_width(ensemble_replicas) / truth_width_replicas, axis=0).tolist(),
        }
        summary["one_parameter"][label] = entry
        print(f"One-parameter {label}% CL (others at the SM):")
        for k, name in enumerate(names):
            print(f"  {name:18s} histogram [{histogram[k, 0]:+.4f}, {histogram[k, 1]:+.4f}]"
                  f"  SALLY ensemble [{ensemble[k, 0]:+.4f}, {ensemble[k, 1]:+.4f}]  truth width {truth_width[k]:.4f}")
            e = {key: value[k] for key, value in entry.items() if not key.endswith(("_ends", "_width"))}
            print(f"  {'':18s} SALLY/histogram {e['sally_over_histogram']:.3f}"
                  f" ± {e['sally_over_histogram_bootstrap']:.3f} (bootstrap);"
                  f" one member {e['member_over_histogram']:.3f} ± {e['member_over_histogram_spread']:.3f}"
                  f" (training spread); SALLY/truth {e['sally_over_truth']:.3f}"
                  f" ± {e['sally_over_truth_bootstrap']:.3f};"
                  f" histogram/truth {e['histogram_over_truth']:.3f}")
    print("Profiled intervals against the cos Θ_W histogram (width ratio ± bootstrap and ensemble-mean error):")
    for method, levels in result["validation"].get("intervals_against_histogram", {}).items():
        for level, parameters in levels.items():
            for name, numbers in parameters.items():
                value, error = numbers["width_ratio"], numbers["width_ratio_error"]
                text = "open" if value is None else f"{value:.3f}" + ("" if error is None else f" ± {error:.3f}")
                print(f"  {method:10s} {level}% {name:18s} width ratio {text}")
    summary["profiled"] = result["validation"].get("intervals_against_histogram", {})
    for key, diagnosis in scans.items():
        if key.startswith(("diagnosis ", "calibration ")):
            print(key, json.dumps(diagnosis))
            summary[key] = diagnosis
    print("wall time per stage (s):", {key: round(value, 1) for key, value in times.items()})
    summary["times"] = times
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--directory", type=Path, default=Path("/tmp/ee_ww_learned"))
    parser.add_argument("--events-per-chunk", type=int, default=15_000)
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["sally"])
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's")
    arguments = parser.parse_args()
    arguments.directory.mkdir(parents=True, exist_ok=True)
    config = configure(arguments.events_per_chunk, arguments.ensemble, arguments.methods, arguments.epochs)
    summary = report(*run(config, arguments.directory))
    (arguments.directory / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

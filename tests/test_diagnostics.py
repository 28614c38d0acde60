"""Diagnostics that can fail: a biased or overconfident estimator, Fisher information above the
truth bound, and interval ends that do not depend on the grid spacing."""

import copy

import numpy as np
import pytest

from goldmine.detection.detector import MuonDetector
from goldmine.inference import diagnostics, fisher, limits, methods
from goldmine.inference.analysis import run_inference
from goldmine.inference.exact import ExactLikelihood
from goldmine.inference.grid import Grid
from goldmine.io import events
from goldmine.physics.morphing import Morphed
from goldmine.physics.processes import get_process

#: a shape-only toy where parton level is detector level: p(x|θ) = (1 + θ₀ x + θ₁ (x² − 1/3)) / 2 on
#: [−1, 1], events drawn at θ = 0; σ = 1 pb whatever θ, L = 300 pb⁻¹: 68% half-widths ≈ 0.1.
COMPONENTS = np.array([[0, 0], [1, 0], [0, 1]])
LUMINOSITY = 300.0


def _toy(seed: int = 1, n: int = 20_000) -> tuple[np.ndarray, Morphed]:
    x = np.random.default_rng(seed).uniform(-1, 1, n)
    return x, Morphed(COMPONENTS, np.column_stack([np.ones(n), x, x**2 - 1 / 3]) / n)


def _log_r(x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    thetas = np.atleast_2d(thetas)
    return np.log(1 + thetas[:, :1] * x + thetas[:, 1:] * (x**2 - 1 / 3))


def _score(x: np.ndarray) -> np.ndarray:
    """The toy's exact score t(x|θ=0) = ∇ log p(x|θ) (σ does not depend on θ), shape (n, 2)."""
    return np.column_stack([x, x**2 - 1 / 3])


def _grid(points: int = 41) -> Grid:
    return Grid(("a", "b"), (np.linspace(-0.3, 0.3, points),) * 2, np.zeros(2))


def _compare(x, toy, estimators, points: int = 41):
    """Exact and the given per-event log r̂ functions through the inference stage's own functions."""
    grid = _grid(points)
    scores = _score(x)
    weights = toy(grid.reference) / toy(grid.reference).sum()
    control = weights @ scores
    log_ratios = {"exact": lambda thetas: _log_r(x, thetas)} | estimators
    results = {name: methods.learned_ratio([lambda thetas, f=f: f(thetas) @ weights], control, toy, grid, LUMINOSITY)
               for name, f in log_ratios.items()}
    replicas = diagnostics.bootstrap_methods(results, toy, grid, LUMINOSITY, scores, log_ratios, {})
    return results, *diagnostics.compare_with_exact(results, replicas, grid.names)


def test_the_mean_joint_score_from_the_morphing_is_zero_identically():
    """Why the inference stage centres nothing without an exact likelihood: the events' mean joint
    score t = ∇ log w − ∇ log σ̂ is Σ∇w/σ̂ − ∇σ̂/σ̂ = 0, whatever the events."""
    x, toy = _toy()
    reference = np.zeros(2)
    weights = toy(reference)
    joint = toy.gradient(reference) / weights[:, None] - toy.total_gradient(reference) / toy.total(reference)
    # x is z here: the joint score is the exact score less its mean over the events (σ̂(θ) is their total)
    np.testing.assert_allclose(joint, _score(x) - _score(x).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(weights @ joint, 0.0, atol=1e-15)  # rounding of 2·10⁴ terms of size 10⁻⁴


def test_a_biased_estimator_is_shifted_and_fails_where_its_own_mean_score_would_hide_it():
    """log r̂ = log r + ε θ₀: a bias linear in θ, which moves the minimum by ε/I₀₀ = 3ε = 0.45 half-widths."""
    x, toy = _toy()
    epsilon = 0.015
    biased = {"biased": lambda thetas: _log_r(x, thetas) + epsilon * np.atleast_2d(thetas)[:, :1]}
    results, comparison, failed = _compare(x, toy, biased)
    shift = comparison["biased"]["68"]["a"]["shift"]
    # the minimum of q moves by 3ε = 0.045 against the exact half-width ≈ 0.1, not exactly 0.45: the
    # likelihood is not Gaussian; 20% brackets that, and a bias-free estimator would give 0 ± 0.001
    assert shift == pytest.approx(0.45, rel=0.2)
    assert comparison["biased"]["68"]["a"]["shift_error"] < 0.01  # same events: the shared noise cancels
    assert any(f["method"] == "biased" and f["parameter"] == "a" and "shifted" in f["reason"] for f in failed)
    assert not any(f["method"] == "biased" and f["parameter"] == "b" for f in failed)

    # the old centring, each estimator's own mean score, removes exactly this bias
    grid = _grid()
    weights = toy(grid.reference) / toy(grid.reference).sum()
    own_score = weights @ np.column_stack([x + epsilon, x**2 - 1 / 3])
    hidden = methods.learned_ratio([lambda thetas: biased["biased"](thetas) @ weights], own_score, toy, grid,
                                   LUMINOSITY)
    exact_own = methods.learned_ratio([lambda thetas: _log_r(x, thetas) @ weights], own_score - [epsilon, 0], toy,
                                      grid, LUMINOSITY)
    for label in ("68", "95"):
        assert hidden.intervals[label][0].low == pytest.approx(exact_own.intervals[label][0].low, abs=1e-6)
        assert hidden.intervals[label][0].high == pytest.approx(exact_own.intervals[label][0].high, abs=1e-6)


def test_an_overconfident_estimator_fails_and_a_correct_one_does_not():
    """log r̂ = 1.1 log r: q 10% steeper, intervals 1/√1.1 = 0.953 of the exact width."""
    x, toy = _toy()
    results, comparison, failed = _compare(x, toy, {"steep": lambda thetas: 1.1 * _log_r(x, thetas),
                                                    "same": lambda thetas: _log_r(x, thetas)})
    for name in ("a", "b"):
        ratio = comparison["steep"]["68"][name]
        assert ratio["width_ratio"] == pytest.approx(1 / np.sqrt(1.1), rel=0.01)  # non-Gaussian tails: 1%
        assert ratio["width_ratio_error"] < 0.005
        assert comparison["same"]["68"][name]["width_ratio"] == pytest.approx(1.0, abs=1e-9)
        assert comparison["same"]["68"][name]["shift"] == pytest.approx(0.0, abs=1e-9)
    reasons = [f["reason"] for f in failed if f["method"] == "steep"]
    closed = sum(np.isfinite(i.width) for label in ("68", "95") for i in results["exact"].intervals[label])
    assert closed == 3  # b's 95% interval reaches the grid edge: no width to compare
    assert len(reasons) == closed and all("narrower" in reason for reason in reasons)
    assert not any(f["method"] == "same" for f in failed)


def test_bootstrap_error_of_the_exact_ends_matches_the_spread_over_independent_samples():
    """The bootstrap over one sample of N events against 16 independent samples of N events.

    Both estimate the standard deviation of an end; the spread of 16 samples is itself uncertain
    by 1/√(2·15) ≈ 18%, the bootstrap by 1/√(2·50) = 10%: a factor 1.6 is about 2.5 σ of both.
    """
    ends = []
    for seed in range(16):
        x, toy = _toy(seed + 100, n=5000)
        results, comparison, _ = _compare(x, toy, {"same": lambda thetas, x=x: _log_r(x, thetas)}, points=21)
        ends.append(results["exact"].intervals["68"][0].high)
        if seed == 0:
            bootstrap_error = comparison["same"]["68"]["a"]["exact_high_error"]
    spread = np.std(ends, ddof=1)
    assert spread / 1.6 < bootstrap_error < spread * 1.6


def test_fisher_information_above_the_truth_bound_fails():
    x, toy = _toy()
    reference = np.zeros(2)
    truth = methods.truth(toy, reference, LUMINOSITY)
    exact_scores = np.column_stack([x, x**2 - 1 / 3])  # parton level is detector level: equal to truth
    exact = fisher.score_information(toy(reference), exact_scores, toy.total_gradient(reference), LUMINOSITY)
    results = {"truth": truth, "exact": methods.MethodResult(information=exact),
               "overconfident": methods.MethodResult(information=exact * np.array([[1.0, 1.0], [1.0, 1.05]]))}
    failed = diagnostics.fisher_failures(results)
    assert [f["method"] for f in failed] == ["overconfident"]
    assert "1.05" in failed[0]["reason"]


def test_interval_ends_of_the_exact_likelihood_do_not_depend_on_the_grid_spacing(analysis):
    """Ends from 41 and 81 grid points agree to 10⁻⁴ of the width (measured: 10⁻⁵ against 161 points).

    Linear interpolation of the grid-profiled q (the former method) moves ends by up to 1.0×10⁻³
    of the width between 41 and 81 points (0.65% on 31 points): this tolerance catches it.
    """
    space = events.read_parameter_space(analysis.events)
    names = list(events.read_observable_names(analysis.events))
    sample = events.read(analysis.events)
    x = sample.observations[:20_000]
    toy = space.morphing.morph(sample.weights[:20_000] * len(sample.weights) / 20_000)  # still σ in total
    exact = ExactLikelihood(get_process(analysis.config["process"]),
                            MuonDetector.from_config(analysis.config["detector"]), names)
    integrals = exact.angular_integrals(x)
    reference = space.benchmark("sm")
    control = np.zeros(2)
    ends = {}
    for points in (41, 81):
        grid = Grid(space.names, tuple(np.linspace(low, high, points) for low, high in space.ranges), reference)
        result = methods.exact_likelihood(exact, x, toy, grid, 500.0, control, integrals)
        ends[points] = {label: [(i.low, i.high, i.width) for i in result.intervals[label]] for label in ("68", "95")}
    for label in ("68", "95"):
        for coarse, fine in zip(ends[41][label], ends[81][label]):
            assert np.isfinite(fine[2]), (label, ends)
            assert abs(coarse[0] - fine[0]) < 1e-4 * fine[2], (label, coarse, fine)
            assert abs(coarse[1] - fine[1]) < 1e-4 * fine[2], (label, coarse, fine)


def test_interval_ends_use_a_cubic_that_a_linear_interpolation_misses():
    axis = np.linspace(-0.2, 0.2, 41)
    profile = (axis / 0.05) ** 2  # q = (θ/0.05)²: ends at ±0.05·√threshold
    interval = limits.interval_below(axis, profile, 1.0)
    low, high = interval.low, interval.high
    assert low == pytest.approx(-0.05, abs=1e-12) and high == pytest.approx(0.05, abs=1e-12)
    # between grid points: θ = ±0.055 lies mid-cell, where linear interpolation errs by 2e-4 (0.2% of the width)
    interval = limits.interval_below(axis, profile, (0.055 / 0.05) ** 2)
    low, high = interval.low, interval.high
    assert high == pytest.approx(0.055, abs=1e-12)


def test_the_closure_of_the_exact_ratio_is_within_its_errors_and_a_miscalibrated_one_is_not():
    """z ~ (1 + θz)/2 on [−1, 1], observed x = z + N(0, 0.3): r(x|θ, 0) = 1 + θ B(x)/A(x) exactly.

    χ²/ndf of the exact ratio over 20 bins × 2 θ (±θ carry the same information in a model linear
    in θ: 20 independent terms) scatters by √(2/20) ≈ 0.32 around 1 (12 seeds: mean 0.97, from
    0.63 to 1.74): (0.2, 2.2) is about ±3.5σ. A ratio 20% too steep in θ gives about 400.
    """
    from scipy.stats import norm

    from goldmine.inference import calibration

    rng = np.random.default_rng(3)
    n, sigma = 50_000, 0.3
    z = rng.uniform(-1, 1, n)
    x = z + sigma * rng.normal(size=n)
    area = norm.cdf((1 - x) / sigma) - norm.cdf((-1 - x) / sigma)
    first = x * area + sigma * (norm.pdf((-1 - x) / sigma) - norm.pdf((1 - x) / sigma))
    toy = Morphed(np.array([[0], [1]]), np.column_stack([np.ones(n), z]) / n)
    thetas = np.array([[0.5], [-0.5]])
    for steepness, (low, high) in ((1.0, (0.2, 2.2)), (1.2, (20.0, np.inf))):
        log_r = np.log(1 + steepness * thetas * (first / area))
        result = calibration.closure(toy, x[:, None], ["x"], thetas, ["plus", "minus"], log_r, np.zeros(1))
        assert result["ndf"] == 40
        assert low < result["chi2_per_ndf"] < high, (steepness, result["chi2_per_ndf"])


def test_a_failed_interval_is_flagged_in_limits_json():
    from goldmine.inference import results as documents

    grid = _grid(5)
    q = np.add.outer(grid.axes[0] ** 2, grid.axes[1] ** 2) / 0.01
    result = methods.MethodResult.from_q(grid, q)
    failed = [{"method": "net", "confidence_level": "68", "parameter": "b", "reason": "shifted from exact"}]
    flagged = documents.flag_intervals({"exact": result, "net": result}, grid.reference, grid.names, failed)
    document = documents.limits_document(flagged, grid, LUMINOSITY)  # validated against the schema
    intervals = document["methods"]["net"]["intervals"]
    assert intervals["68"]["b"]["flags"] == ["failed"]
    assert intervals["68"]["a"]["flags"] == [] and intervals["95"]["b"]["flags"] == []


def test_without_an_exact_likelihood_every_method_is_compared_with_the_histogram(analysis):
    """A shower makes the exact likelihood unavailable (nothing else here reads the setting): the
    intervals are then compared with the histogram's, with the bootstrap's error bars.

    The rate alone sees the total cross section only, the cos θ histogram also its shape: the rate's
    intervals are wider wherever both are closed, the 95% CL one of c_vv (ratio 2.1 ± 0.13 on 120k
    events) by more than three error bars. The inference takes about 6 s (load average 12).
    """
    config = copy.deepcopy(analysis.config)
    config["shower"]["enabled"] = True
    config["inference"]["grid_points"] = 21
    result = run_inference(config, analysis.events, {})
    validation, histogram = result["validation"], result["limits"]["methods"]["histogram"]["intervals"]
    assert "intervals_against_exact" not in validation and "exact" not in result["limits"]["methods"]
    rate = validation["intervals_against_histogram"]["rate"]
    for label in ("68", "95"):
        for name, numbers in rate[label].items():
            assert numbers["histogram_low"] == pytest.approx(histogram[label][name]["low"], abs=1e-12)
            assert numbers["histogram_high"] == pytest.approx(histogram[label][name]["high"], abs=1e-12)
            if numbers["width_ratio"] is not None:
                assert numbers["width_ratio"] > 1 and numbers["width_ratio_error"] > 0, (label, name, numbers)
    numbers = rate["95"]["c_vv"]
    assert numbers["width_ratio"] - 1 > 3 * numbers["width_ratio_error"], numbers
    assert not any(failure["method"] == "rate" for failure in validation["failed"])  # narrower is no failure

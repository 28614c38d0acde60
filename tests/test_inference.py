"""Fisher information, expected limits and the pyhf model against goldmine's own likelihood."""

import json

import jsonschema
import numpy as np
import pytest
import torch

from goldmine.inference import fisher, limits, methods, results
from goldmine.inference.grid import Grid, refined_scan
from goldmine.inference.histfactory import HistogramModel
from goldmine.ml.estimators import evaluate_log_ratio, mean_log_ratio
from goldmine.ml.models import MorphingAwareRatioModel, RatioModel
from goldmine.physics.morphing import Morphed, Morphing, find_components, monomials


@pytest.fixture
def quadratic_histogram():
    """Component yields of a 2-parameter quadratic morphing in 12 bins, positive on the grid."""
    rng = np.random.default_rng(5)
    components = find_components((2, 2), 2)
    sm = rng.uniform(50, 150, 12)
    linear = rng.normal(0, 30, (2, 12))
    quadratic = np.abs(rng.normal(0, 20, (3, 12)))
    yields = np.vstack([sm, linear[1], linear[0], quadratic[0], rng.normal(0, 5, 12), quadratic[2]])
    return components, yields


def test_pyhf_model_equals_goldmines_binned_likelihood(quadratic_histogram):
    components, yields = quadratic_histogram
    asimov = monomials(np.zeros(2), components) @ yields
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9)), -1).reshape(-1, 2)
    q_pyhf = HistogramModel(["a", "b"], components, yields, asimov).q(grid)
    q_numpy = limits.binned_q(monomials(grid, components) @ yields, asimov)
    np.testing.assert_allclose(q_pyhf, q_numpy - q_numpy.min(), atol=1e-7, rtol=1e-9)


def test_a_normalisation_systematic_weakens_the_limit(quadratic_histogram):
    components, yields = quadratic_histogram
    asimov = monomials(np.zeros(2), components) @ yields
    grid = np.array([[0.0, 0.0], [0.3, 0.0], [0.0, -0.3]])
    q_without = HistogramModel(["a", "b"], components, yields, asimov).q(grid)
    q_with = HistogramModel(["a", "b"], components, yields, asimov, normalisation_uncertainty=0.1).q(grid)
    assert q_with[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(q_with[1:] < q_without[1:])
    assert np.all(q_with[1:] > 0)


def test_truth_fisher_information_equals_finite_differences():
    rng = np.random.default_rng(1)
    components = find_components((2, 2), 2)
    basis = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1]], dtype=float)
    morphing = Morphing.from_basis(components, basis)
    amplitudes = rng.normal(size=(1000, 3))  # |a0 + θ1 a1 + θ2 a2|² per event: quadratic weights
    benchmark_weights = np.stack([(amplitudes @ np.r_[1.0, point]) ** 2 for point in basis], axis=1)
    theta = np.array([0.1, -0.2])
    weights = morphing.event_weights(benchmark_weights, theta)
    analytic = fisher.truth_information(weights, morphing.event_weight_gradients(benchmark_weights, theta), 3.0)
    step = 1e-5
    gradients = np.stack([
        (morphing.event_weights(benchmark_weights, theta + step * e) - morphing.event_weights(
            benchmark_weights, theta - step * e)) / (2 * step) for e in np.eye(2)], axis=1)
    finite_difference = 3.0 * (gradients.T / weights) @ gradients
    np.testing.assert_allclose(analytic, finite_difference, rtol=1e-7)


def test_rate_information_is_the_poisson_information_of_the_total():
    # One bin: the histogram information equals the rate information.
    sigma, gradient = 2.0, np.array([0.5, -1.0])
    np.testing.assert_allclose(fisher.histogram_information(np.array([sigma]), gradient[None, :], 10.0),
                               fisher.rate_information(sigma, gradient, 10.0))


def test_profiled_intervals_of_a_gaussian_likelihood_are_the_inverse_fisher_errors():
    information = np.array([[4.0, 1.5], [1.5, 2.0]])
    axes = [np.linspace(-3, 3, 241)] * 2
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    q = np.einsum("...i,ij,...j->...", grid, information, grid)
    errors = np.sqrt(np.diag(np.linalg.inv(information)))
    for interval, error in zip(limits.profiled_intervals(axes, q), errors):
        assert interval.low == pytest.approx(-error, rel=0.01)
        assert interval.high == pytest.approx(error, rel=0.01)


def test_unbinned_q_reduces_to_the_poisson_rate_term():
    # No shape information (log r = 0): q is the Poisson deviance of the total count.
    sigma = np.array([1.0, 1.2, 0.8])
    q = limits.unbinned_q(sigma, 1.0, np.zeros(3), 100.0)
    expected = limits.binned_q(100.0 * sigma[:, None], np.array([100.0]))
    np.testing.assert_allclose(q, expected)


def _events(rng, n=2000):
    """Weighted events of a quadratic 2-parameter morphing: w = |1 + θ·a|², positive everywhere."""
    components = find_components((2, 2), 2)
    a = rng.normal(0, 2, (n, 2))
    # |1 + θ1 a1 + θ2 a2|² in the components' order (1, θ2, θ1, θ2², θ1θ2, θ1²).
    weights = np.stack([np.ones(n), 2 * a[:, 1], 2 * a[:, 0], a[:, 1] ** 2, 2 * a[:, 0] * a[:, 1], a[:, 0] ** 2], 1)
    return Morphed(components, weights / n), a


def _grid(points=41, half_width=0.3):
    axis = np.linspace(-half_width, half_width, points)
    return Grid(("a", "b"), (axis, axis), np.zeros(2))


def test_morphed_weights_equal_the_direct_weights_and_their_gradient():
    rng = np.random.default_rng(2)
    events, a = _events(rng, 50)
    theta = np.array([0.3, -0.2])
    np.testing.assert_allclose(events(theta), (1 + a @ theta) ** 2 / 50, rtol=1e-12)
    np.testing.assert_allclose(events.gradient(theta), 2 * (1 + a @ theta)[:, None] * a / 50, rtol=1e-12)
    index = rng.integers(0, 3, 50)
    np.testing.assert_allclose(events.binned(index, 3, 2.0)(theta), 2.0 * np.bincount(index, events(theta)), rtol=1e-12)


def test_rate_only_q_is_the_analytic_poisson_deviance():
    events, a = _events(np.random.default_rng(3))
    grid = _grid()
    result = methods.rate(events, grid, luminosity=50.0)
    sigma = np.mean((1 + grid.points @ a.T) ** 2, axis=1)
    sigma_ref = 1.0
    expected = 2 * 50.0 * (sigma - sigma_ref - sigma_ref * np.log(sigma / sigma_ref))
    np.testing.assert_allclose(result.q.ravel(), expected - expected.min(), atol=1e-10)


def test_histogram_q_equals_pyhf():
    rng = np.random.default_rng(4)
    events, a = _events(rng)
    grid = _grid(11)
    values = a[:, :1]
    result, model = methods.histogram(events, values, 5, grid, luminosity=100.0)
    twice_nll = np.array([model.twice_nll(theta) for theta in grid.points])
    np.testing.assert_allclose(result.q.ravel(), twice_nll - twice_nll.min(), atol=1e-8)


def test_refined_scan_of_a_smooth_q_keeps_its_checked_interpolation():
    grid = _grid()
    information = np.array([[400.0, 100.0], [100.0, 300.0]])
    exact = np.einsum("ni,ij,nj->n", grid.points, information, grid.points) + 5 * grid.points[:, 0] ** 3
    evaluated = []
    scan = refined_scan(lambda i: evaluated.extend(i) or exact[i], grid, methods.EXACT_BELOW)
    # a cubic polynomial: the spline is exact (to rounding), and the scan stops after the checks
    assert scan.exact_below is None and scan.interpolation_error < 1e-9
    np.testing.assert_allclose(scan.q.ravel(), exact - exact.min(), atol=1e-9)
    assert len(set(evaluated)) < 0.1 * len(exact)


def test_refined_scan_is_exact_below_the_cutoff_where_the_interpolation_fails_its_check():
    grid = _grid()
    information = np.array([[400.0, 100.0], [100.0, 300.0]])
    # a ripple of 0.05 everywhere but on the coarsest sub-grid (every 8th point): the spline of that
    # sub-grid misses it at its check points, the next one's (every 4th) by about half of it
    index = np.rint((grid.points[:, 0] - grid.axes[0][0]) / np.diff(grid.axes[0])[0]).astype(int)
    ripple = 0.05 * (index % 8 != 0)
    exact = np.einsum("ni,ij,nj->n", grid.points, information, grid.points) + ripple
    evaluated = []
    scan = refined_scan(lambda i: evaluated.extend(i) or exact[i], grid, methods.EXACT_BELOW)
    below = exact - exact.min() < methods.EXACT_BELOW
    assert scan.exact_below == methods.EXACT_BELOW and scan.interpolation_error is None
    q = scan.q.ravel()
    np.testing.assert_array_equal(q[below], (exact - exact.min())[below])
    assert np.all(q[~below] >= methods.EXACT_BELOW - 1e-12)
    assert len(set(evaluated)) < 0.7 * len(exact)



def test_refined_scan_finds_a_minimum_narrower_than_the_coarse_cells():
    # An over-confident flow's q: a bent valley 0.002 wide around θ_ref = 0, whose points below the cutoff
    # all lie between the coarse sub-grid's points (every 8th: ±0.04, ±0.12, ±0.2). The region the coarse
    # points suggest misses it; the scan seeds the exact region at θ_ref, where the Asimov data put q's minimum.
    grid = Grid(("a", "b"), (np.linspace(-0.2, 0.2, 41),) * 2, np.zeros(2))
    u, v = (grid.points @ np.array([[0.88, -0.48], [0.48, 0.88]])).T
    exact = (u / 0.01) ** 2 + ((v + 20 * u**2) / 0.002) ** 2
    evaluated = []
    scan = refined_scan(lambda i: evaluated.extend(i) or exact[i], grid, methods.EXACT_BELOW)
    below = exact < methods.EXACT_BELOW
    assert scan.exact_below == methods.EXACT_BELOW and np.count_nonzero(below) >= 2
    q = scan.q.ravel()
    np.testing.assert_array_equal(q[below], exact[below])  # the minimum, 0, found: nothing shifted
    assert np.all(q[~below] >= methods.EXACT_BELOW - 1e-12)
    assert len(set(evaluated)) < 100

def test_an_interval_reaching_the_grid_edge_is_open():
    axis = np.linspace(-0.2, 0.2, 41)
    q = np.add.outer(0.5 * (axis / 0.1) ** 2, 0.5 * (axis / 1.0) ** 2)  # b: q < 1 on the whole grid
    a, b = limits.profiled_intervals([axis, axis], q)
    assert a.low == pytest.approx(-0.1414, rel=0.01) and a.high == pytest.approx(0.1414, rel=0.01)
    assert b.low is None and b.high is None and b.width == np.inf


def test_a_too_narrow_interval_and_one_missing_the_asimov_point_are_flagged(caplog):
    exact = methods.MethodResult(intervals={"68": (limits.Interval(-1.0, 1.0),)})
    narrow = methods.MethodResult(intervals={"68": (limits.Interval(-0.9, 0.9),)})
    shifted = methods.MethodResult(intervals={"68": (limits.Interval(0.1, 2.5),)})
    noise = methods.MethodResult(intervals={"68": (limits.Interval(-0.996, 0.996),)})  # 0.4% narrower: noise
    flagged = results.flag_intervals({"exact": exact, "narrow": narrow, "shifted": shifted, "noise": noise},
                                     np.zeros(1), ("c",))
    assert flagged["narrow"].intervals["68"][0].flags == ("narrower_than_exact",)
    assert flagged["shifted"].intervals["68"][0].flags == ("excludes_asimov_point",)
    assert flagged["noise"].intervals["68"][0].flags == ()
    assert flagged["exact"].intervals["68"][0].flags == ()
    assert "narrower_than_exact" in caplog.text


def test_written_documents_follow_their_schemas(tmp_path):
    events, a = _events(np.random.default_rng(5))
    grid = _grid(21, 0.5)
    method_results = {"rate": methods.rate(events, grid, 50.0), "truth": methods.truth(events, grid.reference, 50.0)}
    limits_json = json.loads(json.dumps(results.limits_document(method_results, grid, 50.0)))
    fisher_json = json.loads(json.dumps(results.fisher_document(method_results, grid, 50.0)))
    results.validate(limits_json, "limits")
    results.validate(fisher_json, "fisher")
    assert set(limits_json["methods"]) == {"rate"} and set(fisher_json["methods"]) == {"rate", "truth"}
    limits_json["methods"]["rate"]["intervals"]["68"]["a"]["low"] = "-0.2"
    with pytest.raises(jsonschema.ValidationError):
        results.validate(limits_json, "limits")


@pytest.mark.parametrize("model_class", [RatioModel, MorphingAwareRatioModel])
def test_the_fast_mean_log_ratio_equals_the_network_evaluated_event_by_event(model_class):
    torch.manual_seed(0)
    rng = np.random.default_rng(6)
    x, thetas, weights = rng.normal(size=(500, 3)), rng.uniform(-1, 1, (7, 2)), rng.uniform(0.5, 1.5, 500)
    if model_class is RatioModel:
        model = RatioModel(3, 2, (16, 16))
    else:
        components = find_components((2, 2), 2)
        basis = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1]], dtype=float)
        model = MorphingAwareRatioModel(3, 2, (16,), n_components=6)
        model.set_morphing(components, Morphing.from_basis(components, basis).matrix, np.linspace(1, 2, 6))
    model = model.double()
    with torch.no_grad():
        direct = np.stack([model(torch.as_tensor(x), torch.as_tensor(theta).expand(500, -1)).numpy()
                           for theta in thetas])
    # float32 evaluation of O(1) log ratios: agreement to ~1e-6.
    np.testing.assert_allclose(mean_log_ratio(model, x, weights, thetas, elements_per_batch=5000),
                               direct @ weights / weights.sum(), atol=1e-5)
    np.testing.assert_allclose(evaluate_log_ratio(model, x, thetas), direct, atol=1e-5)

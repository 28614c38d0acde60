"""Fisher information, expected limits and the pyhf model against goldmine's own likelihood."""

import numpy as np
import pytest

from goldmine.inference import fisher, limits
from goldmine.inference.histfactory import HistogramModel
from goldmine.physics.morphing import Morphing, find_components, monomials


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
    for (low, high), error in zip(limits.profiled_intervals(axes, q), errors):
        assert low == pytest.approx(-error, rel=0.01)
        assert high == pytest.approx(error, rel=0.01)


def test_unbinned_q_reduces_to_the_poisson_rate_term():
    # No shape information (log r = 0): q is the Poisson deviance of the total count.
    sigma = np.array([1.0, 1.2, 0.8])
    q = limits.unbinned_q(sigma, 1.0, np.zeros(3), 100.0)
    expected = limits.binned_q(100.0 * sigma[:, None], np.array([100.0]))
    np.testing.assert_allclose(q, expected)

"""Tests of the morphing: component enumeration, exactness, gradients and basis choice."""

from __future__ import annotations

import numpy as np
import pytest

from goldmine.physics.morphing import (
    Morphing,
    find_components,
    monomial_gradients,
    monomials,
    optimize_basis,
)

RTOL = 1e-10


def _amplitudes(n_events: int, n_terms: int, rng: np.random.Generator) -> np.ndarray:
    """Complex amplitude coefficients per event, shape (n_events, n_terms); the SM term dominates."""
    coefficients = rng.normal(size=(n_events, n_terms)) + 1j * rng.normal(size=(n_events, n_terms))
    coefficients *= 0.4
    coefficients[:, 0] += 3.0
    return coefficients


def _linear_amplitude(coefficients: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """A(z;θ) = a0(z) + Σ_i θ_i a_i(z), shape (..., n_events) for θ (..., p)."""
    theta = np.asarray(theta, dtype=float)
    return coefficients[:, 0] + np.tensordot(theta, coefficients[:, 1:], axes=([-1], [1]))


def _toy_weights_linear(coefficients: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.abs(_linear_amplitude(coefficients, theta)) ** 2


def _toy_gradients_linear(coefficients: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """∂|A|²/∂θ_i = 2 Re(conj(A) a_i), shape (n_events, p) for θ (p,)."""
    amplitude = _linear_amplitude(coefficients, theta)
    return 2.0 * np.real(np.conj(amplitude)[:, None] * coefficients[:, 1:])


def _toy_weights_quartic(coefficients: np.ndarray, theta: float) -> np.ndarray:
    """|a0 + θ a1 + θ² a2|² (a vertex entering the amplitude twice)."""
    return np.abs(coefficients[:, 0] + theta * coefficients[:, 1] + theta**2 * coefficients[:, 2]) ** 2


def _uniform(ranges: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return ranges[:, 0] + (ranges[:, 1] - ranges[:, 0]) * rng.random((n, len(ranges)))


# --- components -----------------------------------------------------------------------------


def test_components_two_parameters_quadratic():
    components = find_components((2, 2), 2)
    # [1, θ2, θ1, θ2², θ1θ2, θ1²]
    assert components.tolist() == [[0, 0], [0, 1], [1, 0], [0, 2], [1, 1], [2, 0]]
    assert components.dtype.kind == "i"


def test_components_one_parameter_quartic():
    assert find_components((4,)).tolist() == [[0], [1], [2], [3], [4]]


def test_components_respect_limits():
    components = find_components((2, 1, 3), 3)
    assert np.all(components <= [2, 1, 3]) and np.all(components.sum(axis=1) <= 3)
    assert len({tuple(row) for row in components}) == len(components)
    # brute-force count
    expected = sum(1 for a in range(3) for b in range(2) for c in range(4) if a + b + c <= 3)
    assert len(components) == expected
    degrees = components.sum(axis=1)
    assert np.all(np.diff(degrees) >= 0) and components[0].tolist() == [0, 0, 0]
    # default overall power is max(max_powers)
    assert len(find_components((2, 2, 2))) == 10


def test_monomials_and_gradients_shapes_and_values():
    components = find_components((2, 2))
    theta = np.array([[2.0, 3.0], [-1.0, 0.5]])
    values = monomials(theta, components)
    assert values.shape == (2, 6)
    assert np.allclose(values[0], [1, 3, 2, 9, 6, 4])
    assert np.allclose(monomials(theta[1], components), values[1])
    gradients = monomial_gradients(theta, components)
    assert gradients.shape == (2, 6, 2)
    assert np.allclose(gradients[1], monomial_gradients(theta[1], components))
    with pytest.raises(ValueError, match="theta must have shape"):
        monomials([1.0, 2.0, 3.0], components)


# --- exactness of the morphing --------------------------------------------------------------


@pytest.mark.parametrize("n_parameters", [2, 3])
def test_morphing_reproduces_quadratic_weights(n_parameters):
    rng = np.random.default_rng(n_parameters)
    ranges = np.array([[-1.0, 1.0]] * n_parameters)
    components = find_components((2,) * n_parameters, 2)
    basis = optimize_basis(components, ranges, fixed=np.zeros((1, n_parameters)), n_trials=300, seed=1)
    morphing = Morphing.from_basis(components, basis)
    coefficients = _amplitudes(500, n_parameters + 1, rng)
    benchmark_weights = _toy_weights_linear(coefficients, basis).T  # (n_events, n_b)

    thetas = _uniform(ranges * 1.5, 100, rng)  # also slightly outside the ranges
    direct = _toy_weights_linear(coefficients, thetas)  # (100, n_events)
    morphed = morphing.event_weights(benchmark_weights, thetas)
    assert morphed.shape == direct.shape
    assert np.max(np.abs(morphed / direct - 1)) < RTOL
    # single θ and the component route agree
    assert np.allclose(morphing.event_weights(benchmark_weights, thetas[0]), direct[0], rtol=RTOL, atol=0)
    via_components = morphing.component_weights(benchmark_weights) @ monomials(thetas[3], components)
    assert np.allclose(via_components, direct[3], rtol=RTOL, atol=0)
    # at the benchmarks themselves the morphing weights are unit vectors
    assert np.allclose(morphing.weights(basis), np.eye(len(basis)), atol=1e-12)


def test_morphing_reproduces_quartic_weights():
    rng = np.random.default_rng(7)
    ranges = np.array([[-2.0, 2.0]])
    components = find_components((4,))
    basis = optimize_basis(components, ranges, fixed=np.zeros((1, 1)), n_trials=300, seed=2)
    morphing = Morphing.from_basis(components, basis)
    coefficients = _amplitudes(400, 3, rng)
    benchmark_weights = np.stack([_toy_weights_quartic(coefficients, t) for t in basis[:, 0]], axis=1)
    thetas = _uniform(ranges, 100, rng)
    direct = np.stack([_toy_weights_quartic(coefficients, t) for t in thetas[:, 0]])
    morphed = morphing.event_weights(benchmark_weights, thetas)
    assert np.max(np.abs(morphed / direct - 1)) < RTOL


def test_morphing_of_arbitrary_polynomial_basis():
    """Any non-degenerate basis reproduces the weights, not just the optimised one."""
    components = find_components((2,))
    morphing = Morphing.from_basis(components, [[0.0], [1.0], [2.0]])
    # w(θ) = (1 + θ)² at θ = 0, 1, 2
    benchmark_weights = np.array([[1.0, 4.0, 9.0]])
    assert np.allclose(morphing.event_weights(benchmark_weights, [3.0]), [16.0], rtol=RTOL)
    assert np.allclose(morphing.component_weights(benchmark_weights), [[1.0, 2.0, 1.0]], rtol=RTOL)


# --- gradients ------------------------------------------------------------------------------


def test_weight_gradients_match_finite_differences_and_toy():
    rng = np.random.default_rng(11)
    n_parameters = 3
    ranges = np.array([[-1.0, 1.0], [-0.5, 2.0], [-2.0, 1.0]])
    components = find_components((2,) * n_parameters, 2)
    basis = optimize_basis(components, ranges, fixed=np.zeros((1, n_parameters)), n_trials=300, seed=3)
    morphing = Morphing.from_basis(components, basis)
    thetas = _uniform(ranges, 20, rng)

    # ∂ω/∂θ vs central finite differences (exact for polynomials of degree ≤ 2 up to rounding)
    step = 1e-5
    gradients = morphing.weight_gradients(thetas)
    assert gradients.shape == (20, len(basis), n_parameters)
    for i in range(n_parameters):
        shift = np.zeros(n_parameters)
        shift[i] = step
        numeric = (morphing.weights(thetas + shift) - morphing.weights(thetas - shift)) / (2 * step)
        assert np.allclose(gradients[..., i], numeric, rtol=1e-7, atol=1e-7)

    # ∂w/∂θ vs the analytic gradient of the toy |A|²
    coefficients = _amplitudes(300, n_parameters + 1, rng)
    benchmark_weights = _toy_weights_linear(coefficients, basis).T
    for theta in thetas[:5]:
        expected = _toy_gradients_linear(coefficients, theta)
        got = morphing.event_weight_gradients(benchmark_weights, theta)
        assert got.shape == (300, n_parameters)
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    batched = morphing.event_weight_gradients(benchmark_weights, thetas[:5])
    assert batched.shape == (5, 300, n_parameters)
    assert np.allclose(batched[2], morphing.event_weight_gradients(benchmark_weights, thetas[2]))


def test_monomial_gradients_quartic_finite_differences():
    components = find_components((4, 3), 4)
    theta = np.array([0.7, -1.3])
    gradients = monomial_gradients(theta, components)
    step = 1e-6
    for i in range(2):
        shift = np.zeros(2)
        shift[i] = step
        numeric = (monomials(theta + shift, components) - monomials(theta - shift, components)) / (2 * step)
        assert np.allclose(gradients[:, i], numeric, rtol=1e-7, atol=1e-8)


# --- basis optimisation ---------------------------------------------------------------------


def test_optimize_basis_keeps_sm_is_deterministic_and_beats_random():
    ranges = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    components = find_components((2, 2), 2)
    sm = np.zeros((1, 2))
    basis = optimize_basis(components, ranges, fixed=sm, n_trials=500, seed=5)
    assert basis.shape == (6, 2)
    assert np.array_equal(basis[0], [0.0, 0.0])
    assert np.all(basis >= ranges[:, 0]) and np.all(basis <= ranges[:, 1])
    assert np.array_equal(basis, optimize_basis(components, ranges, fixed=sm, n_trials=500, seed=5))

    optimised = Morphing.from_basis(components, basis).expected_squared_weights(ranges)
    rng = np.random.default_rng(0)
    naive = [
        Morphing.from_basis(components, np.vstack([sm, _uniform(ranges, 5, rng)])).expected_squared_weights(ranges)
        for _ in range(10)
    ]
    # optimised ≈ 0.78, random SM + 5 points: typically 5 to several hundred
    assert optimised < 1.0
    assert optimised < 0.5 * min(naive)
    # a hand-made "natural" basis (SM, ±1 on each axis, one corner) is worse too
    natural = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]], dtype=float)
    assert optimised < Morphing.from_basis(components, natural).expected_squared_weights(ranges)


def test_optimize_basis_three_parameters_and_multiple_fixed():
    ranges = np.array([[-1.0, 1.0], [0.0, 2.0], [-3.0, 3.0]])
    components = find_components((2, 2, 2), 2)
    fixed = np.array([[0.0, 0.0, 0.0], [0.5, 1.0, -1.0]])
    basis = optimize_basis(components, ranges, fixed=fixed, n_trials=300, seed=0)
    assert basis.shape == (10, 3)
    assert np.array_equal(basis[:2], fixed)
    morphing = Morphing.from_basis(components, basis)
    rng = np.random.default_rng(1)
    random_basis = np.vstack([fixed, _uniform(ranges, 8, rng)])
    assert morphing.expected_squared_weights(ranges) < Morphing.from_basis(
        components, random_basis
    ).expected_squared_weights(ranges)


def test_expected_squared_weights_matches_closed_form():
    # linear morphing between θ = ±1 on [-1, 1]: ω = ((1-θ)/2, (1+θ)/2), E[Σω²] = 1/2 + E[θ²]/2 = 2/3
    morphing = Morphing.from_basis(find_components((1,)), [[-1.0], [1.0]])
    assert morphing.expected_squared_weights([[-1.0, 1.0]], n_samples=200_000) == pytest.approx(2 / 3, rel=5e-3)


# --- errors ---------------------------------------------------------------------------------


def test_singular_basis_raises():
    components = find_components((2, 2), 2)
    basis = np.array([[0, 0], [1, 0], [1, 0], [0, 1], [0, -1], [1, 1]], dtype=float)
    with pytest.raises(ValueError, match="singular or ill-conditioned.*duplicate benchmark points"):
        Morphing.from_basis(components, basis)
    # distinct points that cannot fix θ1²: all have θ1 in {0, 1}
    degenerate = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0, -1], [1, -1]], dtype=float)
    with pytest.raises(ValueError, match="singular or ill-conditioned"):
        Morphing.from_basis(components, degenerate)


def test_wrong_shapes_raise():
    components = find_components((2, 2), 2)
    with pytest.raises(ValueError, match="one benchmark per component"):
        Morphing.from_basis(components, np.zeros((5, 2)))
    morphing = Morphing.from_basis(components, optimize_basis(components, [[-1, 1], [-1, 1]], n_trials=50))
    with pytest.raises(ValueError, match="benchmark_weights must have shape"):
        morphing.event_weights(np.ones((3, 4)), [0.0, 0.0])
    with pytest.raises(ValueError, match="fixed benchmarks"):
        optimize_basis(components, [[-1, 1], [-1, 1]], fixed=np.zeros((7, 2)))

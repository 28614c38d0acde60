"""The exact detector-level likelihood of ee_mumu against the simulated, detected events."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from goldmine.detection.detector import MuonDetector
from goldmine.inference.exact import ExactLikelihood
from goldmine.io import events
from goldmine.mining import EventPool
from goldmine.physics.processes import EEMuMu, get_process


@pytest.fixture(scope="module")
def detected(analysis):
    space = events.read_parameter_space(analysis.events)
    names = events.read_observable_names(analysis.events)
    sample = events.read(analysis.events)
    exact = ExactLikelihood(get_process(analysis.config["process"]),
                            MuonDetector.from_config(analysis.config["detector"]), names)
    integrals = exact.angular_integrals(sample.observations)
    return space, sample, exact, EventPool(space, sample.observations, sample.weights), integrals


THETAS = np.array([[0.15, 0.0], [0.0, -0.15], [-0.1, 0.12]])


def test_exact_ratio_is_normalised_on_detected_events(detected):
    """E_SM[r(x|θ, SM)] = ∫ p(x|θ) dx = 1 for every θ."""
    _, sample, exact, pool, integrals = detected
    sm = np.zeros(2)
    ratios = np.exp(exact.log_likelihood_ratio(sample.observations, THETAS, sm, integrals))
    mean = ratios @ pool.weights(sm) / pool.cross_section(sm)
    error = ratios.std(axis=1) / np.sqrt(len(sample))
    assert np.all(np.abs(mean - 1) < 4 * error), (mean, error)


def test_exact_ratio_reweights_like_the_morphed_event_weights(detected):
    """E_SM[r(x|θ,SM) f(x)] equals the morphing-weighted mean of f at θ (f: forward μ⁻, large |cos|)."""
    _, sample, exact, pool, integrals = detected
    sm = np.zeros(2)
    ratios = np.exp(exact.log_likelihood_ratio(sample.observations, THETAS, sm, integrals))
    cos_mu = sample.observations[:, 2]
    for f in (cos_mu > 0, np.abs(cos_mu) > 0.7):
        by_ratio = (ratios * f) @ pool.weights(sm) / pool.cross_section(sm)
        by_morphing = np.array([pool.weights(theta) @ f / pool.cross_section(theta) for theta in THETAS])
        np.testing.assert_allclose(by_ratio, by_morphing, atol=0.004)


def test_fiducial_cross_section_matches_the_detected_weights(detected):
    _, _, exact, pool, _ = detected
    for theta in np.vstack([np.zeros(2), THETAS]):
        assert exact.fiducial_cross_section(theta) == pytest.approx(pool.cross_section(theta), rel=0.01)


def test_score_has_zero_mean_on_detected_events(detected):
    _, sample, exact, pool, integrals = detected
    sm = np.zeros(2)
    scores = exact.score(sample.observations, sm, integrals)
    weights = pool.weights(sm) / pool.cross_section(sm)
    assert np.all(np.abs(weights @ scores) < 4 * scores.std(axis=0) / np.sqrt(len(sample)))


def test_without_smearing_the_exact_ratio_is_the_joint_ratio(analysis):
    """With perfect angular resolution x fixes z, so r(x) = r(x,z)."""
    sample = events.read(analysis.events, stop=2000)
    names = events.read_observable_names(analysis.events)
    perfect = replace(MuonDetector.from_config(analysis.config["detector"]), angle_resolution=0.0)
    exact = ExactLikelihood(get_process(analysis.config["process"]), perfect, names)
    # At σ = 0, r(x|θ) is the parton-level density ratio at the measured μ⁻ angle.
    process = get_process(analysis.config["process"])
    cos_mu = sample.observations[:, names.index("cos_theta_mu_minus")]
    inside = np.abs(cos_mu) < 0.9
    theta = np.array([0.1, 0.1])
    parton = np.log(process.differential_cross_section(cos_mu, theta) / process.differential_cross_section(
        cos_mu, np.zeros(2))) - np.log(exact.fiducial_cross_section(theta) / exact.fiducial_cross_section(np.zeros(2)))
    np.testing.assert_allclose(exact.log_likelihood_ratio(sample.observations, theta, np.zeros(2))[inside],
                               parton[inside], rtol=1e-10, atol=1e-12)


class _Quadrature:
    """p(x|θ) of two measured polar angles by adaptive quadrature over the true μ⁻ angle, written
    from the detector's definition (acceptance on the true angle, efficiency², Gaussian smearing
    folded onto [0, π]) without any of ExactLikelihood's code."""

    def __init__(self, process: EEMuMu, detector: MuonDetector):
        self.process, self.detector = process, detector

    def _folded_gaussian(self, measured: float, true: float) -> float:
        sigma = self.detector.angle_resolution
        images = (measured - true, -measured - true, 2 * np.pi - measured - true)
        return sum(np.exp(-0.5 * (d / sigma) ** 2) for d in images) / (np.sqrt(2 * np.pi) * sigma)

    def density(self, theta1: float, theta2: float, theta: np.ndarray) -> float:
        """p(θ₁, θ₂|θ) up to a θ-independent factor: ∫ dθ_t sin θ_t dσ/dcosθ_t K(θ₁|θ_t) K(θ₂|π − θ_t) / σ_fid."""
        sigma = self.detector.angle_resolution
        edge = np.arccos(self.detector.cos_theta_max)

        def integrand(true: float) -> float:
            dsigma = self.process.differential_cross_section(np.array([np.cos(true)]), theta)[0]
            return np.sin(true) * dsigma * self._folded_gaussian(theta1, true) * self._folded_gaussian(
                theta2, np.pi - true)

        # Outside ±12σ of both measurements the kernels are below e^-72: nothing to integrate.
        low = max(edge, min(theta1, np.pi - theta2) - 12 * sigma)
        high = min(np.pi - edge, max(theta1, np.pi - theta2) + 12 * sigma)
        value = integrate.quad(integrand, low, high, epsabs=0, epsrel=1e-12, limit=200)[0]
        return value / self.fiducial_cross_section(theta)

    def fiducial_cross_section(self, theta: np.ndarray) -> float:
        a = self.detector.cos_theta_max
        dsigma = lambda c: self.process.differential_cross_section(np.array([c]), theta)[0]  # noqa: E731
        return self.detector.efficiency**2 * integrate.quad(dsigma, -a, a, epsrel=1e-13)[0]

    def log_ratio(self, theta1: float, theta2: float, theta0: np.ndarray, reference: np.ndarray) -> float:
        return float(np.log(self.density(theta1, theta2, theta0) / self.density(theta1, theta2, reference)))


@pytest.fixture(scope="module")
def quadrature_events():
    """Measured angles: at and beyond the acceptance edges, near the poles (folding) and in the bulk."""
    detector = MuonDetector(efficiency=0.95, cos_theta_max=0.95, angle_resolution=0.03)
    edge = np.arccos(detector.cos_theta_max)
    rng = np.random.default_rng(1)
    theta1 = np.concatenate([[edge + 0.01, edge - 0.02, np.pi - edge + 0.03, 0.04, 0.5, 1.5, 2.5],
                             rng.uniform(edge, np.pi - edge, 8)])
    theta2 = np.pi - theta1 + rng.normal(0, detector.angle_resolution, len(theta1))
    return detector, theta1, theta2, np.column_stack([np.cos(theta1), np.cos(theta2)])


NAMES = ["cos_theta_mu_minus", "cos_theta_mu_plus"]
REPOSITORY = Path(__file__).resolve().parents[1]
THETA0, REFERENCE = np.array([0.3, -0.2]), np.zeros(2)


def test_exact_ratio_equals_independent_quadrature(quadrature_events):
    detector, theta1, theta2, x = quadrature_events
    process = EEMuMu()
    quadrature = _Quadrature(process, detector)
    expected = [quadrature.log_ratio(a, b, THETA0, REFERENCE) for a, b in zip(theta1, theta2)]
    # The exact likelihood's trapezoid rule (spacing σ/10) differs from adaptive quadrature by up to
    # 2.6e-6 in log r (at the acceptance edges); |log r| here ranges from 7e-3 to 0.47. A resolution
    # off by a factor 2 (or ½) moves log r by 1.2e-3 (3e-4): the tolerance tells them apart.
    exact = ExactLikelihood(process, detector, NAMES)
    np.testing.assert_allclose(exact.log_likelihood_ratio(x, THETA0, REFERENCE), expected, rtol=0, atol=1e-5)
    for wrong in (2.0, 0.5):
        mistaken = ExactLikelihood(process, replace(detector, angle_resolution=wrong * detector.angle_resolution),
                                   NAMES)
        assert np.abs(mistaken.log_likelihood_ratio(x, THETA0, REFERENCE) - expected).max() > 1e-4


def test_exact_score_equals_the_slope_of_independent_quadrature(quadrature_events):
    detector, theta1, theta2, x = quadrature_events
    process = EEMuMu()
    quadrature = _Quadrature(process, detector)
    step = 1e-3  # central differences of the quadrature: truncation error ~ step² |∂³ log p| ≈ 1e-7
    expected = np.array([[(quadrature.log_ratio(a, b, REFERENCE + step * unit, REFERENCE - step * unit)) / (2 * step)
                          for unit in np.eye(2)] for a, b in zip(theta1, theta2)])
    score = ExactLikelihood(process, detector, NAMES).score(x, REFERENCE)
    np.testing.assert_allclose(score, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize(("change", "reason"), [
    ({}, None),
    ({"shower": {"enabled": True}}, "shower"),
    ({"detector": {"card": str(REPOSITORY / "config/processes/detectors/lep.yaml")}}, "detector card"),
    ({"cuts": ["mu_minus.pt > 20"]}, "'cuts'"),
    ({"efficiencies": ["0.9"]}, "'efficiencies'"),
    ({"observables": ["cos_theta_mu_minus", {"pt_sum": "mu_minus.pt + mu_plus.pt"}]}, "cos_theta_mu_plus"),
])
def test_the_exact_likelihood_is_used_only_where_it_is_exact(change, reason):
    from goldmine.config import load, validate
    from goldmine.inference.exact import unavailable_because

    config = load(REPOSITORY / "config" / "config.yaml")
    for key, value in change.items():
        config[key] = dict(config[key], **value) if isinstance(value, dict) else value
    said = unavailable_because(validate(config))
    assert said is None if reason is None else reason in said

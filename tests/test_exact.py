"""The exact detector-level likelihood of ee_mumu against the simulated, detected events."""

import numpy as np
import pytest

from goldmine.detection.detector import MuonDetector
from goldmine.inference.exact import ExactLikelihood
from goldmine.io import events
from goldmine.mining import EventPool
from goldmine.physics.processes import get_process


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


def test_score_has_zero_mean_and_matches_the_ratio_slope(detected):
    _, sample, exact, pool, integrals = detected
    sm = np.zeros(2)
    scores = exact.score(sample.observations, sm, integrals)
    weights = pool.weights(sm) / pool.cross_section(sm)
    assert np.all(np.abs(weights @ scores) < 4 * scores.std(axis=0) / np.sqrt(len(sample)))
    step = 1e-3
    slope = exact.log_likelihood_ratio(sample.observations, np.array([step, 0.0]), sm, integrals) / step
    np.testing.assert_allclose(slope, scores[:, 0], atol=5e-3 * np.abs(scores[:, 0]).max())


def test_without_smearing_the_exact_ratio_is_the_joint_ratio(analysis):
    """With perfect angular resolution x fixes z, so r(x) = r(x,z)."""
    from dataclasses import replace

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

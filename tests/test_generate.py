"""Generation: weights per benchmark that morph exactly to the matrix element at any θ."""

import numpy as np
import pytest

from goldmine.generation import generate
from goldmine.io import lhe
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEMuMu


@pytest.fixture(scope="module")
def generated():
    process = EEMuMu(sqrt_s=200.0)
    space = build_parameter_space(process.parameter_names, [(-0.2, 0.2), (-0.2, 0.2)], (2, 2), 2, n_trials=500)
    init, events = generate(process, space, 5000, seed=11)
    return process, space, init, events


def _cos_theta_mu_minus(events):
    particles = events.particles
    muon = particles[particles.pdgid == 13]
    p = np.stack([np.asarray(muon[f][:, 0]) for f in ("px", "py", "pz")], axis=1)
    return p[:, 2] / np.linalg.norm(p, axis=1)


def test_morphed_weights_equal_the_matrix_element_at_random_theta(generated):
    process, space, init, events = generated
    cos_theta = _cos_theta_mu_minus(events)
    sampling = process.differential_cross_section(cos_theta, np.zeros(2))
    rng = np.random.default_rng(4)
    thetas = rng.uniform(-0.4, 0.4, (100, 2))  # inside and outside the ranges
    morphed = space.weights(events.weights, thetas)
    direct = process.cross_section(np.zeros(2)) / len(events) * process.differential_cross_section(
        cos_theta, thetas) / sampling
    assert np.max(np.abs(morphed / direct - 1)) < 1e-10


def test_lhe_round_trip_keeps_weights_and_kinematics(generated, tmp_path):
    _, space, init, events = generated
    path = tmp_path / "chunk.lhe.gz"
    lhe.write(path, init, events)
    again = lhe.read(path)
    assert lhe.read_init(path).weight_ids == space.benchmark_names
    np.testing.assert_allclose(again.weights, events.weights, rtol=1e-9)
    np.testing.assert_allclose(_cos_theta_mu_minus(again), _cos_theta_mu_minus(events), rtol=1e-9, atol=1e-12)


def test_events_conserve_momentum_and_sum_to_the_cross_section(generated):
    process, space, init, events = generated
    final = events.particles[events.particles.status == 1]
    for component, total in (("px", 0.0), ("py", 0.0), ("pz", 0.0), ("energy", process.sqrt_s)):
        np.testing.assert_allclose(np.asarray(np.sum(final[component], axis=1)), total, atol=1e-9)
    # Every benchmark's weights estimate its cross section (sampling at the SM).
    sums = events.weights.sum(axis=0)
    errors = np.sqrt(np.clip((events.weights**2).sum(axis=0) - sums**2 / len(events), 0, None))
    assert np.all(np.abs(sums - process.cross_section(space.benchmarks)) < 4 * errors + 1e-12)
    assert init.cross_sections[0] == pytest.approx(process.cross_section(np.zeros(2)))

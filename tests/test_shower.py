"""The Pythia 8 shower stage: weight bookkeeping and the radiative tail of QED FSR."""

import awkward as ak
import numpy as np
import pytest

from goldmine.detection.detector import MuonDetector
from goldmine.exceptions import ShowerError
from goldmine.generation import generate_lhe
from goldmine.io import lhe
from goldmine.io.particles import iterate_particles, write_particles
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEMuMu
from goldmine.shower import shower

NO_HADRONS = ["PartonLevel:ISR = off", "HadronLevel:all = off"]


@pytest.fixture(scope="module")
def lhe_file(tmp_path_factory):
    process = EEMuMu(sqrt_s=200.0)
    space = build_parameter_space(process.parameter_names, [(-0.2, 0.2)] * 2, (2, 2), 2, n_trials=50)
    path = tmp_path_factory.mktemp("shower") / "events.lhe.gz"
    generate_lhe(path, process, space, 4000, seed=5)
    return path


def _dimuon_mass(particles: ak.Array) -> np.ndarray:
    muons = MuonDetector(efficiency=1.0, cos_theta_max=1.0, angle_resolution=0.0, momentum_resolution=0.0).reconstruct(
        ak.with_field(particles, 1, "status"), np.random.default_rng(0))
    return (muons.mu_minus + muons.mu_plus).mass


def test_weights_survive_the_shower_in_order(lhe_file, tmp_path):
    original = lhe.read(lhe_file)
    path = tmp_path / "showered.h5"
    n = write_particles(path, shower(lhe_file, NO_HADRONS, seed=3, step_size=1500))
    showered = list(iterate_particles(path, step_size=1000))
    index = np.concatenate([block.lhe_index for block in showered])
    weights = np.concatenate([block.weights for block in showered])
    assert n == len(index) >= 0.999 * len(original)
    assert np.all(np.diff(index) > 0)  # the LHE order, no event twice
    np.testing.assert_array_equal(weights, original.weights[index])
    assert showered[0].weight_ids == original.weight_ids
    assert sum(block.lhe_events for block in showered) == len(original)  # rejected events counted too
    # A μ⁻ and a μ⁺ in every event (more, rarely, from photon splitting); four-momentum conserved.
    particles = ak.concatenate([block.particles for block in showered])
    for pdgid in (13, -13):
        counts = ak.to_numpy(ak.sum(particles.pdgid == pdgid, axis=1))
        assert np.all(counts >= 1) and np.mean(counts > 1) < 0.01
    np.testing.assert_allclose(ak.to_numpy(ak.sum(particles.energy, axis=1)), 200.0, rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(particles.pz, axis=1)), 0.0, atol=1e-6)


def test_qed_final_state_radiation_makes_the_radiative_tail(lhe_file):
    with_fsr = ak.concatenate([b.particles for b in shower(lhe_file, NO_HADRONS + ["TimeShower:QEDshowerByL = on"])])
    without = ak.concatenate([b.particles for b in shower(lhe_file, NO_HADRONS + ["TimeShower:QEDshowerByL = off"])])
    np.testing.assert_allclose(_dimuon_mass(without), 200.0, rtol=1e-6)  # no radiation: the full √s
    mass = _dimuon_mass(with_fsr)
    assert np.all(mass <= 200.0 + 1e-6)
    # m_μμ < 0.95 √s needs a photon with x = E_γ/E_beam > x₀ = 0.0975. At O(α), leading log, the
    # muon pair radiates with dP/dx = β (1/x − 1 + x/2), β = (2α/π)(ln(s/m_μ²) − 1) ≈ 0.0657, so
    # P(x > x₀) = β (−ln x₀ − (1 − x₀) + (1 − x₀²)/4) ≈ 0.110.
    beta = 2 / 137.036 / np.pi * (np.log(200.0**2 / 0.1056584**2) - 1)
    x0 = 1 - 0.95**2
    expected = beta * (-np.log(x0) - (1 - x0) + (1 - x0**2) / 4)
    tail = np.mean(mass < 0.95 * 200.0)
    assert tail == pytest.approx(expected, rel=0.15), (tail, expected)


def test_a_bad_setting_is_named(lhe_file):
    with pytest.raises(ShowerError, match="NoSuch:setting"):
        next(shower(lhe_file, ["NoSuch:setting = on"]))

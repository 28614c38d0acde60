"""The embedded ee → μμ generator against Pythia 8's own ffbar2gmZ (run here)."""

import numpy as np
import pytest
import pythia8mc

from goldmine.physics.processes import EEMuMu


def run_pythia(sqrt_s: float, n_events: int, seed: int = 7):
    """Hard process only: σ (pb), cosθ(e⁻, μ⁻) of each event and Pythia's electroweak inputs."""
    pythia = pythia8mc.Pythia("", False)
    for setting in (
        "Beams:idA = 11", "Beams:idB = -11", f"Beams:eCM = {sqrt_s}", "PDF:lepton = off",
        "WeakSingleBoson:ffbar2gmZ = on", "23:onMode = off", "23:onIfAny = 13",
        "PartonLevel:all = off", "HadronLevel:all = off", "Next:numberCount = 0",
        "Random:setSeed = on", f"Random:seed = {seed}",
    ):
        pythia.readString(setting)
    assert pythia.init()
    cos_theta = np.empty(n_events)
    for i in range(n_events):
        assert pythia.next()
        record = pythia.process
        electron = next(record[j].p() for j in range(record.size()) if record[j].id() == 11)
        muon = next(record[j].p() for j in range(record.size()) if record[j].id() == 13 and record[j].isFinal())
        dot = electron.px() * muon.px() + electron.py() * muon.py() + electron.pz() * muon.pz()
        cos_theta[i] = dot / (electron.pAbs() * muon.pAbs())
    info = pythia.infoPython()
    inputs = dict(
        alpha_em=info.alphaEM(),
        sin2_theta_w=pythia.settings.parm("StandardModel:sin2thetaW"),
        sin2_theta_eff=pythia.settings.parm("StandardModel:sin2thetaWbar"),
        z_mass=pythia.particleData.m0(23),
        z_width=pythia.particleData.mWidth(23),
    )
    return info.sigmaGen() * 1e9, cos_theta, inputs


@pytest.mark.parametrize("sqrt_s", [91.2, 200.0])
def test_cross_section_and_angular_distribution_agree_with_pythia(sqrt_s):
    sigma_pythia, cos_theta, inputs = run_pythia(sqrt_s, 400_000)
    process = EEMuMu(sqrt_s=sqrt_s, **inputs)
    sigma = process.cross_section([0.0, 0.0])
    assert sigma == pytest.approx(sigma_pythia, rel=0.02)

    # dσ/dcosθ in 10 bins: Pythia's histogram against the exact bin integrals.
    edges = np.linspace(-1, 1, 11)
    counts, _ = np.histogram(cos_theta, edges)
    pythia_density = sigma_pythia * counts / len(cos_theta) / np.diff(edges)
    fine = np.linspace(-1, 1, 100_001)
    dsigma = process.differential_cross_section(fine, [0.0, 0.0])
    cumulative = np.concatenate([[0], np.cumsum(0.5 * (dsigma[1:] + dsigma[:-1]) * np.diff(fine))])
    exact_density = np.diff(np.interp(edges, fine, cumulative)) / np.diff(edges)
    relative_statistical_error = 1 / np.sqrt(counts)
    deviation = pythia_density / exact_density - 1
    assert np.all(np.abs(deviation) < np.maximum(0.02, 3 * relative_statistical_error)), deviation
    chi2 = np.sum((deviation / relative_statistical_error) ** 2)
    assert chi2 < 30  # 10 bins


def test_contact_interactions_change_rate_and_asymmetry_as_expected():
    process = EEMuMu(sqrt_s=200.0)
    sm = process.cross_section([0.0, 0.0])
    # c_vv interferes with the photon in all helicities: the rate grows for c_vv > 0.
    assert process.cross_section([0.1, 0.0]) > sm > process.cross_section([-0.1, 0.0])
    # c_aa adds to LL/RR and subtracts from LR/RL: the forward-backward asymmetry grows.
    assert process.forward_backward_asymmetry([0.0, 0.1]) > process.forward_backward_asymmetry([0.0, 0.0])
    # At the Z pole the contact terms are suppressed by s/(αΛ²) relative to the resonance.
    pole = EEMuMu(sqrt_s=91.1876)
    assert pole.cross_section([0.1, 0.0]) / pole.cross_section([0.0, 0.0]) == pytest.approx(1.0, abs=2e-3)


def test_sampling_follows_the_differential_cross_section():
    process = EEMuMu(sqrt_s=200.0)
    theta = np.array([0.1, -0.1])
    cos_theta = process.sample_cos_theta(400_000, theta, np.random.default_rng(3))
    forward_fraction = np.mean(cos_theta > 0)
    expected = 0.5 * (1 + process.forward_backward_asymmetry(theta))
    assert forward_fraction == pytest.approx(expected, abs=3 * np.sqrt(0.25 / 400_000))

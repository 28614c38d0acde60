"""Detector cards: safe formulas, and efficiencies and resolutions that reproduce the card."""

from dataclasses import replace
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from goldmine import stages
from goldmine.detection.cards import Formula, load_card
from goldmine.exceptions import ExpressionError
from goldmine.io import events

CARDS = Path(__file__).resolve().parents[1] / "config" / "processes" / "detectors"


@pytest.mark.parametrize("text", ["__import__('os')", "pt.real", "open('x')", "mass * 2", "lambda: 1",
                                  "[pt]", "eta if pt else phi"])
def test_formulas_refuse_anything_but_arithmetic(text):
    with pytest.raises(ExpressionError, match="expression"):
        Formula(text)


def _muon_pairs(n: int, p: float, eta: np.ndarray) -> ak.Array:
    """Events with one μ⁻ of momentum p at pseudorapidity eta and a μ⁺ recoiling."""
    rng = np.random.default_rng(0)
    phi = rng.uniform(-np.pi, np.pi, n)
    theta = 2 * np.arctan(np.exp(-eta))
    momentum = p * np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=1)
    energy = np.sqrt(p**2 + 0.1056584**2)
    columns = {
        "pdgid": np.tile([13, -13], n), "status": np.ones(2 * n, dtype=np.int64),
        "px": np.stack([momentum[:, 0], -momentum[:, 0]], 1).ravel(),
        "py": np.stack([momentum[:, 1], -momentum[:, 1]], 1).ravel(),
        "pz": np.stack([momentum[:, 2], -momentum[:, 2]], 1).ravel(),
        "energy": np.full(2 * n, energy),
    }
    return ak.unflatten(ak.zip(columns), np.full(n, 2))


@pytest.mark.parametrize(("eta", "expected_resolution"), [(0.5, np.hypot(0.01, 1e-4 * 80)),
                                                           (2.0, np.hypot(0.015, 1.5e-4 * 80))])
def test_atlas_card_resolution_and_efficiency_are_reproduced(eta, expected_resolution):
    card = load_card(CARDS / "atlas.yaml")
    n, pt = 200_000, 80.0
    p = pt * np.cosh(eta)
    muons = card.reconstruct(_muon_pairs(n, p, np.full(n, eta)), np.random.default_rng(1))
    # Both muons are inside (|η| < 2.7, pT > 10): efficiency 0.95² per event.
    assert np.mean(muons.accepted) == pytest.approx(0.95**2, abs=4 * np.sqrt(0.95**2 * 0.1 / n))
    relative = muons.mu_minus.p / p - 1
    assert np.std(relative) == pytest.approx(expected_resolution, rel=0.01)
    assert np.mean(relative) == pytest.approx(0.0, abs=4 * expected_resolution / np.sqrt(len(relative)))
    dphi = (muons.mu_minus.phi - _true_phi(n)[muons.accepted] + np.pi) % (2 * np.pi) - np.pi
    assert np.std(dphi) == pytest.approx(0.001, rel=0.02)


def _true_phi(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-np.pi, np.pi, n)


def test_atlas_card_acceptance_cuts_in_eta():
    card = load_card(CARDS / "atlas.yaml")
    muons = card.reconstruct(_muon_pairs(10_000, 100.0, np.full(10_000, 2.9)), np.random.default_rng(2))
    assert not muons.accepted.any()


def test_the_lep_card_runs_through_the_detector_stage(analysis, tmp_path):
    config = dict(analysis.config, detector=dict(analysis.config["detector"], card=str(CARDS / "lep.yaml")))
    output = tmp_path / "lep.h5"
    n = stages.detect(config, analysis.setup, analysis.directory / "chunk0.lhe.gz", 0, output)
    # 98% per muon inside |cos θ| < 0.95 (p > 2 GeV always holds). Both muons share |cos θ|, and
    # (1 ± c)² both integrate to 2a + 2a³/3 over |c| < a, so the acceptance is that over 8/3 for
    # any F, B: 0.92684, and the efficiency 0.98² × 0.92684 = 0.8901.
    a = 0.95
    expected = 0.98**2 * (2 * a + 2 * a**3 / 3) / (8 / 3)
    # Binomial error of the 60k events, 4σ.
    assert n / 60_000 == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / 60_000))
    sample = events.read(output)
    mass = sample.observations[:, list(config["observables"]).index("m_mumu")]
    # σ(p)/p = √(0.005² + (0.06)²) ≈ 6% at 100 GeV: the mass peak is ≈ 4% wide.
    assert np.std(mass) / 200.0 == pytest.approx(np.hypot(0.005, 6e-4 * 100) / np.sqrt(2), rel=0.1)


def test_card_photons_follow_the_truth_and_isolation_removes_collinear_radiation(tmp_path):
    """ee → μμ with QED FSR through the LEP card: photons are found with the card's efficiency."""
    from goldmine.detection.jets import visible
    from goldmine.generation import generate_lhe
    from goldmine.physics.parameters import build_parameter_space
    from goldmine.physics.processes import EEMuMu
    from goldmine.shower import shower

    process = EEMuMu()
    space = build_parameter_space(process.parameter_names, [(-0.2, 0.2)] * 2, (2, 2), 2, n_trials=20)
    generate_lhe(tmp_path / "events.lhe", process, space, 20_000, seed=8)
    particles = ak.concatenate([b.particles for b in shower(tmp_path / "events.lhe", [
        "PartonLevel:ISR = off", "HadronLevel:all = off", "TimeShower:QEDshowerByL = on"], seed=4)])
    card = load_card(CARDS / "lep.yaml")
    photons = card.reconstruct_collections(particles, np.random.default_rng(5))["photons"]
    truth = visible(particles)
    truth = truth[truth.pdgid == 22]
    cos_theta = truth.pz / np.sqrt(truth.px**2 + truth.py**2 + truth.pz**2)
    expected = 0.95 * ak.sum((abs(cos_theta) < 0.98) & (truth.energy > 1), axis=None)
    found = ak.sum(ak.num(photons), axis=None)
    assert found == pytest.approx(expected, abs=4 * np.sqrt(expected * 0.05))
    # FSR photons are mostly collinear with their muon: an isolation requirement removes most.
    isolated_card = replace(card, objects={**card.objects, "photon": replace(card.objects["photon"], isolation=0.1)})
    isolated = isolated_card.reconstruct_collections(particles, np.random.default_rng(5))["photons"]
    assert 0 < ak.sum(ak.num(isolated), axis=None) < 0.5 * found


def test_atlas_card_jets_on_a_real_madgraph_dijet_file(shared_data):
    from goldmine.shower import shower

    path = shared_data / "lhe" / "madgraph5-3.5.8-pp_to_jj.lhe.gz"
    particles = ak.concatenate([b.particles for b in shower(path, ["PartonLevel:MPI = off",
                                                                   "PartonLevel:ISR = off"], seed=11)])
    jets = load_card(CARDS / "atlas.yaml").reconstruct_collections(particles, np.random.default_rng(3))["jets"]
    pt = np.hypot(ak.to_numpy(ak.flatten(jets.px)), ak.to_numpy(ak.flatten(jets.py)))
    # anti-kT R = 0.4 above 20 GeV before smearing: smearing by 0.5/√E ⊕ 3% moves a few below.
    assert np.mean(pt > 15.0) > 0.95
    assert 0.5 < ak.mean(ak.num(jets)) < 2.5

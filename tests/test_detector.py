"""The parametrised muon detector: an acceptance with structure and charge misidentification,
against their formulas at the binomial error, and the configuration keys that set them."""

import copy
from dataclasses import replace
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from goldmine import config as config_module
from goldmine.detection.detector import MuonDetector
from goldmine.exceptions import ConfigError

REPOSITORY = Path(__file__).resolve().parents[1]
N = 200_000
MISID = 0.1
#: perfect resolution, so a reconstructed muon's direction tells which true muon it is.
STRUCTURED = MuonDetector(angle_resolution=0.0, momentum_resolution=0.0, charge_misid=MISID,
                          acceptance_edges=(0.0, 0.2, 0.7), acceptance_efficiencies=(0.5, 0.9))


def _back_to_back(cos_theta: np.ndarray, phi: np.ndarray) -> ak.Array:
    """Events with a μ⁻ of 100 GeV at (cos θ, φ) and the μ⁺ opposite."""
    n = len(cos_theta)
    sin_theta = np.sqrt(1 - cos_theta**2)
    direction = 100.0 * np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)
    momenta = np.stack([direction, -direction], axis=1).reshape(2 * n, 3)
    columns = {"pdgid": np.tile([13, -13], n), "status": np.ones(2 * n, dtype=np.int64),
               "px": momenta[:, 0], "py": momenta[:, 1], "pz": momenta[:, 2],
               "energy": np.full(2 * n, np.hypot(100.0, 0.1056584))}
    return ak.unflatten(ak.zip(columns), np.full(n, 2))


@pytest.fixture(scope="module")
def detected():
    """True μ⁻ cos θ (uniform), and the events through the detector with and without misidentification
    from the same seed: the misidentification draws come last, so both see the same efficiency draws."""
    rng = np.random.default_rng(0)
    cos_theta, phi = rng.uniform(-1, 1, N), rng.uniform(-np.pi, np.pi, N)
    particles = _back_to_back(cos_theta, phi)
    with_misid = STRUCTURED.reconstruct(particles, np.random.default_rng(1))
    without = replace(STRUCTURED, charge_misid=0.0).reconstruct(particles, np.random.default_rng(1))
    return cos_theta, phi, with_misid, without


def _assert_binomial(successes: int, trials: int, probability: float) -> None:
    # 4 binomial σ: the seeds are fixed, so this either passes or not, and a wrong formula
    # (p for p², ε for ε², no rejection) is off by tens of σ at these sizes.
    error = np.sqrt(probability * (1 - probability) / trials)
    assert abs(successes / trials - probability) < 4 * error, (successes / trials, probability, error)


def test_pair_efficiency_is_the_product_of_the_bins_of_both_muons(detected):
    cos_theta, _, _, without = detected
    for low, high, efficiency in ((0.0, 0.2, 0.5), (0.2, 0.7, 0.9)):
        inside = (np.abs(cos_theta) >= low) & (np.abs(cos_theta) < high)
        _assert_binomial(int(without.accepted[inside].sum()), int(inside.sum()), efficiency**2)
    assert not without.accepted[np.abs(cos_theta) >= 0.7].any()


def test_same_sign_pairs_are_rejected(detected):
    _, _, with_misid, without = detected
    assert not (with_misid.accepted & ~without.accepted).any()
    rejected = without.accepted & ~with_misid.accepted
    _assert_binomial(int(rejected.sum()), int(without.accepted.sum()), 2 * MISID * (1 - MISID))


def test_both_charges_flipped_swaps_the_muons(detected):
    cos_theta, phi, with_misid, _ = detected
    accepted = with_misid.accepted
    true_direction = np.stack([np.sqrt(1 - cos_theta**2) * np.cos(phi), np.sqrt(1 - cos_theta**2) * np.sin(phi),
                               cos_theta], axis=1)[accepted]
    measured = np.stack([with_misid.mu_minus.px, with_misid.mu_minus.py, with_misid.mu_minus.pz], axis=1)
    alignment = np.einsum("ni,ni->n", measured, true_direction) / 100.0
    # Without smearing the "μ⁻" points along the true μ⁻ (alignment +1) or, swapped, along the μ⁺ (−1).
    np.testing.assert_allclose(np.abs(alignment), 1.0, rtol=1e-9)
    swapped = alignment < 0
    _assert_binomial(int(swapped.sum()), len(swapped), MISID**2 / ((1 - MISID) ** 2 + MISID**2))
    np.testing.assert_allclose(with_misid.mu_plus.pz[swapped], 100.0 * cos_theta[accepted][swapped], rtol=1e-9)


def test_one_bin_is_the_efficiency_and_the_cut(detected):
    """An acceptance of one bin [0, a) with efficiency ε is the same detector as (ε, a), draw for draw."""
    cos_theta, phi, _, _ = detected
    particles = _back_to_back(cos_theta[:20_000], phi[:20_000])
    plain = MuonDetector().reconstruct(particles, np.random.default_rng(2))
    binned = MuonDetector(acceptance_edges=(0.0, 0.95), acceptance_efficiencies=(0.95,)).reconstruct(
        particles, np.random.default_rng(2))
    np.testing.assert_array_equal(plain.accepted, binned.accepted)
    np.testing.assert_array_equal(plain.mu_minus.pz, binned.mu_minus.pz)


@pytest.mark.parametrize(("muon", "message"), [
    ({"charge_misid": 0.5}, "charge_misid"),
    ({"acceptance": {"abs_cos_theta": [0.0, 0.6, 0.3], "efficiency": [0.9, 0.9]}}, "must increase"),
    ({"acceptance": {"abs_cos_theta": [0.0, 0.3, 0.6], "efficiency": [0.9]}}, "one per bin"),
    ({"acceptance": {"abs_cos_theta": [0.0, 0.6], "efficiency": [1.2]}}, "acceptance.efficiency"),
])
def test_bad_detector_settings_name_the_key(muon, message):
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["detector"]["muon"].update(muon)
    with pytest.raises(ConfigError, match="detector.muon") as error:
        config_module.validate(config)
    assert message in str(error.value)

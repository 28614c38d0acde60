"""The five LEP angles of ℓνqq̄ events: known configurations, the generator's own angles, folding and CP."""

import numpy as np
import pytest

from goldmine.physics.processes import EEWW
from goldmine.physics.ww_angles import ANGLE_NAMES, ww_angles

# Angles computed from boosted momenta agree with the generator's to rounding: 1e-12 leaves
# three orders of magnitude above the 1e-14 seen.
ROUNDING = 1e-12


def _wrap(phi):
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


@pytest.fixture(scope="module")
def generated(ww_final_state):
    process = EEWW(sqrt_s=189.0)
    points, _ = process._candidates(3000, np.random.default_rng(1))
    return process, points, ww_final_state(process, points)


def test_known_configuration_at_rest_axes():
    """A W⁻ along +z with its ℓ⁻ along +x of its frame (x′ = y′ × z′ with y′ = ŷ along the beam) and
    a W⁺ along −z whose antiquark flies backwards in its frame: Θ = 0, θ_ℓ = 90° at φ_ℓ = 0, the quark
    pair at θ = 0/π, folded onto cos θ_j = 1."""
    mass, energy = 80.0, 100.0
    p = np.sqrt(energy**2 - mass**2)
    gamma, beta_gamma = energy / mass, p / mass
    half = mass / 2
    # lepton at rest-frame direction x′; W⁻ along +z, so x′ = ŷ × ẑ = x̂
    lepton = np.array([[gamma * half, half, 0.0, beta_gamma * half]])
    neutrino = np.array([[gamma * half, -half, 0.0, beta_gamma * half]])
    # W⁺ along −z: quark along its flight (−z in the lab), antiquark against it
    quark = np.array([[gamma * half + beta_gamma * half, 0.0, 0.0, -(beta_gamma * half + gamma * half)]])
    antiquark = np.array([[gamma * half - beta_gamma * half, 0.0, 0.0, -(beta_gamma * half - gamma * half)]])
    angles = ww_angles(lepton, neutrino, antiquark, quark, np.array([-1.0]))
    assert angles["cos_theta_w"][0] == pytest.approx(1.0)
    assert angles["cos_theta_l"][0] == pytest.approx(0.0, abs=ROUNDING)
    assert angles["phi_l"][0] == pytest.approx(0.0, abs=ROUNDING)
    assert angles["cos_theta_j"][0] == pytest.approx(1.0)
    # The same event with the charges conjugated: the hadronic W is now the W⁻, flying along −z.
    plus = ww_angles(lepton, neutrino, antiquark, quark, np.array([1.0]))
    assert plus["cos_theta_w"][0] == pytest.approx(-1.0)


def test_angles_are_the_generators(generated):
    """From the LHE momenta, the generator's own Θ and decay angles come back (ℓ⁻: the W⁻'s fermion;
    ℓ⁺: the W⁺'s antifermion with φ → π − φ; jets: the quark or antiquark, folded)."""
    _, points, particles = generated
    angles = ww_angles(*particles)
    minus = particles[-1] < 0
    assert minus.sum() > 1000 and (~minus).sum() > 1000
    np.testing.assert_allclose(angles["cos_theta_w"], points[:, 2], atol=ROUNDING)
    lepton_cos = np.where(minus, points[:, 4], points[:, 6])
    lepton_phi = np.where(minus, points[:, 5], np.pi - points[:, 7])
    np.testing.assert_allclose(angles["cos_theta_l"], lepton_cos, atol=ROUNDING)
    np.testing.assert_allclose(_wrap(angles["phi_l"] - lepton_phi), 0.0, atol=ROUNDING)
    jet_cos = np.where(minus, points[:, 6], points[:, 4])
    jet_phi = np.where(minus, points[:, 7], np.pi - points[:, 5])
    np.testing.assert_allclose(angles["cos_theta_j"], np.abs(jet_cos), atol=ROUNDING)
    folded_phi = np.where(jet_cos < 0, jet_phi + np.pi, jet_phi)
    np.testing.assert_allclose(_wrap(angles["phi_j"] - folded_phi), 0.0, atol=ROUNDING)
    for name in ANGLE_NAMES:
        assert np.all(np.isfinite(angles[name]))
    assert np.all((angles["cos_theta_j"] >= 0) & (np.abs(angles["phi_j"]) <= np.pi))


def test_quark_and_antiquark_are_one_measurement(generated):
    """Swapping the two jets changes nothing: the fold."""
    _, _, (lepton, neutrino, quark, antiquark, charge) = generated
    one, other = ww_angles(lepton, neutrino, quark, antiquark, charge), ww_angles(lepton, neutrino, antiquark, quark,
                                                                                   charge)
    for name in ANGLE_NAMES:
        np.testing.assert_allclose(_wrap(one[name] - other[name]), 0.0, atol=ROUNDING)


def test_both_charges_share_one_distribution(generated, ww_final_state):
    """CP: an ℓ⁺ event with the same five angles (and W masses) as an ℓ⁻ event has the same |M|² at
    any θ, so the charges pool. Without the π − φ of ℓ⁺ events the densities differ by factors (tested
    to fail), with it they agree to rounding."""
    process, points, _ = generated
    minus = points[:, 8] == 0
    z = points[minus]
    conjugate = z.copy()
    conjugate[:, 0], conjugate[:, 1] = z[:, 1], z[:, 0]  # the leptonic W is now the W⁺
    conjugate[:, 6], conjugate[:, 7] = z[:, 4], np.pi - z[:, 5]  # ℓ⁺ at the ℓ⁻'s (cos θ, π − φ)
    conjugate[:, 4], conjugate[:, 5] = z[:, 6], np.pi - z[:, 7]  # the quark where the antiquark was
    conjugate[:, 8] = 1
    theta = np.random.default_rng(2).normal(0.0, 0.3, (4, 3))
    # the two events have the same angles
    np.testing.assert_allclose(
        np.stack(list(ww_angles(*ww_final_state(process, conjugate)).values())),
        np.stack(list(ww_angles(*ww_final_state(process, z)).values())), atol=1e-9)
    np.testing.assert_allclose(process.phase_space_density(conjugate, theta), process.phase_space_density(z, theta),
                               rtol=1e-10)

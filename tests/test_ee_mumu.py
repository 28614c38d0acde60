"""The embedded ee → μμ generator against Pythia 8's own ffbar2gmZ (run here)."""

import numpy as np
import pytest
import pythia8mc

from goldmine.physics.processes import EEMuMu
from goldmine.physics.processes.ee_mumu import GEV2_TO_PB


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
    # ŝ = s is fixed (no lepton PDFs), so every Pythia event carries the same weight and σ has no
    # Monte Carlo error; the README's "to 10⁻⁵" is the whole tolerance. Measured: 6.4e-6 at 91.2 GeV,
    # 1.3e-6 at 200 GeV.
    assert sigma == pytest.approx(sigma_pythia, rel=1e-5)

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


# Dirac matrices in the chiral basis, metric (+, −, −, −).
_PAULI = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
_ZERO, _ONE = np.zeros((2, 2)), np.eye(2)
_GAMMA = np.array([np.block([[_ZERO, _ONE], [_ONE, _ZERO]])]
                  + [np.block([[_ZERO, sigma], [-sigma, _ZERO]]) for sigma in _PAULI], dtype=complex)
_GAMMA5 = 1j * _GAMMA[0] @ _GAMMA[1] @ _GAMMA[2] @ _GAMMA[3]
_METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def _slash(p):
    return np.einsum("m,mn,nab->ab", p, _METRIC, _GAMMA)


def _bar(vertex):
    """Γ̄ = γ⁰ Γ† γ⁰ for each Lorentz index of a vertex of shape (4, 4, 4)."""
    return np.array([_GAMMA[0] @ v.conj().T @ _GAMMA[0] for v in vertex])


def _spin_summed_squared_amplitude(process: EEMuMu, theta, cos_theta: float) -> float:
    """Σ_spins |M|² of e⁻(p1) e⁺(p2) → μ⁻(p3) μ⁺(p4), massless, from traces of explicit Dirac matrices.

    Independent of the helicity decomposition in goldmine: M = Σ_k C_k [v̄₂ Γ_k^μ u₁][ū₃ Δ_kμ v₄] with
    photon (C = e²Q_eQ_μ/s, vector), Z (C = e²/(s_W²c_W²) / (s − m_Z² + i s Γ_Z/m_Z), chiral couplings
    g_L P_L + g_R P_R) and the Lagrangian's two contact terms (C = c/Λ², vector⊗vector and
    axial⊗axial). Then Σ|M|² = Σ_kl C_k C_l* Tr[Γ_k^μ p̸₁ Γ̄_l^ν p̸₂] Tr[Δ_kμ p̸₄ Δ̄_lν p̸₃].
    """
    c_vv, c_aa = theta
    sqrt_s = process.sqrt_s
    s, energy = sqrt_s**2, sqrt_s / 2
    sin_theta = np.sqrt(1 - cos_theta**2)
    p1, p2 = energy * np.array([1, 0, 0, 1.0]), energy * np.array([1, 0, 0, -1.0])
    p3 = energy * np.array([1, sin_theta, 0, cos_theta])
    p4 = energy * np.array([1, -sin_theta, 0, -cos_theta])
    e2 = 4 * np.pi * process.alpha_em
    left, right = (np.eye(4) - _GAMMA5) / 2, (np.eye(4) + _GAMMA5) / 2
    g_left, g_right = -0.5 + process.sin2_theta_eff, process.sin2_theta_eff
    vector = _GAMMA
    axial = np.array([g @ _GAMMA5 for g in _GAMMA])
    chiral = np.array([g @ (g_left * left + g_right * right) for g in _GAMMA])
    z_propagator = 1 / (s - process.z_mass**2 + 1j * s * process.z_width / process.z_mass)
    terms = [  # (coefficient, electron vertex, muon vertex); Q_e Q_μ = (−1)(−1)
        (e2 / s, vector, vector),
        (e2 / (process.sin2_theta_w * (1 - process.sin2_theta_w)) * z_propagator, chiral, chiral),
        (c_vv / process.cutoff**2, vector, vector),
        (c_aa / process.cutoff**2, axial, axial),
    ]
    total = 0.0
    for c_k, gamma_k, delta_k in terms:
        for c_l, gamma_l, delta_l in terms:
            electron = np.einsum("mab,bc,ncd,da->mn", gamma_k, _slash(p1), _bar(gamma_l), _slash(p2))
            muon = np.einsum("mab,bc,ncd,da->mn", delta_k, _slash(p4), _bar(delta_l), _slash(p3))
            total += c_k * np.conj(c_l) * np.einsum("mn,mr,ns,rs->", electron, _METRIC, _METRIC, muon)
    assert abs(total.imag) < 1e-9 * abs(total.real)
    return float(total.real)


@pytest.mark.parametrize("sqrt_s", [91.1876, 200.0, 500.0])
@pytest.mark.parametrize("theta", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.3), (-0.2, 0.15), (1.0, -0.7)])
def test_differential_cross_section_equals_an_independent_trace_calculation(sqrt_s, theta):
    process = EEMuMu(sqrt_s=sqrt_s)
    cos_thetas = np.array([-0.9, -0.3, 0.0, 0.4, 0.95])
    # dσ/dcosθ = (1/4) Σ|M|² / (32π s) for 2 → 2 massless; both sides are double-precision
    # evaluations of closed forms, so they agree to rounding.
    independent = np.array([_spin_summed_squared_amplitude(process, theta, c) for c in cos_thetas])
    expected = independent / 4 / (32 * np.pi * process.s) * GEV2_TO_PB
    assert process.differential_cross_section(cos_thetas, np.array(theta)) == pytest.approx(expected, rel=1e-10)


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

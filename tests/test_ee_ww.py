"""The embedded e⁺e⁻ → W⁺W⁻ → ℓνqq̄ generator against Pythia 8's ffbar2WW and an independent trace calculation."""

import awkward as ak
import numpy as np
import pytest
import pythia8mc

from goldmine.generation import generate, generate_lhe
from goldmine.io import lhe
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEWW, get_process
from goldmine.shower import shower

SM = np.zeros(3)
COSINE_BINS = np.linspace(-1, 1, 11)
# σ(ee → WW) of Pythia 8.317 with its default running α_EM (design.md, ±0.35%).
PYTHIA_DEFAULT = {170.0: 13.50, 189.0: 18.07, 200.0: 18.42}


def _pythia(sqrt_s: float, seed: int = 5) -> pythia8mc.Pythia:
    """Pythia's e⁺e⁻ → W⁺W⁻ at fixed α_EM = α(m_Z): the hard process and the W decays only."""
    pythia = pythia8mc.Pythia("", False)
    for setting in (
        "Beams:idA = 11", "Beams:idB = -11", f"Beams:eCM = {sqrt_s}", "PDF:lepton = off",
        "WeakDoubleBoson:ffbar2WW = on", "SigmaProcess:alphaEMorder = -1",
        "PartonLevel:all = off", "HadronLevel:all = off", "Next:numberCount = 0",
        "Random:setSeed = on", f"Random:seed = {seed}",
    ):
        assert pythia.readString(setting)
    assert pythia.init()
    return pythia


def _inputs(pythia: pythia8mc.Pythia) -> dict[str, float]:
    """Pythia's electroweak inputs after init (it recomputes the W and Z widths from its couplings)."""
    data, settings = pythia.particleData, pythia.settings
    return dict(
        alpha_em=settings.parm("StandardModel:alphaEMmZ"),
        sin2_theta_w=settings.parm("StandardModel:sin2thetaW"),
        sin2_theta_eff=settings.parm("StandardModel:sin2thetaWbar"),
        w_mass=data.m0(24), w_width=data.mWidth(24), z_mass=data.m0(23), z_width=data.mWidth(23),
        w_mass_min=data.mMin(24),
    )


def _decay_cosine(parent: np.ndarray, daughter: np.ndarray) -> np.ndarray:
    """cos of the daughter's angle to the parent's flight direction, in the parent's rest frame."""
    mass = np.sqrt(parent[:, 0] ** 2 - np.sum(parent[:, 1:] ** 2, axis=1))
    velocity = parent[:, 1:] / parent[:, :1]
    gamma = parent[:, 0] / mass
    along = np.sum(daughter[:, 1:] * velocity, axis=1) / np.sum(velocity**2, axis=1)
    p_rest = daughter[:, 1:] + ((gamma - 1) * along - gamma * daughter[:, 0])[:, None] * velocity
    return np.sum(p_rest * parent[:, 1:], axis=1) / np.linalg.norm(p_rest, axis=1) / np.linalg.norm(
        parent[:, 1:], axis=1)


def _pythia_angles(pythia: pythia8mc.Pythia, n_events: int) -> dict[str, np.ndarray]:
    """cosΘ(e⁻, W⁻) and m(W⁻) of every event; cosθ* of ℓ∓ (e, μ) in its W's rest frame for leptonic W's."""
    production, masses, lepton_minus, lepton_plus = [], [], [], []
    for _ in range(n_events):
        assert pythia.next()
        record = pythia.process
        particles = {record[i].id(): record[i] for i in range(record.size()) if record[i].status() in (-22, 23)}
        w_minus = particles[-24].p()
        production.append(w_minus.pz() / w_minus.pAbs())  # the e⁻ beam is along +z
        masses.append(w_minus.mCalc())
        for lepton_id, sink in ((11, lepton_minus), (13, lepton_minus), (-11, lepton_plus), (-13, lepton_plus)):
            if lepton_id in particles:
                w = particles[-24 if lepton_id > 0 else 24].p()
                p = particles[lepton_id].p()
                sink.append(([w.e(), w.px(), w.py(), w.pz()], [p.e(), p.px(), p.py(), p.pz()]))
    angles = {"production": np.array(production), "w_mass": np.array(masses)}
    for name, pairs in (("lepton_minus", lepton_minus), ("lepton_plus", lepton_plus)):
        parents, daughters = (np.array(x) for x in zip(*pairs))
        angles[name] = _decay_cosine(parents, daughters)
    return angles


def _goldmine_angles(process: EEWW, n_events: int, seed: int) -> dict[str, np.ndarray]:
    """The same angles from the momenta of goldmine's events."""
    points = process.sample_phase_space(n_events, SM, np.random.default_rng(seed))
    record = process.hard_process(points)
    momenta, pdgid = record.momenta, record.pdgid
    w_minus = momenta[:, 2]
    angles = {"production": w_minus[:, 3] / np.linalg.norm(w_minus[:, 1:], axis=1), "w_mass": points[:, 0]}
    for name, sign, w_column in (("lepton_minus", 1, 2), ("lepton_plus", -1, 3)):
        is_lepton = np.isin(pdgid, [11 * sign, 13 * sign])
        is_lepton[:, :2] = False  # not the beams
        events, columns = np.nonzero(is_lepton)
        angles[name] = _decay_cosine(momenta[events, w_column], momenta[events, columns])
    return angles


def _chi2(a: np.ndarray, b: np.ndarray, edges: np.ndarray = COSINE_BINS) -> float:
    """χ² of two histograms normalised to their numbers of entries, each with its own Poisson error."""
    counts_a, _ = np.histogram(a, edges)
    counts_b, _ = np.histogram(b, edges)
    fraction_a, fraction_b = counts_a / len(a), counts_b / len(b)
    variance = counts_a / len(a) ** 2 + counts_b / len(b) ** 2
    return float(np.sum((fraction_a - fraction_b) ** 2 / variance))


# Pythia 8.317 at fixed α(m_Z): 30 000 events give σ to ±0.3% (its sigmaErr); the quadrature is
# good to 5·10⁻⁴. Measured (goldmine/Pythia − 1): see docs/ee_ww.md.
@pytest.mark.parametrize("sqrt_s", [170.0, 189.0, 200.0])
def test_total_cross_section_agrees_with_pythia(sqrt_s):
    pythia = _pythia(sqrt_s)
    for _ in range(30_000):
        pythia.next()
    info = pythia.infoPython()
    sigma_pythia, error = info.sigmaGen() * 1e9, info.sigmaErr() * 1e9
    process = EEWW(sqrt_s=sqrt_s, **_inputs(pythia))
    sigma = process.production_cross_section(SM)
    assert sigma == pytest.approx(sigma_pythia, rel=0.01)
    assert abs(sigma - sigma_pythia) < 4 * error + 5e-4 * sigma
    # Pythia's default runs α_EM to its scale m_T3 m_T4 (≈ 0.0078 here, within 0.1% of α(m_Z)): the
    # quoted numbers agree to 1% too (measured +0.2%, +0.6%, +0.4%).
    assert sigma == pytest.approx(PYTHIA_DEFAULT[sqrt_s], rel=0.01)


def test_production_and_decay_angles_agree_with_pythia():
    pythia = _pythia(189.0, seed=11)
    # 40 000 Pythia events (≈ 8 600 with a W⁻ → e/μ, as many with a W⁺) and 25 000 goldmine events:
    # ≈ 3% per bin in the decay angles, ≈ 1.5% in the production angle.
    theirs = _pythia_angles(pythia, 40_000)
    process = EEWW(sqrt_s=189.0, **_inputs(pythia))
    ours = _goldmine_angles(process, 25_000, seed=2)
    for name in ("production", "lepton_minus", "lepton_plus"):
        # 10 bins, 9 degrees of freedom: χ² < 27 fails a correct generator with probability 0.0014.
        assert _chi2(ours[name], theirs[name]) < 27, name
    # The W⁻ line shape over ±2Γ_W (10 bins, 87% of the events; the rest counts in the normalisation):
    # the same running-width Breit–Wigner as Pythia's.
    assert _chi2(ours["w_mass"], theirs["w_mass"], np.linspace(76.2, 84.6, 11)) < 27
    # The W⁻ goes forward (t-channel ν, measured 80%); mostly left-handed, it sends the ℓ⁻ forward (V−A,
    # measured 65%), and CP sends the ℓ⁺ forward of its W⁺ as often.
    assert np.mean(ours["production"] > 0) > 0.75
    assert np.mean(ours["lepton_minus"] > 0) > 0.6 and np.mean(ours["lepton_plus"] > 0) > 0.6


# --- an independent calculation of the production: traces of explicit Dirac matrices -------------------

_PAULI = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
_Z2, _I2 = np.zeros((2, 2)), np.eye(2)
_G = np.array([np.block([[_Z2, _I2], [_I2, _Z2]])] + [np.block([[_Z2, s], [-s, _Z2]]) for s in _PAULI], dtype=complex)
_G5 = 1j * _G[0] @ _G[1] @ _G[2] @ _G[3]
_ETA = np.diag([1.0, -1.0, -1.0, -1.0])


def _slash(p):
    return np.einsum("m,mn,nab->ab", p, _ETA, _G)


def _trace_squared_amplitude(process: EEWW, theta, m1: float, m2: float, cos_theta: float, phi: float) -> float:
    """Σ_spins |M(e⁻e⁺ → W⁻W⁺)|² / e⁴ = Σ Tr[Γ^{αβ} p̸₁ Γ̄^{α′β′} p̸₂] P_{αα′}(q₁) P_{ββ′}(q₂).

    No helicity amplitudes, spinors or polarisation vectors: W polarisation sums −g + qq/m², the
    chiral s-channel couplings as projectors, HPZH's vertex written out, the ν propagator as p̸/t.
    """
    dg1z, dkg, lam = theta
    s, sqrt_s = process.s, process.sqrt_s
    sw2 = process.sin2_theta_w
    cw2 = 1 - sw2
    energy = 0.5 * sqrt_s
    p1, p2 = np.array([energy, 0, 0, energy]), np.array([energy, 0, 0, -energy])
    momentum = np.sqrt((s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)) / (2 * sqrt_s)
    sin_theta = np.sqrt(1 - cos_theta**2)
    direction = np.array([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta])
    q1 = np.concatenate([[(s + m1**2 - m2**2) / (2 * sqrt_s)], momentum * direction])
    q2 = p1 + p2 - q1
    total = p1 + p2
    left, right = (np.eye(4) - _G5) / 2, (np.eye(4) + _G5) / 2
    couplings = {  # (g1, κ, λ) per boson, LEP constraints
        "gamma": (1.0, 1.0 + dkg, lam),
        "z": (1.0 + dg1z, 1.0 + dg1z - sw2 / cw2 * dkg, lam),
    }
    z_prop = 1 / (s - process.z_mass**2 + 1j * process.z_mass * process.z_width)
    chiral = {  # g_e^V (P_L, P_R) · g_WWV · propagator, in units of e²
        "gamma": -1 / s * np.eye(4),
        "z": (((-0.5 + process.sin2_theta_eff) * left + process.sin2_theta_eff * right)
              / np.sqrt(sw2 * cw2) * np.sqrt(cw2 / sw2) * z_prop),
    }
    gamma_lower = np.einsum("mn,nab->mab", _ETA, _G)
    vertex = np.zeros((4, 4, 4, 4), dtype=complex)  # [α, β, spinor, spinor], upper α β
    for boson, (g1, kappa, lam_v) in couplings.items():
        f1, f2, f3 = g1 + s * lam_v / (2 * process.w_mass**2), lam_v, g1 + kappa + lam_v
        inverse_metric = np.linalg.inv(_ETA)
        tensor = (f1 * np.einsum("m,ab->abm", q1 - q2, inverse_metric)
                  - f2 / process.w_mass**2 * np.einsum("m,a,b->abm", q1 - q2, total, total)
                  + f3 * (np.einsum("a,mb->abm", total, inverse_metric)
                          - np.einsum("b,ma->abm", total, inverse_metric)))
        vertex += np.einsum("abm,mij,jk->abik", tensor, gamma_lower, chiral[boson])
    exchanged = p1 - q1
    t = exchanged @ _ETA @ exchanged
    # The t-channel's sign relative to the s-channel is goldmine's convention (the gauge cancellation
    # test below checks it independently); everything else here is written out anew.
    vertex += -1 / (2 * sw2) / t * np.einsum("bij,jk,akl,lm->abim", _G, _slash(exchanged), _G, left)
    bar = np.einsum("ij,abkj,kl->abil", _G[0], vertex.conj(), _G[0])
    sums = [-_ETA + np.outer(_ETA @ q, _ETA @ q) / m**2 for q, m in ((q1, m1), (q2, m2))]
    traces = np.einsum("abij,jk,cdkl,li->abcd", vertex, _slash(p1), bar, _slash(p2))
    value = np.einsum("abcd,ac,bd->", traces, sums[0], sums[1])
    assert abs(value.imag) < 1e-9 * abs(value.real)
    return float(value.real)


def _helicity_squared_amplitude(process: EEWW, thetas, m1, m2, cos_theta, phi) -> np.ndarray:
    points = np.zeros((1, 11))
    points[0, :4] = m1, m2, cos_theta, phi
    amplitudes = process.production_amplitudes(points, np.atleast_2d(thetas))
    return np.sum(np.abs(amplitudes) ** 2, axis=(1, 2, 3, 4))


@pytest.mark.parametrize("sqrt_s", [189.0, 500.0])
@pytest.mark.parametrize("kinematics", [(80.4, 80.4, 0.6, 0.3), (78.0, 83.5, -0.4, 2.1), (80.0, 81.0, 0.95, -1.0)])
def test_production_equals_an_independent_trace_calculation(sqrt_s, kinematics):
    process = EEWW(sqrt_s=sqrt_s, sin2_theta_eff=0.2315)
    rng = np.random.default_rng(int(sqrt_s))
    thetas = np.vstack([SM, np.eye(3), -np.eye(3), rng.uniform(-0.5, 0.5, (4, 3))])
    helicity = _helicity_squared_amplitude(process, thetas, *kinematics)
    trace = np.array([_trace_squared_amplitude(process, theta, *kinematics) for theta in thetas])
    # Both are double-precision evaluations of the same closed form: agreement to rounding.
    np.testing.assert_allclose(helicity, trace, rtol=1e-9)
    # The linear terms (interference of each anomalous amplitude with the SM) separately, and non-zero.
    linear_helicity = (helicity[1:4] - helicity[4:7]) / 2
    linear_trace = (trace[1:4] - trace[4:7]) / 2
    np.testing.assert_allclose(linear_helicity, linear_trace, rtol=1e-8, atol=1e-10 * trace[0])
    assert np.all(np.abs(linear_trace) > 1e-4 * trace[0])


# --- anomalous couplings ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def energies():
    return {sqrt_s: EEWW(sqrt_s=sqrt_s) for sqrt_s in (200.0, 500.0, 1000.0)}


def test_cross_section_is_quadratic_in_each_coupling(energies):
    process = energies[200.0]
    values = np.linspace(-0.5, 0.5, 7)
    for i in range(3):
        thetas = np.zeros((7, 3))
        thetas[:, i] = values
        sigma = process.production_cross_section(thetas)
        cubic = np.polyfit(values, sigma, 3)
        assert abs(cubic[0]) < 1e-9 * sigma.max()  # no cubic term
        quadratic = np.polyfit(values, sigma, 2)
        assert quadratic[0] > 0  # |anomalous amplitude|² > 0
        np.testing.assert_allclose(np.polyval(quadratic, values), sigma, rtol=1e-12)
    # The semileptonic σ is σ_WW times the branching fractions (≈ 0.28).
    semileptonic = process.semileptonic_fraction * process.production_cross_section(SM)
    assert process.cross_section(SM) == pytest.approx(semileptonic)
    assert 0.27 < process.semileptonic_fraction < 0.29


def test_anomalous_coupling_breaks_the_gauge_cancellation(energies):
    sm = {sqrt_s: float(process.production_cross_section(SM)) for sqrt_s, process in energies.items()}
    ratio = {sqrt_s: float(process.production_cross_section([0.2, 0.0, 0.0])) / sm[sqrt_s]
             for sqrt_s, process in energies.items()}
    # SM: the s- and t-channel growth cancels, σ falls like log(s)/s above LEP2 (measured 18.5 → 7.3 → 2.8 pb).
    assert sm[200.0] > 2 * sm[500.0] > 4 * sm[1000.0]
    # Δg₁ᶻ = 0.2 spoils it: measured +1.5% at 200 GeV, +25% at 500 GeV, ×3.5 at 1 TeV.
    assert ratio[200.0] < 1.03 and 1.15 < ratio[500.0] < 1.4 and ratio[1000.0] > 2.5
    # λ_γ = 0.1 grows too (f₁ ∝ s λ/2m_W²): measured ×3.7 at 1 TeV.
    assert energies[1000.0].production_cross_section([0, 0, 0.1]) > 2 * sm[1000.0]


def test_density_integrates_to_the_cross_section():
    process = EEWW(sqrt_s=189.0)
    theta = np.array([0.1, -0.2, 0.05])
    points, envelope = process._candidates(60_000, np.random.default_rng(8))
    weights = process.phase_space_density(points, theta) / envelope
    error = weights.std() / np.sqrt(len(weights))
    # The decay amplitudes, Breit–Wigners, phase space and 8 channels against the quadrature × BR (±0.45%).
    assert abs(weights.mean() - process.cross_section(theta)) < 4 * error


# --- generation through goldmine.generation ---------------------------------------------------------


@pytest.fixture(scope="module")
def generated():
    process = get_process({"name": "ee_ww", "sqrt_s": 189.0})
    space = build_parameter_space(process.parameter_names, [(-0.3, 0.3)] * 3, process.max_powers,
                                  process.max_overall_power, n_trials=50)
    init, events = generate(process, space, 3000, seed=21)
    return process, space, init, events


def test_morphed_weights_equal_the_matrix_element_at_random_theta(generated):
    process, space, init, events = generated
    assert len(space.benchmarks) == 10
    # The generator's points, redrawn with its seed; the momenta prove they are the same events.
    theta_sampling = space.benchmark("sm")
    points = process.sample_phase_space(len(events), theta_sampling, np.random.default_rng(21))
    record = process.hard_process(points)
    lepton_px = np.asarray(events.particles.px[:, 4])
    np.testing.assert_allclose(lepton_px, record.momenta[:, 4, 1], rtol=1e-12, atol=1e-12)

    thetas = np.random.default_rng(4).uniform(-0.5, 0.5, (50, 3))  # inside and outside the ranges
    morphed = space.weights(events.weights, thetas)
    direct = process.cross_section(theta_sampling) / len(events) * process.phase_space_density(
        points, thetas) / process.phase_space_density(points, theta_sampling)
    assert np.max(np.abs(morphed / direct - 1)) < 1e-10


def test_weights_estimate_every_benchmark_cross_section(generated):
    process, space, init, events = generated
    sums = events.weights.sum(axis=0)
    errors = np.sqrt(np.clip((events.weights**2).sum(axis=0) - sums**2 / len(events), 0, None))
    assert np.all(np.abs(sums - process.cross_section(space.benchmarks)) < 4 * errors + 1e-12)
    final = events.particles[events.particles.status == 1]
    for component, total in (("px", 0.0), ("py", 0.0), ("pz", 0.0), ("energy", 189.0)):
        np.testing.assert_allclose(np.asarray(np.sum(final[component], axis=1)), total, atol=1e-9)
    # Exactly one charged lepton (e or μ) and a colour-connected quark pair in every event.
    pdgid = events.particles.pdgid[events.particles.status == 1]
    assert np.all(ak.to_numpy(ak.sum(np.isin(np.abs(pdgid), [11, 13]), axis=1)) == 1)
    colour = events.particles.color1[events.particles.status == 1]
    anticolour = events.particles.color2[events.particles.status == 1]
    assert np.all(ak.to_numpy(ak.sum(colour == 501, axis=1)) == 1)
    assert np.all(ak.to_numpy(ak.sum(anticolour == 501, axis=1)) == 1)


def test_lhe_reads_back_and_the_quarks_hadronise_in_pythia(tmp_path):
    process = EEWW(sqrt_s=189.0)
    space = build_parameter_space(process.parameter_names, [(-0.3, 0.3)] * 3, process.max_powers,
                                  process.max_overall_power, n_trials=50)
    path = tmp_path / "ww.lhe.gz"
    generate_lhe(path, process, space, 300, seed=3)
    again = lhe.read(path)
    assert len(again) == 300 and lhe.read_init(path).weight_ids == space.benchmark_names
    blocks = list(shower(path, ["PartonLevel:ISR = off"], seed=4))
    showered = sum(len(block.weights) for block in blocks)
    assert showered == 300  # Pythia accepted every event: colour lines and momenta are consistent
    particles = ak.concatenate([block.particles for block in blocks])
    charged_pions = ak.to_numpy(ak.sum(np.abs(particles.pdgid) == 211, axis=1))
    assert np.mean(charged_pions) > 5  # the W → qq̄′ hadronised into jets
    # Energy conserved through shower and hadronisation (neutrinos included in the final state).
    np.testing.assert_allclose(ak.to_numpy(ak.sum(particles.energy, axis=1)), 189.0, rtol=1e-6)

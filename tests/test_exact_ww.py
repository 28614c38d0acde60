"""The exact parton-level likelihood of ee → WW → ℓνqq̄ against the generator's own amplitudes, its
normalisation, its score, where it applies, and the whole chain from generation to the exact score."""

from pathlib import Path

import numpy as np
import pytest

from goldmine import api, stages
from goldmine.config import ConfigError, load, validate
from goldmine.inference.exact import from_config, unavailable_because
from goldmine.inference.exact_ww import REQUIRED, ExactWW
from goldmine.io import events
from goldmine.physics.processes import EEWW
from goldmine.physics.ww_angles import ww_angles

REPOSITORY = Path(__file__).resolve().parents[1]
THETAS = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, -0.3, 0.0], [0.0, 0.0, 0.15], [-0.12, 0.25, 0.08]])


def _mass(momenta: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(momenta[:, 0] ** 2 - np.sum(momenta[:, 1:] ** 2, axis=1), 0.0))


@pytest.fixture(scope="module")
def process():
    """The process at 189 GeV (its σ(θ) quadrature, ≈ 1 s, done once for the module)."""
    return EEWW(sqrt_s=189.0)


@pytest.fixture(scope="module")
def events_at_sm(process, ww_final_state):
    """Unweighted SM events of both charges: their phase-space points and observations x."""
    points = process.sample_phase_space(1000, np.zeros(3), np.random.default_rng(3), batch_size=10_000)
    lepton, neutrino, quark, antiquark, charge = ww_final_state(process, points)
    angles = ww_angles(lepton, neutrino, quark, antiquark, charge)
    x = np.column_stack([angles[name] for name in REQUIRED[:5]] + [_mass(lepton + neutrino), _mass(quark + antiquark)])
    return process, points, x


def test_exact_density_is_the_generators_amplitudes_summed_over_the_jet_assignments(events_at_sm):
    """Independent check: from the observables, the exact dσ/dx equals the generator's own dσ(z|θ) at the
    event's true phase-space point (random azimuth, either lepton charge) plus the point with quark and
    antiquark exchanged, times the Jacobian 8 · 2π · 4 m₁m₂, at several θ: to float precision (1e-10 relative,
    4 orders above the rounding seen). Log r then agrees to 1e-10 absolute too."""
    process, points, x = events_at_sm
    assert 0.4 < np.mean(points[:, 8]) < 0.6  # both charges (±1.6% at 1000 events)
    swapped = points.copy()
    hadronic = np.where(points[:, 8] == 1, 4, 6)  # the columns of the hadronic W's decay angles
    rows = np.arange(len(points))
    swapped[rows, hadronic] = -points[rows, hadronic]
    swapped[rows, hadronic + 1] = points[rows, hadronic + 1] + np.pi
    direct = (process.phase_space_density(points, THETAS) + process.phase_space_density(swapped, THETAS)) * (
        8 * 2 * np.pi * 4 * points[:, 0] * points[:, 1])
    exact = ExactWW(process, REQUIRED)
    integrals = exact.angular_integrals(x)
    np.testing.assert_allclose(exact.density(x, THETAS, integrals), direct, rtol=1e-10)
    sigma = process.cross_section(THETAS)
    direct_log_r = np.log(direct / direct[0]) - np.log(sigma / sigma[0])[:, None]
    np.testing.assert_allclose(exact.log_likelihood_ratio(x, THETAS, THETAS[0], integrals), direct_log_r, atol=1e-10)
    # Without the second jet assignment the density is not the generator's: the fold matters here.
    assert np.max(np.abs(process.phase_space_density(points, THETAS) * 8 * 2 * np.pi * 4 * points[:, 0]
                         * points[:, 1] / direct - 1)) > 0.1


def _importance_sample(process: EEWW, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Observations x from a simple density g(x) over the whole observable space, and g(x): W masses from
    Breit–Wigners in m² (m₂ below √s − m₁), the angles uniform."""
    mass, width, low = process.w_mass, process.w_width, process.w_mass_min

    def breit_wigner(upper):
        ends = np.arctan((np.array([low**2 + 0 * upper, upper**2]) - mass**2) / (mass * width))
        m2 = mass**2 + mass * width * np.tan(rng.uniform(ends[0], ends[1]))
        return np.sqrt(m2), 2 * np.sqrt(m2) * mass * width / ((m2 - mass**2) ** 2 + (mass * width) ** 2) / (
            ends[1] - ends[0])

    m1, g1 = breit_wigner(np.full(n, process.sqrt_s - low))
    m2, g2 = breit_wigner(process.sqrt_s - m1)
    x = np.column_stack([rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n),
                         rng.uniform(0, 1, n), rng.uniform(-np.pi, np.pi, n), m1, m2])
    return x, g1 * g2 / (2 * 2 * 2 * np.pi * 2 * np.pi)


def test_exact_likelihood_is_normalised(process):
    """∫ p(x|θ) dx = 1 over the whole observable space, by importance sampling (20 000 points: ±1%),
    at the SM and away from it; asserted to 4 MC errors. The normalisation is the generator's σ(θ)
    (quadrature), the density the amplitudes: this ties the Jacobian, the channels and the fold together
    (a missing factor 2 fails by 50 errors)."""
    exact = ExactWW(process, REQUIRED)
    x, g = _importance_sample(process, 20_000, np.random.default_rng(7))
    integrals = exact.angular_integrals(x)
    for theta in (THETAS[0], THETAS[-1]):
        ratio = np.exp(exact.log_likelihood(x, theta, integrals)) / g
        mean, error = ratio.mean(), ratio.std() / np.sqrt(len(ratio))
        assert error < 0.015
        assert abs(mean - 1) < 4 * error, (theta, mean, error)


def test_exact_score_is_the_gradient_of_log_p(events_at_sm):
    """The closed-form score 2(Qa)/aᵀQa − ∇ log σ against central differences of log p (step 1e-5: error
    ~1e-9 on scores of order 1; asserted to 1e-6)."""
    process, _, x = events_at_sm
    exact = ExactWW(process, REQUIRED)
    integrals = exact.angular_integrals(x)
    theta = THETAS[-1]
    step = 1e-5
    numeric = np.stack([(exact.log_likelihood(x, theta + step * e, integrals)
                         - exact.log_likelihood(x, theta - step * e, integrals)) / (2 * step) for e in np.eye(3)], 1)
    np.testing.assert_allclose(exact.score(x, theta, integrals), numeric, atol=1e-6)


def _parton_config(**changes) -> dict:
    config = load(REPOSITORY / "config" / "config.yaml", REPOSITORY / "config" / "ee_ww_parton.yaml")
    for key, value in changes.items():
        config[key] = dict(config[key], **value) if isinstance(value, dict) else value
    return validate(config)


@pytest.mark.parametrize("change, reason", [
    ({}, None),
    ({"shower": {"enabled": True}}, "shower"),
    ({"detector": {"parton": False}}, "parton level only"),
    ({"detector": {"parton": False, "card": str(REPOSITORY / "config/processes/detectors/lep.yaml")}},
     "parton level only"),
    ({"cuts": ["mu_minus.pt > 20"]}, "'cuts'"),
    ({"observables": list(REQUIRED[:5])}, "m_lnu"),
])
def test_the_exact_ww_likelihood_is_used_only_at_parton_level(change, reason):
    said = unavailable_because(_parton_config(**change))
    assert said is None if reason is None else reason in said


def test_the_parton_config_is_valid_and_names_its_observables():
    config = _parton_config()
    assert config["observables"] == list(REQUIRED)
    with pytest.raises(ConfigError, match="process.name"):
        validate(dict(config, process=dict(config["process"], name="ee_zz")))


def test_generated_events_have_zero_mean_exact_score(tmp_path):
    """The chain setup → generate → detect (parton level) → exact: the mean exact score over events drawn at
    the SM is zero, to its statistical error (4 errors; 3000 events). It fails where the observables, the
    fold or the normalisation disagree with the generator: without the fold (the density of one jet
    assignment) the mean score of Δκ_γ is off by 10 errors and that of Δg₁ᶻ by 5 (three samples)."""
    config = _parton_config(generation={"chunks": 1, "events_per_chunk": 3000}, morphing={"n_trials": 20})
    setup = tmp_path / "setup.h5"
    stages.setup(config, setup)
    stages.generate(config, setup, 0, tmp_path / "events.lhe.gz")
    stages.detect(config, setup, tmp_path / "events.lhe.gz", 0, tmp_path / "events.h5")
    names = list(events.read_observable_names(tmp_path / "events.h5"))
    x = events.read(tmp_path / "events.h5").observations
    assert names == list(REQUIRED) and x.shape == (3000, 7) and np.all(np.isfinite(x))
    exact = from_config(config, names)
    scores = exact.score(x, np.zeros(3))
    mean, error = scores.mean(axis=0), scores.std(axis=0) / np.sqrt(len(scores))
    np.testing.assert_array_less(np.abs(mean), 4 * error)
    assert api.open(tmp_path / "events.h5").kind == "events"

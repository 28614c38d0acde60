"""sin²θ_W in ee_mumu: finite-difference benchmarks against the closed form, against direct
integration, and through MadMiner 0.9.6 itself."""

from __future__ import annotations

import logging
import shutil

import h5py
import numpy as np
import pytest
from scipy import integrate

import goldmine
from goldmine.exceptions import ConfigError
from goldmine.generation import generate
from goldmine.inference.fisher import event_file_information, truth_information
from goldmine.io import events
from goldmine.mining import EventPool, mine_local_score
from goldmine.physics.finite_differences import DEFAULT_EPSILON
from goldmine.physics.parameters import build_finite_difference_space
from goldmine.physics.processes import EEMuMu

madminer = pytest.importorskip("madminer", reason="MadMiner 0.9.6 is not installed (pip install '.[madminer]')")
from madminer.fisherinformation import FisherInformation  # noqa: E402
from madminer.sampling import SampleAugmenter  # noqa: E402

logging.getLogger("madminer").setLevel(logging.WARNING)

N_EVENTS = 20_000
RANGE = [(0.22, 0.24)]


def _weinberg(sqrt_s: float, epsilon: float = 1e-4):
    process = EEMuMu(sqrt_s=sqrt_s, parameters=("sin2_theta_w",))
    space = build_finite_difference_space(process.parameter_names, RANGE, process.standard_model, epsilon)
    _, generated = generate(process, space, N_EVENTS, seed=11)
    momenta = generated.particles[:, 2]  # the μ⁻
    cos_theta = (momenta.pz / np.sqrt(momenta.px**2 + momenta.py**2 + momenta.pz**2)).to_numpy()
    return process, space, generated.weights, cos_theta


def _score_error(sqrt_s: float, epsilon: float) -> float:
    """Largest |t_fd − t_exact| per event over the largest |t_exact|, t = ∂ log dσ(z)/∂ sin²θ_W."""
    process, space, weights, cos_theta = _weinberg(sqrt_s, epsilon)
    reference = np.array(process.standard_model)
    finite = space.weight_gradients(weights, reference)[:, 0] / space.weights(weights, reference)
    exact = (process.differential_cross_section_gradient(cos_theta, reference)[:, 0]
             / process.differential_cross_section(cos_theta, reference))
    return float(np.max(np.abs(finite - exact)) / np.max(np.abs(exact)))


@pytest.mark.parametrize("sqrt_s", [91.2, 200.0])
def test_finite_difference_score_is_second_order_in_epsilon(sqrt_s):
    error, error_doubled = _score_error(sqrt_s, 1e-4), _score_error(sqrt_s, 2e-4)
    # Central differences: the truncation error is ε²/6 ∂³w/w, so doubling ε quadruples it; rounding
    # (1e-16/ε ≈ 1e-12) is far below the 1e-6 it reaches at ε = 1e-4 (measured 1.0e-6 at 91.2 GeV).
    assert error_doubled / error == pytest.approx(4.0, abs=0.05)
    assert error < 2e-6


def test_the_standard_model_is_unchanged_by_the_new_parameter():
    # The same SM |M|², whether sin²θ_W is a parameter or not: existing results do not move.
    contact, weinberg = EEMuMu(sqrt_s=91.2), EEMuMu(sqrt_s=91.2, parameters=("c_vv", "c_aa", "sin2_theta_w"))
    cos_theta = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(contact.differential_cross_section(cos_theta, [0.0, 0.0]),
                                  weinberg.differential_cross_section(cos_theta, [0.0, 0.0, 0.23122]))


@pytest.mark.parametrize("sqrt_s", [91.2, 200.0])
def test_truth_fisher_information_matches_direct_integration(sqrt_s):
    process, space, weights, _ = _weinberg(sqrt_s)
    reference = np.array(process.standard_model)
    w, gradients = space.weights(weights, reference), space.weight_gradients(weights, reference)
    information = truth_information(w, gradients, luminosity=1.0)[0, 0]

    def integrand(cos_theta: float) -> float:
        gradient = process.differential_cross_section_gradient([cos_theta], reference)[0, 0]
        return gradient**2 / process.differential_cross_section([cos_theta], reference)[0]

    expected, _ = integrate.quad(integrand, -1.0, 1.0, epsabs=0.0, epsrel=1e-10)
    # Monte Carlo error of Σ_e ∂w²/w over 2·10⁴ events (measured 0.34%); 4σ, as the seed is fixed.
    mc_error = np.sqrt(len(w)) * np.std(gradients[:, 0] ** 2 / w)
    assert information == pytest.approx(expected, abs=4 * mc_error)


@pytest.fixture(scope="module")
def weinberg_file(tmp_path_factory):
    """An event file at the Z pole with sin²θ_W as its parameter (observable: cos θ of the μ⁻)."""
    _, space, weights, cos_theta = _weinberg(91.2)
    path = tmp_path_factory.mktemp("weinberg") / "events.h5"
    events.write(path, space, ["cos_theta_mu_minus"], ["cos_theta_mu_minus"],
                 events.Events(cos_theta[:, None], weights, np.zeros(len(weights), dtype=int)))
    return path


def test_madminer_reads_the_finite_differences(weinberg_file, tmp_path):
    luminosity = 100.0
    ours = event_file_information(weinberg_file, luminosity=luminosity)
    assert ours["theta"] == [0.23122]
    madminer_information, _ = FisherInformation(str(weinberg_file)).truth_information(theta="sm",
                                                                                      luminosity=luminosity)
    # MadMiner takes the forward difference (error ε/2 ∂²w/∂w ≈ 1e-3 relative at ε = 1e-4), goldmine the
    # central one (1e-6): they agree to the forward difference's error.
    assert ours["truth"][0][0] == pytest.approx(madminer_information[0, 0], rel=3e-3)
    # Without goldmine's backward benchmarks, goldmine takes MadMiner's forward difference: the same numbers.
    forward_only = tmp_path / "forward.h5"
    shutil.copy(weinberg_file, forward_only)
    with h5py.File(forward_only, "a") as handle:
        del handle["finite_differences/goldmine_backward_benchmarks"]
    assert event_file_information(forward_only, luminosity=luminosity)["truth"][0][0] == pytest.approx(
        madminer_information[0, 0], rel=1e-10)
    assert ours["truth"][0][0] != pytest.approx(madminer_information[0, 0], rel=1e-6)


def test_madminer_and_goldmine_mine_the_same_joint_score(weinberg_file):
    x, _, t_xz, _ = SampleAugmenter(str(weinberg_file)).sample_train_local(
        theta=madminer.sampling.benchmark("sm"), n_samples=2000, filename=None, folder=None)
    space = events.read_parameter_space(weinberg_file)
    block = events.read(weinberg_file)
    pool = EventPool(space, block.observations, block.weights)
    sample = mine_local_score(pool, space.benchmark("sm"), 20_000, np.random.default_rng(1))
    # Both draw events at θ_ref: the joint score's mean vanishes, and its variance is the information
    # in the shape, (I_truth − I_rate)/(σ L); the Monte Carlo error of each ⟨t²⟩ from its own sample, 4σ.
    information = event_file_information(weinberg_file, luminosity=1.0)
    expected = (information["truth"][0][0] - information["rate"][0][0]) / information["cross_section_pb"]
    for scores in (sample.t_xz[:, 0], t_xz[:, 0]):
        assert np.mean(scores**2) == pytest.approx(expected, abs=4 * np.std(scores**2) / np.sqrt(len(scores)))
        assert abs(np.mean(scores)) < 4 * np.sqrt(expected / len(scores))
    assert x.shape == (2000, 1)


def test_methods_that_need_morphing_are_refused():
    weinberg = {"sqrt_s": 91.2, "parameters": {"sin2_theta_w": [0.22, 0.24]}}
    config = goldmine.load_config("config/config.yaml", process=weinberg, training={"methods": ["sally"]})
    assert list(config["process"]["parameters"]) == ["c_vv", "c_aa", "sin2_theta_w"]
    assert config["finite_differences"]["epsilon"] == DEFAULT_EPSILON
    with pytest.raises(ConfigError, match=r"\['alices'\] need morphing .* Methods that need morphing: \[.*'carl'"):
        goldmine.load_config("config/config.yaml", process=weinberg)
    with pytest.raises(ConfigError, match=r"must contain the Standard Model \(0.23122\)"):
        goldmine.load_config(config, process={"parameters": {"sin2_theta_w": [0.24, 0.25]}})
    space = build_finite_difference_space(("sin2_theta_w",), RANGE, (0.23122,), 1e-4)
    with pytest.raises(ConfigError, match="goldmine infer .* do not morph"):
        space.require_morphing("goldmine infer")
    with pytest.raises(ConfigError, match="is not a benchmark"):
        space.weights(np.ones((1, 3)), [0.23])


def test_the_stages_run_sally_at_the_reference_point(tmp_path):
    from goldmine import config as config_module
    from goldmine.inference.analysis import run_inference
    from goldmine.inference.fisher import score_information
    from goldmine.ml.estimators import evaluate_score
    from goldmine.ml.models import load_model

    overlay = {"process": {"sqrt_s": 91.2, "parameters": {"sin2_theta_w": [0.22, 0.24]}},
               "generation": {"chunks": 1, "events_per_chunk": 20_000},
               "observables": ["cos_theta_mu_minus"],
               "mining": {"samples": {"local_score": 5000, "ratio": 100}},
               "training": {"methods": ["sally"],
                            "local_score": {"epochs": 20, "hidden": [16], "learning_rate": 0.01}}}
    config = config_module.validate(config_module.merge(config_module.load("config/config.yaml"), overlay))
    goldmine.setup(config, tmp_path / "setup.h5")
    goldmine.generate(config, tmp_path / "setup.h5", tmp_path / "chunk.lhe.gz")
    goldmine.detect(config, tmp_path / "setup.h5", tmp_path / "chunk.lhe.gz", tmp_path / "chunk.h5")
    goldmine.merge([tmp_path / "chunk.h5"], tmp_path / "events.h5")
    samples = goldmine.mine(config, tmp_path / "events.h5", tmp_path / "samples")
    assert sorted(samples) == ["local_score", "test"]  # no ratio sample without morphing
    goldmine.train(config, "sally", samples["local_score"], tmp_path / "setup.h5", tmp_path / "sally.pt",
                   progress=False)
    model, _ = load_model(tmp_path / "sally.pt")

    space, test = events.read_parameter_space(samples["test"]), events.read(samples["test"])
    reference = space.benchmark("sm")
    evaluator = space.evaluator(test.weights)
    weights, learned = evaluator(reference), evaluate_score(model, test.observations)
    # Against the closed-form score of the measured angle (the detector smears it by 0.03 rad only),
    # both centred (the rate term of the fiducial cross section drops out): 20 epochs leave a relative
    # mean squared error of 0.07 (measured); a network that learned nothing has 1.
    process = EEMuMu(sqrt_s=91.2, parameters=("sin2_theta_w",))
    cos_theta = test.observations[:, 0]
    exact = (process.differential_cross_section_gradient(cos_theta, reference)[:, 0]
             / process.differential_cross_section(cos_theta, reference))

    def centred(score: np.ndarray) -> np.ndarray:
        return score - np.average(score, weights=weights)

    error = np.average((centred(learned[:, 0]) - centred(exact)) ** 2, weights=weights)
    assert error / np.average(centred(exact) ** 2, weights=weights) < 0.15
    # SALLY's Fisher information at the reference against the truth's, both on the test events: their
    # shape parts agree to the score's error (measured 1.02).
    truth = goldmine.fisher_information(samples["test"], luminosity=1.0)
    sally = score_information(weights, learned, evaluator.total_gradient(reference), 1.0)
    shape_fraction = (sally[0][0] - truth["rate"][0][0]) / (truth["truth"][0][0] - truth["rate"][0][0])
    assert shape_fraction == pytest.approx(1.0, abs=0.15)
    with pytest.raises(ConfigError, match="goldmine infer .* do not morph"):
        run_inference(config, samples["test"], {}, progress=False)

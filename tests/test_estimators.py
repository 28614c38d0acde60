"""SALLY and ALICES against the exact likelihood of ee_mumu (the validation of arXiv:1805.00020)."""

import copy

import numpy as np
import pytest
import torch

from goldmine import stages
from goldmine.detection.detector import MuonDetector
from goldmine.inference.analysis import run_inference
from goldmine.inference.exact import ExactLikelihood
from goldmine.io import events, samples
from goldmine.ml.estimators import evaluate_score, train_estimator
from goldmine.ml.models import load_model
from goldmine.physics.processes import get_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(analysis, tmp_path_factory):
    directory = tmp_path_factory.mktemp("trained")
    outputs = [directory / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    paths = stages.mine(analysis.config, analysis.events, *outputs)
    models = {}
    for method, family in (("sally", "local_score"), ("alices", "ratio")):
        models[method] = [directory / f"{method}.pt"]
        stages.train(analysis.config, method, paths[family], analysis.setup, models[method][0], progress=False)
    results = run_inference(analysis.config, paths["test"], models, progress=False)
    return paths, models, results


def test_alices_learns_the_exact_log_likelihood_ratio(trained):
    """MSE of log r̂ on test events over 50 θ₀ from the prior, against the spread of the exact log r.

    Threshold: the MSE must be below 2% of the variance of the exact log r (R² > 0.98): a
    network that learned only the rate or only a linear term in θ would leave tens of percent.
    """
    validation = trained[2]["validation"]
    assert validation["alices_log_r_mse"] < 0.02 * validation["exact_log_r_variance"]


@pytest.mark.parametrize("method, widest", [("alices", 1.03), ("sally", 1.08)])
def test_expected_intervals_match_the_exact_likelihood(trained, method, widest):
    """Ends against exact, from validation.json's comparison (same test events, bootstrap error bars).

    Bounds: never narrower than exact (the stage's own failure test: 3 bootstrap errors and 1%);
    at most ``widest`` × the exact width: ALICES came within 0.6% at 10⁵ training events, SALLY's
    8 × 8 quantile histogram of the score loses 1.3% (c_vv) and 6.3% (c_aa) at 10⁵ and 10⁶
    (docs/accuracy.md), the binning's loss, not training noise; the centre within 0.3 exact
    half-widths: ALICES's centre sits +0.17 (default run) and +0.21 (this test's training) exact
    half-widths off, a bias linear in θ that the former own-mean-score centring removed (the
    former bound, 10% of each end, allowed 0.1 with any width). The bootstrap errors (~0.001
    of a half-width) are far below these: the spread from training, which one network cannot
    show, sets them.
    """
    validation = trained[2]["validation"]
    assert not [f for f in validation["failed"] if f["method"] == method and "narrower" in f["reason"]]
    for label in ("68", "95"):
        for name, numbers in validation["intervals_against_exact"][method][label].items():
            assert numbers["width_ratio"] < widest, (label, name, numbers)
            assert abs(numbers["shift"]) < 0.3, (label, name, numbers)
            assert numbers["width_ratio_error"] < 0.01 and numbers["shift_error"] < 0.05, (label, name, numbers)
    for interval in trained[2]["limits"]["methods"][method]["intervals"]["68"].values():
        assert "excludes_asimov_point" not in interval["flags"]


def test_sally_learns_the_exact_score(trained, analysis):
    paths, models, _ = trained
    model, metadata = load_model(models["sally"][0])
    test = events.read(paths["test"])
    exact = ExactLikelihood(get_process(analysis.config["process"]),
                            MuonDetector.from_config(analysis.config["detector"]), metadata["observables"])
    true = exact.score(test.observations, np.zeros(2))
    estimated = evaluate_score(model, test.observations)
    assert np.mean((estimated - true) ** 2) < 0.02 * np.mean(np.var(true, axis=0))


def test_pyhf_histogram_equals_goldmines_histogram_likelihood(trained):
    assert trained[2]["validation"]["pyhf_vs_numpy_histogram_max_abs_q_difference"] < 1e-8


def test_fisher_information_ordering(trained):
    """Truth ≥ exact detector level ≥ histogram ≥ rate, in the sense of the determinant."""
    information = {k: np.array(v["matrix"]) for k, v in trained[2]["fisher"]["methods"].items()}
    determinant = {k: np.linalg.det(v) for k, v in information.items()}
    assert determinant["truth"] >= determinant["exact"] * 0.99
    assert determinant["exact"] >= determinant["histogram"] * 0.99
    assert determinant["rate"] == pytest.approx(0.0, abs=1e-6 * determinant["histogram"])
    # SALLY's score information is E[t̂ t̂ᵀ]: off by about its MSE/Var (10⁻³ at 10⁵ training events,
    # docs/accuracy.md) and 0.3% on the default run; 3% leaves room for training noise
    np.testing.assert_allclose(information["sally"], information["exact"], rtol=0.03)
    assert not [f for f in trained[2]["validation"]["failed"] if f["reason"].startswith("Fisher")]


def test_training_is_bit_for_bit_reproducible(trained, analysis):
    sample = samples.read_training_sample(trained[0]["local_score"])
    small = samples.TrainingSample(*(getattr(sample, f)[:4000] for f in ("x", "theta0", "theta1", "y", "r_xz", "t_xz")))
    settings = dict(analysis.config["training"]["local_score"], epochs=2)
    states = [train_estimator("sally", small, np.array([[-0.2, 0.2]] * 2), settings, progress=False)[0].state_dict()
              for _ in range(2)]
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_the_calibrated_alices_is_centred_on_the_exact_intervals(trained, analysis):
    """inference.ratio_calibration on the mined ratio sample's SM events (independent of the test events).

    Uncalibrated, ALICES' centre sits −0.13 (c_vv) and +0.21 (c_aa) exact half-widths off at 68% CL
    (test_expected_intervals_match_the_exact_likelihood: a bias linear in θ); the calibration's normaliser
    takes that linear term out (its slope at θ_ref cancels the control's Ê_cal[t̂] exactly, so the calibration's
    noise stays out of the centre), measured: |shift| ≤ 0.002, widths 0.993 to 0.999 of exact. The bound 0.05
    is a quarter of the uncalibrated shift; the widths keep the bounds of the uncalibrated test.
    """
    paths, models, uncalibrated = trained
    config = copy.deepcopy(analysis.config)
    config["inference"]["ratio_calibration"]["events"] = 50_000
    results = run_inference(config, paths["test"], {"alices": models["alices"]}, progress=False,
                            calibration_file=paths["ratio"])
    validation = results["validation"]
    assert not [f for f in validation["failed"] if f["method"] == "alices"]
    for label in ("68", "95"):
        for name, numbers in validation["intervals_against_exact"]["alices"][label].items():
            assert abs(numbers["shift"]) < 0.05, (label, name, numbers)
            assert 0.98 < numbers["width_ratio"] < 1.03, (label, name, numbers)
    before = uncalibrated["validation"]["intervals_against_exact"]["alices"]["68"]
    assert max(abs(numbers["shift"]) for numbers in before.values()) > 0.1  # the test can fail: it was off
    # the record keeps the estimator's own bias visible, and the control is the test − calibration mean score
    record = validation["ratio_calibration"]["alices"]
    assert record["events"] == 50_000 and record["minimum"] == [0.0, 0.0]
    np.testing.assert_allclose(record["control_variate"], np.subtract(validation["alices_mean_score_at_reference"],
                                                                      record["mean_score_calibration"]), atol=1e-12)

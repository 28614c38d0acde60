"""The learned-ratio calibration (inference.ratio_calibration): a mis-normalised, score-biased ratio is
off the exact intervals without it and on them with it, in the scan and in the bootstrap."""

import numpy as np
import pytest

from goldmine.exceptions import ConfigError
from goldmine.inference import diagnostics, methods
from goldmine.inference.analysis import run_inference
from goldmine.inference.grid import Grid
from goldmine.inference.ratio_calibration import RatioCalibration
from goldmine.physics.morphing import Morphed

#: the shape-only toy of test_diagnostics: p(x|θ) = (1 + θ₀ x + θ₁ (x² − 1/3)) / 2 on [−1, 1], events
#: drawn at θ = 0, σ = 1 pb whatever θ, L = 300 pb⁻¹: 68% half-widths ≈ 0.1.
COMPONENTS = np.array([[0, 0], [1, 0], [0, 1]])
LUMINOSITY = 300.0
#: the estimator's errors: a score bias of 0.015 in a, which alone moves a's interval by ≈ 0.45
#: half-widths (test_diagnostics), and a normalisation error 0.02 |θ|², −12 |θ|² in q, which widens b's
#: interval (q ≈ 27 b² at the SM, half-width 0.19) by √(27/15) = 1.34 (a's, q ≈ 100 a², by 1.06).
BIAS = np.array([0.015, 0.0])
CURVATURE = 0.02


def _log_r(x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    thetas = np.atleast_2d(thetas)
    return np.log(1 + thetas[:, :1] * x + thetas[:, 1:] * (x**2 - 1 / 3))


def _biased(x: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """log r̂ = log r + BIAS·θ + CURVATURE |θ|²: wrong only by a function of θ, as a mis-normalised network."""
    thetas = np.atleast_2d(thetas)
    return _log_r(x, thetas) + (thetas @ BIAS + CURVATURE * np.sum(thetas**2, axis=1))[:, None]


def _score(x: np.ndarray) -> np.ndarray:
    """The exact score t(x|θ=0), shape (n, 2)."""
    return np.column_stack([x, x**2 - 1 / 3])


def test_calibration_brings_a_mis_normalised_biased_ratio_to_the_exact_intervals():
    rng = np.random.default_rng(1)
    x, x_calibration = rng.uniform(-1, 1, 20_000), rng.uniform(-1, 1, 20_000)  # independent, both at θ_ref
    toy = Morphed(COMPONENTS, np.column_stack([np.ones(len(x)), x, x**2 - 1 / 3]) / len(x))
    grid = Grid(("a", "b"), (np.linspace(-0.3, 0.3, 41),) * 2, np.zeros(2))
    weights = toy(grid.reference) / toy(grid.reference).sum()
    shared = weights @ _score(x)  # the shared control variate: the test events' mean exact score
    biased_scores = _score(x) + BIAS  # ∇θ log r̂ at θ_ref
    calibration = RatioCalibration([lambda thetas: _biased(x_calibration, thetas)], _score(x_calibration) + BIAS,
                                   grid.reference)
    log_ratios = {"exact": lambda thetas: _log_r(x, thetas),
                  "biased": lambda thetas: _biased(x, thetas),
                  "calibrated": lambda thetas: _biased(x, thetas) - calibration.log_normaliser(thetas)[:, None]}
    controls = {"exact": shared, "biased": shared, "calibrated": calibration.control(biased_scores, weights)}
    results = {name: methods.learned_ratio([lambda thetas, f=f: f(thetas) @ weights], controls[name], toy, grid,
                                           LUMINOSITY) for name, f in log_ratios.items()}
    replicas = diagnostics.bootstrap_methods(results, toy, grid, LUMINOSITY, _score(x), log_ratios, {},
                                             own_scores={"calibrated": biased_scores - calibration.mean_score})
    comparison, failed = diagnostics.compare_with_exact(results, replicas, grid.names)

    assert calibration.mean_score == pytest.approx(BIAS, abs=4 * 0.58 / np.sqrt(20_000))  # t's spread ≤ 1/√3
    assert comparison["biased"]["68"]["a"]["shift"] > 0.3  # 0.45 expected, from the bias alone
    assert comparison["biased"]["68"]["b"]["width_ratio"] > 1.2  # 1.34 expected, from the curvature
    assert {f["method"] for f in failed} == {"biased"}
    for label in ("68", "95"):
        for name in ("a", "b"):
            numbers = comparison["calibrated"][label][name]
            if numbers["width_ratio"] is None:  # b's 95% interval reaches the grid edge
                continue
            # What remains is log Ê_cal[r(x|θ)] − θ·Ê_cal[t], of order |θ·Ê_cal[t]|² ≈ (0.3 · 0.004)²: 10⁻⁶ of q's
            # curvature at the 68% ends; 0.5% allows the refined scan's interpolation between grid points.
            assert numbers["shift"] == pytest.approx(0.0, abs=0.005), (label, name, numbers)
            assert numbers["width_ratio"] == pytest.approx(1.0, abs=0.005), (label, name, numbers)
            # each bootstrap replica is centred with its own Ê_test[t̂]: it follows the exact replica (the biased
            # one, centred with the exact score's mean, errs by 0.017 half-widths)
            assert numbers["shift_error"] < 0.005, (label, name, numbers)


def test_calibration_without_the_ratio_sample_is_a_config_error(tmp_path):
    """Before any file is read: a workflow without the ratio sample fails at once, not after the scans."""
    config = {"inference": {"luminosity": 1.0, "ratio_calibration": {"events": 10}}}
    with pytest.raises(ConfigError, match="ratio_calibration"):
        run_inference(config, tmp_path / "test.h5", {"alices": [tmp_path / "alices_0.pt"]})

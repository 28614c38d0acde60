"""Nuisance parameters: the analytic toy (profiled Fisher information in closed form, against
goldmine's and against pyhf's profile likelihood), the rate nuisance of the unbinned methods
against pyhf, and shape variations from an event file's weights."""

from pathlib import Path

import numpy as np
import pytest

from goldmine.inference import methods, systematics
from goldmine.inference.grid import Grid
from goldmine.inference.histfactory import HistogramModel
from goldmine.io import events
from goldmine.physics.morphing import Morphed, find_components
from goldmine.physics.parameters import build_parameter_space


def _pyhf_curvature(model: HistogramModel, step: float) -> float:
    """The curvature of pyhf's profile likelihood, ½ ∂²q/∂θ² at θ = 0, by a central second difference."""
    values = [model.twice_nll(np.array([theta])) for theta in (-step, 0.0, step)]
    return (values[0] + values[2] - 2 * values[1]) / (2 * step**2)


def test_counting_experiment_with_luminosity_uncertainty_shrinks_as_the_closed_form():
    # ν(θ) = b + sθ, the count scaled by the luminosity λ ~ N(1, δ): profiling λ leaves
    # I = (s²/b) / (1 + b δ²) of the s²/b that the count alone carries.
    b, s, delta = 100.0, 20.0, 0.1
    model = HistogramModel(["c"], np.array([[0], [1]]), np.array([[b], [s]]), [b], luminosity_uncertainty=delta)
    closed_form = s**2 / b / (1 + b * delta**2)
    full = model.information(np.zeros(1))
    # central differences of a function linear in θ and λ: exact up to rounding
    assert systematics.profiled_information(full, 1)[0, 0] == pytest.approx(closed_form, rel=1e-9)
    assert systematics.projected_information(full, 1)[0, 0] == pytest.approx(s**2 / b, rel=1e-9)
    assert closed_form == pytest.approx(2.0)  # half: b δ² = 1
    # pyhf's profile likelihood: q(θ) = I θ² + O(θ⁴) on Asimov data (the cubic cancels in the
    # central difference); at θ = 0.02 (σ_θ = 0.71) the quartic term is 2e-5 relative, and the
    # fits (tolerance 1e-10) add < 1e-6.
    assert _pyhf_curvature(model, 0.02) == pytest.approx(closed_form, rel=1e-4)


def test_two_bin_shape_nuisance_shrinks_as_the_closed_form():
    # Two bins b_k + θ s_k, a histosys that tilts them by ±ε (u = −1, +1): I_θθ = Σ s²/b,
    # I_θα = ε Σ s u, I_αα = ε² Σ b + 1, profiled I_θθ − I_θα²/I_αα.
    b, s, u, epsilon = np.array([100.0, 60.0]), np.array([10.0, -4.0]), np.array([-1.0, 1.0]), 0.05
    model = HistogramModel(["c"], np.array([[0], [1]]), np.array([b, s]), b,
                           shapes={"tilt": (1 + epsilon * u, 1 - epsilon * u)})
    closed_form = np.sum(s**2 / b) - (epsilon * np.sum(s * u)) ** 2 / (epsilon**2 * np.sum(b) + 1)
    # the histosys is exactly linear (symmetric variations, pyhf's code 4p): differences exact up to rounding
    assert systematics.profiled_information(model.information(np.zeros(1)), 1)[0, 0] == pytest.approx(
        closed_form, rel=1e-9)
    assert closed_form < 0.8 * np.sum(s**2 / b)  # the nuisance costs > 20%: the test can tell
    # as above: quartic term ~(0.01/σ_θ)² = 3e-5 relative
    assert _pyhf_curvature(model, 0.01) == pytest.approx(closed_form, rel=1e-4)


def test_profiled_information_is_the_inverse_of_the_covariance_block():
    rng = np.random.default_rng(3)
    root = rng.normal(size=(5, 5))
    information = root @ root.T + 5 * np.eye(5)
    covariance = np.linalg.inv(information)
    np.testing.assert_allclose(systematics.profiled_information(information, 2), np.linalg.inv(covariance[:2, :2]),
                               rtol=1e-10)


def test_rate_uncertainty_of_the_unbinned_methods_equals_pyhf_lumi():
    # The rate method's q with the rate scale profiled in closed form, against pyhf's one-bin
    # model with the same Gaussian-constrained luminosity: the same likelihood, so q agrees to
    # the fits' precision (tolerance 1e-10 on −2 log L).
    components = find_components((2,))
    events = Morphed(components, np.array([[1.0, 0.3, 0.5], [2.0, -0.2, 0.5]]))  # σ(θ) = 3 + 0.1θ + θ²
    grid = Grid(("c",), (np.linspace(-1, 1, 9),), np.zeros(1))
    luminosity, delta = 100.0, 0.05
    q = methods.rate(events, grid, luminosity, systematics.Systematics(luminosity=delta)).q
    yields = luminosity * events.component_weights.sum(axis=0)[:, None]
    model = HistogramModel(["c"], components, yields, [luminosity * 3.0], luminosity_uncertainty=delta)
    np.testing.assert_allclose(q, model.q(grid.points), atol=1e-6)
    without = methods.rate(events, grid, luminosity).q
    assert np.all(q[[0, -1]] < 0.9 * without[[0, -1]])  # the nuisance matters here


def test_unbinned_q_with_a_tilt_and_the_luminosity_equals_pyhf_s_binned_model():
    # Events at two values of x are a two-bin histogram: the unbinned likelihood with the rate
    # scale and the tilt profiled (exact log r of the two "bins") is pyhf's model with a lumi and
    # a symmetric histosys (linear in α, as the tilt), so q agrees to the fits' precision.
    components = find_components((2,))
    events = Morphed(components, np.array([[1.0, 0.4, 0.3], [1.5, -0.3, 0.2]]))
    thetas = np.linspace(-1, 1, 9)[:, None]
    reference = np.zeros(1)
    luminosity, u, epsilon = 200.0, np.array([-1.0, 1.0]), 0.1
    shape = systematics.ShapeVariation("tilt", 1 + epsilon * u, 1 - epsilon * u)
    nuisances = systematics.Systematics(luminosity=0.03, shapes=(shape,))
    densities = events(thetas) / events.total(thetas)[:, None]
    reference_density = events(reference) / events.total(reference)
    mean_log_ratio = np.log(densities / reference_density) @ reference_density
    q = methods.profiled_unbinned_q(events, thetas, reference, mean_log_ratio, luminosity, nuisances)
    model = HistogramModel(["c"], components, luminosity * events.component_weights.T, luminosity * events(reference),
                           luminosity_uncertainty=0.03, shapes={"tilt": (shape.up, shape.down)})
    np.testing.assert_allclose(q, model.q(thetas), atol=1e-6)
    without = methods.profiled_unbinned_q(events, thetas, reference, mean_log_ratio, luminosity)
    assert np.all(q[[0, -1]] < 0.95 * without[[0, -1]])  # the nuisance parameters matter here


def test_profiled_information_of_a_histogram_equals_pyhf_s():
    # The 1-D histograms' profiled information (bins as items, each nuisance linear) against pyhf's
    # model of the same histogram with a lumi and a symmetric histosys, both linear: equal up to
    # the central differences' rounding.
    rng = np.random.default_rng(7)
    components = find_components((2, 2))
    weights = np.abs(rng.normal(1.0, 0.3, (2000, len(components)))) * 1e-3
    events = Morphed(components, weights)
    values = rng.uniform(-1, 1, (2000, 1))
    nuisances = systematics.Systematics(luminosity=0.02, shapes=(systematics.tilt("tilt", values[:, 0], 0.1),))
    grid = Grid(("a", "b"), (np.linspace(-1, 1, 3),) * 2, np.zeros(2))
    result, _ = methods.histogram(events, values, 6, grid, 1000.0, nuisances)
    profiled = methods.profiled_histogram_information(events, values, 6, grid.reference, 1000.0, nuisances)
    np.testing.assert_allclose(profiled, result.profiled_information, rtol=1e-7)
    assert np.all(np.diag(profiled) < 0.99 * np.diag(result.information))


def test_shape_variations_from_an_event_file_s_weights(tmp_path):
    space = build_parameter_space(("c",), {"c": (-1, 1)}, (2,), 2, n_trials=10)
    variations = events.Systematics(("mu_up", "mu_down"), (("mu", "scale", "0.5,2", "mu"),),
                                    (("mu_nuisance", "mu", "mu_up", "mu_down"),))
    nominal = np.array([[1.0, 2.0, 1.0], [2.0, 2.0, 2.0]])
    varied = np.array([[1.1, 0.8], [2.4, 1.6]])  # scale weights: +10%, −20% and +20%, −20%
    block = events.Events(np.zeros((2, 1)), np.hstack([nominal, varied]), np.zeros(2, int))
    path = tmp_path / "events.h5"
    events.write(path, space, ["x"], ["x"], block, systematics=variations)
    reference_weights = np.array([1.0, 2.0])
    (shape,) = systematics.weight_variations(path, reference_weights)
    assert shape.name == "mu_nuisance"
    np.testing.assert_allclose(shape.up, [1.1, 1.2])
    np.testing.assert_allclose(shape.down, [0.8, 0.8])
    up, down = shape.binned(reference_weights, np.array([0, 0]), 1)
    np.testing.assert_allclose([up[0], down[0]], [3.5 / 3, 2.4 / 3])


def test_a_tilt_of_an_unknown_observable_is_a_config_error():
    from goldmine import config as config_module
    from goldmine.exceptions import ConfigError

    config = config_module.load(Path(__file__).parents[1] / "config" / "config.yaml")
    config["inference"]["systematics"]["tilts"] = {"tilt": {"observable": "no_such_observable", "size": 0.1}}
    with pytest.raises(ConfigError, match="inference.systematics.tilts.tilt.observable"):
        config_module.validate(config)



def test_infer_profiles_the_configured_nuisance_parameters_in_every_method(analysis, tmp_path):
    # run_inference with inference.systematics on 4000 of the analysis' events (a 5 × 5 grid, 5 bins):
    # every method's information is also given profiled, smaller than the projected one; the
    # histogram's (pyhf, normsys code 4) and the same histogram's linear 1-D version agree to
    # second order in the 5% normalisation (measured 4e-4 relative on the full sample; 1% allowed);
    # and the exact likelihood's profiled q has the curvature of its profiled information.
    import copy

    from goldmine.inference.analysis import run_inference

    space = events.read_parameter_space(analysis.events)
    n_events = 4000
    block = events.read(analysis.events, 0, n_events)
    scale = events.count(analysis.events) / n_events
    path = tmp_path / "test.h5"
    events.write(path, space, events.read_observable_names(analysis.events),
                 events.read_observable_definitions(analysis.events),
                 events.Events(block.observations, block.weights * scale, block.sampling_benchmarks))
    config = copy.deepcopy(analysis.config)
    config["inference"]["grid_points"] = 5
    config["inference"]["histogram"]["bins"] = 5
    config["inference"]["systematics"].update(
        normalisation=0.05, luminosity=0.02, tilts={"tilt": {"observable": "cos_theta_mu_minus", "size": 0.05}})
    results = run_inference(config, path, {})
    fisher = results["fisher"]["methods"]
    for method, entry in fisher.items():
        assert np.all(np.diag(entry["profiled"]) < np.diag(entry["matrix"])), method
    np.testing.assert_allclose(fisher["histogram"]["profiled"], fisher["histogram_1d:cos_theta_mu_minus"]["profiled"],
                               rtol=1e-2)
    # q ≈ (θ − θ_ref)ᵀ I (θ − θ_ref) near θ_ref: the 68% half-width of each parameter, the other
    # profiled, is √((I⁻¹)_ii); q's higher orders and the 5-point grid allow 15%.
    covariance = np.linalg.inv(np.array(fisher["exact"]["profiled"]))
    intervals = results["limits"]["methods"]["exact"]["intervals"]["68"]
    for i, name in enumerate(space.names):
        half_width = (intervals[name]["high"] - intervals[name]["low"]) / 2
        assert half_width == pytest.approx(np.sqrt(covariance[i, i]), rel=0.15), name

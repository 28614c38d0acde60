"""MadMiner 0.9.6 and goldmine read each other's event files (the real MadMiner, no mocks)."""

import copy
import logging

import h5py
import numpy as np
import pytest

madminer = pytest.importorskip("madminer", reason="MadMiner 0.9.6 is not installed (pip install '.[madminer]')")

from madminer.analysis import DataAnalyzer  # noqa: E402
from madminer.core import MadMiner  # noqa: E402
from madminer.fisherinformation import FisherInformation  # noqa: E402
from madminer.models import NuisanceParameter, Observable  # noqa: E402
from madminer.sampling import combine_and_shuffle  # noqa: E402
from madminer.utils.interfaces.hdf5 import load_madminer_settings, save_events, save_nuisance_setup  # noqa: E402

from goldmine import stages  # noqa: E402
from goldmine.inference.fisher import event_file_information  # noqa: E402
from goldmine.io import events, open_events  # noqa: E402

logging.getLogger("madminer").setLevel(logging.WARNING)

#: Both sides sum the same float64 terms per event in different blocks and orders: rounding
#: errors of ~1e-16 per term over 10⁵ events stay far below 1e-9.
RELATIVE = 1e-9


def _relative(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("theta", [[0.0, 0.0], [0.1, -0.05]])
def test_madminer_fisher_information_of_a_goldmine_file(analysis, theta):
    luminosity = 500.0
    information, _ = FisherInformation(str(analysis.events)).truth_information(theta=np.array(theta),
                                                                               luminosity=luminosity)
    rate, _ = FisherInformation(str(analysis.events)).rate_information(theta=np.array(theta), luminosity=luminosity)
    ours = event_file_information(analysis.events, theta, luminosity)
    assert ours["events"] == events.count(analysis.events)
    assert _relative(ours["truth"], information) < RELATIVE
    assert _relative(ours["rate"], rate) < RELATIVE
    # The information is a positive-definite matrix with a non-trivial correlation: not a zero test.
    assert np.all(np.linalg.eigvalsh(information) > 0)


def test_fisher_information_defaults_to_the_reference_benchmark(analysis):
    ours = event_file_information(analysis.events)
    assert ours["theta"] == [0.0, 0.0] and ours["luminosity_pb"] == 300_000.0
    information, _ = FisherInformation(str(analysis.events)).truth_information(theta=np.zeros(2))
    assert _relative(ours["truth"], information) < RELATIVE


def test_madminer_loads_goldmines_settings(analysis):
    (parameters, benchmarks, nuisance_flags, components, matrix, observables, n_samples, systematics, reference,
     nuisance_parameters, signal_events, background_events, _, _) = load_madminer_settings(str(analysis.events), True)
    space = events.read_parameter_space(analysis.events)
    assert tuple(parameters) == space.names
    np.testing.assert_array_equal([p.val_range for p in parameters.values()], space.ranges)
    assert [p.max_power for p in parameters.values()] == list(space.max_powers)
    assert tuple(benchmarks) == space.benchmark_names
    np.testing.assert_array_equal([list(b.values.values()) for b in benchmarks.values()], space.benchmarks)
    assert nuisance_flags == [False] * len(space.benchmark_names) and reference == "sm"
    np.testing.assert_array_equal(components, space.morphing.components)
    np.testing.assert_array_equal(matrix, space.morphing.matrix)
    assert tuple(observables) == events.read_observable_names(analysis.events)
    assert [o.val_expression for o in observables.values()] == list(events.read_observable_definitions(analysis.events))
    assert n_samples == events.count(analysis.events) == int(np.sum(signal_events)) and background_events == 0
    assert not systematics and not nuisance_parameters
    # MadMiner's own session loads goldmine's setup file and builds its morphing from it.
    miner = MadMiner()
    miner.load(str(analysis.setup))
    assert tuple(miner.benchmarks) == space.benchmark_names and miner.morpher is not None


def test_madminer_reads_goldmines_weights_of_several_sampling_benchmarks(analysis, tmp_path):
    """goldmine stores weights divided by MadMiner's sampling factors; both read the same weights."""
    space = events.read_parameter_space(analysis.setup)
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.5, 1.5, (300, len(space.benchmark_names)))
    sampling = np.repeat([0, 2, 5], 100)
    path = tmp_path / "mixed.h5"
    events.write(path, space, ["x"], ["x"], events.Events(rng.normal(size=(300, 1)), weights, sampling))
    _, madminer_weights = next(DataAnalyzer(str(path)).event_loader())
    # A product and a quotient of the same factor: a few ulp.
    np.testing.assert_allclose(madminer_weights, weights, rtol=1e-14)
    np.testing.assert_allclose(events.read(path).weights, weights, rtol=1e-14)
    with h5py.File(path, "r") as handle:
        assert not np.allclose(handle["samples/weights"][()], weights)  # the stored weights are scaled


@pytest.fixture(scope="module")
def madminer_file(tmp_path_factory):
    """An event file written with MadMiner's own API: setup, morphing, a systematic with a nuisance
    benchmark, and events drawn at two benchmarks (weights polynomial in θ, as morphing needs)."""
    path = str(tmp_path_factory.mktemp("madminer") / "madminer.h5")
    miner = MadMiner()
    miner.add_parameter(lha_block="dim6", lha_id=1, parameter_name="c_a", morphing_max_power=2,
                        parameter_range=(-1.0, 1.0))
    miner.add_parameter(lha_block="dim6", lha_id=2, parameter_name="c_b", morphing_max_power=2,
                        parameter_range=(-0.5, 0.5))
    miner.add_benchmark({"c_a": 0.0, "c_b": 0.0}, "sm")
    miner.add_benchmark({"c_a": 0.8, "c_b": 0.0}, "w")
    miner.set_morphing(include_existing_benchmarks=True, max_overall_power=2)
    # MadMiner 0.9.6 cannot save a "norm" systematic (its scale is None): a scale systematic it can.
    miner.add_systematics("scale", "mu_scale", scale="mu", scale_variations=(0.5, 1.0, 2.0))
    miner.save(path)
    save_nuisance_setup(path, True, ["mu_up"], {"nu_mu": NuisanceParameter("nu_mu", "mu_scale", "mu_up", None)},
                        "sm")
    names = list(miner.benchmarks)
    rng = np.random.default_rng(7)
    n = 2000
    benchmark_points = np.array([list(b.values.values()) for b in miner.benchmarks.values()])
    # Quadratic in θ and positive everywhere, like a squared matrix element: d + (a + b·θ)².
    d, a, b = rng.uniform(0.1, 1.0, n), rng.uniform(0.5, 1.5, n), rng.normal(size=(n, 2))
    weights = 1e-3 * (d[:, None] + (a[:, None] + b @ benchmark_points.T) ** 2)
    weight_columns = {name: weights[:, i] for i, name in enumerate(names)}
    weight_columns["mu_up"] = 1.2 * weights[:, 0]
    observations = {"pt_j1": rng.uniform(20.0, 200.0, n), "deta_jj": np.abs(rng.normal(size=n))}
    observables = {"pt_j1": Observable("pt_j1", "j[0].pt"),
                   "deta_jj": Observable("deta_jj", "abs(j[0].eta - j[1].eta)")}
    sampling = np.where(np.arange(n) < 1200, 0, 1)
    save_events(path, True, observables, observations, weight_columns, sampling,
                [1200, 800] + [0] * (len(names) - 2), 0)
    written = (observations, weights, sampling)
    # As MadMiner's LHE reader does after saving: shuffle (goldmine's train/test split takes the last events).
    shuffled = path.replace(".h5", "_shuffled.h5")
    combine_and_shuffle([path], shuffled)
    return path, shuffled, names, written


def test_goldmine_reads_a_file_madminer_wrote(madminer_file):
    path, _, names, (observations, weights, sampling) = madminer_file
    assert (open_events(path).kind, open_events(path).format) == ("events", "madminer")
    space = events.read_parameter_space(path)
    assert space.names == ("c_a", "c_b") and space.benchmark_names == tuple(names)  # not the nuisance "mu_up"
    np.testing.assert_array_equal(space.ranges, [[-1.0, 1.0], [-0.5, 0.5]])
    assert events.read_observable_names(path) == ("pt_j1", "deta_jj")
    assert events.read_observable_definitions(path) == ("j[0].pt", "abs(j[0].eta - j[1].eta)")
    sample = events.read(path)
    np.testing.assert_array_equal(sample.observations, np.stack(list(observations.values()), axis=1))
    np.testing.assert_array_equal(sample.sampling_benchmarks, sampling)
    # MadMiner's own reader multiplies by the sampling factors 1200/2000 and 800/2000.
    _, madminer_weights = next(DataAnalyzer(path).event_loader(include_nuisance_parameters=False))
    np.testing.assert_array_equal(sample.weights, madminer_weights)
    np.testing.assert_allclose(sample.weights, weights * np.where(sampling == 0, 0.6, 0.4)[:, None], rtol=1e-15)
    # The morphing read from the file reproduces the weight polynomials at every benchmark.
    np.testing.assert_allclose(space.weights(sample.weights, space.benchmarks[1]), sample.weights[:, 1], rtol=1e-9)


def test_fisher_information_of_a_madminer_file_equals_madminers(madminer_file):
    path = madminer_file[0]
    theta = np.array([0.2, -0.1])
    information, _ = FisherInformation(path).truth_information(theta=theta, luminosity=1000.0,
                                                               include_nuisance_parameters=False)
    assert _relative(event_file_information(path, theta, 1000.0)["truth"], information) < RELATIVE


def test_a_madminer_file_goes_through_mine(madminer_file, analysis, tmp_path):
    path = madminer_file[1]
    config = copy.deepcopy(analysis.config)
    config["mining"].update(reference_benchmark="sm", n_thetas=20, samples={"local_score": 500, "ratio": 1000})
    paths = stages.mine(config, path, *(tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")))
    assert open_events(paths["local_score"]).kind == open_events(paths["ratio"]).kind == "samples"
    test = events.read(paths["test"])
    assert open_events(paths["test"]).kind == "events" and test.observations.shape[1] == 2
    # The test part, scaled up, estimates the same cross sections as the whole file.
    whole = events.read(path).weights.sum(axis=0)
    assert np.all(np.abs(test.weights.sum(axis=0) / whole - 1) < 0.2)


def test_inspect_and_fisher_commands_read_a_madminer_file(madminer_file):
    import json

    from click.testing import CliRunner

    from goldmine.cli import main

    path = madminer_file[0]
    result = CliRunner().invoke(main, ["inspect", path, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["kind"], summary["format"], summary["events"]) == ("events", "madminer", 2000)
    assert summary["events_per_sampling_benchmark"] == {"sm": 1200, "w": 800}
    assert "nuisance benchmarks ['mu_up']" in summary["ignored"]
    result = CliRunner().invoke(main, ["fisher", path, "--luminosity", "1000", "--json"])
    assert result.exit_code == 0, result.output
    information, _ = FisherInformation(path).truth_information(theta=np.zeros(2), luminosity=1000.0,
                                                               include_nuisance_parameters=False)
    assert _relative(json.loads(result.output)["truth"], information) < RELATIVE

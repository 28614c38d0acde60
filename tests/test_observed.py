"""Observed results from (pseudo-)data: a hidden θ is recovered at the stated rate, observed equals
expected on Asimov data, and `goldmine pseudodata` → `goldmine infer --data` end to end.

Binomial errors: the 68.3% interval of n independent data sets contains the truth in a
fraction with standard deviation √(0.683 · 0.317 / n), 0.033 for n = 200; the recovery rate is
asked within 3 of them (a false alarm in 1 of 370 runs; the seeds are fixed).
"""

from __future__ import annotations

import copy
import json

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from goldmine import stages
from goldmine.cli import main
from goldmine.detection.detector import MuonDetector
from goldmine.inference import coverage, limits, methods, observed
from goldmine.inference.exact import ExactLikelihood
from goldmine.inference.grid import Grid, analysis_grid
from goldmine.inference.results import interval_from_json, limits_document, validate
from goldmine.io import events
from goldmine.physics.processes import get_process
from goldmine.summary import limits_table

POOL_EVENTS = 30_000  # events the pseudo-data are drawn from (each data set has about 1300)
PART_EVENTS = 60_000  # the small run's events (its test events: the last 20%, 12k)
DATA_SETS = 200
TRUTH = np.array([0.04, -0.05])  # (c_vv, c_aa): about one 68% CL half-width from the SM in each


class Pool:
    """The analysis fixture's first events, their exact log r on a grid around the truth."""

    def __init__(self, analysis):
        space = events.read_parameter_space(analysis.events)
        self.names = list(events.read_observable_names(analysis.events))
        test = events.read(analysis.events, 0, POOL_EVENTS)
        self.x = test.observations
        # The weights of all events sum to σ: a subset's are scaled up to keep that.
        self.morphed = space.morphing.morph(test.weights * events.count(analysis.events) / POOL_EVENTS)
        self.config = analysis.config
        self.luminosity = analysis.config["inference"]["luminosity"]
        # ±0.12 around the truth, step 0.012: the 95% CL half-widths are about 0.08 and 0.1
        self.grid = Grid(space.names, tuple(np.linspace(t - 0.12, t + 0.12, 21) for t in TRUTH), space.benchmark("sm"))
        exact = ExactLikelihood(get_process(self.config["process"]), MuonDetector.from_config(self.config["detector"]),
                                self.names)
        integrals = exact.angular_integrals(self.x)
        self.log_r = coverage.log_ratio_table(
            lambda thetas: exact.log_likelihood_ratio(self.x, thetas, self.grid.reference, integrals),
            self.grid.points, len(self.x))


@pytest.fixture(scope="module")
def pool(analysis):
    return Pool(analysis)


def test_pseudo_data_recover_a_hidden_theta_at_the_stated_rate(pool):
    rng = np.random.default_rng(12)
    covered = {label: np.zeros(2) for label in methods.CONFIDENCE_LEVELS}
    sizes = []
    for _ in range(DATA_SETS):
        counts = observed.draw_pseudo_data(pool.morphed(TRUTH), pool.luminosity, rng)
        seen = counts > 0
        result = observed.unbinned(pool.log_r[seen], counts[seen], pool.morphed, pool.grid, pool.luminosity)
        sizes.append(counts.sum())
        for label, per_parameter in result.intervals.items():
            covered[label] += [interval.contains(t) for interval, t in zip(per_parameter, TRUTH)]
    expected_events = pool.luminosity * pool.morphed.total(TRUTH)
    assert abs(np.mean(sizes) - expected_events) < 3 * np.sqrt(expected_events / DATA_SETS)  # N ~ Poisson(Lσ(θ))
    for label, level in methods.CONFIDENCE_LEVELS.items():
        error = np.sqrt(level * (1 - level) / DATA_SETS)
        for name, fraction in zip(pool.grid.names, covered[label] / DATA_SETS):
            assert abs(fraction - level) < 3 * error, (label, name, fraction)


def test_observed_equals_expected_on_asimov_data(pool):
    """The weighted test events at L·w_e(θ_ref) are the Asimov data: the observed q of the rate and
    the histogram is their expected q, and the exact likelihood's is its expected q without the
    control variate (which only the expected limits subtract); the best fit is θ_ref."""
    asimov = pool.luminosity * pool.morphed(pool.grid.reference)
    grid = Grid(pool.grid.names, tuple(np.linspace(-0.15, 0.15, 21) for _ in TRUTH), pool.grid.reference)
    rate = observed.unbinned(np.zeros((1, len(grid.points))), [asimov.sum()], pool.morphed, grid, pool.luminosity)
    np.testing.assert_allclose(rate.q, methods.rate(pool.morphed, grid, pool.luminosity).q, atol=1e-9)

    column = pool.x[:, [pool.names.index("cos_theta_mu_minus")]]
    histogram = observed.histogram(pool.morphed, column, column, asimov, 20, grid, pool.luminosity)
    expected, _ = methods.histogram(pool.morphed, column, 20, grid, pool.luminosity)
    np.testing.assert_allclose(histogram.q, expected.q, atol=1e-8)
    # θ̂ from the quadratic through the grid points around the minimum: q is not quite quadratic,
    # which moves it by about 10⁻³ of the grid step (0.015)
    np.testing.assert_allclose(histogram.best_fit, grid.reference, atol=1e-4)

    # the pool's table is on a grid around the truth: the Asimov q there, its minimum subtracted
    exact = observed.unbinned(pool.log_r, asimov, pool.morphed, pool.grid, pool.luminosity)
    mean_log_r = asimov @ pool.log_r.astype(float) / asimov.sum()
    q = limits.unbinned_q(pool.morphed.total(pool.grid.points), float(pool.morphed.total(pool.grid.reference)),
                          mean_log_r, pool.luminosity).reshape(pool.grid.shape)
    # float32 table (10⁻⁷ relative per entry, summed over 1500 Asimov events): 10⁻⁴ in q
    np.testing.assert_allclose(exact.q, q - q.min(), atol=1e-3)
    for ours, theirs in zip(exact.intervals["68"], methods.MethodResult.from_q(pool.grid, q).intervals["68"]):
        assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), abs=1e-6)


@pytest.fixture(scope="module")
def small_run(analysis, tmp_path_factory):
    """SALLY on a 60k-event part of the analysis (test: its last 12k), pseudo-data at the truth
    drawn by `goldmine pseudodata` from the other events (independent of the test events)."""
    directory = tmp_path_factory.mktemp("observed")
    config = copy.deepcopy(analysis.config)
    config["training"]["methods"] = ["sally"]
    config["training"]["local_score"].update(epochs=1, hidden=[8])
    config["mining"].update(n_thetas=10, samples={"local_score": 1000, "ratio": 1000})
    config["inference"].update(grid_points=11, band={"toys": 100, "seed": 0})
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    space = events.read_parameter_space(analysis.events)
    names = events.read_observable_names(analysis.events)
    definitions = events.read_observable_definitions(analysis.events)
    n_all = events.count(analysis.events)
    part, rest = events.read(analysis.events, 0, PART_EVENTS), events.read(analysis.events, PART_EVENTS)
    for path, block in ((directory / "part.h5", part), (directory / "rest.h5", rest)):
        events.write(path, space, names, definitions,
                     events.Events(block.observations, block.weights * n_all / len(block), block.sampling_benchmarks))
    mined = stages.mine(config, directory / "part.h5", directory / "local_score.h5", directory / "ratio.h5",
                        directory / "test.h5")
    stages.train(config, "sally", mined["local_score"], analysis.setup, directory / "sally.pt", progress=False)
    result = CliRunner().invoke(main, ["pseudodata", "--config", str(directory / "config.yaml"), "--events",
                                       str(directory / "rest.h5"), "--theta", str(TRUTH[0]), "--theta",
                                       str(TRUTH[1]), "--seed", "3", "-o", str(directory / "data.h5")])
    assert result.exit_code == 0, result.output
    return directory, config, mined["test"], result.output


def _infer(directory, test_file, *extra):
    arguments = ["infer", "--config", str(directory / "config.yaml"), "--test", str(test_file)]
    for key in ("fisher", "limits", "validation", "workspace"):
        arguments += [f"--{key}", str(directory / f"{key}.json")]
    return CliRunner().invoke(main, [*arguments, *extra, str(directory / "sally.pt")])


def test_pseudodata_writes_unit_weight_events_at_theta(small_run):
    directory, config, _, output = small_run
    data = events.read(directory / "data.h5")
    assert np.all(data.weights == 1.0) and np.all(data.sampling_benchmarks == -1)
    expected = config["inference"]["luminosity"] * events.read_parameter_space(directory / "rest.h5").morphing.morph(
        events.read(directory / "rest.h5").weights).total(TRUTH)
    assert abs(len(data) - expected) < 4 * np.sqrt(expected)  # N ~ Poisson(Lσ(θ)): 4σ
    with h5py.File(directory / "data.h5") as handle:
        provenance = json.loads(handle.attrs["goldmine_pseudo_data"])
    assert provenance["theta"] == TRUTH.tolist() and provenance["seed"] == 3
    assert f"{len(data)} events" in output


def test_infer_with_data_gives_observed_results_of_every_method(small_run, tmp_path):
    directory, _, test_file, _ = small_run
    result = _infer(directory, test_file, "--data", str(directory / "data.h5"))
    assert result.exit_code == 0, result.output
    document = json.loads((directory / "limits.json").read_text())
    validate(document, "limits")
    assert document["meta"]["data"]["events"] == events.count(directory / "data.h5")
    assert set(document["methods"]) == {"rate", "histogram", "exact", "sally"}
    for method, entry in document["methods"].items():
        assert min(map(min, entry["observed"]["q"])) == 0.0, method
    # The exact likelihood of the data file, recomputed here: the command read the data's events.
    config = yaml.safe_load((directory / "config.yaml").read_text())
    grid = analysis_grid(config, events.read_parameter_space(test_file))
    names = events.read_observable_names(test_file)
    data = observed.read_data(directory / "data.h5", names)
    exact = ExactLikelihood(get_process(config["process"]), MuonDetector.from_config(config["detector"]), names)
    table = exact.log_likelihood_ratio(data.observations, grid.points, grid.reference,
                                       exact.angular_integrals(data.observations)).T
    test = events.read(test_file)
    ours = observed.unbinned(table, data.counts, events.read_parameter_space(test_file).morphing.morph(test.weights),
                             grid, config["inference"]["luminosity"])
    entry = document["methods"]["exact"]["observed"]
    np.testing.assert_allclose(entry["q"], ours.q, atol=1e-3)  # the command's table is float32: 10⁻⁴ in q
    # The histogram and SALLY measure the same θ from the same data as the exact likelihood: their best fits
    # agree with its best fit within its 68% CL interval.
    for k, name in enumerate(document["meta"]["parameters"]):
        interval = interval_from_json(entry["intervals"]["68"][name])
        for method in ("histogram", "sally"):
            assert interval.contains(document["methods"][method]["observed"]["best_fit"][k]), (method, name)
    assert "best fit" in result.output and "observed 68% CL" in result.output

    # The band from toys at the reference point contains the expected (Asimov) interval ends, their median
    # in expectation: 100 toys put the median within 0.13σ, and toys drawn from 12k test events with ~1300
    # events each scatter around the test sample's own best fit, 0.33σ from the reference (σ: the band's ±1σ)
    for method in ("rate", "exact", "histogram", "sally"):
        for name in document["meta"]["parameters"]:
            band = document["methods"][method]["observed"]["expected_band"]["68"][name]
            asimov = document["methods"][method]["intervals"]["68"][name]
            for end in ("low", "high"):
                below, _, above = band[end]
                if asimov[end] is not None and below is not None and above is not None:
                    assert below <= asimov[end] <= above, (method, name, end, band[end], asimov[end])
    exact_band = document["methods"]["exact"]["observed"]["expected_band"]["68"]
    assert all(None not in exact_band[name][end] for name in exact_band for end in ("low", "high"))  # closed

    from goldmine.plotting import plot_limits

    plot_limits(document, tmp_path / "limits.png")
    assert (tmp_path / "limits.pdf").exists()


def test_infer_refuses_missing_and_weighted_data_naming_the_file(small_run):
    directory, _, test_file, _ = small_run
    result = _infer(directory, test_file, "--data", str(directory / "nothing.h5"))
    assert result.exit_code == 1 and "inference.data" in result.output and "nothing.h5" in result.output
    # weighted simulation is no data: one line naming the file and the event, before any scan
    result = _infer(directory, test_file, "--data", str(test_file))
    assert result.exit_code == 1 and "test.h5: event 0 has weights" in result.output
    assert "depend on the benchmark" in result.output and "Traceback" not in result.output


def test_the_table_shows_best_fit_observed_and_expected_side_by_side():
    grid = Grid(("c",), (np.linspace(-2, 2, 81),), np.zeros(1))
    expected = methods.MethodResult.from_q(grid, grid.points[:, 0] ** 2)
    data = observed.Observed.from_log_likelihood(grid, -0.5 * (grid.points[:, 0] - 0.5) ** 2)
    document = limits_document({"exact": expected, "sallino": expected}, grid, 100.0, {"exact": data},
                               {"file": "data.h5", "events": 120.0})
    lines = limits_table(document).splitlines()
    assert lines[0].split()[:4] == ["method", "parameter", "best", "fit"]
    # observed q = (c − 0.5)²: θ̂ = 0.5, 68% CL [−0.5, 1.5], 95% CL [−1.46, 2.46] open at the grid's edge 2;
    # expected q = c²: [−1, 1] and [−1.96, 1.96]
    assert lines[1].split() == ["exact", "c", "+0.500", "[-0.500,", "+1.500]", "[-1.460,", ">+2.000]",
                                "[-1.000,", "+1.000]", "[-1.960,", "+1.960]"]
    assert lines[2].split()[:5] == ["sallino", "c", "-", "-", "-"]
    assert "data.h5 (120 events)" in lines[3]

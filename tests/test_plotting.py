"""The report's figures: one style per method, legends that tell the truth, units on every
axis, negative losses visible, open and flagged intervals marked. Figures are read back from
the matplotlib objects the plot functions draw (the figure is kept open for that)."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from goldmine import config as config_module
from goldmine import plotting, stages
from goldmine.inference import limits, methods, results
from goldmine.inference.grid import Grid
from goldmine.io import events
from goldmine.io.samples import TrainingSample
from goldmine.ml.estimators import model_metadata, train_estimator

AXIS = np.linspace(-0.2, 0.2, 41)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, kept open instead of closed after saving."""
    close, kept = plt.close, []
    monkeypatch.setattr(plt, "close", kept.append)
    yield kept
    for figure in kept:
        close(figure)


def _schema_methods() -> list[str]:
    """Every method name limits.json and fisher.json can hold for a config the schema allows."""
    schema = config_module.schema()["properties"]
    trained = schema["training"]["properties"]["methods"]["items"]["enum"]
    observables = schema["observables"]["items"]["anyOf"][0]["enum"]
    return [*trained, "exact", "histogram", "rate", "truth", *(f"histogram_1d:{name}" for name in observables)]


def test_every_method_the_schema_allows_has_its_own_style():
    names = _schema_methods()
    styles = {name: plotting.method_style(name) for name in names}
    drawn = {(to_rgba(s["color"]), str(s["linestyle"]), s["linewidth"]) for s in styles.values()}
    assert len(drawn) == len(names)
    assert len({s["label"] for s in styles.values()}) == len(names)
    # Black is the exact likelihood's alone: the bug was estimators drawn like it.
    assert [name for name, s in styles.items() if to_rgba(s["color"]) == to_rgba("black")] == ["exact"]


def _limits_document() -> dict:
    """limits.json of every trained method, the references and an ensemble, built by goldmine's
    own writer: Gaussian q of widths that differ per method; one shifted (excludes the Asimov
    point), one narrower than the exact likelihood, one open (rate: flat in c_aa)."""
    grid = Grid(("c_vv", "c_aa"), (AXIS, AXIS), np.zeros(2))
    a, b = np.meshgrid(AXIS, AXIS, indexing="ij")
    names = [name for name in _schema_methods() if not name.startswith("histogram_1d") and name != "truth"]
    method_results = {}
    for k, name in enumerate(names):
        width = {"exact": 0.05, "carl": 0.03}.get(name, 0.052 + 0.001 * k)
        shift = 0.1 if name == "nde" else 0.0  # 68% CL: |c_vv − 0.1| < 0.07 misses 0, 95% does not
        q = ((a - shift) / width) ** 2 + (b / (10.0 if name == "rate" else width)) ** 2
        intervals = {label: tuple(limits.profiled_intervals(grid.axes, q, level))
                     for label, level in methods.CONFIDENCE_LEVELS.items()}
        members = tuple(methods.MethodResult(q=q, intervals=intervals) for _ in range(3)) if name == "alices" else ()
        method_results[name] = methods.MethodResult(q=q, intervals=intervals, members=members)
    flagged = results.flag_intervals(method_results, grid.reference, grid.names)
    return json.loads(json.dumps(results.limits_document(flagged, grid, 500.0)))


def test_limit_contours_are_drawn_in_their_legend_entries_colours(figures, tmp_path):
    document = _limits_document()
    plotting.plot_limits(document, tmp_path / "limits.png")
    (figure,) = figures
    contours = {c.get_gid(): c for ax in figure.axes for c in ax.collections if c.get_gid()}
    assert list(contours) == list(reversed(document["methods"]))
    legend = figure.legends[0]
    for method, handle, text in zip(document["methods"], legend.legend_handles, legend.texts):
        assert text.get_text().startswith(plotting.method_style(method)["label"])
        for colour in contours[method].get_edgecolor():  # the 68% and the 95% contour
            assert tuple(colour) == to_rgba(handle.get_color()), method
    texts = {method: text.get_text() for method, text in zip(document["methods"], legend.texts)}
    assert "ensemble of 3" in texts["alices"]
    assert "excludes the Asimov point" in texts["nde"]
    assert "narrower than the exact likelihood" in texts["carl"]
    assert "open" in texts["rate"] and "open" not in texts["exact"]
    # The exact likelihood's thick black contour lies under the others: the histogram's, which on the
    # default run agrees with it to 0.001, was hidden beneath it.
    assert all(contours["exact"].get_zorder() < contour.get_zorder()
               for method, contour in contours.items() if method != "exact")


def test_open_and_flagged_intervals_are_marked_in_the_intervals_panels(figures, tmp_path):
    document = _limits_document()
    plotting.plot_limits(document, tmp_path / "limits.png")
    interval_axes = figures[0].axes[1:]
    rows = {label.get_text(): k for k, label in enumerate(interval_axes[0].get_yticklabels())}

    def markers(ax, method):
        row = rows[plotting.method_style(method)["label"]]
        return {line.get_marker() for line in ax.lines if list(line.get_ydata()) == [row]}

    c_vv, c_aa = interval_axes
    assert markers(c_aa, "rate") >= {"<", ">"} and not markers(c_vv, "rate") & {"<", ">"}
    assert "X" in markers(c_vv, "nde") and "X" not in markers(c_aa, "nde")
    assert "d" in markers(c_vv, "carl") and "d" in markers(c_aa, "carl")
    assert markers(c_vv, "exact") == markers(c_aa, "exact") == set()


def test_every_axis_of_every_plot_names_its_quantity_and_unit(figures, tiny_config, tmp_path):
    config = tiny_config("units")
    config["observables"] = ["m_mumu", "cos_theta_mu_minus", "delta_phi",
                             {"pt_sum": {"expression": "mu_minus.pt + mu_plus.pt", "unit": "GeV"}},
                             {"pt_ratio": "mu_minus.pt / mu_plus.pt"}]
    config["inference"]["histogram"]["observables"] = ["m_mumu"]
    config = config_module.validate(config)
    setup, lhe, event_file = tmp_path / "setup.h5", tmp_path / "0.lhe.gz", tmp_path / "events.h5"
    stages.setup(config, setup)
    stages.generate(config, setup, 0, lhe)
    stages.detect(config, setup, lhe, 0, event_file)
    assert events.read_observable_names(event_file)[3] == "pt_sum"

    plotting.plot_distributions(event_file, tmp_path / "distributions.png")
    plotting.plot_limits(_limits_document(), tmp_path / "limits.png")
    distributions, limits_figure = figures
    panels = [ax for ax in distributions.axes if ax.get_visible()]
    x_labels = [ax.get_xlabel() for ax in panels]
    assert x_labels == [r"$m_{\mu\mu}$ [GeV]", r"$\cos\theta(\mu^-)$", r"$|\Delta\phi_{\mu\mu}|$ [rad]",
                        "pt_sum [GeV]", "pt_ratio"]
    y_units = [ax.get_ylabel().partition(" [")[2] for ax in panels]
    assert y_units == ["1/GeV]", "", "1/rad]", "1/GeV]", ""]
    # Every benchmark is in the legend, which sits below the panels, not on one.
    space = events.read_parameter_space(event_file)
    assert len(distributions.legends[0].texts) == len(space.benchmark_names) == 6
    assert all(not ax.get_legend() for ax in panels)
    # The parameters are dimensionless Wilson coefficients: their names, typeset.
    assert [ax.get_xlabel() for ax in limits_figure.axes] == ["$c_{vv}$", "$c_{vv}$", "$c_{aa}$"]
    assert all(ax.get_ylabel() for ax in limits_figure.axes)


def test_negative_losses_of_a_density_estimator_are_on_the_axis(figures, tmp_path):
    # A real NDE on x ~ N(θ, 1)/100: its density is ~40, so the loss −log p̂ is ≈ −3.
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1, 1, (2000, 1))
    sample = TrainingSample(x=0.01 * (theta + rng.normal(0, 1, (2000, 1))), theta0=theta,
                            theta1=np.zeros((2000, 1)), y=np.zeros(2000), r_xz=np.ones(2000),
                            t_xz=np.zeros((2000, 1)))
    settings = dict(hidden=[16], activation="relu", epochs=3, batch_size=256, learning_rate=0.003,
                    validation_fraction=0.2, patience=4, alpha=1.0, seed=1, transforms=1)
    model, history = train_estimator("nde", sample, np.array([[-1.0, 1.0]]), settings, progress=False)
    metadata = tmp_path / "nde.json"
    metadata.write_text(json.dumps(model_metadata("nde", model, settings, ["theta"], np.array([[-1.0, 1.0]]),
                                                  ["x"], history, [0.0])))
    losses = [*history.train_loss, *history.validation_loss]
    assert max(losses) < 0

    plotting.plot_training([metadata], tmp_path / "training.png")
    (ax,) = [ax for ax in figures[0].axes if ax.get_visible()]
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "linear" and low <= min(losses) and max(losses) <= high
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("epoch", "loss", "NDE")


def test_a_one_parameter_analysis_plots_its_q_curves_and_fisher_bars(figures, tmp_path):
    """An analysis with one parameter (the external dijet example has one) has no contours: its
    limits panel draws q(θ), which crosses 1 where the 68% interval ends, and its Fisher panel a
    bar θ_ref ± 1/√I per method."""
    grid = Grid(("c_vv",), (AXIS,), np.zeros(1))
    q = (AXIS / 0.05) ** 2
    intervals = {label: tuple(limits.profiled_intervals(grid.axes, q, level))
                 for label, level in methods.CONFIDENCE_LEVELS.items()}
    document = json.loads(json.dumps(results.limits_document(
        {"exact": methods.MethodResult(q=q, intervals=intervals)}, grid, 500.0)))
    plotting.plot_limits(document, tmp_path / "limits.png")
    (curve,) = [line for line in figures[0].axes[0].lines if line.get_gid() == "exact"]
    assert np.interp(1.0, curve.get_ydata()[20:], curve.get_xdata()[20:]) == pytest.approx(0.05, rel=1e-3)
    fisher = {"meta": {"parameters": ["c_vv"], "reference": [0.0], "luminosity_pb": 500.0},
              "methods": {"exact": {"matrix": [[400.0]]}}}
    plotting.plot_fisher_ellipses(fisher, tmp_path / "fisher.png")
    (bar,) = figures[1].axes[0].collections
    assert bar.get_segments()[0][:, 0] == pytest.approx([-0.05, 0.05])  # 1/√400

"""`goldmine publish`: the histogram likelihood of a run, with systematics, in HEPData form
(background-only workspace + patchset, valid under pyhf's schemas) and as an EFT workspace that
pyhf alone reloads and evaluates to goldmine's q(θ) and intervals."""

import json
import re

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from goldmine.cli import main
from goldmine.inference import methods
from goldmine.inference.grid import Grid
from goldmine.inference.limits import profiled_intervals
from goldmine.inference.results import limits_document
from goldmine.inference.systematics import Systematics, tilt
from goldmine.io import events

LUMINOSITY = 500.0
#: −2 log L agrees where both sides fit the same nuisance parameters to SLSQP's tolerance 1e-10:
#: the q differences stay below 1e-6 (measured: ~1e-9).
Q_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def run(analysis, tmp_path_factory):
    """The histogram method with systematics (5% normalisation, 2% luminosity, a 5% tilt of
    cos θ) on the analysis' events, written as `goldmine infer` writes it, then published by the CLI."""
    directory = tmp_path_factory.mktemp("publish")
    space = events.read_parameter_space(analysis.events)
    block = events.read(analysis.events)
    names = list(events.read_observable_names(analysis.events))
    values = block.observations[:, [names.index("cos_theta_mu_minus")]]
    nuisances = Systematics(0.05, 0.02, (tilt("tilt", values[:, 0], 0.05),))
    grid = Grid(space.names, tuple(np.linspace(low, high, 7) for low, high in space.ranges), space.benchmark("sm"))
    result, model = methods.histogram(space.morphing.morph(block.weights), values, 10, grid, LUMINOSITY, nuisances)
    (directory / "histogram_workspace.json").write_text(json.dumps(dict(model.workspace)))
    (directory / "limits.json").write_text(json.dumps(limits_document({"histogram": result}, grid, LUMINOSITY)))
    outcome = CliRunner().invoke(main, ["publish", str(directory / "histogram_workspace.json"),
                                        str(directory / "limits.json"), "-o", str(directory / "published")])
    assert outcome.exit_code == 0, outcome.output
    return directory, grid, result


def test_published_files_are_valid_under_pyhf_s_schemas(run):
    directory, grid, _ = run
    published = directory / "published"
    background = pyhf.Workspace(json.loads((published / "BkgOnly.json").read_text()))
    patchset = pyhf.PatchSet(json.loads((published / "patchset.json").read_text()))
    patchset.verify(background)  # the digest is the background-only workspace's
    assert len(patchset.patches) == len(grid.points)
    np.testing.assert_allclose([patch.values for patch in patchset.patches], grid.points)
    assert patchset.labels == list(grid.names)
    pyhf.Workspace(json.loads((published / "eft_workspace.json").read_text())).model()


def _pyhf_only_q(workspace: dict, parameter_names: list[str], thetas: np.ndarray) -> np.ndarray:
    """q(θ) from the EFT workspace with pyhf alone: each normfactor ``morph_a*b^2`` set to its monomial, the
    nuisance parameters profiled by pyhf's own fit."""
    model = pyhf.Workspace(workspace).model()
    data = pyhf.Workspace(workspace).data(model)
    monomials = {}
    for name in model.config.par_order:
        if name.startswith("morph_"):
            powers = [re.fullmatch(r"([A-Za-z0-9_]+?)(?:\^(\d+))?", factor).groups()
                      for factor in name.removeprefix("morph_").split("*") if factor != "1"]
            monomials[name] = [(parameter_names.index(p), int(k or 1)) for p, k in powers]
    values = []
    for theta in thetas:
        init = model.config.suggested_init()
        for name, powers in monomials.items():
            init[model.config.par_slice(name).start] = float(np.prod([theta[i] ** k for i, k in powers]))
        _, twice_nll = pyhf.infer.mle.fit(data, model, init_pars=init, fixed_params=model.config.suggested_fixed(),
                                          return_fitted_val=True, tolerance=1e-10)
        values.append(float(twice_nll))
    return np.array(values) - min(values)


def test_pyhf_alone_reproduces_goldmine_s_q_and_intervals(run):
    directory, grid, result = run
    workspace = json.loads((directory / "published" / "eft_workspace.json").read_text())
    q = _pyhf_only_q(workspace, list(grid.names), grid.points).reshape(grid.shape)
    limits = json.loads((directory / "limits.json").read_text())
    np.testing.assert_allclose(q, np.array(limits["methods"]["histogram"]["q"]), atol=Q_TOLERANCE)
    assert q.max() > 10  # the grid reaches well outside the 95% CL region: the comparison covers it
    for level, label in ((0.6827, "68"), (0.95, "95")):
        for mine, theirs in zip(profiled_intervals(grid.axes, q, level), result.intervals[label]):
            # interval ends move by Δq / q′: at q′ ~ 1/width, below 1e-5 of the width
            assert mine.low == pytest.approx(theirs.low, abs=1e-5 * theirs.width)
            assert mine.high == pytest.approx(theirs.high, abs=1e-5 * theirs.width)


def test_each_patch_at_mu_one_is_goldmine_s_likelihood_at_its_theta(run):
    directory, grid, result = run
    published = directory / "published"
    background = json.loads((published / "BkgOnly.json").read_text())
    patchset = pyhf.PatchSet(json.loads((published / "patchset.json").read_text()))
    chosen = [0, len(grid.points) // 2, len(grid.points) - 3]  # a corner, the SM (centre), near the other corner
    twice_nll = []
    for index in chosen:
        workspace = pyhf.Workspace(patchset.patches[index].apply(background))
        model = workspace.model()
        _, value = pyhf.infer.mle.fixed_poi_fit(1.0, workspace.data(model), model, return_fitted_val=True,
                                                tolerance=1e-10)
        twice_nll.append(float(value))
    q = result.q.ravel()[chosen]
    np.testing.assert_allclose(np.array(twice_nll) - twice_nll[1], q - q[1], atol=Q_TOLERANCE)


def test_reinterpret_gives_sensible_cls_on_the_published_likelihood(run):
    directory, grid, result = run
    published = directory / "published"
    q = result.q.ravel()
    near = int(np.argmin(np.where(q > 0.5, q, np.inf)))  # inside the 68% CL region's surroundings
    far = int(np.argmax(q))
    references = [f"{published / 'patchset.json'}:eft_{index:06d}" for index in (near, far)]
    outcome = CliRunner().invoke(main, ["reinterpret", str(published / "BkgOnly.json"), *references, "--json",
                                        "-j", "1", "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    cls = json.loads(outcome.output[outcome.output.index("{"):])
    near_result, far_result = cls[f"eft_{near:06d}"], cls[f"eft_{far:06d}"]
    assert near_result["status"] == far_result["status"] == "ok"
    # Asimov data of the background: the observed CLs is the median expected one
    for entry in (near_result, far_result):
        assert entry["CLs_obs"] == pytest.approx(entry["CLs_exp"][2], rel=1e-3)
    # a point with q ≈ 0.5 is far from excluded, the farthest grid point (q > 10) is excluded
    assert near_result["CLs_obs"] > 0.3
    assert far_result["CLs_obs"] < 0.05

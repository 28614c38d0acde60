"""`goldmine publish`: the histogram likelihood of a run, with systematics, in HEPData form
(background-only workspace + patchset, valid under pyhf's schemas) and as an EFT workspace that
pyhf alone reloads and evaluates to goldmine's q(θ) and intervals."""

import json
import re
from pathlib import Path

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner
from scipy.stats import norm

from goldmine.cli import main
from goldmine.inference import methods
from goldmine.inference.grid import Grid
from goldmine.inference.limits import profiled_intervals
from goldmine.inference.results import limits_document
from goldmine.inference.systematics import Systematics, tilt
from goldmine.io import events

REPOSITORY = Path(__file__).resolve().parents[1]
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
    grid = Grid(space.names, tuple(np.linspace(low, high, 5) for low, high in space.ranges), space.benchmark("sm"))
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


def _documented(spec: dict) -> dict:
    """The pyhf-only code of docs/publish.md, run as written there on ``spec``: its names."""
    text = (REPOSITORY / "docs" / "publish.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    namespace: dict = {"spec": spec}
    exec(block, namespace)
    return namespace


def test_pyhf_alone_reproduces_goldmine_s_q_and_intervals(run):
    directory, grid, result = run
    pyhf_only = _documented(json.loads((directory / "published" / "eft_workspace.json").read_text()))
    values = np.array([pyhf_only["twice_nll"](pyhf_only["model"], pyhf_only["data"], list(grid.names), theta)
                       for theta in grid.points])
    q = (values - values.min()).reshape(grid.shape)
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


def test_reinterpret_gives_the_asymptotic_cls_of_goldmine_s_q(run):
    # On Asimov data of the background (the SM), μ̂ = 0 and q̃_μ=1 = q_A = goldmine's q(θ): pyhf's
    # asymptotic formulae give CLs = (1 − Φ(√q)) / (1 − Φ(0)) = 2(1 − Φ(√q)), observed and median
    # expected alike. goldmine reinterpret's converged fits and the histogram's (tolerance 1e-10)
    # leave ~1e-8 in q; 1e-4 relative in CLs is generous.
    directory, grid, result = run
    published = directory / "published"
    q = result.q.ravel()
    near = int(np.argmin(np.where(q > 0, q, np.inf)))  # the grid point nearest the SM
    far = int(np.argmax(q))
    references = [f"{published / 'patchset.json'}:eft_{index:06d}" for index in (near, far)]
    outcome = CliRunner().invoke(main, ["reinterpret", str(published / "BkgOnly.json"), *references, "--json",
                                        "-j", "1", "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    cls = json.loads(outcome.output[outcome.output.index("{"):])
    for index in (near, far):
        entry = cls[f"eft_{index:06d}"]
        assert entry["status"] == "ok"
        expected = 2 * norm.sf(np.sqrt(q[index]))
        assert entry["CLs_obs"] == pytest.approx(expected, rel=1e-4)
        assert entry["CLs_exp"][2] == pytest.approx(expected, rel=1e-4)
    assert cls[f"eft_{near:06d}"]["CLs_obs"] > 0.05 > cls[f"eft_{far:06d}"]["CLs_obs"]


def test_the_nuisance_parameters_shrink_the_histogram_s_information_as_documented(run):
    # docs/publish.md: 0.28 (c_vv) and 0.49 (c_aa) of the projected information are left. The
    # events are the same on every run (fixed seeds); ±0.01 allows for platform rounding.
    _, _, result = run
    left = np.diag(result.profiled_information) / np.diag(result.information)
    np.testing.assert_allclose(left, [0.28, 0.49], atol=0.01)


def test_pyhf_cannot_make_theta_itself_a_parameter():
    # docs/publish.md: why θ enters as monomial normfactors. A normfactor listed twice scales once ...
    theta = {"name": "theta", "type": "normfactor", "data": None}
    spec = {"version": "1.0.0", "observations": [{"name": "c", "data": [10.0]}],
            "measurements": [{"name": "m", "config": {"poi": "theta", "parameters": []}}],
            "channels": [{"name": "c", "samples": [{"name": "s", "data": [1.0], "modifiers": [theta, dict(theta)]}]}]}
    assert pyhf.Workspace(spec).model().expected_actualdata([3.0]).tolist() == [3.0]
    # ... and one name on a normfactor and a shapefactor is refused.
    spec["channels"][0]["samples"][0]["modifiers"][1] = {"name": "theta", "type": "shapefactor", "data": None}
    with pytest.raises(pyhf.exceptions.InvalidNameReuse):
        pyhf.Workspace(spec).model()


def test_publishing_a_foreign_workspace_names_the_file(run, tmp_path):
    directory, _, _ = run
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"channels": [{"name": "SR", "samples": []}]}))
    outcome = CliRunner().invoke(main, ["publish", str(foreign), str(directory / "limits.json"), "-o",
                                        str(tmp_path / "out")])
    assert outcome.exit_code == 1
    assert f"{foreign}: not a goldmine histogram workspace: no channel 'histogram'" in outcome.output
    assert not (tmp_path / "out" / "patchset.json").exists()
    outcome = CliRunner().invoke(main, ["publish", str(directory / "histogram_workspace.json"),
                                        str(directory / "limits.json"), "-o", str(tmp_path / "out"),
                                        "--inspire", "1748602"])
    assert outcome.exit_code == 1 and "'ins' and seven digits" in outcome.output


def test_the_api_function_is_not_shadowed_by_the_subpackage():
    import goldmine
    import goldmine.publish  # noqa: F401  (importing it makes goldmine.publish the subpackage)
    from goldmine import api

    assert goldmine.publish_likelihood is api.publish_likelihood

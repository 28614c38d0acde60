"""goldmine reinterpret against pyhf: the compiled likelihood, converged CLs, flags and the CLI."""

from __future__ import annotations

import json

import jsonpatch
import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from goldmine.cli import main
from goldmine.publish.fits import hypotest
from goldmine.publish.likelihood import build_likelihood
from goldmine.publish.reinterpret import load_patches, reinterpret_many, reinterpret_one

# one well-conditioned patch per region (every region's structure of channels differs)
PATCHES = [("RegionA", "sbottom_600_180_50"), ("RegionB", "sbottom_600_180_50"), ("RegionC", "sbottom_1300_850_60")]


@pytest.fixture(scope="module")
def sbottom(sbottom_likelihoods):
    return sbottom_likelihoods()


def _workspace(sbottom, region, name):
    background = json.loads((sbottom / region / "BkgOnly.json").read_text())
    patch = json.loads((sbottom / region / f"patch.{name}.json").read_text())
    return pyhf.Workspace(jsonpatch.apply_patch(background, patch))


@pytest.mark.parametrize(("region", "name"), [*PATCHES, ("RegionB", "sbottom_1000_131_1")])
def test_likelihood_matches_pyhf(sbottom, region, name):
    workspace = _workspace(sbottom, region, name)
    model = workspace.model()
    likelihood = build_likelihood(workspace)
    rng = np.random.default_rng(7)
    lower = np.array(model.config.suggested_bounds())[:, 0]
    for scale in (0.0, 0.5, 2.0):  # nominal, inside |α| < 1 (polynomial), and beyond (exponential/linear)
        pars = np.array(model.config.suggested_init()) + scale * rng.normal(size=model.config.npars)
        pars = np.where(lower >= 0, np.abs(pars), pars)
        value, gradient = likelihood.twice_nll(pars, likelihood.data)
        # same arithmetic in another order: agreement to round-off of a sum of ~100 terms of size ≤ 1e4
        assert value == pytest.approx(-2 * float(model.logpdf(pars, likelihood.data)[0]), rel=1e-11)
        np.testing.assert_allclose(likelihood.expected_data(pars), model.expected_data(pars), rtol=1e-12, atol=1e-12)
        # the exact gradient against a central finite difference (step 1e-6: error ~1e-6 relative)
        k = int(np.argmax(np.abs(gradient)))
        step = np.zeros_like(pars)
        step[k] = 1e-6
        numeric = (likelihood.twice_nll(pars + step, likelihood.data)[0]
                   - likelihood.twice_nll(pars - step, likelihood.data)[0]) / 2e-6
        assert gradient[k] == pytest.approx(numeric, rel=1e-4)


@pytest.mark.parametrize(("region", "name"), PATCHES)
def test_cls_agrees_with_tightly_converged_pyhf(sbottom, region, name):
    workspace = _workspace(sbottom, region, name)
    model = workspace.model()
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-10))
    try:
        cls_obs, cls_exp = pyhf.infer.hypotest(1.0, workspace.data(model), model, test_stat="qtilde",
                                               return_expected_set=True)
    finally:
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    result = hypotest(build_likelihood(workspace))
    assert result.status == "ok"
    # the accuracy target: converged fits agree to 1e-4 relative (measured: ~1e-7)
    assert result.cls_obs == pytest.approx(float(cls_obs), rel=1e-4)
    np.testing.assert_allclose(result.cls_exp, np.ravel(cls_exp), rtol=1e-4)


def test_no_sensitivity_is_flagged_not_nan(sbottom):
    # pyhf returns CLs_obs = NaN here: the signal leaves RegionB's expectation unchanged, q_μ,A = 0
    result = hypotest(build_likelihood(_workspace(sbottom, "RegionB", "sbottom_1000_131_1")))
    assert result.status == "no_sensitivity"
    assert result.cls_obs is None and result.cls_exp is None


def test_patch_without_signal_is_no_sensitivity(sbottom):
    # this patch only removes a channel: no sample carries the POI, which pyhf refuses to fit
    region = sbottom / "RegionB"
    background = json.loads((region / "BkgOnly.json").read_text())
    result = reinterpret_one(background, load_patches([str(region / "patch.sbottom_1500_1495_60.json")])[0],
                             limits=True)
    assert result["status"] == "no_sensitivity" and result["CLs_obs"] is None
    assert result["upper_limit"] == {"obs": None, "exp": [None] * 5}


def test_one_pool_for_several_likelihoods_matches_serial(sbottom):
    jobs = []
    for region, name in PATCHES[:2]:
        background = json.loads((sbottom / region / "BkgOnly.json").read_text())
        jobs.append((background, load_patches([str(sbottom / region / f"patch.{name}.json")])))
    pooled = reinterpret_many(jobs, workers=2, progress=False)
    for (background, patches), results in zip(jobs, pooled, strict=True):
        serial = reinterpret_one(background, patches[0])
        # same fits in another process: identical arithmetic up to the BLAS build (measured: equal)
        assert results[patches[0].name]["CLs_obs"] == pytest.approx(serial["CLs_obs"], rel=1e-9)


def test_cli_json_patch_and_patchset_member(sbottom, tmp_path):
    region = sbottom / "RegionA"
    names = ["sbottom_600_180_50", "sbottom_1000_131_1"]
    patchset = {
        "metadata": {"description": "two sbottom points", "digests": {"sha256": "0" * 64},
                     "labels": ["m_sb", "m_n2", "m_n1"], "references": {}},
        "patches": [{"metadata": {"name": name, "values": [int(v) for v in name.split("_")[1:]]},
                     "patch": json.loads((region / f"patch.{name}.json").read_text())} for name in names],
        "version": "1.0.0",
    }
    patchset_file = tmp_path / "patchset.json"
    patchset_file.write_text(json.dumps(patchset))
    assert [p.values for p in load_patches([str(patchset_file)])] == [(600, 180, 50), (1000, 131, 1)]

    plot = tmp_path / "exclusion.png"
    result = CliRunner().invoke(main, [
        "reinterpret", str(region / "BkgOnly.json"), str(region / f"patch.{names[0]}.json"),
        f"{patchset_file}:{names[1]}", "--json", "--no-progress", "-j", "1", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert list(output) == names
    for entry in output.values():
        assert entry["status"] in {"ok", "ill_conditioned", "no_sensitivity"}
        assert isinstance(entry["CLs_obs"], float) and len(entry["CLs_exp"]) == 5
    assert plot.stat().st_size > 0

    missing = CliRunner().invoke(main, ["reinterpret", str(region / "BkgOnly.json"), f"{patchset_file}:nope"])
    assert missing.exit_code == 1 and "has no patch 'nope'" in missing.output

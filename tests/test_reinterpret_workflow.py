"""workflow/reinterpret.smk: blocks of patches as jobs, merged, equal one `goldmine reinterpret` call."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from goldmine.cli import main
from goldmine.publish.contour import exclusion_contours

REPOSITORY = Path(__file__).resolve().parents[1]
# Three RegionA points (one compiled likelihood shape) in two blocks: each job starts a process that
# imports JAX and compiles once, which costs more than the fits of a few patches.
NAMES = ["sbottom_600_180_50", "sbottom_1000_205_60", "sbottom_1300_850_60"]


@pytest.fixture(scope="module")
def region_a(sbottom_likelihoods):
    return sbottom_likelihoods("RegionA/BkgOnly.json", *(f"RegionA/patch.{name}.json" for name in NAMES)) / "RegionA"


def test_blocks_merged_by_the_workflow_equal_one_reinterpret_call(region_a, tmp_path):
    # The likelihood as HEPData serves it (an archive, unpacked by the workflow's first job) and as
    # one of the signal regions of an analysis (merged per region, then combined over regions).
    (tmp_path / "published").mkdir()
    with tarfile.open(tmp_path / "published" / "sbottom.tar.gz", "w:gz") as archive:
        for path in sorted(region_a.iterdir()):
            archive.add(path, arcname=f"RegionA/{path.name}")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"name": "sbottom", "archive": "published/sbottom.tar.gz", "blocks": 2,
         "regions": {"RegionA": {"background": "RegionA/BkgOnly.json", "patches": ["RegionA"]}}}))
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPOSITORY / "workflow" / "reinterpret.smk"), "--directory",
         str(tmp_path), "--configfile", str(tmp_path / "config.yaml"), "--cores", "2"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results" / "reinterpret" / "sbottom"
    blocks = [json.loads((results / "blocks" / f"RegionA.{k}.json").read_text()) for k in range(2)]
    assert [len(block) for block in blocks] == [1, 2]  # one job per block, not one for all
    merged = json.loads((results / "results.json").read_text())
    assert (results / "exclusion.png").stat().st_size > 0
    patches = sorted(str(path) for path in region_a.glob("patch.*.json"))
    direct = CliRunner().invoke(main, ["reinterpret", str(region_a / "BkgOnly.json"), *patches, "--json", "-j", "1",
                                       "--no-progress"])
    assert direct.exit_code == 0, direct.output
    # The same fits on the same patches in another process: the same numbers to round-off.
    expected = json.loads(direct.output)
    assert list(merged) == list(expected) == sorted(NAMES)
    for name, result in expected.items():
        assert merged[name]["status"] == result["status"] == "ok"
        assert merged[name]["CLs_obs"] == pytest.approx(result["CLs_obs"], rel=1e-9)
        assert merged[name]["CLs_exp"] == pytest.approx(result["CLs_exp"], rel=1e-9)
        assert merged[name]["masses"] == result["masses"]
        assert merged[name]["region"] == "RegionA"


def test_a_patch_in_two_blocks_is_an_error(tmp_path):
    for k in range(2):
        (tmp_path / f"{k}.json").write_text(json.dumps({"sbottom_600_180_50": {"CLs_obs": 0.5}}))
    merged = CliRunner().invoke(main, ["reinterpret-merge", str(tmp_path / "0.json"), str(tmp_path / "1.json"),
                                       "-o", str(tmp_path / "out.json")])
    assert merged.exit_code == 1 and "1.json: patch 'sbottom_600_180_50' is also in" in merged.output
    assert not (tmp_path / "out.json").exists()


def _assignment(text: str, name: str):
    """The literal value of a top-level assignment in Python source."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and [target.id for target in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned")


def test_the_workflow_uses_the_software_of_the_analysis_workflow():
    # reinterpret.smk parses without an analysis's configuration, so it keeps a copy of common.smk's
    # names; the part above its first rule is Python, as common.smk is.
    workflow, rules = REPOSITORY / "workflow", REPOSITORY / "workflow" / "rules"
    copy = (workflow / "reinterpret.smk").read_text().split("\nrule ")[0]
    common = (rules / "common.smk").read_text()
    assert _assignment(copy, "GOLDMINE_IMAGE") == _assignment(common, "GOLDMINE_IMAGE")
    # Conda environments are relative to the file of the rule.
    assert ((workflow / _assignment(copy, "GOLDMINE_ENV")).resolve()
            == (rules / _assignment(common, "GOLDMINE_ENV")).resolve())


def _region(scale: float, masses: list[tuple[int, int, int]]) -> dict:
    """Synthetic results of one signal region: CLs falls tenfold every ``scale`` GeV of mass 1."""
    out = {}
    for a, b, c in masses:
        cls = 10 ** (-a / scale)
        out[f"sbottom_{a}_{b}_{c}"] = {"CLs_obs": cls, "CLs_exp": [cls / 2, cls / 1.5, cls, 1.5 * cls, 2 * cls],
                                       "status": "ok", "masses": [a, b, c]}
    return out


def test_signal_regions_combine_by_best_expected_cls_into_one_exclusion(tmp_path):
    masses = [(a, b, 60) for a in range(100, 600, 100) for b in (0, 50, 100)] + [(300, 50, 1)]
    regions = {"RegionA": _region(100.0, masses), "RegionB": _region(200.0, masses)}
    # RegionB is better (smaller expected CLs) at one point only
    regions["RegionB"]["sbottom_400_50_60"]["CLs_exp"][2] = 1e-9
    for name, results in regions.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(results))
    plot = tmp_path / "exclusion.png"
    run = CliRunner().invoke(main, ["reinterpret-merge", str(tmp_path / "RegionA.json"), str(tmp_path / "RegionB.json"),
                                    "--best-expected", "-o", str(tmp_path / "out.json"), "--plot", str(plot),
                                    "--label", "m(sbottom) [GeV]", "--label", "m(chi2) [GeV]", "--fixed", "3=60"])
    assert run.exit_code == 0, run.output
    merged = json.loads((tmp_path / "out.json").read_text())
    assert {name for name, result in merged.items() if result["region"] == "RegionB"} == {"sbottom_400_50_60"}
    assert len(merged) == len(masses) and plot.stat().st_size > 0
    # RegionA's CLs = 10^(-m1/100) crosses 0.05 at m1 = 100 log10(20) = 130.1 GeV for every m2: log10 CLs
    # is linear in m1, so the interpolated line is exact (to the 0.05 GeV of the rounding)
    contours = exclusion_contours(merged, fixed={2: 60.0})
    observed = np.concatenate(contours["observed"])
    assert np.allclose(observed[:, 0], 100 * np.log10(20), atol=0.05)
    assert observed[:, 1].min() == 0 and observed[:, 1].max() == 100
    # the ±1σ lines: CLs/1.5 and 1.5 CLs at 0.05, 17.6 GeV either side of the median
    for name, shift in [("expected_up", 1.5), ("expected_down", 1 / 1.5)]:
        line = np.concatenate(contours[name])
        assert np.allclose(line[:, 0], 100 * np.log10(20 / shift), atol=0.05), name
    bad = CliRunner().invoke(main, ["reinterpret-merge", str(tmp_path / "RegionA.json"), "-o",
                                    str(tmp_path / "x.json"), "--plot", str(tmp_path / "x.png"), "--fixed", "3"])
    assert bad.exit_code == 2 and "K=VALUE" in bad.output

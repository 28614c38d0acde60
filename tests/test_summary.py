"""What a run says about itself: the end-of-run table, the report's front page, and `goldmine check`
of a partial configuration merged as Snakemake merges it."""

import copy
from pathlib import Path

import docutils.core
import pytest
import yaml
from click.testing import CliRunner
from snakemake.utils import update_config

from goldmine import config as config_module
from goldmine.cli import main
from goldmine.summary import describe_run, front_page, limits_table

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT = REPOSITORY / "config" / "config.yaml"


def _interval(low, high, *flags):
    return {"low": low, "high": high, "flags": list(flags)}


@pytest.fixture
def limits():
    """limits.json of two methods on c_vv, c_aa ∈ [-0.2, 0.2] (41 points): NDE's 95% interval of
    c_aa is open below and excludes the Asimov point; ALICES's c_vv is narrower than the exact one."""
    axis = [-0.2 + 0.01 * i for i in range(41)]
    return {
        "meta": {"parameters": ["c_vv", "c_aa"], "axes": [axis, axis], "luminosity_pb": 500.0},
        "methods": {
            "exact": {"intervals": {"68": {"c_vv": _interval(-0.05, 0.05), "c_aa": _interval(-0.04, 0.041)},
                                    "95": {"c_vv": _interval(-0.1, 0.1), "c_aa": _interval(-0.08, 0.08)}}},
            "alices": {"intervals": {
                "68": {"c_vv": _interval(-0.02, 0.02, "narrower_than_exact"), "c_aa": _interval(-0.04, 0.04)},
                "95": {"c_vv": _interval(-0.09, 0.1), "c_aa": _interval(-0.08, 0.08)}}},
            "nde": {"intervals": {
                "68": {"c_vv": _interval(-0.05, 0.05), "c_aa": _interval(0.1234567, 0.15, "excludes_asimov_point")},
                "95": {"c_vv": _interval(-0.1, 0.1), "c_aa": _interval(None, 0.19, "excludes_asimov_point")}}},
        },
    }


def test_table_marks_open_ends_and_flags(limits):
    lines = limits_table(limits).splitlines()
    rows = {tuple(line.split()[:2]): line for line in lines[1:7]}
    assert lines[0].split() == ["method", "parameter", "68%", "CL", "95%", "CL", "marks"]
    # One row per method and parameter, in the document's order.
    assert [key for key in rows] == [("exact", "c_vv"), ("exact", "c_aa"), ("alices", "c_vv"), ("alices", "c_aa"),
                                     ("nde", "c_vv"), ("nde", "c_aa")]
    # The open end is the grid's edge with "<"; three decimals resolve a tenth of the 0.01 step.
    assert rows["nde", "c_aa"].split()[2:] == ["[+0.123,", "+0.150]", "[<-0.200,", "+0.190]", "!"]
    assert rows["alices", "c_vv"].split()[-1] == "*"
    assert rows["exact", "c_vv"].rstrip().endswith("+0.100]")  # no flags, no marks
    assert any(line.startswith("!:") and "excludes" in line for line in lines)
    assert any(line.startswith("*:") and "narrower than the exact" in line for line in lines)


def test_table_as_restructuredtext_is_a_table(limits):
    html = docutils.core.publish_parts(limits_table(limits, rst=True), writer="html",
                                       settings_overrides={"report_level": 2, "halt_level": 2})["body"]
    assert html.count("<tr") == 7  # header and six rows
    assert "[&lt;-0.200, +0.190]" in html


def _shower_card_rascal() -> dict:
    raw = yaml.safe_load(DEFAULT.read_text())
    raw["shower"]["enabled"] = True
    raw["detector"]["card"] = str(REPOSITORY / "config/processes/detectors/lep.yaml")
    raw["training"].update(methods=["rascal", "morphing_alices"], ensemble=3)
    raw["process"]["sqrt_s"] = 91.2
    return config_module.validate(raw)


def test_report_text_describes_the_run_that_made_it(limits):
    text = describe_run(_shower_card_rascal())
    for expected in ("√s = 91.2 GeV", "showered by Pythia 8", "'LEP-like'", "lep.yaml", "RASCAL, morphing-aware ALICES",
                     "an ensemble of 3 networks each", "L = 500 pb⁻¹", "μ⁺μ⁻"):
        assert expected in text
    # Nothing of the default run it is not.
    for absent in ("SALLY", "parametrised", "not showered", "√s = 200"):
        assert absent not in text
    default = describe_run(config_module.load(DEFAULT))
    assert "parametrised muon detector" in default and "SALLY, ALICES" in default and "not showered" in default
    page = front_page(_shower_card_rascal(), limits)
    assert page.startswith(text) and limits_table(limits, rst=True) in page


@pytest.mark.parametrize(
    "overlay",
    [
        # A new name, the parameters (a named mapping: replaced whole), a
        # list replaced, a new detector card.
        {"name": "partial", "process": {"sqrt_s": 91.2, "parameters": {"c_aa": [-0.3, 0.3], "c_vv": [-0.5, 0.5]}},
         "training": {"methods": ["rascal"], "ratio": {"epochs": 3}}, "observables": ["cos_theta_mu_minus"],
         "inference": {"histogram": {"observables": ["cos_theta_mu_minus"]}}},
        {"name": "card", "detector": {"card": "config/processes/detectors/lep.yaml"}, "shower": {"enabled": True}},
    ],
)
def test_check_merges_a_partial_file_as_snakemake_does(tmp_path, overlay, snakemake):
    partial = tmp_path / "partial.yaml"
    partial.write_text(yaml.safe_dump(overlay))
    merged = config_module.load(DEFAULT, partial)
    # The same merge as Snakemake's own function ...
    expected = copy.deepcopy(yaml.safe_load(DEFAULT.read_text()))
    update_config(expected, overlay)
    for section, key in config_module.NAMED_MAPPINGS:
        if key in overlay.get(section, {}):
            expected[section][key] = overlay[section][key]
    assert merged == config_module.validate(expected)
    if "parameters" in overlay.get("process", {}):
        assert merged["process"]["parameters"] == overlay["process"]["parameters"]
    # ... and as Snakemake itself: the configuration it validated and wrote while parsing the workflow.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(DEFAULT.read_text())
    result = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(tmp_path), "--dry-run",
                       "--configfile", str(partial), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    effective = yaml.safe_load((tmp_path / "results" / overlay["name"] / "config.yaml").read_text())
    # Snakemake made the card's path absolute (the workflow's folder), as goldmine's check needs it relative.
    if "card" in overlay.get("detector", {}):
        effective["detector"]["card"] = overlay["detector"]["card"]
    assert config_module.validate(effective) == merged
    # `goldmine check partial.yaml`, run where the workflow runs, checks that merge and says so.
    result = CliRunner().invoke(main, ["check", str(partial), "--base", str(DEFAULT)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"{DEFAULT} + {partial}: valid (analysis {overlay['name']!r})"
    assert yaml.safe_load(result.output.split("\nexact likelihood")[0]) == merged


def test_check_of_a_partial_file_alone_fails(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text(yaml.safe_dump({"name": "partial", "process": {"sqrt_s": 91.2}}))
    result = CliRunner().invoke(main, ["check", str(partial), "--base", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1 and "valid" not in result.output and "Traceback" not in result.output

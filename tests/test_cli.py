"""The `goldmine` command line: help, inspect, and one clear error for bad input."""

import gzip
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from goldmine.cli import main

DEFAULT = Path(__file__).parents[1] / "config" / "config.yaml"


def test_help_lists_every_stage():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for stage in ("setup", "generate", "detect", "merge", "mine", "train", "infer", "plot", "inspect", "check"):
        assert stage in result.output


def test_inspect_lhe_reports_events_weights_and_cross_section(analysis):
    result = CliRunner().invoke(main, ["inspect", str(analysis.directory / "chunk0.lhe.gz"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["events"] == analysis.config["generation"]["events_per_chunk"]
    assert summary["weight_ids"] == ["sm", "b1", "b2", "b3", "b4", "b5"]
    # The SM weights add up to the cross section of <init> (events drawn at the SM).
    assert abs(summary["sum_of_weights"]["sm"] / summary["cross_section_pb"] - 1) < 1e-9


def test_inspect_real_madgraph_file(shared_data):
    result = CliRunner().invoke(main, ["inspect", str(shared_data / "lhe" / "madgraph5-3.5.8-pp_to_jj.lhe.gz"),
                                       "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["events"] == 1000
    assert summary["beams"]["ids"] == [2212, 2212]


def test_inspect_event_file(analysis):
    result = CliRunner().invoke(main, ["inspect", str(analysis.events)])
    assert result.exit_code == 0, result.output
    assert "c_vv" in result.output and "cross_sections_pb" in result.output


def test_truncated_lhe_gives_one_error_naming_file_and_event(analysis, tmp_path):
    text = gzip.open(analysis.directory / "chunk0.lhe.gz", "rt").read()
    cut = text.index("<event>", text.index("<event>") + 100 * len("<event>"))
    truncated = tmp_path / "truncated.lhe"
    truncated.write_text(text[: cut + 200])
    output = tmp_path / "out.h5"
    result = CliRunner().invoke(main, ["detect", "--config", str(analysis.directory / "config.yaml"),
                                       "--setup", str(analysis.setup), "--lhe", str(truncated), "-o", str(output)])
    assert result.exit_code != 0
    assert "truncated.lhe" in result.output and "event" in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_check_ends_with_a_valid_line_and_fails_on_a_bad_card(tmp_path):
    result = CliRunner().invoke(main, ["check", str(DEFAULT)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"{DEFAULT}: valid (analysis 'ee_mumu')"
    card = tmp_path / "card.yaml"
    card.write_text("muon: {efficiency: 'pt >', momentum_resolution: '0.01', angle_resolution: '0.001'}\n")
    config = yaml.safe_load(DEFAULT.read_text())
    config["detector"]["card"] = str(card)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["check", str(tmp_path / "config.yaml")])
    assert result.exit_code == 1
    assert "detector.card" in result.output and "card.yaml" in result.output and ": valid" not in result.output
    assert "Traceback" not in result.output


def _model(directory, method, member):
    """A model file as `goldmine train` leaves it; only its metadata is read before inference."""
    path = directory / f"{method}_{member}.pt"
    path.write_bytes(b"")
    path.with_suffix(".json").write_text(json.dumps({"method": method, "member": member}))
    return str(path)


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        # The default config trains sally and alices, one member each.
        ([("sally", 0)], "no model given for alices member 0"),
        ([("sally", 0), ("alices", 0), ("carl", 0)], "carl_0.pt (carl member 0)"),
        ([("sally", 0), ("alices", 0), ("sally", 1)], "sally_1.pt (sally member 1)"),
    ],
)
def test_infer_names_the_models_missing_or_not_configured(tmp_path, models, expected):
    test = tmp_path / "test.h5"
    test.write_bytes(b"")
    outputs = [item for name in ("fisher", "limits", "validation", "workspace")
               for item in (f"--{name}", str(tmp_path / f"{name}.json"))]
    result = CliRunner().invoke(main, ["infer", "--config", str(DEFAULT), "--test", str(test), *outputs,
                                       *(_model(tmp_path, *model) for model in models)])
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "fisher.json").exists()

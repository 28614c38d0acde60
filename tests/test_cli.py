"""The `goldmine` command line: help, inspect, and one clear error for bad input."""

import gzip
import json

from click.testing import CliRunner

from goldmine.cli import main


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

"""The `goldmine` command line: help, inspect, fisher, and one clear error for bad input."""

import copy
import gzip
import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from goldmine import stages
from goldmine.cli import main
from goldmine.inference.fisher import event_file_information
from goldmine.io.particles import ParticleEvents, write_particles

DEFAULT = Path(__file__).parents[1] / "config" / "config.yaml"


def test_help_lists_every_stage():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for stage in ("setup", "generate", "detect", "merge", "mine", "train", "infer", "plot", "inspect", "fisher",
                  "check"):
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


@pytest.fixture(scope="module")
def run_files(analysis, tmp_path_factory):
    """Every kind of file a run writes: setup, LHE, particles, events, training samples, test events, models."""
    directory = tmp_path_factory.mktemp("run_files")
    config = copy.deepcopy(analysis.config)
    config["mining"].update(n_thetas=10, samples={"local_score": 1000, "ratio": 2000})
    mined = stages.mine(config, analysis.events, directory / "local_score.h5", directory / "ratio.h5",
                        directory / "test.h5")
    particles = ak.Array([[{"pdgid": 13, "status": 1, "px": 1.0, "py": 0.0, "pz": 2.0, "energy": 3.0, "mass": 0.1}],
                          []])
    write_particles(directory / "particles.h5", [ParticleEvents(particles, np.ones((2, 2)), ("sm", "b1"),
                                                                np.arange(2), 2)])
    (directory / "model.json").write_text(json.dumps({"method": "sally"}))
    (directory / "model.pt").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    return {"setup": analysis.setup, "lhe": analysis.directory / "chunk0.lhe.gz", "events": analysis.events,
            "particles": directory / "particles.h5", "samples": mined["ratio"], "local_score": mined["local_score"],
            "test": mined["test"], "json": directory / "model.json", "pt": directory / "model.pt"}


@pytest.mark.parametrize(("name", "kind"), [("setup", "setup"), ("lhe", "lhe"), ("events", "events"),
                                            ("particles", "particles"), ("samples", "samples"),
                                            ("local_score", "samples"), ("test", "events")])
def test_inspect_every_file_a_run_writes(run_files, name, kind):
    result = CliRunner().invoke(main, ["inspect", str(run_files[name]), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["kind"] == kind
    if kind == "samples":
        assert summary["samples"] == {"samples": 2000, "local_score": 1000}[name]
    if kind == "particles":
        assert (summary["events"], summary["particles"], summary["sum_of_weights"]) == (2, 1, {"sm": 2.0, "b1": 2.0})


@pytest.mark.parametrize(("name", "message"), [("json", "a JSON document"), ("pt", "a zip archive")])
def test_inspect_model_files_says_what_they_are(run_files, name, message):
    result = CliRunner().invoke(main, ["inspect", str(run_files[name])])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_fisher_prints_the_information_of_an_event_file(analysis):
    result = CliRunner().invoke(main, ["fisher", str(analysis.events), "--theta", "0.05", "--theta", "-0.02",
                                       "--luminosity", "500", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = event_file_information(analysis.events, [0.05, -0.02], 500.0)
    assert printed["theta"] == [0.05, -0.02] and printed["luminosity_pb"] == 500.0
    np.testing.assert_allclose(printed["truth"], expected["truth"], rtol=1e-12)  # JSON keeps 17 digits
    # The rate is one number: its information has rank one, and the full information contains it
    # (truth - rate = L Σ w (t - t̄)(t - t̄)ᵀ is positive semi-definite; 1e-9 of its scale for rounding).
    truth, rate = np.array(printed["truth"]), np.array(printed["rate"])
    assert np.linalg.matrix_rank(rate, tol=1e-9 * np.abs(rate).max()) == 1
    assert np.all(np.linalg.eigvalsh(truth - rate) > -1e-9 * np.abs(truth).max())
    text = CliRunner().invoke(main, ["fisher", str(analysis.events)])
    assert text.exit_code == 0 and "truth" in text.output and "300000" in text.output


def test_fisher_refuses_a_wrong_theta_and_a_setup_file(analysis):
    result = CliRunner().invoke(main, ["fisher", str(analysis.events), "--theta", "0.1"])
    assert result.exit_code == 2 and "1 values for the 2 parameters" in result.output
    result = CliRunner().invoke(main, ["fisher", str(analysis.setup)])
    assert result.exit_code == 1 and "a goldmine setup file, where an event file is needed" in result.output


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

"""The Snakemake workflow end to end on a tiny configuration, and its config validation."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _planned_jobs(snakemake, directory: Path, *arguments: str) -> dict[str, int]:
    """Rule → number of jobs that a dry run plans (empty when there is nothing to do)."""
    result = snakemake(*_in(directory), "--dry-run", "--cores", "1", *arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}
    # The "Job stats:" table: a header, a rule, then one "rule count" line per rule until "total".
    lines = output.split("Job stats:")[1].strip().splitlines()[2:]
    jobs = {}
    for line in lines:
        rule, count = line.split()
        if rule == "total":
            return jobs
        jobs[rule] = int(count)
    raise AssertionError(f"no job stats in {output[-3000:]}")


def _in(directory: Path) -> tuple[str, ...]:
    """The workflow's arguments for a run in ``directory``."""
    return "--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(directory)


def _edit_config(directory: Path, change) -> None:
    """Apply ``change`` to the config (config/config.yaml) in ``directory``."""
    path = directory / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))



def _assert_intervals_against_exact(validation: dict) -> None:
    """The numbers of a tiny run's validation.json: its intervals, not only that it exists.

    The Asimov data are made at the SM, so the exact likelihood's intervals contain it. On the
    default detector a 20-bin histogram of cos θ(μ⁻) keeps 99.5% of the exact shape information
    (docs/accuracy.md), so its intervals are the exact ones within 1%, plus the test sample's
    noise: on the tiny run's ~2700 test events the bootstrap error of its width ratio is up to
    0.02, and a bound of 0.1 is five of them; its centre's error is up to 0.034 exact
    half-widths, and a bound of 0.2 is six of them. A histogram of SALLY's score cannot beat the exact
    likelihood, but two epochs of a 16-unit network may lose much: it was 1.09–1.11 (c_vv) and
    1.27–1.34 (c_aa) of exact on two tiny runs, hence the bounds 0.95 (the histogram's noise) and 2.
    """
    comparison = validation["intervals_against_exact"]
    for label in ("68", "95"):
        for name, numbers in comparison["histogram"][label].items():
            assert numbers["exact_low"] < 0.0 < numbers["exact_high"], (label, name, numbers)
            for method in ("histogram", "sally"):
                entry = comparison[method][label][name]
                # Every number of a bootstrapped method has a finite, non-zero error bar.
                assert all(entry[key] is not None and entry[key] > 0 for key in entry if key.endswith("_error")), \
                    (method, label, name, entry)
            assert comparison["histogram"][label][name]["width_ratio"] == pytest.approx(1.0, abs=0.1)
            assert abs(comparison["histogram"][label][name]["shift"]) < 0.2
            assert 0.95 < comparison["sally"][label][name]["width_ratio"] < 2.0


def test_workflow_runs_end_to_end_and_writes_the_fixed_outputs(tmp_path, tiny_config, snakemake):
    (tmp_path / "config").mkdir()
    config = tiny_config()
    # Every family of estimators, and ensembles of two.
    config["training"].update(methods=["sally", "sallino", "alices", "carl", "morphing_alices", "scandal"], ensemble=2)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(*_in(tmp_path), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "tiny"
    limits = json.loads((results / "inference/limits.json").read_text())["methods"]
    methods = ("alices", "carl", "morphing_alices", "scandal", "sally", "sallino")
    assert {"exact", "histogram", "rate", *methods} <= set(limits)
    for method in methods:
        assert len(limits[method]["members"]) == 2
        assert set(limits[method]["members"][0]["intervals"]["68"]) == {"c_vv", "c_aa"}
    _assert_intervals_against_exact(json.loads((results / "inference/validation.json").read_text()))
    fisher = json.loads((results / "inference/fisher.json").read_text())["methods"]
    assert {"truth", "rate", "histogram", "sally", "sallino", "exact"} <= set(fisher)
    assert {method for method, entry in fisher.items() if "ensemble_std" in entry} == {"sally", "sallino"}
    assert (results / "models/alices/1.pt").exists()
    for name in ("distributions", "fisher_ellipses", "limits", "training", "calibration"):
        assert (results / f"plots/{name}.png").stat().st_size > 10_000
        assert (results / f"plots/{name}.pdf").exists()
    assert (tmp_path / "logs/tiny/infer.log").exists() and (results / "benchmarks/infer.tsv").exists()
    # The end of the run: every job's summary line and the table on the console, and the report.
    assert "goldmine train: scandal member 1:" in result.stdout and "goldmine infer:" in result.stdout
    assert (results / "summary.txt").read_text() in result.stderr
    assert "goldmine: report results/tiny/report.html" in result.stderr
    assert (results / "report.html").stat().st_size > 100_000

    def planned(*arguments: str) -> dict[str, int]:
        return _planned_jobs(snakemake, tmp_path, *arguments)

    # Resumable: a second run has nothing to do.
    assert planned() == {}
    # A change reruns only what reads the changed section, and what depends on its outputs (and
    # the check, on any change).
    original = (tmp_path / "config" / "config.yaml").read_text()
    _edit_config(tmp_path, lambda c: c["inference"].update(luminosity=1000.0))
    assert planned() == {"check": 1, "infer": 1, "plot": 1, "summarise": 1, "all": 1}
    _edit_config(tmp_path, lambda c: c["training"]["local_score"].update(epochs=3))
    # Only the local-score family (SALLY, SALLINO; 2 members each) retrains; events and samples stay.
    assert planned() == {"check": 1, "train": 4, "infer": 1, "plot": 1, "summarise": 1, "all": 1}
    _edit_config(tmp_path, lambda c: c["detector"]["muon"].update(angle_resolution=0.05))
    assert planned() == {"check": 1, "detect": 2, "merge": 1, "mine": 1, "train": 12, "infer": 1, "plot": 1,
                         "summarise": 1, "all": 1}
    (tmp_path / "config" / "config.yaml").write_text(original)
    assert planned() == {}
    # A new model (docs/recast.md): another θ grid reuses the events, samples and networks; another
    # parameter set changes the morphing basis, on which every event's weights depend: all reruns.
    _edit_config(tmp_path, lambda c: c["inference"].update(grid_points=c["inference"]["grid_points"] + 2))
    assert planned() == {"check": 1, "infer": 1, "plot": 1, "summarise": 1, "all": 1}
    _edit_config(tmp_path, lambda c: c["process"]["parameters"].update(c_vv=[-0.3, 0.3]))
    assert planned() == {"check": 1, "setup": 1, "generate": 2, "detect": 2, "merge": 1, "mine": 1, "train": 12,
                         "infer": 1, "plot": 1, "summarise": 1, "all": 1}
    (tmp_path / "config" / "config.yaml").write_text(original)
    assert planned() == {}
    # Another analysis has its own folder: it reuses and overwrites nothing of this one.
    assert planned("--config", "name=second")["setup"] == 1
    report = snakemake(*_in(tmp_path), "--report", "results/tiny/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 100_000


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # The schema, checked by Snakemake while it parses the workflow.
        (lambda c, card: c["detector"]["muon"].update(efficiency=1.5), ["['detector']['muon']['efficiency']", "1.5"]),
        # A card whose formula does not compile fails in the first job, `goldmine check`, not in the detector job.
        (lambda c, card: c["detector"].update(card=str(card)), ["detector.card", "bad.yaml", "muon", "open("]),
        (lambda c, card: c.update(name="../elsewhere"), ["'name'", "../elsewhere"]),
    ],
)
def test_invalid_config_stops_before_any_job(tmp_path, change, expected, tiny_config, snakemake):
    card = tmp_path / "bad.yaml"
    card.write_text(yaml.safe_dump({"muon": {"efficiency": "open('x')", "momentum_resolution": "0.01",
                                             "angle_resolution": "0.001"}}))
    config = tiny_config()
    change(config, card)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(*_in(tmp_path), "--cores", "1", "--show-failed-logs")
    assert result.returncode != 0
    for text in expected:
        assert text in result.stderr
    # No stage wrote anything: at most the configuration, written while the workflow is parsed.
    written = [path.name for path in (tmp_path / "results").rglob("*") if path.is_file()]
    assert written in ([], ["config.yaml"])


def test_another_config_file_must_name_its_analysis(tmp_path, tiny_config, snakemake):
    (tmp_path / "config").mkdir()
    config = tiny_config()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    del config["name"]
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(config))
    # Merged into config/config.yaml, it would write into results/tiny/.
    result = snakemake(*_in(tmp_path), "--dry-run", "--configfile", str(tmp_path / "other.yaml"))
    assert result.returncode != 0 and "its own `name`" in result.stdout + result.stderr
    config["name"] = "other"
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(config))
    assert _planned_jobs(snakemake, tmp_path, "--configfile", str(tmp_path / "other.yaml"))["setup"] == 1
    assert (tmp_path / "results" / "other" / "config.yaml").exists()
    assert not (tmp_path / "results" / "tiny").exists()


def test_workflow_with_the_shower_and_a_detector_card_end_to_end(tmp_path, tiny_config, snakemake):
    from goldmine.io import events

    config = tiny_config()
    config["shower"]["enabled"] = True
    config["detector"]["card"] = "config/processes/detectors/lep.yaml"  # relative to the workflow
    config["observables"] += [{"n_photons": "count(photons)"}, {"missing_pt": "missing.pt"},
                              {"e_photon": "where(count(photons) > 0, leading(photons, 0).E, 0)"}]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(*_in(tmp_path), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "tiny"
    assert len(list((results / "shower").glob("*.h5"))) == 2
    limits = json.loads((results / "inference/limits.json").read_text())["methods"]
    assert "exact" not in limits and {"alices", "sally", "histogram"} <= set(limits)
    # The report's front page says what this run was.
    front_page = (results / "summary.rst").read_text()
    assert "showered by Pythia 8" in front_page and "'LEP-like'" in front_page and "parametrised" not in front_page
    assert "goldmine shower: results/tiny/shower/1-of-2.h5:" in result.stdout  # Pythia's listings are in the log
    sample = events.read(results / "events.h5")
    mass = sample.observations[:, events.read_observable_names(results / "events.h5").index("m_mumu")]
    # The LEP card's 6% momentum resolution makes the peak ≈ 8 GeV wide; photon radiation adds a
    # tail far below it: m < 150 GeV needs x_γ > 1 − 0.75², P ≈ 0.03 at O(α) (tests/test_shower.py).
    beta = 2 / 137.036 / np.pi * (np.log(200.0**2 / 0.1056584**2) - 1)
    x0 = 1 - 0.75**2
    expected = beta * (-np.log(x0) - (1 - x0) + (1 - x0**2) / 4)
    assert np.mean(mass < 150.0) == pytest.approx(expected, rel=0.3)
    # Photons from the card: where there are some, they carry the energy the muons lost.
    names = events.read_observable_names(results / "events.h5")
    n_photons = sample.observations[:, names.index("n_photons")]
    radiated = (mass < 150.0) & (n_photons > 0)
    assert 0 < np.mean(n_photons > 0) < 0.5
    assert np.median(sample.observations[radiated, names.index("e_photon")]) > 10.0
    assert np.median(sample.observations[radiated, names.index("missing_pt")]) < 10.0

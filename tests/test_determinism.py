"""Determinism: the same config and seeds give byte-identical files, whatever the core count."""

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from goldmine import config as config_module
from goldmine import stages

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Snakemake's measured run time and memory of each job (the rules' `benchmark:`) and its report
# of the run (dates and run times, written at the end of the run): they differ from run to run by
# nature. Logs lie outside results/ and are not compared: diagnostics may report timings.
_RUN_RECORDS = ("benchmarks/", "report.html")


def _write_tiny_config(directory: Path, config: dict) -> None:
    """The tiny analysis, SALLY and ALICES, as directory/config/config.yaml."""
    config = dict(config, training=dict(config["training"], methods=["sally", "alices"]))
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _run(directory: Path, cores: int) -> None:
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPOSITORY / "Snakefile"), "--directory",
         str(directory), "--cores", str(cores)],
        capture_output=True, text=True, env=environment, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _digests(results: Path) -> dict[str, str]:
    """sha256 of every file under ``results``, by relative path, Snakemake's run records left out."""
    return {
        str(path.relative_to(results)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(results.rglob("*"))
        if path.is_file() and not str(path.relative_to(results)).startswith(_RUN_RECORDS)
    }


def test_two_runs_on_one_and_two_cores_write_identical_files(tmp_path, tiny_config):
    # The runs follow each other, so each file of the second is written tens of seconds after its
    # twin: a stored time (HDF5 object times, gzip or PDF headers) would show as a difference.
    runs = {}
    for cores in (1, 2):
        directory = tmp_path / f"cores{cores}"
        _write_tiny_config(directory, tiny_config())
        _run(directory, cores)
        runs[cores] = _digests(directory / "results" / "tiny")
    first, second = runs[1], runs[2]
    # Every kind of output is compared: a missing kind would make the test pass vacuously.
    for pattern in (".lhe.gz", ".h5", ".pt", ".json", ".png", ".pdf"):
        assert any(name.endswith(pattern) for name in first), pattern
    assert sorted(first) == sorted(second)
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == []


def test_showered_particle_files_are_identical(tmp_path):
    # The workflow above runs without the shower: Pythia 8 and the particle-file writer, here.
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["generation"]["events_per_chunk"] = 1000
    config["morphing"]["n_trials"] = 100
    stages.setup(config, tmp_path / "setup.h5")
    stages.generate(config, tmp_path / "setup.h5", 0, tmp_path / "events.lhe.gz")
    digests = []
    for name in ("first", "second"):
        stages.shower(config, tmp_path / "events.lhe.gz", 0, tmp_path / f"{name}.h5")
        digests.append(hashlib.sha256((tmp_path / f"{name}.h5").read_bytes()).hexdigest())
    assert digests[0] == digests[1]

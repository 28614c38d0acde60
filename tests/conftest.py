"""Shared fixtures: the shared data folder and a small analysis run through the real stages."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from goldmine import config as config_module
from goldmine import stages
from goldmine.io import events

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder: ``$GOLDMINE_SHARED_DATA``, else ``<repo>/../shared/data``; skips the test if absent."""
    configured = os.environ.get("GOLDMINE_SHARED_DATA")
    folder = Path(configured) if configured else REPOSITORY.parent / "shared" / "data"
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} not found (set GOLDMINE_SHARED_DATA to the 'data' folder)")
    return folder


SBOTTOM_ARCHIVE = "published/atlas-susy-2018-31-sbottom-ins1748602.tar.gz"


@pytest.fixture(scope="session")
def sbottom_likelihoods(shared_data, tmp_path_factory):
    """``sbottom_likelihoods(*members)``: a new folder holding those members of the published ATLAS
    SUSY-2018-31 sbottom likelihoods (all of them without members); skips the test without the archive."""
    archive = shared_data / SBOTTOM_ARCHIVE
    if not archive.is_file():
        pytest.skip(f"{archive} not found (the ATLAS SUSY-2018-31 sbottom likelihoods)")

    def extract(*members: str) -> Path:
        folder = tmp_path_factory.mktemp("sbottom")
        with tarfile.open(archive) as tar:
            tar.extractall(folder, members=[tar.getmember(name) for name in members] if members else None,
                           filter="data")
        return folder

    return extract


class _SnakemakeServer:
    """Runs ``snakemake`` commands in one long-lived process that imported Snakemake once
    (tests/snakemake_server.py): each command as a forked child, in its own state."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0
        environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        self._process = subprocess.Popen([sys.executable, str(REPOSITORY / "tests" / "snakemake_server.py")],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment)

    def __call__(self, *arguments: str, timeout: float = 900) -> subprocess.CompletedProcess:
        self._count += 1
        stdout, stderr = self._folder / f"{self._count}.out", self._folder / f"{self._count}.err"
        request = {"argv": [str(argument) for argument in arguments], "cwd": str(Path.cwd()),
                   "stdout": str(stdout), "stderr": str(stderr), "timeout": timeout}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the Snakemake server stopped (exit status {self._process.wait()})")
        returncode = json.loads(answer)["returncode"]
        return subprocess.CompletedProcess(["snakemake", *request["argv"]], returncode, stdout.read_text(),
                                           stderr.read_text())

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=60)


@pytest.fixture(scope="session")
def snakemake(tmp_path_factory):
    """``snakemake(*arguments, timeout=900)``: ``python -m snakemake <arguments>`` run here, as a
    :class:`subprocess.CompletedProcess` (text output), goldmine's command first on PATH. Snakemake is
    imported once per session, so a dry run costs about a tenth of one in a new process."""
    server = _SnakemakeServer(tmp_path_factory.mktemp("snakemake-output"))
    yield server
    server.close()


@dataclass(frozen=True)
class Analysis:
    """A small analysis: its config (also as directory/config.yaml), setup and merged events."""

    config: dict
    directory: Path
    setup: Path
    events: Path


def small_config(**changes) -> dict:
    """The default analysis with fewer events; ``changes`` update top-level sections."""
    config = config_module.load(REPOSITORY / "config" / "config.yaml")
    config = copy.deepcopy(config)
    config["generation"].update(chunks=2, events_per_chunk=60_000)
    config["morphing"]["n_trials"] = 200
    config["mining"]["samples"] = {"local_score": 100_000, "ratio": 200_000}
    for section, values in changes.items():
        config[section].update(values)
    return config_module.validate(config)


def _tiny_config(name: str = "tiny") -> dict:
    """The default analysis with every size made small, named ``name``: a whole workflow run
    takes about a minute; methods, observables and the rest unchanged."""
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["name"] = name
    config["generation"].update(chunks=2, events_per_chunk=4000)
    config["morphing"]["n_trials"] = 100
    config["mining"].update(n_thetas=50, samples={"local_score": 2000, "ratio": 4000})
    for family in ("local_score", "ratio", "density"):
        config["training"][family].update(epochs=2, hidden=[16])
    config["inference"]["grid_points"] = 11
    return config


@pytest.fixture(scope="session")
def tiny_config():
    """A factory of tiny analyses (``tiny_config(name)``), for the workflow-level tests."""
    return _tiny_config


def _run_tiny_workflow(snakemake: _SnakemakeServer, directory: Path, *arguments: str) -> subprocess.CompletedProcess:
    """The tiny analysis with SALLY and ALICES, written to directory/config/config.yaml and run
    there by Snakemake with ``arguments`` (e.g. ``--cores 2``); fails the test unless it succeeds."""
    config = _tiny_config()
    config["training"]["methods"] = ["sally", "alices"]
    (directory / "config").mkdir(parents=True)
    (directory / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # The rules call `goldmine`: the one next to this interpreter, first on the server's PATH, in every job
    # (SLURM jobs inherit PATH).
    result = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(directory), *arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def tiny_workflow(snakemake):
    """Runs the tiny analysis (SALLY and ALICES) in a folder: ``tiny_workflow(directory, *snakemake_arguments)``;
    its results lie in directory/results/tiny."""
    return lambda directory, *arguments: _run_tiny_workflow(snakemake, directory, *arguments)


# Snakemake's measured run time and memory of each job (the rules' `benchmark:`) and its report
# of the run (dates and run times, written at the end of the run): they differ from run to run by
# nature. Logs lie outside results/ and are not compared: diagnostics may report timings.
_RUN_RECORDS = ("benchmarks/", "report.html")


def _result_digests(results: Path) -> dict[str, str]:
    """sha256 of every file under ``results``, by relative path, Snakemake's run records left out."""
    return {
        str(path.relative_to(results)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(results.rglob("*"))
        if path.is_file() and not str(path.relative_to(results)).startswith(_RUN_RECORDS)
    }


@pytest.fixture(scope="session")
def result_digests():
    """``result_digests(folder)``: sha256 of every result file by relative path, without Snakemake's
    run records (benchmarks, report), which differ from run to run by nature."""
    return _result_digests


@pytest.fixture(scope="session")
def local_tiny_results(tmp_path_factory, snakemake) -> Path:
    """The results folder of one local ``--cores 2`` run of the tiny analysis (:func:`tiny_workflow`),
    run once for every test that compares another run with it (other core counts, SLURM, external files)."""
    directory = tmp_path_factory.mktemp("tiny-local")
    _run_tiny_workflow(snakemake, directory, "--cores", "2")
    return directory / "results" / "tiny"


def _run_analysis(directory: Path, config: dict) -> Analysis:
    """Setup, generation, detector and merge of ``config`` in ``directory``."""
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    setup = directory / "setup.h5"
    stages.setup(config, setup)
    chunks = []
    for chunk in range(config["generation"]["chunks"]):
        lhe_file = directory / f"chunk{chunk}.lhe.gz"
        stages.generate(config, setup, chunk, lhe_file)
        chunks.append(directory / f"chunk{chunk}.h5")
        stages.detect(config, setup, lhe_file, chunk, chunks[-1])
    merged = directory / "events.h5"
    events.merge(chunks, merged)
    return Analysis(config, directory, setup, merged)


@pytest.fixture(scope="session")
def analysis(tmp_path_factory) -> Analysis:
    """Setup, generation (2 chunks), detector and merge of the default analysis, 120k events."""
    return _run_analysis(tmp_path_factory.mktemp("analysis"), small_config())


@pytest.fixture(scope="session")
def validation_analysis(tmp_path_factory) -> Analysis:
    """The validation analysis (config/validation.yaml) with 2 × 80k generated events (about 46k detected)."""
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "validation.yaml"))
    config["generation"].update(chunks=2, events_per_chunk=80_000)
    config["morphing"]["n_trials"] = 200
    return _run_analysis(tmp_path_factory.mktemp("validation"), config_module.validate(config))


def _ww_final_state(process, points: np.ndarray) -> tuple[np.ndarray, ...]:
    """(lepton, neutrino, quark, antiquark, lepton charge) of the generator's LHE record of ``points``."""
    record = process.hard_process(points)
    pdgid, momenta = record.pdgid, record.momenta
    rows = np.arange(len(points))

    def first(mask):
        return momenta[rows, np.argmax(mask, axis=1)], pdgid[rows, np.argmax(mask, axis=1)]

    final = record.status[None, :] == 1
    lepton, lepton_id = first(final & np.isin(np.abs(pdgid), [11, 13]))
    neutrino, _ = first(final & np.isin(np.abs(pdgid), [12, 14]))
    quark, _ = first(final & (np.abs(pdgid) <= 4) & (pdgid > 0))
    antiquark, _ = first(final & (np.abs(pdgid) <= 4) & (pdgid < 0))
    return lepton, neutrino, quark, antiquark, -np.sign(lepton_id)


@pytest.fixture(scope="session")
def ww_final_state():
    """``ww_final_state(process, points)``: (lepton, neutrino, quark, antiquark, lepton charge) of the
    ee_ww generator's LHE record of its phase-space points."""
    return _ww_final_state

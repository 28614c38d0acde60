"""Determinism: the same config and seeds give byte-identical files, whatever the core count."""

import copy
import hashlib
from pathlib import Path

import pytest

from goldmine import config as config_module
from goldmine import stages

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

def test_two_runs_on_one_and_two_cores_write_identical_files(tmp_path, tiny_workflow, result_digests,
                                                               local_tiny_results):
    # The runs follow each other, so each file of the second is written tens of seconds after its
    # twin: a stored time (HDF5 object times, gzip or PDF headers) would show as a difference.
    tiny_workflow(tmp_path, "--cores", "1")
    first, second = result_digests(tmp_path / "results" / "tiny"), result_digests(local_tiny_results)
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

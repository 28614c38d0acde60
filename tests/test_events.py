"""The HDF5 event file: MadMiner's layout, atomic writes, clear errors, merging, determinism."""

import h5py
import numpy as np
import pytest

from goldmine import stages
from goldmine.exceptions import EventFileError
from goldmine.io import events


def test_layout_is_madminers(analysis):
    with h5py.File(analysis.events, "r") as handle:
        for key in ("parameters/names", "parameters/ranges", "parameters/max_power", "parameters/lha_blocks",
                    "parameters/lha_ids", "parameters/transforms", "benchmarks/names", "benchmarks/values",
                    "benchmarks/is_nuisance", "benchmarks/is_reference", "morphing/components",
                    "morphing/morphing_matrix", "observables/names", "observables/definitions",
                    "samples/observations", "samples/weights", "samples/sampling_benchmarks"):
            assert key in handle, key
        n_events = handle["samples/observations"].shape[0]
        assert handle["samples/weights"].shape == (n_events, handle["benchmarks/names"].shape[0])
        assert handle["samples/observations"].compression == "gzip"
        assert handle["parameters/names"][0] == b"c_vv"


def test_merged_weights_estimate_the_fiducial_cross_section(analysis):
    """Each chunk's weights estimate σ; the merge must not add them up."""
    from goldmine.detection.detector import MuonDetector
    from goldmine.inference.exact import ExactLikelihood
    from goldmine.physics.processes import get_process

    space = events.read_parameter_space(analysis.events)
    sample = events.read(analysis.events)
    exact = ExactLikelihood(get_process(analysis.config["process"]),
                            MuonDetector.from_config(analysis.config["detector"]),
                            events.read_observable_names(analysis.events))
    sums = sample.weights.sum(axis=0)
    error = np.sqrt((sample.weights**2).sum(axis=0))
    expected = exact.fiducial_cross_section(space.benchmarks)
    assert np.all(np.abs(sums - expected) < 4 * error), (sums, expected, error)


def test_same_config_and_seed_give_identical_files(analysis, tmp_path):
    lhe_file = tmp_path / "again.lhe.gz"
    stages.generate(analysis.config, analysis.setup, 0, lhe_file)
    output = tmp_path / "again.h5"
    stages.detect(analysis.config, analysis.setup, lhe_file, 0, output)
    with h5py.File(output, "r") as first, h5py.File(analysis.directory / "chunk0.h5", "r") as second:
        for key in ("samples/observations", "samples/weights"):
            np.testing.assert_array_equal(first[key][()], second[key][()])


def test_non_finite_weights_name_the_event_and_leave_no_file(analysis, tmp_path):
    space = events.read_parameter_space(analysis.setup)
    weights = np.ones((10, len(space.benchmark_names)))
    weights[7, 2] = np.nan
    block = events.Events(np.zeros((10, 1)), weights, np.zeros(10, dtype=np.int64))
    output = tmp_path / "bad.h5"
    with pytest.raises(EventFileError, match=r"bad.h5: event 7 has a non-finite value in 'samples/weights'"):
        events.write(output, space, ["x"], ["x"], [block])
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_incomplete_files_give_one_clear_error(analysis, tmp_path):
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(EventFileError, match="corrupt.h5: not a readable HDF5 file"):
        events.read_parameter_space(corrupt)
    setup_only = analysis.setup
    with pytest.raises(EventFileError, match="missing dataset 'samples/observations'"):
        events.read(setup_only)


def test_lhe_weights_must_match_the_benchmarks(analysis, tmp_path):
    from goldmine.io import lhe

    init, chunk = lhe.read_init(analysis.directory / "chunk0.lhe.gz"), next(
        lhe.iterate(analysis.directory / "chunk0.lhe.gz", step_size=100))
    renamed = tmp_path / "renamed.lhe"
    ids = ("sm", "b1", "b2", "b3", "b4", "other")
    from dataclasses import replace

    lhe.write(renamed, replace(init, weight_ids=ids), replace(chunk, weight_ids=ids))
    with pytest.raises(EventFileError, match=r"renamed.lhe: no weights for the benchmarks \['b5'\]"):
        stages.detect(analysis.config, analysis.setup, renamed, 0, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()

"""The HDF5 event file: MadMiner's layout, file kinds, atomic writes, clear errors, merging, determinism."""

import h5py
import numpy as np
import pytest

from goldmine import stages
from goldmine.exceptions import EventFileError
from goldmine.io import events, open_events


def test_layout_is_madminers(analysis):
    with h5py.File(analysis.events, "r") as handle:
        for key in ("parameters/names", "parameters/val_ranges", "parameters/max_power", "parameters/lha_blocks",
                    "parameters/lha_ids", "parameters/transforms", "benchmarks/names", "benchmarks/values",
                    "benchmarks/is_nuisance", "benchmarks/is_reference", "morphing/components",
                    "morphing/morphing_matrix", "observables/names", "observables/definitions",
                    "samples/observations", "samples/weights", "samples/sampling_benchmarks",
                    "sample_summary/signal_events", "sample_summary/background_events"):
            assert key in handle, key
        n_events = handle["samples/observations"].shape[0]
        assert handle["samples/weights"].shape == (n_events, handle["benchmarks/names"].shape[0])
        assert handle["samples/observations"].compression == "gzip"
        assert handle["parameters/names"][0] == b"c_vv"
        # MadMiner evaluates transforms and observable definitions: "None" and expressions, no prose.
        assert set(handle["parameters/transforms"][()]) == {b"None"}
        assert handle["observables/definitions"][list(handle["observables/names"][()]).index(b"m_mumu")] == \
            b"(mu_minus + mu_plus).mass"
        assert handle["sample_summary/signal_events"][0] == n_events
        assert handle.attrs["goldmine_kind"] == "events" and handle.attrs["goldmine_format_version"] == 1
    assert events.read_observable_descriptions(analysis.events)[0] == "energy of the mu- [GeV]"


def test_every_file_says_what_it_is(analysis, tmp_path):
    assert open_events(analysis.setup).kind == "setup"
    assert (open_events(analysis.events).kind, open_events(analysis.events).format) == ("events", "goldmine")
    described = open_events(analysis.directory / "chunk0.lhe.gz")
    assert (described.kind, described.format) == ("lhe", "lhe.gz")
    with pytest.raises(EventFileError, match="setup.h5: a goldmine setup file, where an event file is needed"):
        events.read(analysis.setup)


def test_foreign_and_newer_files_are_named_plainly(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as handle:
        handle["data/x"] = [1.0]
        handle["meta"] = [2.0]
    with pytest.raises(EventFileError, match=r"foreign.h5: an HDF5 file but neither goldmine's nor MadMiner's: "
                                             r"top-level groups \['data', 'meta'\]"):
        open_events(foreign)
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as handle:
        handle.attrs.update(goldmine_kind="events", goldmine_format_version=99)
    with pytest.raises(EventFileError, match="format version 99, written by a newer goldmine"):
        events.read_parameter_space(newer)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(EventFileError, match=r"notes.txt: not an event file goldmine knows .* starts with b'hello'"):
        open_events(text)


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
    incomplete = tmp_path / "incomplete.h5"
    with h5py.File(analysis.events, "r") as source, h5py.File(incomplete, "w") as handle:
        for group in ("parameters", "benchmarks", "morphing", "observables"):
            source.copy(group, handle)
        handle.attrs.update(source.attrs)
    with pytest.raises(EventFileError, match="incomplete.h5: missing dataset 'samples/observations'"):
        events.read(incomplete)


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

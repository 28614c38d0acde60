"""Bad input: each case gives one GoldmineError naming the file and the key or event, and writes nothing.

Every case goes through the real stage functions (:mod:`goldmine.stages`) and, for a few,
through the command line, on a tiny ee_mumu analysis (2000 events) built here.
"""

from __future__ import annotations

import copy
import gzip
import shutil
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
import uproot
import yaml
from click.testing import CliRunner

from goldmine import config as config_module
from goldmine import stages
from goldmine.cli import main
from goldmine.exceptions import ConfigError, DelphesError, EventFileError, GoldmineError, LHEError
from goldmine.inference.fisher import event_file_information, truth_information
from goldmine.io import events, lhe
from goldmine.physics.parameters import build_parameter_space

N_EVENTS = 2000
CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Config (also as config.yaml), setup, one LHE chunk (gzip and plain) and its event file."""
    directory = tmp_path_factory.mktemp("bad_input")
    config = config_module.load(CONFIG)
    config["generation"].update(chunks=1, events_per_chunk=N_EVENTS)
    config["morphing"]["n_trials"] = 200
    config["mining"].update(n_thetas=5, samples={"local_score": 200, "ratio": 400})
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    setup = directory / "setup.h5"
    stages.setup(config, setup)
    stages.generate(config, setup, 0, directory / "chunk0.lhe.gz")
    (directory / "chunk0.lhe").write_bytes(gzip.decompress((directory / "chunk0.lhe.gz").read_bytes()))
    stages.detect(config, setup, directory / "chunk0.lhe.gz", 0, directory / "events.h5")
    return {"config": config, "directory": directory, "setup": setup, "lhe": directory / "chunk0.lhe.gz",
            "text": (directory / "chunk0.lhe").read_text(), "events": directory / "events.h5"}


def _detect(tiny, input_file, output, config=None, setup=None):
    return stages.detect(config or tiny["config"], setup or tiny["setup"], input_file, 0, output)


def _cli(*arguments):
    """Run the command line; assert it failed with exactly one line and no traceback; return the line."""
    result = CliRunner().invoke(main, [str(argument) for argument in arguments])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def _event_start(text, number):
    """Character offset of the 1-based event ``number`` in an LHE text."""
    position = -1
    for _ in range(number):
        position = text.index("<event>", position + 1)
    return position


def _rewritten(tiny, tmp_path, name, change):
    """The LHE chunk, read, changed by ``change(init, events) -> (init, events)`` and written to ``name``."""
    init, read = lhe.read_init(tiny["lhe"]), lhe.read(tiny["lhe"])
    init, read = change(init, read)
    path = tmp_path / name
    lhe.write(path, init, read)
    return path


# ---------------------------------------------------------------- 1. truncated or corrupt LHE


def test_truncated_lhe_names_file_and_event(tiny, tmp_path):
    text = tiny["text"]
    truncated = tmp_path / "truncated.lhe"
    truncated.write_text(text[: _event_start(text, 500) + 100])  # inside event 500
    output = tmp_path / "out.h5"
    with pytest.raises(LHEError, match=r"truncated\.lhe: event 500: truncated"):
        _detect(tiny, truncated, output)
    assert not output.exists()


def test_corrupt_gzip_lhe_gives_one_line_on_the_command_line(tiny, tmp_path):
    data = bytearray(tiny["lhe"].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # overwritten in the middle: the deflate stream breaks
    corrupt = tmp_path / "corrupt.lhe.gz"
    corrupt.write_bytes(bytes(data))
    output = tmp_path / "out.h5"
    with pytest.raises(LHEError, match=r"corrupt\.lhe\.gz: the gzip data are corrupt or truncated"):
        _detect(tiny, corrupt, output)
    line = _cli("detect", "--config", tiny["directory"] / "config.yaml", "--setup", tiny["setup"],
                "--lhe", corrupt, "-o", output)
    assert "corrupt.lhe.gz" in line and "gzip" in line
    assert not output.exists()


# ---------------------------------------------------------------- 2. non-finite weights


@pytest.mark.parametrize("value", ["nan", "inf", "-1e400"])
def test_non_finite_weight_names_file_and_event(tiny, tmp_path, value):
    text = tiny["text"]
    start = _event_start(text, 7)
    first_weight = text.index("<wgt", start)
    value_start = text.index(">", first_weight) + 1
    value_end = text.index("</wgt>", value_start)
    bad = tmp_path / "bad.lhe"
    bad.write_text(text[:value_start] + f" {value} " + text[value_end:])
    output = tmp_path / "out.h5"
    with pytest.raises(LHEError, match=r"bad\.lhe: event 7: .*") as error:
        _detect(tiny, bad, output)
    assert value.lstrip("-") in str(error.value)
    assert not output.exists()


# ---------------------------------------------------------------- 3. negative weights


def _flip(init, read, every=5):
    """NLO-like counter-events: every fifth event has all its weights negative."""
    sign = np.where(np.arange(len(read)) % every == 0, -1.0, 1.0)
    flipped = lhe.LHEEvents(read.particles, read.weight * sign, read.scale, read.aqed, read.aqcd, read.process_id,
                            read.weights * sign[:, None], read.weight_ids)
    return init, flipped


@pytest.fixture(scope="module")
def negative_events(tiny, tmp_path_factory):
    directory = tmp_path_factory.mktemp("negative")
    path = _rewritten(tiny, directory, "negative.lhe.gz", _flip)
    output = directory / "negative.h5"
    _detect(tiny, path, output)
    return output


def test_detect_carries_negative_weights_with_their_sign(tiny, negative_events):
    original, negative = events.read(tiny["events"]), events.read(negative_events)
    # Same detector seed: the same events are accepted with the same observations, and every
    # weight keeps its size and the sign of its LHE event (all benchmarks of an event agree).
    np.testing.assert_array_equal(negative.observations, original.observations)
    np.testing.assert_array_equal(np.abs(negative.weights), original.weights)
    signs = np.sign(negative.weights)
    assert np.all(signs == signs[:, :1]) and 0.1 < np.mean(signs[:, 0] < 0) < 0.3  # about one in five


def test_mining_refuses_negative_weights_naming_their_fraction(tiny, negative_events, tmp_path):
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(EventFileError, match=r"negative\.h5: \d+ of \d+ events \(\d+\.\d+%\) have a negative weight"):
        stages.mine(tiny["config"], negative_events, *outputs)
    assert not any(path.exists() for path in outputs)


def test_truth_information_counts_negative_weights_with_their_sign(tmp_path):
    # Every event weight is s_e (1 + c)², exactly a morphing polynomial: at c = 0, w_e = s_e and
    # ∂w_e = 2 s_e, so L Σ ∂w²/w = 4 L Σ s_e (14 here; leaving out the negative ones gives 22),
    # which equals the rate information L σ'²/σ, as all events share one shape.
    space = build_parameter_space(("c",), {"c": (-1, 1)}, (2,), 2, n_trials=10)
    scales = np.array([3.0, -1.0, 2.0, -0.5, 0.0])
    shape = (1 + space.benchmarks[:, 0]) ** 2
    path = tmp_path / "toy.h5"
    events.write(path, space, ["x"], ["x"], events.Events(np.zeros((5, 1)), scales[:, None] * shape, np.zeros(5, int)))
    information = event_file_information(path, [0.0], luminosity=1.0)
    # Morphing reproduces the polynomial to ~1e-12 relative (design §7 asks 1e-10).
    np.testing.assert_allclose(information["truth"], [[14.0]], rtol=1e-10)
    np.testing.assert_allclose(information["rate"], [[14.0]], rtol=1e-10)
    assert truth_information(np.array([0.0, 2.0]), np.array([[1.0], [2.0]]), 1.0).tolist() == [[2.0]]


# ---------------------------------------------------------------- 4. missing or extra <wgt> ids


def test_missing_benchmark_weight_names_benchmark_and_file(tiny, tmp_path):
    def drop_b1(init, read):
        keep = [i for i, name in enumerate(init.weight_ids) if name != "b1"]
        ids = tuple(init.weight_ids[i] for i in keep)
        return (lhe.LHEInit(init.beam_ids, init.beam_energies, init.weighting_strategy, init.cross_sections,
                            init.cross_section_errors, init.process_ids, ids, init.header),
                lhe.LHEEvents(read.particles, read.weight, read.scale, read.aqed, read.aqcd, read.process_id,
                              read.weights[:, keep], ids))

    path = _rewritten(tiny, tmp_path, "no_b1.lhe.gz", drop_b1)
    output = tmp_path / "out.h5"
    with pytest.raises(EventFileError, match=r"no_b1\.lhe\.gz: no weights for the benchmarks \['b1'\]"):
        _detect(tiny, path, output)
    assert not output.exists()


def test_extra_weight_ids_such_as_scale_variations_are_ignored(tiny, tmp_path):
    def add_scale_variations(init, read):
        # MadGraph writes scale variations as further ids, here before the benchmarks.
        ids = ("muR2_muF2", "muR05_muF05") + init.weight_ids
        weights = np.column_stack([read.weights[:, 0] * 0.9, read.weights[:, 0] * 1.1, read.weights])
        return (lhe.LHEInit(init.beam_ids, init.beam_energies, init.weighting_strategy, init.cross_sections,
                            init.cross_section_errors, init.process_ids, ids, init.header),
                lhe.LHEEvents(read.particles, read.weight, read.scale, read.aqed, read.aqcd, read.process_id,
                              weights, ids))

    path = _rewritten(tiny, tmp_path, "scales.lhe.gz", add_scale_variations)
    output = tmp_path / "out.h5"
    _detect(tiny, path, output)
    # The benchmark columns are picked by name; written with 11 digits like the original chunk.
    np.testing.assert_array_equal(events.read(output).weights, events.read(tiny["events"]).weights)


# ---------------------------------------------------------------- 5. benchmarks that do not span the basis


def test_benchmarks_that_do_not_span_the_morphing_basis(tiny, tmp_path):
    setup = tmp_path / "degenerate.h5"
    shutil.copy(tiny["setup"], setup)
    with h5py.File(setup, "r+") as handle:
        values = handle["benchmarks/values"][()]
        values[2] = values[1]  # b2 = b1: two columns of the morphing matrix coincide
        handle["benchmarks/values"][...] = values
    output = tmp_path / "chunk.lhe.gz"
    with pytest.raises(EventFileError, match=r"degenerate\.h5: the benchmarks \{'sm': .*'b2'.*do not span the "
                                             r"morphing basis .*duplicate benchmark points"):
        stages.generate(tiny["config"], setup, 0, output)
    line = _cli("generate", "--config", tiny["directory"] / "config.yaml", "--setup", setup, "-o", output)
    assert "degenerate.h5" in line and "do not span" in line
    assert not output.exists()


# ---------------------------------------------------------------- 6. corrupt, foreign or wrong-kind HDF5


def test_corrupt_event_file(tiny, tmp_path):
    corrupt = tmp_path / "corrupt.h5"
    data = bytearray(tiny["events"].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = b"\xff" * 4096  # inside the compressed weight and observation chunks
    corrupt.write_bytes(bytes(data))
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(EventFileError, match=r"corrupt\.h5: .*corrupt"):
        stages.mine(tiny["config"], corrupt, *outputs)
    assert not any(path.exists() for path in outputs)
    merged = tmp_path / "merged.h5"
    line = _cli("merge", "-o", merged, tiny["events"], corrupt)
    assert "corrupt.h5" in line
    assert not merged.exists()


def test_foreign_hdf5_file(tiny, tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as handle:
        handle["calibration/gains"] = np.ones(3)
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(EventFileError, match=r"foreign\.h5: an HDF5 file but neither goldmine's nor MadMiner's: "
                                             r"top-level groups \['calibration'\]"):
        stages.mine(tiny["config"], foreign, *outputs)
    assert not any(path.exists() for path in outputs)
    assert "foreign.h5" in _cli("inspect", foreign)


def test_samples_file_given_as_events(tiny, tmp_path):
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    stages.mine(tiny["config"], tiny["events"], *outputs)
    again = [tmp_path / f"again_{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(EventFileError, match=r"local_score\.h5: a goldmine training-sample file, where a setup "
                                             r"file or an event file is needed"):
        stages.mine(tiny["config"], outputs[0], *again)
    assert not any(path.exists() for path in again)
    merged = tmp_path / "merged.h5"
    line = _cli("merge", "-o", merged, tiny["events"], outputs[0])
    assert "local_score.h5" in line and "training-sample" in line
    assert not merged.exists()


# ---------------------------------------------------------------- 7. Delphes weights against the benchmarks


def test_delphes_weight_count_that_does_not_match_the_benchmarks(tiny, tmp_path):
    n, n_benchmarks = 20, len(events.read_parameter_space(tiny["setup"]).benchmark_names)
    counts = np.full(n, n_benchmarks)
    counts[13] = n_benchmarks - 1  # one event lost a weight
    muons = ak.zip({"PT": ak.Array([[40.0, 35.0]] * n), "Eta": ak.Array([[0.1, -0.2]] * n),
                    "Phi": ak.Array([[0.0, 3.0]] * n), "Charge": ak.Array([[-1, 1]] * n)})
    weights = ak.zip({"Weight": ak.unflatten(np.ones(int(counts.sum())), counts)})
    path = tmp_path / "delphes.root"
    with uproot.recreate(path) as file:
        file.mktree("Delphes", {"Muon": muons.type, "Weight": weights.type},
                    field_name=lambda outer, inner: f"{outer}.{inner}", counter_name=lambda counted: f"{counted}_size")
        file["Delphes"].extend({"Muon": muons, "Weight": weights})
    output = tmp_path / "out.h5"
    with pytest.raises(DelphesError, match=rf"delphes\.root: event 13 has {n_benchmarks - 1} weights, "
                                           rf"expected {n_benchmarks}"):
        _detect(tiny, path, output)
    assert not output.exists()


# ---------------------------------------------------------------- 8. config values and θ ranges


def test_config_value_out_of_range_names_the_key(tiny, tmp_path):
    config = copy.deepcopy(tiny["config"])
    config["mining"]["test_fraction"] = 1.5
    with pytest.raises(ConfigError, match=r"config key 'mining.test_fraction': value 1.5 is not allowed"):
        config_module.validate(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert "mining.test_fraction" in _cli("check", path)


def test_parameter_range_outside_the_setup_range(tiny, tmp_path):
    # The setup's val_ranges are where its basis was chosen and where mining draws θ₀ and the
    # θ grid runs; a config that asks for more is refused (a narrower one is fine).
    wider = copy.deepcopy(tiny["config"])
    wider["process"]["parameters"]["c_vv"] = [-0.5, 0.2]
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(ConfigError, match=r"config key 'process.parameters.c_vv': range \[-0.5, 0.2\] lies outside "
                                          r"\[-0.2, 0.2\], the range the morphing basis of .*events\.h5"):
        stages.mine(config_module.validate(wider), tiny["events"], *outputs)
    assert not any(path.exists() for path in outputs)
    narrower = copy.deepcopy(tiny["config"])
    narrower["process"]["parameters"]["c_vv"] = [-0.1, 0.1]
    stages.mine(config_module.validate(narrower), tiny["events"], *outputs)
    assert all(path.exists() for path in outputs)


def test_benchmark_the_setup_lacks(tiny, tmp_path):
    config = copy.deepcopy(tiny["config"])
    config["mining"]["reference_benchmark"] = "b99"
    outputs = [tmp_path / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    with pytest.raises(ConfigError, match=r"config key 'mining.reference_benchmark': 'b99' is not a benchmark of "
                                          r".*events\.h5 \(its benchmarks: \['sm', 'b1'"):
        stages.mine(config, tiny["events"], *outputs)
    assert not any(path.exists() for path in outputs)


def test_every_error_here_is_a_goldmine_error():
    for error in (ConfigError, DelphesError, EventFileError, LHEError):
        assert issubclass(error, GoldmineError)

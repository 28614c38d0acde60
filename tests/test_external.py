"""External samples: MadGraph files made elsewhere, read through the `external` section of the config."""

import dataclasses
import json
import logging
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import yaml
from click.testing import CliRunner

from goldmine import config as config_module
from goldmine.cli import main
from goldmine.exceptions import ConfigError, EventFileError
from goldmine.inference.systematics import weight_variations
from goldmine.io import events, lhe, samples

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE = REPOSITORY / "config" / "examples" / "madgraph_dijet.yaml"
DIJET = "lhe/madgraph5-3.5.8-pp_to_jj.lhe.gz"
SCALES = "lhe/madgraph-lhef3-scale-variations.lhe"


def _example(tmp_path, shared_data, **external) -> dict:
    """The worked example with its file found through the shared-data fixture, written to tmp_path."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["external"]["files"] = [str(shared_data / DIJET)]
    config["external"].update(external)
    config["detector"]["card"] = str(REPOSITORY / config["detector"]["card"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def _run(*arguments: str) -> str:
    result = CliRunner().invoke(main, [str(argument) for argument in arguments])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_worked_madgraph_example_through_detect_and_mine(tmp_path, shared_data):
    _example(tmp_path, shared_data)
    path = tmp_path / "config.yaml"
    checked = _run("check", path)
    assert "weight '45'" in checked and "systematic scale (scale)" in checked and checked.rstrip().endswith(
        "valid (analysis 'madgraph_dijet')")
    _run("setup", "--config", path, "-o", tmp_path / "setup.h5")
    _run("detect", "--config", path, "--setup", tmp_path / "setup.h5", "--input", shared_data / DIJET,
         "--chunk", 0, "-o", tmp_path / "events.h5")
    madgraph = lhe.read(shared_data / DIJET)
    sample = events.read(tmp_path / "events.h5")
    # MadGraph's event_norm = average: every event carries XWGTUP = σ (XSECUP, printed to 7 digits
    # where XWGTUP has 8: 1e-6), so the kept events weigh N_kept / N σ; only float rounding
    # (1e-16 per event, 10³ events) separates the two.
    sigma = float(np.mean(madgraph.weight))
    assert sigma == pytest.approx(lhe.read_init(shared_data / DIJET).cross_sections[0], rel=1e-6)
    assert np.all(madgraph.weights[:, madgraph.weight_ids.index("45")] == madgraph.weight)
    assert 900 < len(sample) < 1000  # the cut count(jets) >= 2 drops a few events
    assert sample.weights.sum() == pytest.approx(len(sample) / len(madgraph) * sigma, rel=1e-12)
    # The variations are MadMiner's nuisance benchmarks, as MadMiner itself reads them.
    hdf5 = pytest.importorskip("madminer.utils.interfaces.hdf5")
    settings = hdf5.load_madminer_settings(str(tmp_path / "events.h5"), True)
    benchmarks, nuisance_flags, systematics, nuisance = settings[1], settings[2], settings[7], settings[9]
    assert list(benchmarks)[0] == "sm" and nuisance_flags == [False] + [True] * 8
    assert list(systematics) == ["scale"] and systematics["scale"].scale == "mu"
    assert (nuisance["scale_nuisance_param_0"].benchmark_pos, nuisance["scale_nuisance_param_0"].benchmark_neg) == (
        "scale_40", "scale_1")
    everything = next(events.iterate(tmp_path / "events.h5", nuisance=True)).weights
    sigma_of = dict(zip(("sm",) + events.read_systematics(tmp_path / "events.h5").benchmarks, everything.sum(axis=0)))
    # Physics of LO QCD dijets, ∝ αs(μ)²: a higher scale lowers the cross section, a lower one raises it.
    assert sigma_of["scale_40"] < sigma_of["sm"] < sigma_of["scale_1"]

    _run("mine", "--config", path, "--events", tmp_path / "events.h5", "--local-score", tmp_path / "local.h5",
         "--ratio", tmp_path / "ratio.h5", "--test", tmp_path / "test.h5")
    # Nothing depends on the placeholder parameter: the joint score is 0 and the ratio 1, exactly.
    local = samples.read_training_sample(tmp_path / "local.h5")
    ratio = samples.read_training_sample(tmp_path / "ratio.h5")
    assert local.x.shape == (1000, 4) and np.all(local.t_xz == 0.0) and np.all(ratio.r_xz == 1.0)
    assert events.read_systematics(tmp_path / "test.h5") == events.read_systematics(tmp_path / "events.h5")
    # The scale variation as inference's nuisance parameter (inference.systematics.weights): per-event
    # factors w(2μ)/w and w(μ/2)/w; the αs(μ)² of LO dijets puts the first below 1 and the second above.
    test = events.read(tmp_path / "test.h5")
    (scale,) = weight_variations(tmp_path / "test.h5", test.weights[:, 0])
    assert scale.name == "scale_nuisance_param_0" and len(scale.up) == len(test)
    assert test.weights[:, 0] @ scale.up < test.weights[:, 0].sum() < test.weights[:, 0] @ scale.down


def test_the_example_as_a_configfile_keeps_only_its_own_parameters(tmp_path, shared_data, snakemake):
    """Snakemake merges a --configfile into config/config.yaml key by key; merged that way, the
    default's c_vv and c_aa would join c_none and the benchmarks would lack them. The workflow and
    `goldmine check` replace process.parameters whole."""
    _example(tmp_path, shared_data)
    default = REPOSITORY / "config" / "config.yaml"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(default.read_text())
    result = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(tmp_path), "--dry-run",
                       "--configfile", str(tmp_path / "config.yaml"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    effective = yaml.safe_load((tmp_path / "results" / "madgraph_dijet" / "config.yaml").read_text())
    assert effective["process"]["parameters"] == {"c_none": [-1.0, 1.0]}
    assert _run("check", tmp_path / "config.yaml", "--base", default).strip().splitlines()[-1].endswith(
        "valid (analysis 'madgraph_dijet')")


def test_pdf_replicas_are_recorded_as_a_pdf_systematic(tmp_path, shared_data):
    replicas = [str(i) for i in range(46, 146)]
    config = _example(tmp_path, shared_data, systematics={
        "pdf": {"type": "pdf", "value": "NNPDF23_lo_as_0130_qed", "weights": replicas}})
    config = config_module.validate(config)
    from goldmine import stages

    stages.setup(config, tmp_path / "setup.h5")
    stages.detect(config, tmp_path / "setup.h5", shared_data / DIJET, 0, tmp_path / "events.h5")
    systematics = events.read_systematics(tmp_path / "events.h5")
    assert systematics.systematics == (("pdf", "pdf", "NNPDF23_lo_as_0130_qed", None),)
    assert systematics.benchmarks == tuple(f"pdf_{i}" for i in replicas) and not systematics.nuisance_parameters
    weights = next(events.iterate(tmp_path / "events.h5", nuisance=True)).weights
    # LO PDF replicas move σ by a few percent (here −8% … +5%), far less than the scales (−35% … +51%).
    spread = weights[:, 1:].sum(axis=0) / weights[:, 0].sum() - 1
    assert np.all(np.abs(spread) < 0.15) and np.std(spread) > 0.005
    assert events.summary(tmp_path / "events.h5")["systematics"]["pdf"]["type"] == "pdf"


def test_a_missing_weight_id_names_the_file_and_the_id(tmp_path, shared_data):
    config = _example(tmp_path, shared_data, weights={"rwgt_1": "sm"}, systematics={})
    config["external"]["files"] = [str(shared_data / SCALES)]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _run("setup", "--config", tmp_path / "config.yaml", "-o", tmp_path / "setup.h5")
    result = CliRunner().invoke(main, ["detect", "--config", str(tmp_path / "config.yaml"), "--setup",
                                       str(tmp_path / "setup.h5"), "--input", str(shared_data / SCALES),
                                       "-o", str(tmp_path / "events.h5")])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()
    assert len(message) == 1, result.output
    assert str(shared_data / SCALES) in message[0] and "'rwgt_1'" in message[0]
    assert "benchmark 'sm'" in message[0] and "'1001'" in message[0]  # what it stands for, and what the file has
    assert not (tmp_path / "events.h5").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.update(weights={"45": "sm", "40": "sm"}), "benchmark 'sm' needs exactly one weight id"),
        (lambda e: e.update(weights={"45": "bsm"}), "'bsm' is not a benchmark"),
        (lambda e: e["systematics"]["scale"]["weights"].append("45"), "a variation is never a physics benchmark"),
        (lambda e: e["systematics"]["scale"].update(up="44"), "'44' is not among its weights"),
        (lambda e: e.update(max_power={"c_none": 1}), "has 2 components and needs as many benchmarks, got 1"),
        (lambda e: e.update(files=["nowhere.lhe"]), "['nowhere.lhe'] do not exist"),
        (lambda e: e.update(files=[str(EXAMPLE)]), "madgraph_dijet.yaml: not an event file goldmine knows"),
    ],
)
def test_inconsistent_external_sections_name_the_key(tmp_path, shared_data, change, expected):
    config = _example(tmp_path, shared_data)
    change(config["external"])
    with pytest.raises(ConfigError, match="external") as error:
        config_module.validate(config)
    assert expected in str(error.value)


def test_process_external_needs_the_section(tmp_path, shared_data):
    config = _example(tmp_path, shared_data)
    del config["external"]
    with pytest.raises(ConfigError, match="'external' needs the section"):
        config_module.validate(config)


def _madgraph_style(source, target, names) -> dict[str, str]:
    """Rewrite goldmine's LHE with MadGraph's reweighting ids rwgt_1, rwgt_2, …; return id → benchmark."""
    init, read = lhe.read_init(source), lhe.read(source)
    ids = tuple(f"rwgt_{i + 1}" for i in range(len(read.weight_ids)))
    lhe.write(target, dataclasses.replace(init, weight_ids=ids), dataclasses.replace(read, weight_ids=ids))
    assert set(read.weight_ids) == set(names)
    return dict(zip(ids, read.weight_ids))


@pytest.mark.slow
def test_the_external_workflow_equals_the_internal_one_on_the_same_events(tmp_path, tiny_config, local_tiny_results,
                                                                         snakemake):
    """The whole EFT path with external MadGraph-style files: detect → mine → train → infer gives
    the numbers of the internal run (the shared tiny run, SALLY and ALICES) whose generated events the files hold."""
    logging.getLogger("goldmine").setLevel(logging.WARNING)
    external = tmp_path / "external"
    (external / "config").mkdir(parents=True)
    config = tiny_config("external")
    results = local_tiny_results
    space = events.read_parameter_space(results / "setup.h5")
    files, weights = [], {}
    for chunk in range(1, config["generation"]["chunks"] + 1):
        target = tmp_path / f"madgraph_{chunk}.lhe.gz"
        weights = _madgraph_style(results / "lhe" / f"{chunk}-of-{config['generation']['chunks']}.lhe.gz", target,
                                  space.benchmark_names)
        files.append(str(target))
    config["training"]["methods"] = ["sally", "alices"]
    config["external"] = {
        "files": files,
        "normalisation": "sum",  # goldmine's generator: the weights add up to σ
        "benchmarks": {name: dict(zip(space.names, map(float, point)))
                       for name, point in zip(space.benchmark_names, space.benchmarks)},
        "max_power": dict(zip(space.names, space.max_powers)),
        "weights": weights,
    }
    (external / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake("--snakefile", str(REPOSITORY / "Snakefile"), "--directory", str(external), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (external / "results" / "external" / "lhe").exists()  # nothing was generated
    ours = json.loads((external / "results/external/inference/limits.json").read_text())["methods"]
    theirs = json.loads((results / "inference/limits.json").read_text())["methods"]
    assert set(ours) == set(theirs) >= {"exact", "histogram", "sally", "alices"}
    # Same events, same seeds, same morphing basis read back from the same floats: the CPU
    # computation is deterministic, so the numbers agree to the last bit (1e-12 only guards
    # against a reordered sum).
    for method in theirs:
        np.testing.assert_allclose(ours[method]["q"], theirs[method]["q"], rtol=1e-12, atol=1e-12, err_msg=method)
        assert ours[method]["intervals"] == theirs[method]["intervals"], method


def _delphes_file(path: Path, weights: np.ndarray) -> None:
    """A ROOT file in Delphes' layout (split branches ``Muon.PT`` …, ``Weight.Weight``): one μ⁻ μ⁺ pair per event."""
    n = len(weights)
    rng = np.random.default_rng(5)

    def pairs(values):
        return ak.values_astype(ak.unflatten(values.reshape(-1), np.full(n, 2)), np.float32)

    branches = {
        "Muon": ak.zip({"PT": pairs(rng.uniform(20, 90, (n, 2))), "Eta": pairs(rng.uniform(-2, 2, (n, 2))),
                        "Phi": pairs(rng.uniform(-3, 3, (n, 2))),
                        "Charge": ak.values_astype(ak.unflatten(np.tile([-1, 1], n), np.full(n, 2)), np.int32)}),
        "Weight": ak.zip({"Weight": ak.Array(weights.astype(np.float32).tolist())}),
    }
    with uproot.recreate(path) as file:
        file.mktree("Delphes", {name: array.type for name, array in branches.items()},
                    field_name=lambda outer, inner: f"{outer}.{inner}", counter_name=lambda counted: f"{counted}_size")
        file["Delphes"].extend(branches)


def test_a_delphes_file_maps_weight_positions_to_benchmarks_and_variations(tmp_path):
    weights = np.random.default_rng(6).uniform(0.5, 1.5, (40, 3))
    _delphes_file(tmp_path / "delphes.root", weights)
    config = yaml.safe_load((REPOSITORY / "config" / "config.yaml").read_text())
    config["process"] = {"name": "external", "parameters": {"c": [-1.0, 1.0]}}
    # Weight.Weight holds a scale variation first, then the two benchmarks (positions as ids).
    config["external"] = {"files": [str(tmp_path / "delphes.root")], "normalisation": "sum",
                          "benchmarks": {"sm": {"c": 0.0}, "b1": {"c": 1.0}}, "max_power": {"c": 1},
                          "weights": {"1": "sm", "2": "b1"}, "systematics": {"mu": {"type": "scale", "weights": [0]}}}
    config = config_module.validate(config)
    from goldmine import stages

    stages.setup(config, tmp_path / "setup.h5")
    assert stages.detect(config, tmp_path / "setup.h5", tmp_path / "delphes.root", 0, tmp_path / "events.h5") == 40
    written = next(events.iterate(tmp_path / "events.h5", nuisance=True)).weights
    # ROOT stores the weights as float32: 6e-8 relative.
    np.testing.assert_allclose(written, weights[:, [1, 2, 0]], rtol=1e-7)
    config["external"]["weights"] = {"1": "sm", "3": "b1"}
    with pytest.raises(EventFileError, match=r"delphes.root: no weight with id '3' \(benchmark 'b1'"):
        stages.detect(config, tmp_path / "setup.h5", tmp_path / "delphes.root", 0, tmp_path / "bad.h5")

"""The workflow stages: each reads its inputs, calls the library and writes its outputs atomically.

One function per ``goldmine <stage>`` command; the Snakemake rules call the commands.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from goldmine import external, mining
from goldmine.detection import observables
from goldmine.detection.detector import MuonDetector
from goldmine.exceptions import ConfigError, EventFileError
from goldmine.generation import generate_lhe
from goldmine.io import events, lhe, open_events, samples
from goldmine.io.atomic import atomic_output
from goldmine.physics.parameters import ParameterSpace, build_parameter_space
from goldmine.physics.processes import get_process

__all__ = [
    "coverage",
    "detect",
    "detector_from_config",
    "generate",
    "infer",
    "mine",
    "models_by_method",
    "setup",
    "shower",
    "summarise",
    "train",
    "write_json",
]

log = logging.getLogger("goldmine")


def write_json(path: str | Path, document: Mapping[str, Any]) -> None:
    """Write a JSON document atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def setup(config: Mapping[str, Any], output: str | Path) -> ParameterSpace:
    """Choose the morphing basis for the configured parameters and write the setup file; for an
    external sample, the basis is the benchmarks its files were made at (``external.benchmarks``)."""
    if "external" in config:
        space = external.parameter_space(config)
        events.write_parameter_space(output, space)
        log.info("benchmarks of the external sample: %s", dict(zip(space.benchmark_names, space.benchmarks.tolist())))
        return space
    process = get_process(config["process"])
    space = build_parameter_space(
        process.parameter_names, config["process"]["parameters"], process.max_powers, process.max_overall_power,
        n_trials=config["morphing"]["n_trials"], seed=config["morphing"]["seed"],
    )
    events.write_parameter_space(output, space)
    log.info("benchmarks: %s", dict(zip(space.benchmark_names, space.benchmarks.tolist())))
    return space


def _space_for(config: Mapping[str, Any], path: str | Path) -> ParameterSpace:
    """The parameter space of a setup or event file, checked against the configuration.

    The morphing basis was chosen for the file's parameter ranges, and mining and the θ grid
    scan those ranges: a configured range outside them (θ where the morphing was never
    validated) or a configured benchmark the file lacks is a configuration error. Parameters
    the file lacks (a MadMiner event file of another process, mined as it is) are not compared.

    Raises:
        ConfigError: naming the key, the file and both ranges (or the benchmarks that exist).
    """
    space = events.read_parameter_space(path)
    for name, (low, high) in config["process"]["parameters"].items():
        if name not in space.names:  # a MadMiner file of another process, mined as it is
            continue
        setup_low, setup_high = space.ranges[space.names.index(name)]
        if low < setup_low or high > setup_high:
            raise ConfigError(
                f"config key 'process.parameters.{name}': range [{low}, {high}] lies outside [{setup_low}, "
                f"{setup_high}], the range the morphing basis of {path} was chosen for; rerun goldmine setup"
            )
    for key in ("generation.sampling_benchmark", "mining.reference_benchmark"):
        section, option = key.split(".")
        if config[section][option] not in space.benchmark_names:
            raise ConfigError(f"config key {key!r}: {config[section][option]!r} is not a benchmark of {path} "
                              f"(its benchmarks: {list(space.benchmark_names)})")
    return space


def generate(config: Mapping[str, Any], setup_file: str | Path, chunk: int, output: str | Path) -> None:
    """Generate one chunk of parton-level events into an LHE file (seed = generation.seed + chunk)."""
    generation = config["generation"]
    space = _space_for(config, setup_file)
    generate_lhe(output, get_process(config["process"]), space, generation["events_per_chunk"],
                 seed=generation["seed"] + chunk, sampling_benchmark=generation["sampling_benchmark"])


def shower(config: Mapping[str, Any], lhe_file: str | Path, chunk: int, output: str | Path) -> int:
    """Shower the events of an LHE file with Pythia 8 (seed = shower.seed + chunk); write a particle file."""
    from goldmine.io.particles import write_particles
    from goldmine.shower import shower as run_shower

    settings = config["shower"]
    with _stdout_to_stderr():
        blocks = run_shower(lhe_file, settings["pythia"], seed=settings["seed"] + chunk)
        return write_particles(output, blocks, {"source": str(lhe_file)})


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """What C++ libraries print to file descriptor 1 (Pythia's banners and event listings,
    FastJet's banner) goes to stderr, the log: stdout keeps the stage's one-line summary for
    the console."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def detector_from_config(detector_config: Mapping[str, Any], sqrt_s: float | None = None):
    """The semileptonic WW reconstruction on the card when ``detector.semileptonic_ww`` is given
    (at the collision energy ``sqrt_s``), the card detector when ``detector.card`` names a card,
    the true final state with ``detector.parton``, else the parametrised muon detector.

    Raises:
        ConfigError: for ``semileptonic_ww`` without a card or without ``sqrt_s``.
    """
    if detector_config.get("parton", False):
        from goldmine.detection.parton import PartonLevel

        return PartonLevel()
    if "semileptonic_ww" in detector_config:
        from goldmine.detection.cards import load_card
        from goldmine.detection.ww import SemileptonicWW

        if "card" not in detector_config or sqrt_s is None:
            raise ConfigError("config key 'detector.semileptonic_ww' needs 'detector.card' and 'process.sqrt_s'")
        return SemileptonicWW.from_config(load_card(detector_config["card"]), detector_config["semileptonic_ww"],
                                          sqrt_s)
    if "card" in detector_config:
        from goldmine.detection.cards import load_card

        return dataclasses.replace(load_card(detector_config["card"]),
                                   require_muon_pair=detector_config.get("require_muon_pair", True))
    return MuonDetector.from_config(detector_config)


def _reconstructed_blocks(path: Path, benchmark_names: tuple[str, ...], detector,
                          rng: np.random.Generator, step_size: int, positions: bool = False):
    """Weight ids, blocks of (reconstructed muons, weights), and the number of generated events,
    from an LHE file, a showered particle file (both through the detector) or a Delphes file.

    A Delphes file carries no weight names: its ``Weight.Weight`` must hold the benchmarks in
    the setup's order (as the reweight card goldmine writes for MadGraph lists them), or, with
    ``positions`` (an external sample), its weight ids are their positions "0", "1", ….
    """
    described = open_events(path)
    kind = described.kind
    if kind not in ("delphes", "particles", "lhe"):
        raise EventFileError(f"{path}: {described.description}; the detector reads LHE, particle or Delphes files")
    if kind == "delphes":
        from goldmine.io import delphes

        generated = {"events": 0}
        if positions:
            benchmark_names = tuple(str(i) for i in range(delphes.weight_count(path)))

        def delphes_blocks():
            for block in delphes.iterate(path, len(benchmark_names), step_size, collections=delphes.present(path)):
                generated["events"] += len(block)
                yield delphes.muons(block), block.weights

        return benchmark_names, delphes_blocks(), lambda: generated["events"]
    if kind == "particles":
        from goldmine.io.particles import iterate_particles

        with h5py.File(path, "r") as handle:
            weight_ids = tuple(handle.attrs["weight_ids"])
            lhe_events = int(handle.attrs["lhe_events"])
        blocks, generated = iterate_particles(path, step_size), (lambda: lhe_events)
    else:
        counter = {"events": 0}

        def lhe_blocks():
            for block in lhe.iterate(path, step_size=step_size):
                counter["events"] += len(block)
                yield block

        weight_ids, blocks, generated = lhe.read_init(path).weight_ids, lhe_blocks(), (lambda: counter["events"])

    def detected():
        first = 0
        for block in blocks:
            muons = detector.reconstruct(block.particles, rng, first_event=first)
            first += len(block)
            yield muons, block.weights

    return weight_ids, detected(), generated


def detect(config: Mapping[str, Any], setup_file: str | Path, input_file: str | Path, chunk: int,
           output: str | Path, step_size: int = 100_000) -> int:
    """Reconstruct events and compute observables: an LHE file or a showered particle file go
    through the parametrised detector, a Delphes ROOT file is already reconstructed.

    The weights must carry exactly the benchmarks of the setup (matched by name), or, for an
    external sample, the weight ids its configuration maps to benchmarks and systematic
    variations (these are recorded as MadMiner's nuisance benchmarks).

    Raises:
        EventFileError: naming the input file when its weights do not match the benchmarks
            (for an external sample: naming the missing weight id and what it stands for).
    """
    space = _space_for(config, setup_file)
    detector = detector_from_config(config["detector"], config["process"].get("sqrt_s"))
    chosen = observables.resolve(config["observables"])
    rng = np.random.default_rng(config["detector"]["seed"] + chunk)
    sample = external.from_config(config) if "external" in config else None
    weight_ids, blocks, generated = _reconstructed_blocks(Path(input_file), space.benchmark_names, detector, rng,
                                                          step_size, positions=sample is not None)
    scale, systematics = 1.0, None
    if sample is not None:
        columns = sample.columns(input_file, weight_ids)
        systematics = sample.systematics()
        if sample.normalisation == "average":
            scale = 1.0 / max(_event_count(Path(input_file)), 1)
    else:
        missing = [name for name in space.benchmark_names if name not in weight_ids]
        if missing:
            raise EventFileError(
                f"{input_file}: no weights for the benchmarks {missing} (weights in the file: {list(weight_ids)})"
            )
        columns = [weight_ids.index(name) for name in space.benchmark_names]
    sampling_index = space.benchmark_names.index(config["generation"]["sampling_benchmark"])

    def detected():
        for muons, weights in blocks:
            efficiency = observables.efficiency(config["efficiencies"], muons)
            weights = weights[:, columns][muons.accepted] * (scale * efficiency[:, None])
            keep = observables.passes(config["cuts"], muons)
            yield events.Events(observables.compute(chosen, muons)[keep], weights[keep],
                                np.full(int(keep.sum()), sampling_index, dtype=np.int64))

    with _stdout_to_stderr():  # FastJet's banner, when a card clusters jets
        return events.write(output, space, [o.name for o in chosen], [o.definition for o in chosen], detected(),
                            generated_events=generated, observable_descriptions=[o.description for o in chosen],
                            systematics=systematics)


def _event_count(path: Path) -> int:
    """The events of an input file (LHE, particle or Delphes), for weights that average to σ."""
    kind = open_events(path).kind
    if kind == "lhe":
        return lhe.count(path)
    if kind == "delphes":
        from goldmine.io import delphes

        return delphes.count(path)
    with h5py.File(path, "r") as handle:
        return int(handle.attrs["lhe_events"])


def mine(config: Mapping[str, Any], event_file: str | Path, local_score: str | Path, ratio: str | Path,
         test: str | Path) -> dict[str, Path]:
    """Split the events into train and test parts and mine the training samples.

    Args:
        config: the validated configuration (its ``mining`` section).
        event_file: the merged event file.
        local_score: output, the training sample of SALLY and SALLINO.
        ratio: output, the training sample of the parameterised-ratio and density methods.
        test: output, the test events (an event file whose weights sum to the full cross sections).

    Returns:
        dict: the three outputs by family, "local_score", "ratio" and "test".
    """
    settings = config["mining"]
    paths = {"local_score": Path(local_score), "ratio": Path(ratio), "test": Path(test)}
    space = _space_for(config, event_file)
    names = events.read_observable_names(event_file)
    n_events = events.count(event_file)
    train_part, test_part = mining.split_indices(n_events, settings["test_fraction"])
    train_events = events.read(event_file, train_part.start, train_part.stop)
    pool = mining.EventPool(space, train_events.observations, train_events.weights, source=str(event_file))
    rng = np.random.default_rng(settings["seed"])
    reference = space.benchmark(settings["reference_benchmark"])
    provenance = {"events": str(event_file), "seed": settings["seed"], "reference": json.dumps(reference.tolist()),
                  "observables": json.dumps(list(names)), "parameters": json.dumps(list(space.names))}
    local_score_sample = mining.mine_local_score(pool, reference, settings["samples"]["local_score"], rng)
    thetas0 = space.sample_uniform(settings["n_thetas"], rng)
    ratio_sample = mining.mine_ratio(pool, thetas0, reference, settings["samples"]["ratio"], rng)
    # Written only once both are mined: an error while mining leaves no output.
    samples.write_training_sample(paths["local_score"], local_score_sample, dict(provenance, family="local_score"))
    benchmark_cross_sections = json.dumps(pool.cross_section(space.benchmarks).tolist())
    samples.write_training_sample(paths["ratio"], ratio_sample, dict(provenance, family="ratio",
                                                                    benchmark_cross_sections=benchmark_cross_sections))
    # The test part alone must estimate the full cross sections: scale its weights up.
    scale = n_events / (test_part.stop - test_part.start)
    # The systematic variations stay with the test events.
    test_blocks = (events.Events(block.observations, block.weights * scale, block.sampling_benchmarks)
                   for block in events.iterate(event_file, start=test_part.start, stop=test_part.stop, nuisance=True))
    events.write(paths["test"], space, names, events.read_observable_definitions(event_file), test_blocks,
                 systematics=events.read_systematics(event_file))
    return paths


def train(config: Mapping[str, Any], method: str, sample_file: str | Path, setup_file: str | Path,
          output: str | Path, member: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train one estimator (one ensemble member) and save it (state_dict + JSON metadata).

    The member's seed is the family's seed plus ``member``. The training state is
    checkpointed beside the output after every epoch, so a killed job resumes.
    """
    import torch

    from goldmine.ml import family_of
    from goldmine.ml.estimators import model_metadata, train_estimator
    from goldmine.ml.models import save_model

    torch.set_num_threads(config["training"]["threads"])
    settings = dict(config["training"][family_of(method)])
    settings["seed"] += member
    space = events.read_parameter_space(setup_file)
    sample = samples.read_training_sample(sample_file)
    with h5py.File(sample_file, "r") as handle:
        attributes = {key: json.loads(handle.attrs[key]) for key in ("observables", "reference")}
        if "benchmark_cross_sections" in handle.attrs:
            attributes["benchmark_cross_sections"] = json.loads(handle.attrs["benchmark_cross_sections"])
    morphing = None
    if "benchmark_cross_sections" in attributes:
        reference_index = int(np.argmin(np.abs(space.benchmarks - attributes["reference"]).sum(axis=1)))
        morphing = {"components": space.morphing.components, "matrix": space.morphing.matrix,
                    "benchmark_cross_sections": attributes["benchmark_cross_sections"],
                    "reference_index": reference_index}
    output = Path(output)
    checkpoint = output.with_suffix(".checkpoint")
    model, history = train_estimator(method, sample, space.ranges, settings, checkpoint=checkpoint,
                                     progress=progress, morphing=morphing)
    metadata = model_metadata(method, model, settings, space.names, space.ranges, attributes["observables"],
                              history, attributes["reference"])
    metadata["member"] = member
    save_model(output, model, metadata)
    checkpoint.unlink(missing_ok=True)
    return metadata


def models_by_method(config: Mapping[str, Any], models: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Group model files by method, ensemble members in order, from each model's JSON metadata.

    Args:
        config: the validated configuration (``training.methods`` and ``training.ensemble``).
        models: model files (``.pt``), each with its metadata beside it, as ``goldmine train`` writes them.

    Returns:
        dict: method → the file of each ensemble member 0 … ensemble − 1, in the configured order of methods.

    Raises:
        EventFileError: naming a model without metadata, the configured members that no model
            provides, or models that are not among the configured methods and members.
    """
    from goldmine.ml.models import read_metadata

    found: dict[tuple[str, int], list[Path]] = {}
    for path in map(Path, models):
        try:
            metadata = read_metadata(path)
        except (OSError, ValueError) as error:
            raise EventFileError(f"{path}: no readable model metadata beside it ({error})") from None
        found.setdefault((metadata["method"], int(metadata.get("member", 0))), []).append(path)
    wanted = [(method, member) for method in config["training"]["methods"]
              for member in range(config["training"]["ensemble"])]
    missing = [f"{method} member {member}" for method, member in wanted if (method, member) not in found]
    if missing:
        raise EventFileError(f"no model given for {', '.join(missing)} (training.methods "
                             f"{config['training']['methods']}, training.ensemble {config['training']['ensemble']})")
    unexpected = [f"{path} ({method} member {member})" for (method, member), paths in found.items()
                  for path in paths if (method, member) not in wanted]
    if unexpected:
        raise EventFileError(f"models of no configured method and member: {', '.join(unexpected)}")
    duplicates = [" and ".join(map(str, paths)) for paths in found.values() if len(paths) > 1]
    if duplicates:
        raise EventFileError(f"models of the same method and member: {'; '.join(duplicates)}")
    return {method: [found[method, member][0] for member in range(config["training"]["ensemble"])]
            for method in config["training"]["methods"]}


def infer(config: Mapping[str, Any], test_file: str | Path, models: Sequence[str | Path], fisher: str | Path,
          limits: str | Path, validation: str | Path, workspace: str | Path, progress: bool = True) -> dict[str, Any]:
    """Fisher information, expected limits and validation of every configured method, and the pyhf
    workspace of the histogram likelihood.

    Args:
        config: the validated configuration.
        test_file: the test events (from :func:`mine`).
        models: the model file of every configured method and ensemble member (see :func:`models_by_method`).
        fisher: output, the Fisher information of every method (JSON).
        limits: output, q(θ) on the grid and the intervals of every method (JSON).
        validation: output, the learned estimators against the exact likelihood (JSON).
        workspace: output, the histogram likelihood as a pyhf workspace (JSON).
        progress: show progress bars.

    Returns:
        dict: the results, keyed "fisher", "limits", "validation" and "workspace".

    Raises:
        EventFileError: naming the models missing for a configured method or member.
    """
    import torch

    from goldmine.inference.analysis import run_inference

    # The grid scans run small networks, fastest on training.threads threads (as training).
    torch.set_num_threads(config["training"]["threads"])
    results = run_inference(config, test_file, models_by_method(config, models), progress)
    for key, path in (("fisher", fisher), ("limits", limits), ("validation", validation), ("workspace", workspace)):
        write_json(path, results[key])
    return results


def coverage(config: Mapping[str, Any], test_file: str | Path, models: Sequence[str | Path], output: str | Path,
             n_toys: int, seed: int, neyman_toys: int | None = None) -> dict[str, Any]:
    """Coverage of every method's 68% and 95% CL intervals, from toys drawn from the test events.

    Args:
        config: the validated configuration.
        test_file: the test events (from :func:`mine`).
        models: the model file of every configured method and ensemble member (see :func:`models_by_method`).
        output: coverage.json.
        n_toys: toys per true θ (the reference and points inside and at the edge of the 95% region).
        seed: of the toys.
        neyman_toys: toys per profile-line point of a Neyman construction for the exact likelihood
            and the learned ratios, reported beside their Wilks intervals; None: none.

    Returns:
        the coverage document (:func:`goldmine.inference.toys.run_coverage`).
    """
    import torch

    from goldmine.inference.toys import run_coverage

    torch.set_num_threads(config["training"]["threads"])
    document = run_coverage(config, test_file, models_by_method(config, models), n_toys, seed,
                            neyman_toys=neyman_toys)
    write_json(output, document)
    return document


def summarise(config: Mapping[str, Any], limits_file: str | Path, table: str | Path, front_page: str | Path) -> str:
    """The end-of-run table of limits.json (text) and the report's front page (reStructuredText).

    Args:
        config: the validated configuration of the run.
        limits_file: its limits.json (from :func:`infer`).
        table: output, the table as text (printed when a workflow run ends).
        front_page: output, the report's front page: what the run did, and the table.

    Returns:
        str: the table.
    """
    from goldmine import summary

    document = json.loads(Path(limits_file).read_text())
    text = summary.limits_table(document)
    for path, content in ((table, text + "\n"), (front_page, summary.front_page(config, document))):
        with atomic_output(path) as temporary:
            temporary.write_text(content)
    return text

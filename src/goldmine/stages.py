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
from goldmine.physics.parameters import ParameterSpace, build_finite_difference_space, build_parameter_space
from goldmine.physics.processes import get_process

__all__ = [
    "cards",
    "coverage",
    "design_evaluate",
    "design_measurement",
    "design_measurement_configs",
    "design_propose",
    "design_summarise",
    "detect",
    "detector_from_config",
    "generate",
    "infer",
    "mine",
    "models_by_method",
    "pseudodata",
    "publish",
    "setup",
    "shower",
    "signal_patches",
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
    external sample, the basis is the benchmarks its files were made at (``external.benchmarks``);
    for parameters that do not morph (sin²θ_W), the finite-difference benchmarks around the
    Standard Model."""
    if "external" in config:
        space = external.parameter_space(config)
        events.write_parameter_space(output, space)
        log.info("benchmarks of the external sample: %s", dict(zip(space.benchmark_names, space.benchmarks.tolist())))
        return space
    if config["process"]["name"] == "madgraph":
        # MadGraph's |M|² is known only through its cards: its powers are the configuration's.
        names = tuple(config["process"]["parameters"])
        max_powers = tuple(int(config["process"].get("max_power", {}).get(name, 2)) for name in names)
        space = build_parameter_space(
            names, config["process"]["parameters"], max_powers, max(max_powers),
            n_trials=config["morphing"]["n_trials"], seed=config["morphing"]["seed"],
        )
    else:
        process = get_process(config["process"])
        if process.morphs:
            space = build_parameter_space(
                process.parameter_names, config["process"]["parameters"], process.max_powers,
                process.max_overall_power, n_trials=config["morphing"]["n_trials"], seed=config["morphing"]["seed"],
            )
        else:
            grid_points = config["inference"]["grid_points"] if config["finite_differences"]["grid"] else 0
            space = build_finite_difference_space(process.parameter_names, config["process"]["parameters"],
                                                  process.standard_model, config["finite_differences"]["epsilon"],
                                                  grid_points)
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


def cards(config: Mapping[str, Any], setup_file: str | Path, chunk: int, output: str | Path) -> list[Path]:
    """Write the MadGraph cards and command script of generation job ``chunk`` (seed = generation.seed + chunk)
    into the folder ``output``, for the benchmarks of the setup file."""
    from goldmine import madgraph

    space = _space_for(config, setup_file)
    benchmarks = {name: dict(zip(space.names, map(float, point)))
                  for name, point in zip(space.benchmark_names, space.benchmarks)}
    return madgraph.write_cards(config, benchmarks, chunk, output)


def signal_patches(config: Mapping[str, Any], event_file: str | Path, background_file: str | Path,
                   output: str | Path, step_size: int = 200_000) -> int:
    """Write the pyhf patchset of the configured signal in a published background-only workspace:
    one patch per point of a θ grid (``reinterpret.grid_points`` per parameter over its range).

    Returns:
        The number of patches.

    Raises:
        ConfigError: an observable the event file lacks.
    """
    from goldmine.inference.grid import Grid
    from goldmine.publish.reinterpret import read_json
    from goldmine.publish.signal import BinMap, patchset, signal_yields

    section = config["reinterpret"]
    space = _space_for(config, event_file)
    names = events.read_observable_names(event_file)
    if section["observable"] not in names:
        raise ConfigError(f"config key 'reinterpret.observable': {event_file} has no observable "
                          f"{section['observable']!r}; it has {list(names)}")
    column = names.index(section["observable"])
    background = read_json(Path(background_file))
    bins = BinMap(section["bins"])
    thetas = Grid(space.names, tuple(np.linspace(low, high, section["grid_points"]) for low, high in space.ranges),
                  space.benchmark(config["mining"]["reference_benchmark"])).points
    yields, squares = 0.0, 0.0
    for block in events.iterate(event_file, step_size=step_size):
        block_yields, block_errors = signal_yields(block.observations[:, column], block.weights, space.morphing, bins,
                                                   section["luminosity"], thetas)
        yields, squares = yields + block_yields, squares + block_errors**2
    document = patchset(background, bins, thetas, yields, np.sqrt(squares), space.names,
                        f"goldmine analysis {config['name']!r} in {Path(background_file).name}", section["hepdata"])
    write_json(output, document)
    return len(document["patches"])


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
        ratio: output, the training sample of the parameterised-ratio and density methods (not
            written where the parameters do not morph).
        test: output, the test events (an event file whose weights sum to the full cross sections).

    Returns:
        dict: the outputs by family, "local_score", "ratio" (where the parameters morph) and "test".
    """
    settings = config["mining"]
    paths = {"local_score": Path(local_score), "ratio": Path(ratio), "test": Path(test)}
    space = _space_for(config, event_file)
    names = events.read_observable_names(event_file)
    n_events = events.count(event_file)
    train_part, test_part = mining.split_indices(n_events, settings["test_fraction"])
    # Streamed from the file: memory holds the drawn samples, not the events.
    pool = mining.EventPool.from_file(event_file, train_part.start, train_part.stop)
    rng = np.random.default_rng(settings["seed"])
    reference = space.benchmark(settings["reference_benchmark"])
    provenance = {"events": str(event_file), "seed": settings["seed"], "reference": json.dumps(reference.tolist()),
                  "observables": json.dumps(list(names)), "parameters": json.dumps(list(space.names))}
    local_score_sample = mining.mine_local_score(pool, reference, settings["samples"]["local_score"], rng)
    if space.morphs:
        thetas0 = space.sample_uniform(settings["n_thetas"], rng)
        ratio_sample = mining.mine_ratio(pool, thetas0, reference, settings["samples"]["ratio"], rng)
    else:
        # The ratio family needs weights at every θ₀: without morphing there is no such sample.
        del paths["ratio"]
        log.info("%s: the parameters do not morph; no ratio sample is mined", event_file)
    # Written only once all are mined: an error while mining leaves no output.
    samples.write_training_sample(paths["local_score"], local_score_sample, dict(provenance, family="local_score"))
    if "ratio" in paths:
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
    streaming = _streams(config["training"]["streaming"], method, sample_file)
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
    if streaming:
        log.info("%s: streaming the training sample in blocks", sample_file)
    opened = samples.open_training_sample(sample_file) if streaming else \
        contextlib.nullcontext(samples.read_training_sample(sample_file))
    with opened as sample:
        model, history = train_estimator(method, sample, space.ranges, settings, checkpoint=checkpoint,
                                         progress=progress, morphing=morphing, streaming=streaming)
    metadata = model_metadata(method, model, settings, space.names, space.ranges, attributes["observables"],
                              history, attributes["reference"])
    metadata["member"] = member
    save_model(output, model, metadata)
    checkpoint.unlink(missing_ok=True)
    return metadata


def train_nuisances(config: Mapping[str, Any], event_file: str | Path, output: str | Path,
                    progress: bool = True) -> dict[str, Any]:
    """Train the per-nuisance ratio networks (:mod:`goldmine.ml.nuisances`) of the shape variations of
    ``inference.systematics`` on the training part of the event file (the part :func:`mine` keeps for
    training), at the reference benchmark; save them (state_dict + JSON metadata).

    Raises:
        ConfigError: when the configuration and the event file have no shape variation to learn.
    """
    import torch

    from goldmine.inference import systematics
    from goldmine.ml.nuisances import save_nuisance_model, train_nuisance_ratios

    torch.set_num_threads(config["training"]["threads"])
    settings = config["training"]["nuisance"]
    space = events.read_parameter_space(event_file)
    train_part, _ = mining.split_indices(events.count(event_file), config["mining"]["test_fraction"])
    block = events.read(event_file, train_part.start, train_part.stop)
    weights = block.weights[:, list(space.benchmark_names).index(config["mining"]["reference_benchmark"])]
    names = events.read_observable_names(event_file)
    shape_settings = config["inference"]["systematics"]
    variations = (systematics.weight_variations(event_file, weights, train_part.start, train_part.stop)
                  if shape_settings["weights"] else ())
    nuisances = systematics.Systematics.from_config(
        shape_settings, {name: block.observations[:, column] for column, name in enumerate(names)}, variations)
    if not nuisances.shapes:
        raise ConfigError(f"config key 'inference.systematics': no shape variation to learn (no tilts, and "
                          f"{event_file} has no weight variations or 'weights' is false)")
    output = Path(output)
    checkpoint = output.with_suffix(".checkpoint")
    model, history = train_nuisance_ratios(block.observations, weights,
                                           {shape.name: (shape.up, shape.down) for shape in nuisances.shapes},
                                           settings, checkpoint=checkpoint, progress=progress)
    save_nuisance_model(output, model, settings, names, space.benchmark(config["mining"]["reference_benchmark"]),
                        history)
    checkpoint.unlink(missing_ok=True)
    return {"nuisance_parameters": list(model.names), "history": history.as_dict()}


#: ``training.streaming: auto`` streams samples whose fields take more than this as float32.
STREAMING_BYTES = 2 * 1024**3


def _streams(setting: str | bool, method: str, sample_file: str | Path) -> bool:
    """Whether to stream the training sample (``training.streaming``).

    Raises:
        ConfigError: for streaming ``true`` with a density method.
    """
    from goldmine.ml import DENSITY_METHODS

    if method in DENSITY_METHODS:
        if setting is True:
            raise ConfigError(f"config key 'training.streaming': true, but {method} cannot stream its sample "
                              f"(it trains on the samples drawn at theta0); use auto or false")
        return False
    return setting is True or (setting == "auto" and samples.sample_bytes(sample_file) > STREAMING_BYTES)


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
          limits: str | Path, validation: str | Path, workspace: str | Path, progress: bool = True,
          data: str | Path | None = None, nuisance_model: str | Path | None = None,
          calibration: str | Path | None = None) -> dict[str, Any]:
    """Fisher information, expected limits and validation of every configured method, and the pyhf
    workspace of the histogram likelihood; on data, the observed results too.

    Args:
        config: the validated configuration.
        test_file: the test events (from :func:`mine`).
        models: the model file of every configured method and ensemble member (see :func:`models_by_method`).
        fisher: output, the Fisher information of every method (JSON).
        limits: output, q(θ) on the grid and the intervals of every method (JSON).
        validation: output, the learned estimators against the exact likelihood (JSON).
        workspace: output, the histogram likelihood as a pyhf workspace (JSON).
        progress: show progress bars.
        data: an event file of data (default: ``inference.data``, absent: none).
        nuisance_model: the per-nuisance ratio networks of :func:`train_nuisances` (None: the learned
            ratios are profiled with the shape variations' per-event factors).
        calibration: the ratio training sample (from :func:`mine`), whose events at θ_ref calibrate the
            learned ratios when ``inference.ratio_calibration.events`` > 0
            (:mod:`goldmine.inference.ratio_calibration`).

    Returns:
        dict: the results, keyed "fisher", "limits", "validation" and "workspace".

    Raises:
        EventFileError: naming the models missing for a configured method or member, or what is
            wrong with the data file.
        ConfigError: when the data file does not exist.
    """
    import torch

    from goldmine.inference.analysis import run_inference

    # The grid scans run small networks, fastest on training.threads threads (as training).
    torch.set_num_threads(config["training"]["threads"])
    if data is None:
        data = config["inference"].get("data")
    if data is not None and not Path(data).is_file():
        raise ConfigError(f"config key 'inference.data' (or --data): no data file {data}")
    results = run_inference(config, test_file, models_by_method(config, models), progress, data, nuisance_model,
                            calibration)
    for key, path in (("fisher", fisher), ("limits", limits), ("validation", validation), ("workspace", workspace)):
        write_json(path, results[key])
    return results


def pseudodata(event_file: str | Path, theta: Sequence[float], luminosity: float, seed: int,
               output: str | Path) -> int:
    """Pseudo-data at θ: N ~ Poisson(L σ(θ)) events drawn with replacement from an event file
    with probability ∝ w_e(θ), written with unit weights (one per benchmark column, sampling
    benchmark -1) in the event file's layout: the same path into ``infer --data`` as real data.

    The events are drawn from an event file, not generated anew: its detector and observables
    have already run, so the draw works for every process and detector (MadGraph and Delphes
    included) through the morphing alone, and it is the toys' draw
    (:func:`goldmine.inference.coverage.toy_counts`), so pseudo-data and toys agree by
    construction. The file should be independent of the analysis's test events (e.g. a chunk
    generated with another seed); an event is repeated when N approaches the file's effective
    number of events at θ, which a warning reports.

    Args:
        event_file: the events to draw from (goldmine's or MadMiner's layout).
        theta: the true θ, one value per parameter of the file.
        luminosity: in pb⁻¹.
        seed: of the draw.
        output: the data file to write.

    Returns:
        int: the number of events written.

    Raises:
        ConfigError: when θ has not one value per parameter.
        EventFileError: naming the first event whose weight at θ is negative.
    """
    from goldmine.inference.observed import draw_pseudo_data

    space = events.read_parameter_space(event_file)
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (len(space.names),):
        raise ConfigError(f"θ {theta.tolist()}: one value per parameter of {event_file}, {list(space.names)}")
    weights = np.concatenate([space.evaluator(block.weights)(theta) for block in events.iterate(event_file)])
    counts = draw_pseudo_data(weights, luminosity, np.random.default_rng(seed), source=str(event_file))
    effective = weights.sum() ** 2 / np.sum(weights**2)
    if counts.sum() > 0.1 * effective:
        log.warning("%s: %d pseudo-data events from %.0f effective events at θ = %s: %d events repeat; draw from "
                    "a larger file", event_file, counts.sum(), effective, theta.tolist(),
                    int(counts.sum() - np.count_nonzero(counts)))

    def drawn() -> Iterator[events.Events]:
        first = 0
        for block in events.iterate(event_file):
            repeats = counts[first : first + len(block)]
            first += len(block)
            observations = np.repeat(block.observations, repeats, axis=0)
            yield events.Events(observations, np.ones((len(observations), len(space.benchmark_names))),
                                np.full(len(observations), -1, dtype=np.int64))

    provenance = {"theta": theta.tolist(), "parameters": list(space.names), "luminosity_pb": float(luminosity),
                  "seed": seed, "source": str(event_file)}
    with atomic_output(output) as temporary:
        n = events.write(temporary, space, events.read_observable_names(event_file),
                         events.read_observable_definitions(event_file), drawn(),
                         observable_descriptions=events.read_observable_descriptions(event_file))
        with h5py.File(temporary, "a") as handle:
            handle.attrs["goldmine_pseudo_data"] = json.dumps(provenance)
    return n


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


def design_propose(config: Mapping[str, Any], round_number: int, evaluations: Sequence[str | Path],
                   proposal: str | Path, point_configs: Sequence[str | Path]) -> list[float]:
    """The settings of a round (:func:`goldmine.experiment.loop.propose_round`) and the configuration at each.

    Args:
        config: the validated configuration, with a ``design`` section.
        round_number: the round; 0 is the space-filling first one.
        evaluations: the evaluations (JSON of :func:`design_evaluate`) of every earlier round.
        proposal: output, ``{"round", "settings"}`` (JSON).
        point_configs: outputs, the configuration at each setting (YAML), one per point of the round.

    Raises:
        ConfigError: when the number of point configurations is not the round's size.
    """
    import yaml

    from goldmine.experiment.loop import propose_round, round_sizes, setting_config

    sizes = round_sizes(config)
    if round_number >= len(sizes) or len(point_configs) != sizes[round_number]:
        raise ConfigError(f"config key 'design': round {round_number} has "
                          f"{sizes[round_number] if round_number < len(sizes) else 'no'} points (rounds: {sizes}); "
                          f"{len(point_configs)} point configurations asked for")
    settings = propose_round(config, round_number, [json.loads(Path(path).read_text()) for path in evaluations])
    for value, path in zip(settings, point_configs):
        with atomic_output(path) as temporary:
            temporary.write_text(yaml.safe_dump(setting_config(config, value), sort_keys=False))
    write_json(proposal, {"round": round_number, "settings": settings})
    return settings


def design_evaluate(config: Mapping[str, Any], event_file: str | Path, round_number: int, index: int,
                    output: str | Path) -> dict[str, Any]:
    """EIG ± MC error of one point (:func:`goldmine.experiment.loop.evaluate_events`), written as JSON."""
    from goldmine.experiment.loop import evaluate_events

    result = dict(evaluate_events(config, event_file), round=round_number, index=index)
    write_json(output, result)
    return result


def design_summarise(config: Mapping[str, Any], evaluations: Sequence[str | Path], output: str | Path,
                     plot: str | Path) -> dict[str, Any]:
    """design.json (:func:`goldmine.experiment.loop.design_document`) and its plot, from every evaluation."""
    from goldmine.experiment.loop import design_document
    from goldmine.plotting import plot_design

    document = design_document(config, [json.loads(Path(path).read_text()) for path in evaluations])
    write_json(output, document)
    plot_design(document, plot)
    return document


def design_measurement_configs(config: Mapping[str, Any], design_file: str | Path, setup: str | Path,
                               outputs: Mapping[str, str | Path]) -> dict[str, float]:
    """The configuration of each measurement (:func:`goldmine.experiment.measurement.measurement_configs`):
    at the recommendation of ``design_file`` (design.json) and at ``measurement.naive``.

    Args:
        config: the validated configuration, with ``design`` and ``measurement`` sections.
        design_file: design.json.
        setup: the design's setup file (``measurement.span`` evaluates the information at each setting).
        outputs: label ("chosen", "naive") → the configuration to write (YAML).

    Returns:
        dict: label → setting.
    """
    import yaml

    from goldmine.experiment.loop import VARIABLES
    from goldmine.experiment.measurement import measurement_configs

    configs = measurement_configs(config, json.loads(Path(design_file).read_text()), setup)
    section, key = VARIABLES[config["design"]["variable"]]
    for label, path in outputs.items():
        with atomic_output(path) as temporary:
            temporary.write_text(yaml.safe_dump(configs[label], sort_keys=False))
    return {label: configs[label][section][key] for label in outputs}


def design_measurement(config: Mapping[str, Any], design_file: str | Path, limits_files: Mapping[str, str | Path],
                       output: str | Path, plot: str | Path, table: str | Path) -> dict[str, Any]:
    """measurement.json (:func:`goldmine.experiment.measurement.measurement_document`), its plot and
    its table, from design.json and the limits.json of the measurement at each setting."""
    from goldmine.experiment.measurement import measurement_document, measurement_table
    from goldmine.plotting import plot_measurement

    limits = {label: json.loads(Path(path).read_text()) for label, path in limits_files.items()}
    document = measurement_document(config, json.loads(Path(design_file).read_text()), limits)
    write_json(output, document)
    with atomic_output(table) as temporary:
        temporary.write_text(measurement_table(document))
    plot_measurement(document, limits, plot)
    return document


def publish(workspace_file: str | Path, limits_file: str | Path, directory: str | Path,
            inspire: str = "ins0000000") -> dict[str, Path]:
    """The histogram likelihood of a finished run in HEPData form and as an EFT likelihood.

    Args:
        workspace_file: the run's histogram workspace (``histogram_workspace.json`` of :func:`infer`).
        limits_file: its limits.json: the parameters, the grid (one patch per grid point) and θ_ref.
        directory: output: ``BkgOnly.json`` (background-only workspace), ``patchset.json`` (one
            signal patch per grid point) and ``eft_workspace.json`` (the morphing workspace).
        inspire: the analysis's INSPIRE record for the patchset's reference (``ins`` + 7 digits).

    Returns:
        dict: the written files by kind, "background", "patchset" and "eft".

    Raises:
        PublishError: naming the file that is not a goldmine histogram workspace or limits file.
    """
    from goldmine.exceptions import PublishError
    from goldmine.publish.eft import background_only, signal_patchset
    from goldmine.publish.reinterpret import read_json

    workspace, limits = read_json(Path(workspace_file)), read_json(Path(limits_file))
    try:
        meta = limits["meta"]
        names, axes, reference = meta["parameters"], meta["axes"], meta["reference"]
    except (KeyError, TypeError):
        raise PublishError(f"{limits_file}: not a goldmine limits.json (no meta.parameters, axes, reference)") from None
    thetas = np.stack(np.meshgrid(*[np.asarray(axis) for axis in axes], indexing="ij"), axis=-1).reshape(-1, len(axes))
    try:
        documents = {"background": background_only(workspace, names, reference),
                     "patchset": signal_patchset(workspace, names, reference, thetas, inspire),
                     "eft": workspace}
    except PublishError as error:
        raise PublishError(f"{workspace_file}: {error}") from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"background": directory / "BkgOnly.json", "patchset": directory / "patchset.json",
             "eft": directory / "eft_workspace.json"}
    for kind, path in paths.items():
        write_json(path, documents[kind])
    return paths

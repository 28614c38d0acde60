"""goldmine from Python: the stages of the workflow as functions on configurations and files.

The same calls the ``goldmine`` commands and the Snakemake rules make, usable from a script
or a notebook without Snakemake. Each stage takes the analysis configuration (a file name or
an already loaded dict) and the files it reads, writes its outputs atomically and returns
what a script wants next. The names are re-exported at the top level (``goldmine.setup``,
``goldmine.open``, …)::

    config.yaml  --load_config--------------------->  validated configuration (a dict)
                 --setup--------------------------->  setup.h5: benchmarks and morphing
    setup.h5     --generate------------------------>  chunk.lhe.gz: one weight per benchmark
    LHE          --shower_events------------------->  particles.h5 (Pythia 8, optional)
    LHE | particles | Delphes
                 --detect-------------------------->  chunk.h5: observables and weights
    chunk*.h5    --merge--------------------------->  events.h5
    events.h5    --mine---------------------------->  local_score.h5, ratio.h5, test.h5
    samples      --train--------------------------->  model.pt + model.json
    events.h5    --pseudodata---------------------->  data.h5: unit-weight pseudo-data at a chosen θ
    test.h5 + models (+ data.h5)
                 --infer--------------------------->  fisher.json, limits.json, … (returned as dicts)
    limits       --plot_limits--------------------->  limits.png + limits.pdf
    config.yaml with `design:`
                 --design-------------------------->  design.json + design.png: the √s of most information

Any file: :func:`open` says what it is; :func:`fisher_information` gives the truth and rate
Fisher information of any event file (goldmine's or MadMiner's).

Example:
    >>> import goldmine
    >>> config = goldmine.load_config("config/config.yaml", name="demo")
    >>> config["name"], config["process"]["name"]
    ('demo', 'ee_mumu')
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from goldmine import config as config_module
from goldmine import stages
from goldmine.inference.fisher import event_file_information as fisher_information
from goldmine.io import events as event_files
from goldmine.io import open_events as open
from goldmine.physics.parameters import ParameterSpace

__all__ = [
    "design",
    "detect",
    "fisher_information",
    "generate",
    "infer",
    "load_config",
    "merge",
    "mine",
    "open",
    "plot_limits",
    "pseudodata",
    "publish_likelihood",
    "setup",
    "shower_events",
    "train",
]

#: a configuration: the name of a YAML file, or a dict as :func:`load_config` returns it.
ConfigLike = str | Path | Mapping[str, Any]

#: the files :func:`mine` writes into its directory, by family (as ``results/<name>/samples/``).
SAMPLE_FILES = {"local_score": "local_score.h5", "ratio": "ratio.h5", "test": "test.h5"}
#: the files :func:`infer` writes into its directory (as ``results/<name>/inference/``).
INFERENCE_FILES = {"fisher": "fisher.json", "limits": "limits.json", "validation": "validation.json",
                   "workspace": "histogram_workspace.json"}


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: mappings merge key by key, any other value replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(source: ConfigLike, **changes: Any) -> dict[str, Any]:
    """Load and validate an analysis configuration, with changes to some of its keys.

    Args:
        source: a YAML file, or a configuration as a dict (validated here).
        **changes: top-level sections to change, each a value or a dict of changes: dicts
            merge into the section key by key (``training={"ratio": {"epochs": 2}}`` changes
            one key of one family), any other value replaces.

    Returns:
        dict: the validated configuration, every default filled in.

    Raises:
        goldmine.exceptions.ConfigError: naming the file, the key, the value and what is allowed.

    Example:
        >>> config = load_config("config/config.yaml", generation={"events_per_chunk": 2000},
        ...                      training={"methods": ["sally"], "local_score": {"epochs": 2}})
        >>> config["generation"]["events_per_chunk"], config["generation"]["chunks"]
        (2000, 4)
        >>> config["training"]["methods"], config["training"]["local_score"]["epochs"]
        (['sally'], 2)
        >>> load_config(config, inference={"luminosity": -1.0})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        goldmine.exceptions.ConfigError: config key 'inference.luminosity': value -1.0 is not allowed: ...
    """
    base = source if isinstance(source, Mapping) else config_module.load(source)
    return config_module.validate(_merged(base, changes))


def setup(config: ConfigLike, output: str | Path) -> ParameterSpace:
    """Choose the benchmarks (the morphing basis with the smallest morphing weights) and write the setup file.

    Args:
        config: the analysis (its ``process`` and ``morphing`` sections).
        output: the setup file to write (HDF5, MadMiner's layout).

    Returns:
        ParameterSpace: the parameters, their ranges, the benchmarks and the morphing.

    Example:
        >>> import tempfile
        >>> space = setup(load_config("config/config.yaml", morphing={"n_trials": 50}),
        ...               tempfile.mkdtemp() + "/setup.h5")
        >>> space.names, "sm" in space.benchmark_names
        (('c_vv', 'c_aa'), True)
    """
    return stages.setup(load_config(config), output)


def generate(config: ConfigLike, setup: str | Path, output: str | Path, chunk: int = 0) -> Path:
    """Generate one chunk of parton-level events with the configured process into an LHE file.

    Args:
        config: the analysis (``process`` and ``generation``: events per chunk, seed).
        setup: the setup file of :func:`setup`.
        output: the LHE file to write (``.lhe`` or ``.lhe.gz``), one ``<wgt>`` per benchmark.
        chunk: the chunk index; the seed is ``generation.seed + chunk``.

    Returns:
        Path: the LHE file.
    """
    stages.generate(load_config(config), setup, chunk, output)
    return Path(output)


def shower_events(config: ConfigLike, lhe: str | Path, output: str | Path, chunk: int = 0) -> int:
    """Shower the events of an LHE file with Pythia 8 (``shower.pythia`` settings); the stage
    ``goldmine shower`` (the name ``goldmine.shower`` is the module that drives Pythia).

    Args:
        config: the analysis (its ``shower`` section).
        lhe: the LHE file of :func:`generate`.
        output: the particle file to write (HDF5), the benchmark weights kept with their events.
        chunk: the chunk index; the seed is ``shower.seed + chunk``.

    Returns:
        int: the number of events written.
    """
    return stages.shower(load_config(config), lhe, chunk, output)


def detect(config: ConfigLike, setup: str | Path, input: str | Path, output: str | Path, chunk: int = 0) -> int:
    """Reconstruct events and compute the observables, cuts and efficiencies: an LHE or particle
    file goes through the configured detector, a Delphes ROOT file is read as reconstructed.

    Args:
        config: the analysis (``detector``, ``observables``, ``cuts``, ``efficiencies``).
        setup: the setup file of :func:`setup`; the input's weights must carry its benchmarks.
        input: an LHE file, a particle file of :func:`shower_events`, or a Delphes ROOT file.
        output: the event file to write (HDF5, MadMiner's layout).
        chunk: the chunk index; the detector's seed is ``detector.seed + chunk``.

    Returns:
        int: the number of events that pass the cuts.

    Raises:
        goldmine.exceptions.EventFileError: naming the input when its weights miss a benchmark.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> config = load_config("config/config.yaml", morphing={"n_trials": 50},
        ...                      generation={"events_per_chunk": 500})
        >>> _ = setup(config, folder + "/setup.h5")
        >>> lhe = generate(config, folder + "/setup.h5", folder + "/chunk0.lhe.gz")
        >>> open(lhe).kind
        'lhe'
        >>> 400 < detect(config, folder + "/setup.h5", lhe, folder + "/chunk0.h5") <= 500
        True
    """
    return stages.detect(load_config(config), setup, input, chunk, output)


def merge(inputs: Sequence[str | Path], output: str | Path) -> int:
    """Gather event files of the same setup and observables (the chunks of :func:`detect`) into one.

    Each file's weights estimate the same cross sections, so each is weighted by its share of
    the generated events: the merged weights still add up to σ.

    Args:
        inputs: the event files.
        output: the merged event file to write.

    Returns:
        int: the number of events in the merged file.

    Raises:
        goldmine.exceptions.EventFileError: naming the first input whose setup differs from the first file's.
    """
    return event_files.merge(inputs, output)


def mine(config: ConfigLike, events: str | Path, directory: str | Path) -> dict[str, Path]:
    """Split the events into training and test parts and mine the training samples: the joint
    score t(x,z) at the reference point, and the joint likelihood ratio r(x,z) and score for
    random θ₀.

    Args:
        config: the analysis (its ``mining`` section).
        events: the merged event file of :func:`merge` (or one chunk of :func:`detect`).
        directory: where to write ``local_score.h5``, ``ratio.h5`` and ``test.h5`` (created if needed).

    Returns:
        dict: the three files by family, ``"local_score"`` (SALLY, SALLINO), ``"ratio"`` (the
        parameterised-ratio and density methods) and ``"test"`` (an event file for :func:`infer`).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {family: directory / name for family, name in SAMPLE_FILES.items()}
    return stages.mine(load_config(config), events, paths["local_score"], paths["ratio"], paths["test"])


def train(config: ConfigLike, method: str, sample: str | Path, setup: str | Path, output: str | Path,
          member: int = 0, progress: bool = False) -> dict[str, Any]:
    """Train one estimator (one ensemble member) and save it: ``output`` (the torch state_dict)
    and its JSON metadata beside it (``output`` with ``.json``).

    Args:
        config: the analysis (``training``: the family's network and optimiser settings, threads).
        method: ``sally``, ``sallino``, ``carl``, ``rolr``, ``rascal``, ``alice``, ``alices``,
            ``cascal``, ``morphing_<ratio method>``, ``nde`` or ``scandal``.
        sample: the training sample of the method's family (``mine(...)["local_score"]`` or ``["ratio"]``).
        setup: the setup file of :func:`setup`.
        output: the model file to write (``.pt``).
        member: the ensemble member; its seed is the family's seed plus ``member``.
        progress: show a progress bar per epoch.

    Returns:
        dict: the model's metadata: method, architecture, input scaling, θ ranges and the
        loss ``history`` (``train_loss``, ``validation_loss`` per epoch, ``best_epoch``).
    """
    return stages.train(load_config(config), method, sample, setup, output, member, progress)


def infer(config: ConfigLike, test: str | Path, models: Sequence[str | Path], directory: str | Path,
          progress: bool = False, data: str | Path | None = None, calibration: str | Path | None = None
          ) -> dict[str, Any]:
    """Fisher information, expected limits and validation of every configured method, from the
    test events and the trained models; on data, every method's observed results too.

    Args:
        config: the analysis (``inference``; ``training.methods`` and ``training.ensemble`` say
            which models are expected).
        test: the test events (``mine(...)["test"]``).
        models: the model file of every configured method and ensemble member (from :func:`train`).
        directory: where to write ``fisher.json``, ``limits.json``, ``validation.json`` and
            ``histogram_workspace.json`` (created if needed).
        progress: show progress bars.
        data: an event file of data (default: ``inference.data``; e.g. from :func:`pseudodata`):
            limits.json then has an ``observed`` block (q, best fit, intervals) per method.
        calibration: the ratio training sample (``mine(...)["ratio"]``), needed when
            ``inference.ratio_calibration.events`` > 0: its events at θ_ref calibrate the learned ratios.

    Returns:
        dict: ``"fisher"`` and ``"limits"`` (the documents of :mod:`goldmine.inference.results`:
        ``{"meta": ..., "methods": {method: ...}}``), ``"validation"`` (the estimators against
        the exact likelihood) and ``"workspace"`` (the histogram likelihood as a pyhf workspace).

    Raises:
        goldmine.exceptions.EventFileError: naming the models missing for a configured method or member.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in INFERENCE_FILES.items()}
    return stages.infer(load_config(config), test, models, paths["fisher"], paths["limits"], paths["validation"],
                        paths["workspace"], progress, data, calibration=calibration)


def pseudodata(events: str | Path, theta: Sequence[float], output: str | Path, luminosity: float, seed: int = 0
               ) -> int:
    """Pseudo-data at θ: N ~ Poisson(L σ(θ)) events drawn from ``events`` ∝ their weight at θ, with unit weights.

    Args:
        events: the event file to draw from, independent of the test events (another chunk).
        theta: the true θ, one value per parameter of the file.
        output: the data file to write (an event file; ``infer(..., data=output)`` reads it).
        luminosity: in pb⁻¹.
        seed: of the draw.

    Returns:
        int: the number of events written.

    Raises:
        goldmine.exceptions.ConfigError: when θ has not one value per parameter.
    """
    return stages.pseudodata(events, theta, luminosity, seed, output)


def publish_likelihood(directory: str | Path, output: str | Path, inspire: str = "ins0000000") -> dict[str, Path]:
    """``goldmine publish``: a finished run's histogram likelihood: a background-only pyhf workspace and a
    patchset with one signal patch per grid point (HEPData form), and the EFT workspace.

    Args:
        directory: the run's inference directory (:func:`infer`'s ``directory``:
            ``histogram_workspace.json`` and ``limits.json``).
        output: the directory to write ``BkgOnly.json``, ``patchset.json`` and ``eft_workspace.json`` to.
        inspire: the analysis's INSPIRE record (``ins`` + 7 digits), required by pyhf's patchset schema.

    Returns:
        dict: the written files by kind, "background", "patchset" and "eft".

    Raises:
        goldmine.exceptions.PublishError: naming a file that is not a goldmine workspace or limits file.
    """
    directory = Path(directory)
    return stages.publish(directory / INFERENCE_FILES["workspace"], directory / INFERENCE_FILES["limits"], output,
                          inspire)


def plot_limits(limits: Mapping[str, Any], output: str | Path) -> list[Path]:
    """Expected 68% and 95% CL contours of every method, with the exact likelihood's and the Asimov point.

    Args:
        limits: the limits document (``infer(...)["limits"]``, or limits.json read with ``json.load``).
        output: the PNG file to write; a PDF of the same figure is written beside it.

    Returns:
        list: the PNG and the PDF.
    """
    from goldmine.plotting import plot_limits as plot

    return plot(limits, output)


def design(config: ConfigLike, output: str | Path, plot: str | Path, setup: str | Path | None = None,
           workers: int = 1) -> dict[str, Any]:
    """Experiment design: the setting of ``design.variable`` in ``design.range`` with the largest
    expected information gain about θ, by Bayesian optimisation; each evaluation generates,
    detects and computes the truth Fisher information at one setting (:mod:`goldmine.experiment`).

    Args:
        config: the configuration, with a ``design`` section.
        output: design.json: the recommendation, the history (EIG ± MC error of every
            evaluation) and the surrogate's mean and standard deviation on a grid.
        plot: the plot of the surrogate and the evaluations (PNG; a PDF beside it).
        setup: the setup file (benchmarks); default: made from the configuration, in a temporary folder.
        workers: processes that evaluate the settings of a round in parallel.

    Returns:
        dict: the design document written to ``output``.
    """
    import tempfile

    from goldmine.experiment.loop import run_design
    from goldmine.plotting import plot_design

    config = load_config(config)
    with tempfile.TemporaryDirectory() as scratch:
        if setup is None:
            setup = Path(scratch) / "setup.h5"
            stages.setup(config, setup)
        document = run_design(config, setup, workers)
    stages.write_json(output, document)
    plot_design(document, plot)
    return document

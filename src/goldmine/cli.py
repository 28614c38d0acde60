"""The ``goldmine`` command line: one sub-command per workflow stage, plus ``inspect``.

Every stage runs the same by hand, inside Snakemake, in a container or on REANA.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from goldmine import config as config_module
from goldmine.exceptions import GoldmineError
from goldmine.ml import METHODS

__all__ = ["main"]

_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default="config/config.yaml",
    show_default=True, help="Analysis configuration (validated against the schema).",
)
def _output_file(flag: str, description: str):
    """A required option naming an output file."""
    return click.option(flag, type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help=f"Output: {description}")


_PROGRESS = click.option("--progress/--no-progress", default=None,
                         help="Progress bars on stderr  [default: when stderr is a terminal, not in a log file]")


def _progress(requested: bool | None) -> bool:
    return sys.stderr.isatty() if requested is None else requested


_TEST = click.option("--test", "test_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     required=True, help="Test events (from `goldmine mine --test`), held out from training.")
_OUTPUT = click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output file.")


def _fixed_masses(context, parameter, items: tuple[str, ...]) -> dict[int, float]:
    """--fixed K=VALUE (K from 1) as {K - 1: VALUE}, checked before any work is done."""
    fixed = {}
    for item in items:
        index, _, value = item.partition("=")
        try:
            fixed[int(index) - 1] = float(value)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not K=VALUE (e.g. 3=60)") from None
    return fixed


def _two_labels(context, parameter, labels: tuple[str, ...]) -> tuple[str, ...]:
    if labels and len(labels) != 2:
        raise click.BadParameter(f"give two labels (mass 1, mass 2), not {len(labels)}")
    return labels or ("mass 1 [GeV]", "mass 2 [GeV]")


def _plot_options(command):
    """The options of an exclusion plot (goldmine.publish.contour.plot_exclusion)."""
    for option in reversed([
        click.option("--label", "labels", multiple=True, metavar="TEXT", callback=_two_labels,
                     help="Axis labels of the plot: mass 1, then mass 2 (give both).  [default: mass 1, mass 2]"),
        click.option("--fixed", multiple=True, metavar="K=VALUE", callback=_fixed_masses,
                     help="Plot only points whose K-th mass (from 1) is VALUE, e.g. 3=60; repeatable."),
        click.option("--title", help="A line above the plot."),
    ]):
        command = option(command)
    return command


def _done(summary: str) -> None:
    """The stage's one-line summary on stdout, with its seconds: the workflow's rules keep stdout
    on the console (stderr goes to the log), so a run shows what each job did and how long it took."""
    context = click.get_current_context()
    seconds = time.perf_counter() - context.meta["goldmine.start"]
    command = " ".join(context.command_path.split()[1:])  # "design run" for a command of a group
    click.echo(f"goldmine {command}: {summary} ({seconds:.1f} s)")


def _load(config_path: Path) -> dict:
    return config_module.load(config_path)


class _Commands(click.Group):
    """The command group: bad input (a :class:`~goldmine.exceptions.GoldmineError`) becomes one
    line on stderr and exit status 1; any other exception is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GoldmineError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.version_option(package_name="goldmine")
def main(verbose: bool) -> None:
    """goldmine: mine gold from particle-physics simulators.

    \b
    Stages, in the order the workflow runs them:
      setup     choose the benchmarks and the morphing of the parameter space
      generate  generate parton-level events (LHE, one weight per benchmark)
      cards     MadGraph's cards and command script of one generation job (process madgraph)
      shower    Pythia 8 shower of the LHE events (optional)
      detect    detector simulation and observables (-> HDF5 event file)
      merge     gather event files
      mine      training samples with joint likelihood ratio and score
      train     train an estimator (SALLY, SALLINO, CARL, ROLR, RASCAL, ALICE, ALICES,
                CASCAL, their morphing-aware variants, NDE, SCANDAL)
      infer     Fisher information and expected limits of every method (--data: observed too)
      coverage  coverage of every method's intervals, from toys of the test events
      plot      figures for the report
      summarise the end-of-run table and the report's front page
    Tools:
      pseudodata  pseudo-data at a chosen θ, drawn from an event file (unit weights)
      inspect   say what a file is and summarise it (LHE, Delphes, goldmine, MadMiner)
      fisher    truth and rate Fisher information of an event file
      check     validate a configuration file
      reinterpret  CLs of published pyhf signal patches (converged fits)
      design    experiment design: Bayesian optimisation of the expected information gain
      reinterpret-merge  one result (and the exclusion plot) from blocks of patches
      signal-patches  this analysis's signal in a published workspace: a patchset over θ
    """
    click.get_current_context().meta["goldmine.start"] = time.perf_counter()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("config_paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--base", type=click.Path(dir_okay=False, path_type=Path), default="config/config.yaml",
              show_default=True, help="The workflow's configuration, which the files are merged into as Snakemake "
                                      "merges --configfile files (unless it does not exist or is among them).")
def check(config_paths: tuple[Path, ...], base: Path) -> None:
    """Validate CONFIG_PATHS as `snakemake --configfile CONFIG_PATHS` sees them, and print the result.

    Like Snakemake, the check merges the files, in order, into the workflow's configuration
    (--base): a partial file that changes a few keys is checked as the configuration the
    run will have. Validation checks the schema, the consistency of the sections (parameters
    of the process, observables of the histogram), compiles the observable, cut and efficiency
    expressions, and loads the detector card with its formulas. It says whether the exact
    likelihood, the reference of the validation, applies to the analysis, and, for an external
    sample, which files it reads and what each weight id stands for. The last line says "valid".
    """
    import yaml

    from goldmine.inference.exact import unavailable_because

    paths = list(config_paths) or [base]
    if base.exists() and not any(path.resolve() == base.resolve() for path in paths):
        paths.insert(0, base)
    config = config_module.load(*paths)
    click.echo(yaml.safe_dump(config, sort_keys=False))
    if "external" in config:
        from goldmine.external import describe

        click.echo(describe(config))
    reason = unavailable_because(config)
    click.echo("exact likelihood: used as the reference" if reason is None
               else f"exact likelihood: not used, {reason}; methods are compared with the truth Fisher information")
    click.echo(f"{' + '.join(map(str, paths))}: valid (analysis {config['name']!r})")


@main.command()
@_CONFIG
@_OUTPUT
def setup(config_path: Path, output: Path) -> None:
    """Choose the benchmark basis (minimal morphing weights) and write the setup file."""
    from goldmine import stages

    space = stages.setup(_load(config_path), output)
    _done(f"{output}: {len(space.benchmark_names)} benchmarks for {list(space.names)}")


@main.command()
@_CONFIG
@click.option("--setup", "setup_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds the generator).")
@_OUTPUT
def generate(config_path: Path, setup_file: Path, chunk: int, output: Path) -> None:
    """Generate one chunk of parton-level events into an LHE file (.lhe or .lhe.gz)."""
    from goldmine import stages

    config = _load(config_path)
    stages.generate(config, setup_file, chunk, output)
    _done(f"{output}: {config['generation']['events_per_chunk']} events")


@main.command()
@_CONFIG
@click.option("--setup", "setup_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds MadGraph).")
@_OUTPUT
def cards(config_path: Path, setup_file: Path, chunk: int, output: Path) -> None:
    """Write MadGraph's param, reweight and run cards and the MG5 command script of one job into the folder OUTPUT."""
    from goldmine import stages

    written = stages.cards(_load(config_path), setup_file, chunk, output)
    _done(f"{output}: {', '.join(path.name for path in written)}")


@main.command()
@_CONFIG
@click.option("--lhe", "lhe_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds Pythia).")
@_OUTPUT
def shower(config_path: Path, lhe_file: Path, chunk: int, output: Path) -> None:
    """Shower an LHE file with Pythia 8 (settings from the config); write a particle file (HDF5)."""
    from goldmine import stages

    n = stages.shower(_load(config_path), lhe_file, chunk, output)
    _done(f"{output}: {n} events")


@main.command()
@_CONFIG
@click.option("--setup", "setup_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--input", "--lhe", "input_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="LHE file (parton level), particle file from `goldmine shower`, or Delphes ROOT file.")
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds the detector).")
@_OUTPUT
def detect(config_path: Path, setup_file: Path, input_file: Path, chunk: int, output: Path) -> None:
    """Reconstruct events (LHE, showered or Delphes) and write the observables and weights to HDF5."""
    from goldmine import stages

    n = stages.detect(_load(config_path), setup_file, input_file, chunk, output)
    _done(f"{output}: {n} events")


@main.command()
@_OUTPUT
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def merge(output: Path, inputs: tuple[Path, ...]) -> None:
    """Merge event files (weights re-normalised by the generated events behind each)."""
    from goldmine.io import events

    n = events.merge(list(inputs), output)
    _done(f"{output}: {n} events from {len(inputs)} files")


@main.command()
@_CONFIG
@click.option("--events", "event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Merged event file (from `goldmine merge`).")
@_output_file("--local-score", "training sample of SALLY and SALLINO (HDF5).")
@_output_file("--ratio", "training sample of the parameterised-ratio and density methods (HDF5).")
@_output_file("--test", "the test events, an event file (input of `goldmine infer`).")
def mine(config_path: Path, event_file: Path, local_score: Path, ratio: Path, test: Path) -> None:
    """Split the events into training and test parts; mine the training samples (joint likelihood
    ratio and joint score) of the local-score and the parameterised-ratio methods."""
    from goldmine import stages

    paths = stages.mine(_load(config_path), event_file, local_score, ratio, test)
    _done(" ".join(str(p) for p in paths.values()))


@main.command()
@_CONFIG
@click.option("--method", type=click.Choice(METHODS), required=True,
              help="Estimator: local score (sally, sallino), parameterised ratio (carl … cascal, "
                   "morphing_<ratio method>) or density (nde, scandal).")
@click.option("--sample", "sample_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="Training sample of the method's family (local_score.h5 or ratio.h5).")
@click.option("--setup", "setup_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="Setup file (parameters, benchmarks, morphing).")
@click.option("--member", type=int, default=0, show_default=True, help="Ensemble member (adds to the seed).")
@_OUTPUT
@_PROGRESS
def train(config_path: Path, method: str, sample_file: Path, setup_file: Path, member: int, output: Path,
          progress: bool) -> None:
    """Train an estimator; writes OUTPUT (state_dict) and OUTPUT with .json (metadata).

    The training state is checkpointed beside OUTPUT after every epoch: run the same
    command again after a crash and it resumes.
    """
    from goldmine import stages

    metadata = stages.train(_load(config_path), method, sample_file, setup_file, output, member,
                            _progress(progress))
    history = metadata["history"]
    _done(f"{method} member {member}: best validation loss {min(history['validation_loss']):.5g} "
          f"at epoch {history['best_epoch'] + 1} of {len(history['validation_loss'])}")


@main.command("train-nuisances")
@_CONFIG
@click.option("--events", "event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True,
              help="The merged event file; its training part is learned from (as `goldmine mine` splits it).")
@_OUTPUT
@_PROGRESS
def train_nuisances(config_path: Path, event_file: Path, output: Path, progress: bool) -> None:
    """Train one network per shape variation of inference.systematics, ĝ(x) = dσ_up(x)/dσ(x) and
    dσ_down(x)/dσ(x) at the reference point; writes OUTPUT (state_dict) and OUTPUT with .json (metadata)."""
    from goldmine import stages

    metadata = stages.train_nuisances(_load(config_path), event_file, output, _progress(progress))
    history = metadata["history"]
    _done(f"{', '.join(metadata['nuisance_parameters'])}: best validation loss "
          f"{min(history['validation_loss']):.5g} at epoch {history['best_epoch'] + 1} of "
          f"{len(history['validation_loss'])}")


@main.command()
@_CONFIG
@_TEST
@_output_file("--fisher", "Fisher information of every method (JSON).")
@_output_file("--limits", "expected q(θ) on the grid and the intervals of every method (JSON).")
@_output_file("--validation", "the learned estimators against the exact likelihood (JSON).")
@_output_file("--workspace", "the histogram likelihood as a pyhf workspace (JSON).")
@_PROGRESS
@click.option("--data", "data_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Event file of data (unit weights, e.g. from `goldmine pseudodata`): observed results too  "
                   "[default: inference.data of the config, if any].")
@click.option("--nuisances", "nuisance_model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The per-nuisance ratio networks of `goldmine train-nuisances`: the learned "
                                 "ratios are profiled with them  [default: the per-event weight factors].")
@click.option("--calibration", "calibration_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The ratio training sample of `goldmine mine`: its events at the reference point "
                                 "calibrate the learned ratios (needed when inference.ratio_calibration.events > 0).")
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def infer(config_path: Path, test_file: Path, fisher: Path, limits: Path, validation: Path, workspace: Path,
          progress: bool, data_file: Path | None, nuisance_model: Path | None, calibration_file: Path | None,
          models: tuple[Path, ...]) -> None:
    """Fisher information and expected limits of every configured method, from the trained MODELS;
    with data, every method's observed q, best fit and intervals beside its expected ones.

    MODELS are the .pt files of `goldmine train`, one per configured method and ensemble
    member; each one's method and member are read from its metadata (the .json beside it).
    """
    from goldmine import stages
    from goldmine.summary import limits_table

    results = stages.infer(_load(config_path), test_file, models, fisher, limits, validation, workspace,
                           _progress(progress), data_file, nuisance_model, calibration_file)
    click.echo(limits_table(results["limits"]))
    for failure in results["validation"]["failed"]:
        where = f" {failure['confidence_level']}% CL {failure['parameter']}" if failure["parameter"] else ""
        click.echo(f"FAILED {failure['method']}{where}: {failure['reason']}")
    _done(f"{len(results['limits']['methods'])} methods on {len(results['limits']['meta']['parameters'])} "
          f"parameters, {limits}")


@main.command()
@_CONFIG
@click.option("--limits", "limits_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="limits.json (from `goldmine infer`).")
@_output_file("--table", "the table of intervals (text), printed when a workflow run ends.")
@_output_file("--front-page", "the report's front page (reStructuredText): what the run did, and the table.")
def summarise(config_path: Path, limits_file: Path, table: Path, front_page: Path) -> None:
    """The end-of-run table (method × parameter, 68% and 95% CL intervals with marks for open
    ends and flags) and the report's front page, which describes the run from its configuration."""
    from goldmine import stages

    click.echo(stages.summarise(_load(config_path), limits_file, table, front_page))


@main.command()
@_CONFIG
@_TEST
@click.option("--toys", type=click.IntRange(min=10), default=1000, show_default=True, help="Toys per true θ.")
@click.option("--seed", type=click.IntRange(min=0), default=9000, show_default=True, help="Seed of the toys.")
@click.option("--neyman-toys", type=click.IntRange(min=10), default=None,
              help="Also the coverage of a Neyman construction of the exact likelihood and the learned ratios, "
                   "with this many toys per profile-line point.")
@_OUTPUT
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def coverage(config_path: Path, test_file: Path, toys: int, seed: int, neyman_toys: int | None, output: Path,
             models: tuple[Path, ...]) -> None:
    """Coverage of every method's 68% and 95% CL intervals from toys drawn from the test events; writes
    OUTPUT (coverage.json) and prints the table.

    The true θ are the reference and, per parameter, the points of its profile line nearest
    the upper ends of the 68% and 95% CL intervals. A toy has Poisson(Lσ(θ)) events drawn
    from the test events ∝ their weight at θ; a method covers when its profiled q at the
    true value is below the threshold.
    """
    from goldmine import stages
    from goldmine.inference.toys import coverage_table

    document = stages.coverage(_load(config_path), test_file, models, output, toys, seed, neyman_toys)
    click.echo("\n".join(coverage_table(document)))
    click.echo("*: more than 2 binomial errors below the confidence level (under-covers)")


@main.command()
@_CONFIG
@click.option("--events", "event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Event file to draw from, independent of the test events (e.g. a chunk of another seed).")
@click.option("--theta", type=float, multiple=True, required=True,
              help="The true θ, one value per parameter in the file's order (repeat the option).")
@click.option("--luminosity", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Integrated luminosity in pb^-1  [default: inference.luminosity of the config].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the draw.")
@_OUTPUT
def pseudodata(config_path: Path, event_file: Path, theta: tuple[float, ...], luminosity: float | None, seed: int,
               output: Path) -> None:
    """Pseudo-data at θ: N ~ Poisson(Lσ(θ)) events drawn from an event file ∝ their weight at θ,
    written with unit weights in the event file's layout (read by `goldmine infer --data`)."""
    from goldmine import stages
    from goldmine.io.events import read_parameter_space

    names = read_parameter_space(event_file).names
    if len(theta) != len(names):
        raise click.BadParameter(f"{len(theta)} values for the {len(names)} parameters {list(names)}",
                                 param_hint="--theta")
    if luminosity is None:
        luminosity = _load(config_path)["inference"]["luminosity"]
    n = stages.pseudodata(event_file, theta, luminosity, seed, output)
    _done(f"{output}: {n} events at {dict(zip(names, theta))}, L = {luminosity:g} pb^-1, seed {seed}")


def _figure(name: str, what: str):
    return click.option(f"--{name}-plot", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help=f"Output: {what} (PNG; a PDF is written beside it).")


_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@main.command()
@click.option("--events", "event_file", type=_EXISTING_FILE, required=True, help="Merged event file.")
@click.option("--limits", "limits_file", type=_EXISTING_FILE, required=True,
              help="limits.json of `goldmine infer`.")
@click.option("--fisher", "fisher_file", type=_EXISTING_FILE, required=True,
              help="fisher.json of `goldmine infer`.")
@_figure("distributions", "observable distributions at the benchmarks")
@_figure("fisher", "68% CL Fisher-information ellipses")
@_figure("limits", "expected 68% and 95% CL contours")
@_figure("training", "training and validation loss per epoch")
@click.option("--validation", "validation_file", type=_EXISTING_FILE,
              help="validation.json of `goldmine infer` (with --calibration-plot).")
@click.option("--calibration-plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Output: reweighted-histogram closure of each likelihood ratio (PNG; a PDF beside it).")
@click.argument("model_metadata", nargs=-1, required=True, type=_EXISTING_FILE)
def plot(event_file: Path, limits_file: Path, fisher_file: Path, distributions_plot: Path, fisher_plot: Path,
         limits_plot: Path, training_plot: Path, validation_file: Path | None, calibration_plot: Path | None,
         model_metadata: tuple[Path, ...]) -> None:
    """Figures of the report from the events, the inference results and the metadata (.json) of
    the trained models, MODEL_METADATA."""
    from goldmine import plotting

    if (validation_file is None) != (calibration_plot is None):
        raise click.UsageError("--validation and --calibration-plot go together")
    paths = plotting.plot_all(event_file, limits_file, fisher_file, model_metadata,
                              distributions_plot=distributions_plot, fisher_plot=fisher_plot,
                              limits_plot=limits_plot, training_plot=training_plot,
                              validation_file=validation_file, calibration_plot=calibration_plot)
    _done(f"{len(paths)} figures in {distributions_plot.parent}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def inspect(path: Path, as_json: bool) -> None:
    """Summarise PATH: an LHE or Delphes file, a goldmine setup, particle, event or training-sample
    file, or a MadMiner file (kind, format, events, weights, cross sections, parameters)."""
    from goldmine.io.inspection import inspect_file

    summary = inspect_file(path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        click.echo(f"{key:>22}: {value}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--theta", type=float, multiple=True,
              help="Parameter point, one value per parameter in the file's order (repeat the option); "
                   "default: the file's reference benchmark (goldmine: sm), else zero.")
@click.option("--luminosity", type=float, default=None,
              help="Integrated luminosity in pb^-1 [default: 300000, i.e. 300 fb^-1, as MadMiner].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def fisher(path: Path, theta: tuple[float, ...], luminosity: float | None, as_json: bool) -> None:
    """Truth-level and rate-only Fisher information of the event file PATH (goldmine's or
    MadMiner's), streamed in blocks: MadMiner's truth_information."""
    from goldmine.inference.fisher import DEFAULT_LUMINOSITY, event_file_information
    from goldmine.io.events import read_parameter_space

    names = read_parameter_space(path).names
    if theta and len(theta) != len(names):
        raise click.BadParameter(f"{len(theta)} values for the {len(names)} parameters {list(names)}",
                                 param_hint="--theta")
    information = event_file_information(path, list(theta) if theta else None,
                                         DEFAULT_LUMINOSITY if luminosity is None else luminosity)
    if as_json:
        click.echo(json.dumps(information, indent=2))
        return
    for key in ("parameters", "theta", "luminosity_pb", "events", "cross_section_pb"):
        click.echo(f"{key:>16}: {information[key]}")
    for key in ("truth", "rate"):
        click.echo(f"{key:>16}:")
        for row in information[key]:
            click.echo(" " * 18 + "  ".join(f"{value:12.6g}" for value in row))


@main.command()
@click.argument("background", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("patches", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object only (no table).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@click.option("--upper-limits", is_flag=True, help="Also compute observed and expected upper limits on μ (95% CL).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Exclusion contour over the first two masses (PNG/PDF by suffix).")
@_plot_options
@click.option("-j", "--workers", type=int, default=None, help="Processes (default: available CPUs).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def reinterpret(background: Path, patches: tuple[str, ...], as_json: bool, output: Path | None, upper_limits: bool,
                plot_file: Path | None, labels: tuple[str, str], fixed: dict[int, float], title: str | None,
                workers: int | None, progress: bool) -> None:
    """CLs of signal PATCHES on the background-only workspace BACKGROUND, like `pyhf cls`, converged.

    \b
    Each PATCH is
      FILE        a JSON-patch file (as on HEPData; name: the stem without "patch."),
                  or a pyhf patchset (all its members)
      FILE:NAME   one member of a pyhf patchset
    Prints {name: {"CLs_obs", "CLs_exp" (5 values, pyhf's order), "status", ...}}; status is
    "ok", "ill_conditioned" (two tight minimisers disagree) or "no_sensitivity" (q_mu,A = 0);
    CLs values are null unless ok or ill_conditioned.
    """
    from goldmine.io.atomic import atomic_output
    from goldmine.publish.contour import plot_exclusion
    from goldmine.publish.reinterpret import load_patches, read_json
    from goldmine.publish.reinterpret import reinterpret as reinterpret_patches

    logging.getLogger("pyhf").setLevel(logging.WARNING)  # one INFO line per parameter per patch otherwise
    results = reinterpret_patches(read_json(background), load_patches(patches), workers, upper_limits, progress)
    text = json.dumps(results, indent=2)
    if output:
        with atomic_output(output) as temporary:
            temporary.write_text(text + "\n")
    if plot_file:
        plot_exclusion(results, plot_file, labels=labels, fixed=fixed, title=title)
    if as_json:
        click.echo(text)
        return
    for name, result in results.items():
        observed = "null" if result["CLs_obs"] is None else f"{result['CLs_obs']:.6g}"
        click.echo(f"{name:>28}: CLs_obs {observed:>12}  {result['status']}")


@main.group()
def design() -> None:
    """Experiment design: the setting of the config's `design.variable` (√s) in `design.range` that
    maximises the expected information gain about θ, EIG = ½ log det(1 + Σ0 F), by Bayesian
    optimisation (BoTorch: a GP surrogate and q-batch noisy expected improvement).

    \b
    `run` does it all in one process; the workflow (workflow/rules/design.smk) runs the steps as jobs:
      propose    the settings of a round (Sobol points, then the surrogate's proposals)
      evaluate   EIG ± MC error of the events detected at one setting
      summarise  design.json (recommendation, history, surrogate) and its plot
    With a `measurement` section (workflow/rules/measurement.smk), the measurement from pseudo-data
    at the recommended and at the naive setting:
      measurement-configs  the analysis at each of the two settings
      compare              measurement.json, its table and plot, from the limits.json of each
    """


_DESIGN_PLOT = click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
                            help="Output: the surrogate's mean and band with the evaluated points (PNG; a PDF "
                                 "beside it).")


def _design_summary(document: dict) -> str:
    recommendation = document["recommendation"]
    return (f"{len(document['history'])} evaluations, recommended {document['meta']['variable']} = "
            f"{recommendation['setting']:.4g} (EIG {recommendation['eig']:.4g} ± {recommendation['eig_std']:.2g} nats)")


@design.command("run")
@_CONFIG
@click.option("--setup", "setup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Setup file (benchmarks); default: made from the config in a temporary folder.")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes evaluating the settings of a round in parallel.")
@_OUTPUT
@_DESIGN_PLOT
def design_run(config_path: Path, setup_file: Path | None, workers: int, output: Path, plot_file: Path) -> None:
    """The whole loop in this process: writes OUTPUT (design.json) and the plot."""
    from goldmine import api

    document = api.design(_load(config_path), output, plot_file, setup=setup_file, workers=workers)
    _done(_design_summary(document))


@design.command("propose")
@_CONFIG
@click.option("--round", "round_number", type=click.IntRange(min=0), required=True, help="Round (0: Sobol points).")
@click.option("--proposal", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output: the round's settings (JSON).")
@click.option("--point-config", "point_configs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              required=True, help="Output: the configuration at each setting, one per point of the round (repeat).")
@click.argument("evaluations", nargs=-1, type=_EXISTING_FILE)
def design_propose(config_path: Path, round_number: int, proposal: Path, point_configs: tuple[Path, ...],
                   evaluations: tuple[Path, ...]) -> None:
    """The settings of a round from the EVALUATIONS of the rounds before (`goldmine design evaluate`)."""
    from goldmine import stages

    settings = stages.design_propose(_load(config_path), round_number, evaluations, proposal, point_configs)
    _done(f"round {round_number}: {', '.join(f'{value:.4g}' for value in settings)}")


@design.command("evaluate")
@_CONFIG
@click.option("--events", "event_file", type=_EXISTING_FILE, required=True,
              help="The events detected at the setting (`goldmine detect` with the point's config).")
@click.option("--round", "round_number", type=click.IntRange(min=0), required=True)
@click.option("--index", type=click.IntRange(min=0), required=True, help="The point within the round.")
@_OUTPUT
def design_evaluate(config_path: Path, event_file: Path, round_number: int, index: int, output: Path) -> None:
    """EIG ± MC error of the point whose configuration is --config and whose events are --events."""
    from goldmine import stages

    result = stages.design_evaluate(_load(config_path), event_file, round_number, index, output)
    _done(f"{result['setting']:.4g}: EIG {result['eig']:.4g} ± {result['eig_error']:.2g} nats")


@design.command("summarise")
@_CONFIG
@_OUTPUT
@_DESIGN_PLOT
@click.argument("evaluations", nargs=-1, required=True, type=_EXISTING_FILE)
def design_summarise(config_path: Path, output: Path, plot_file: Path, evaluations: tuple[Path, ...]) -> None:
    """design.json (the recommendation, the history, the surrogate on a grid) and the plot, from all EVALUATIONS."""
    from goldmine import stages

    _done(_design_summary(stages.design_summarise(_load(config_path), evaluations, output, plot_file)))


@design.command("measurement-configs")
@_CONFIG
@click.option("--design", "design_file", type=_EXISTING_FILE, required=True, help="design.json (its recommendation).")
@click.option("--setup", "setup_file", type=_EXISTING_FILE, required=True,
              help="The design's setup file (measurement.span evaluates the information at each setting).")
@click.option("--chosen", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output: the configuration at the recommended setting (YAML).")
@click.option("--naive", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output: the configuration at measurement.naive (YAML).")
def design_measurement_configs(config_path: Path, design_file: Path, setup_file: Path, chosen: Path,
                               naive: Path) -> None:
    """The analysis at the design's recommended setting and at the naive one, for the measurement."""
    from goldmine import stages

    settings = stages.design_measurement_configs(_load(config_path), design_file, setup_file,
                                                 {"chosen": chosen, "naive": naive})
    _done(", ".join(f"{label} {value:.4g}" for label, value in settings.items()))


@design.command("compare")
@_CONFIG
@click.option("--design", "design_file", type=_EXISTING_FILE, required=True, help="design.json.")
@click.option("--chosen", type=_EXISTING_FILE, required=True,
              help="limits.json of `goldmine infer --data` at the recommended setting.")
@click.option("--naive", type=_EXISTING_FILE, required=True, help="limits.json at the naive setting.")
@_OUTPUT
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output: q and the intervals at both settings (PNG; a PDF beside it).")
@click.option("--table", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output: the table (text).")
def design_compare(config_path: Path, design_file: Path, chosen: Path, naive: Path, output: Path, plot_file: Path,
                   table: Path) -> None:
    """measurement.json: best fit and intervals from the data at the recommended and at the naive setting."""
    from goldmine import stages
    from goldmine.experiment.measurement import measurement_table

    document = stages.design_measurement(_load(config_path), design_file, {"chosen": chosen, "naive": naive}, output,
                                         plot_file, table)
    click.echo(measurement_table(document), nl=False)


@main.command()
@click.argument("workspace", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("limits_file", metavar="LIMITS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for BkgOnly.json, patchset.json and eft_workspace.json.")
@click.option("--inspire", default="ins0000000", show_default=True,
              help="The analysis's INSPIRE record (ins + 7 digits), which pyhf's patchset schema requires.")
def publish(workspace: Path, limits_file: Path, output: Path, inspire: str) -> None:
    """Publish the histogram likelihood of a finished run (WORKSPACE and LIMITS of `goldmine infer`).

    \b
    BkgOnly.json       the expectation at the reference point (SM) as background, Asimov data
    patchset.json      one patch per grid point of LIMITS: signal = ν(θ) − ν(SM), POI mu
    eft_workspace.json the morphing workspace: θ enters as the monomial normfactors
    `goldmine reinterpret OUT/BkgOnly.json OUT/patchset.json` gives CLs of every grid point.
    """
    from goldmine import stages

    paths = stages.publish(workspace, limits_file, output, inspire)
    _done(", ".join(str(path) for path in paths.values()))


@main.command("reinterpret-merge")
@click.argument("blocks", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_OUTPUT
@click.option("--best-expected", is_flag=True,
              help="BLOCKS are the results of different signal regions on the same points: keep, per point, "
                   "the region with the lowest median expected CLs (and name it).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the exclusion contours over the first two masses (format from the suffix).")
@_plot_options
def reinterpret_merge(blocks: tuple[Path, ...], output: Path, best_expected: bool, plot_file: Path | None,
                      labels: tuple[str, str], fixed: dict[int, float], title: str | None) -> None:
    """Merge the results of `goldmine reinterpret -o BLOCK.json` over blocks of patches into one JSON (-o),
    keyed by patch name in the order of BLOCKS; with --best-expected, combine signal regions instead."""
    from goldmine.exceptions import ReinterpretError
    from goldmine.io.atomic import atomic_output
    from goldmine.publish.contour import best_expected as combine
    from goldmine.publish.contour import plot_exclusion
    from goldmine.publish.reinterpret import merge_results, read_json

    if best_expected:
        regions = {path.stem: read_json(path) for path in blocks}  # a region is named by its file
        if len(regions) != len(blocks):
            raise ReinterpretError(f"--best-expected names each region by its file's stem; two files share one: "
                                   f"{', '.join(str(path) for path in blocks)}")
        results = combine(regions)
    else:
        results = merge_results([read_json(path) for path in blocks], [str(path) for path in blocks])
    with atomic_output(output) as temporary:
        temporary.write_text(json.dumps(results, indent=2) + "\n")
    if plot_file:
        plot_exclusion(results, plot_file, labels=labels, fixed=fixed, title=title)
    _done(f"{output}: {len(results)} patches from {len(blocks)} {'regions' if best_expected else 'blocks'}")


@main.command("signal-patches")
@_CONFIG
@click.option("--events", "event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The analysis's event file (goldmine merge).")
@click.option("--background", "background_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The published background-only workspace.")
@_OUTPUT
def signal_patches(config_path: Path, event_file: Path, background_file: Path, output: Path) -> None:
    """A pyhf patchset that adds this analysis's signal to a published background-only workspace,
    one patch per θ of a grid (config section `reinterpret`: the published bins as ranges of an
    observable). `goldmine reinterpret BACKGROUND OUTPUT --plot` then gives CLs per θ and the
    excluded region."""
    from goldmine import stages

    count = stages.signal_patches(_load(config_path), event_file, background_file, output)
    _done(f"{output}: {count} patches")


if __name__ == "__main__":
    sys.exit(main())

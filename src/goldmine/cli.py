"""The ``goldmine`` command line: one sub-command per workflow stage, plus ``inspect``.

Every stage runs the same by hand, inside Snakemake, in a container or on REANA.
"""

from __future__ import annotations

import json
import logging
import sys
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
_OUTPUT = click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output file.")


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
      shower    Pythia 8 shower of the LHE events (optional)
      detect    detector simulation and observables (-> HDF5 event file)
      merge     gather event files
      mine      training samples with joint likelihood ratio and score
      train     train an estimator (SALLY, SALLINO, CARL, ROLR, RASCAL, ALICE, ALICES,
                CASCAL, their morphing-aware variants, NDE, SCANDAL)
      infer     Fisher information and expected limits of every method
      plot      figures for the report
    Tools:
      inspect   summarise an LHE or HDF5 file
      check     validate a configuration file
      reinterpret  CLs of published pyhf signal patches (converged fits)
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path), default="config/config.yaml")
def check(config_path: Path) -> None:
    """Validate CONFIG_PATH against the schema and print it with defaults filled in."""
    import yaml

    click.echo(yaml.safe_dump(_load(config_path), sort_keys=False))


@main.command()
@_CONFIG
@_OUTPUT
def setup(config_path: Path, output: Path) -> None:
    """Choose the benchmark basis (minimal morphing weights) and write the setup file."""
    from goldmine import stages

    space = stages.setup(_load(config_path), output)
    click.echo(f"{output}: {len(space.benchmark_names)} benchmarks for {list(space.names)}")


@main.command()
@_CONFIG
@click.option("--setup", "setup_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds the generator).")
@_OUTPUT
def generate(config_path: Path, setup_file: Path, chunk: int, output: Path) -> None:
    """Generate one chunk of parton-level events into an LHE file (.lhe or .lhe.gz)."""
    from goldmine import stages

    stages.generate(_load(config_path), setup_file, chunk, output)


@main.command()
@_CONFIG
@click.option("--lhe", "lhe_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--chunk", type=int, default=0, show_default=True, help="Chunk index (seeds Pythia).")
@_OUTPUT
def shower(config_path: Path, lhe_file: Path, chunk: int, output: Path) -> None:
    """Shower an LHE file with Pythia 8 (settings from the config); write a particle file (HDF5)."""
    from goldmine import stages

    n = stages.shower(_load(config_path), lhe_file, chunk, output)
    click.echo(f"{output}: {n} events")


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
    click.echo(f"{output}: {n} events")


@main.command()
@_OUTPUT
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def merge(output: Path, inputs: tuple[Path, ...]) -> None:
    """Merge event files (weights re-normalised by the generated events behind each)."""
    from goldmine.io import events

    n = events.merge(list(inputs), output)
    click.echo(f"{output}: {n} events")


@main.command()
@_CONFIG
@click.option("--events", "event_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def mine(config_path: Path, event_file: Path, output_dir: Path) -> None:
    """Mine the training samples (local score, parameterised ratio) and the test events."""
    from goldmine import stages

    paths = stages.mine(_load(config_path), event_file, output_dir)
    click.echo(" ".join(str(p) for p in paths.values()))


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
@click.option("--progress/--no-progress", default=True, show_default=True)
def train(config_path: Path, method: str, sample_file: Path, setup_file: Path, member: int, output: Path,
          progress: bool) -> None:
    """Train an estimator; writes OUTPUT (state_dict) and OUTPUT with .json (metadata).

    The training state is checkpointed beside OUTPUT after every epoch: run the same
    command again after a crash and it resumes.
    """
    from goldmine import stages

    metadata = stages.train(_load(config_path), method, sample_file, setup_file, output, member, progress)
    history = metadata["history"]
    click.echo(f"{output}: best validation loss {min(history['validation_loss']):.5g} "
               f"at epoch {history['best_epoch'] + 1}")


@main.command()
@_CONFIG
@click.option("--test", "test_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--models", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Folder with METHOD/MEMBER.pt for every configured method.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def infer(config_path: Path, test_file: Path, model_dir: Path, output_dir: Path) -> None:
    """Fisher information and expected limits; writes fisher.json, limits.json, validation.json."""
    from goldmine import stages

    results = stages.infer(_load(config_path), test_file, model_dir, output_dir)
    for method, result in results["limits"].items():
        if not method.startswith("_"):
            click.echo(f"{method:>10}: 68% CL {json.dumps(result['interval_68'])}")


@main.command()
@click.option("--events", "event_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--inference", "inference_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True)
@click.option("--models", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def plot(event_file: Path, inference_dir: Path, model_dir: Path, output_dir: Path) -> None:
    """Figures (PNG and PDF): distributions, Fisher ellipses, limit contours, training curves."""
    from goldmine import plotting

    for path in plotting.plot_all(event_file, inference_dir, model_dir, output_dir):
        click.echo(str(path))


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def inspect(path: Path, as_json: bool) -> None:
    """Summarise an LHE file (events, weights, cross section) or an HDF5 event file."""
    from goldmine.io.inspection import inspect_file

    summary = inspect_file(path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        click.echo(f"{key:>22}: {value}")


@main.command()
@click.argument("background", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("patches", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object only (no table).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@click.option("--upper-limits", is_flag=True, help="Also compute observed and expected upper limits on μ (95% CL).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Exclusion contour over the first two masses (PNG/PDF by suffix).")
@click.option("-j", "--workers", type=int, default=None, help="Processes (default: available CPUs).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def reinterpret(background: Path, patches: tuple[str, ...], as_json: bool, output: Path | None, upper_limits: bool,
                plot_file: Path | None, workers: int | None, progress: bool) -> None:
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
        plot_exclusion(results, plot_file)
    if as_json:
        click.echo(text)
        return
    for name, result in results.items():
        observed = "null" if result["CLs_obs"] is None else f"{result['CLs_obs']:.6g}"
        click.echo(f"{name:>28}: CLs_obs {observed:>12}  {result['status']}")


if __name__ == "__main__":
    sys.exit(main())

"""Toys for an analysis's intervals: the composition the ``coverage`` stage and
``inference.intervals: neyman`` call.

:func:`toy_likelihoods` builds the :class:`~goldmine.inference.coverage.ToyLikelihood` of every
method that has one on the analysis's grid: the exact likelihood (where
:func:`~goldmine.inference.exact.unavailable_because` allows it), the histogram of the
configured observables (without its systematics: the toys have none), SALLY's score
histogram, and every learned ratio (the mean log r̂ of its ensemble members).
:func:`run_coverage` measures their coverage at several true θ; :func:`neyman_results` replaces
the Wilks intervals of the unbinned methods by those of a Neyman construction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.inference import coverage, methods, neyman
from goldmine.inference.exact import from_config, unavailable_because
from goldmine.inference.grid import Grid, analysis_grid
from goldmine.inference.limits import profiled_intervals
from goldmine.inference.results import FORMAT_VERSION, validate
from goldmine.io import events
from goldmine.physics.morphing import Morphed

__all__ = ["coverage_table", "default_true_points", "neyman_results", "run_coverage",
           "toy_likelihoods"]

log = logging.getLogger(__name__)

def toy_likelihoods(config: Mapping[str, Any], observations: np.ndarray, names: Sequence[str], morphed: Morphed,
                    grid: Grid, model_files: Mapping[str, Sequence[Path]], unbinned_only: bool = False
                    ) -> dict[str, coverage.ToyLikelihood]:
    """The toy likelihood of every method of the analysis that has one.

    Args:
        config: the validated configuration.
        observations: the test events' observables, shape (n_events, n_observables).
        names: the observables' names.
        morphed: the test events' weights.
        grid: the grid.
        model_files: method → the model file of each ensemble member.
        unbinned_only: only the exact likelihood and the learned ratios.

    Returns:
        method → likelihood, in the order exact, histogram, then the configured methods
        (SALLINO, whose histogram changes with θ, has none).
    """
    from goldmine.ml import SCORE_METHODS
    from goldmine.ml.estimators import evaluate_log_ratio, evaluate_score
    from goldmine.ml.models import load_model

    luminosity = config["inference"]["luminosity"]
    reference = grid.reference
    result: dict[str, coverage.ToyLikelihood] = {}
    reason = unavailable_because(config)
    if reason is None:
        exact = from_config(config, names)
        integrals = exact.angular_integrals(observations)
        table = coverage.log_ratio_table(
            lambda thetas: exact.log_likelihood_ratio(observations, thetas, reference, integrals), grid.points,
            len(observations))
        result["exact"] = coverage.ToyLikelihood.unbinned(table, morphed, grid, luminosity)
    else:
        log.info("no exact likelihood: %s", reason)
    if not unbinned_only:
        histogram = config["inference"]["histogram"]
        columns = observations[:, [list(names).index(name) for name in histogram["observables"]]]
        index, n_bins = methods.bin_indices(columns, methods.uniform_edges(columns, histogram["bins"]))
        result["histogram"] = coverage.ToyLikelihood.binned(index, n_bins, morphed, grid, luminosity)
    for method, paths in model_files.items():
        members = [load_model(path)[0] for path in paths]
        if method in SCORE_METHODS:
            if method == "sally" and not unbinned_only:
                scores = np.mean([evaluate_score(member, observations) for member in members], axis=0)
                bins = config["inference"]["score_histogram"]["bins"]
                edges = methods.quantile_edges(scores, morphed(reference), bins)
                result[method] = coverage.ToyLikelihood.binned(*methods.bin_indices(scores, edges), morphed, grid,
                                                               luminosity)
            continue
        table = coverage.log_ratio_table(
            lambda thetas, members=members: np.mean([evaluate_log_ratio(m, observations, thetas) for m in members],
                                                    axis=0),
            grid.points, len(observations))
        result[method] = coverage.ToyLikelihood.unbinned(table, morphed, grid, luminosity)
    return result


def default_true_points(likelihood: coverage.ToyLikelihood, morphed: Morphed, grid: Grid) -> list[int]:
    """The reference, and per parameter the points of its profile line nearest the upper ends of
    the 68% and the 95% CL intervals (Asimov data): inside the 95% region and at its edge.

    Returns:
        flat grid indices, without repeats, the reference first.
    """
    asimov = likelihood.q(likelihood.luminosity * morphed(grid.reference)[None])[0].reshape(grid.shape)
    reference = int(np.argmin(np.linalg.norm(grid.points - grid.reference, axis=1)))
    points = [reference]
    for level in methods.CONFIDENCE_LEVELS.values():
        for k, interval in enumerate(profiled_intervals(grid.axes, asimov, level)):
            if interval.high is not None:
                line = coverage.profile_line(asimov, grid, k)
                index = int(line[np.argmin(np.abs(grid.axes[k] - interval.high))])
                if index not in points:
                    points.append(index)
    return points


def run_coverage(config: Mapping[str, Any], test_file: str | Path, model_files: Mapping[str, Sequence[Path]],
                 n_toys: int, seed: int, true_indices: Sequence[int] | None = None,
                 neyman_toys: int | None = None) -> dict[str, Any]:
    """Coverage of every method's intervals, from toys drawn from the test events.

    Args:
        config: the validated configuration.
        test_file: the test events (held out from training).
        model_files: method → the model file of each ensemble member.
        n_toys: toys per true θ.
        seed: of the toys.
        true_indices: the true θ as flat grid indices; default :func:`default_true_points` of
            the exact likelihood (else the histogram).
        neyman_toys: toys per profile-line point of a Neyman construction of the unbinned
            methods, which are then reported twice (``<method>`` and ``<method>:neyman``);
            None: no Neyman construction.

    Returns:
        the coverage document: ``{"meta": {...}, "points": [...]}`` (see
        :func:`goldmine.inference.coverage.coverage`), validated against
        ``goldmine/schemas/coverage.schema.json``.
    """
    space = events.read_parameter_space(test_file)
    names = list(events.read_observable_names(test_file))
    test = events.read(test_file)
    morphed = space.morphing.morph(test.weights)
    grid = analysis_grid(config, space)
    luminosity = config["inference"]["luminosity"]
    likelihoods = toy_likelihoods(config, test.observations, names, morphed, grid, model_files)
    if true_indices is None:
        true_indices = default_true_points(likelihoods.get("exact", likelihoods["histogram"]), morphed, grid)
    rng = np.random.default_rng(seed)
    critical = {}
    if neyman_toys is not None:
        for method, likelihood in list(likelihoods.items()):
            if likelihood.rows is None:
                asimov = likelihood.q(luminosity * morphed(grid.reference)[None])[0]
                critical[f"{method}:neyman"] = neyman.critical_values(likelihood, morphed, grid, asimov, neyman_toys,
                                                                      rng)
                likelihoods[f"{method}:neyman"] = likelihood
    points = coverage.coverage(likelihoods, morphed, grid, true_indices, luminosity, n_toys, rng, critical)
    meta = {"format_version": FORMAT_VERSION, "parameters": list(grid.names),
            "axes": [axis.tolist() for axis in grid.axes], "reference": grid.reference.tolist(),
            "luminosity_pb": float(luminosity), "toys": n_toys, "neyman_toys": neyman_toys, "seed": seed,
            "test_events": len(test.observations), "confidence_levels": dict(methods.CONFIDENCE_LEVELS)}
    document = {"meta": meta, "points": points}
    validate(document, "coverage")
    return document


def neyman_results(config: Mapping[str, Any], observations: np.ndarray, names: Sequence[str], morphed: Morphed,
                   grid: Grid, results: Mapping[str, methods.MethodResult],
                   model_files: Mapping[str, Sequence[Path]]) -> dict[str, methods.MethodResult]:
    """The exact likelihood's and the learned ratios' results with Neyman intervals (``inference.neyman``)."""
    settings = config["inference"]["neyman"]
    rng = np.random.default_rng(settings["seed"])
    likelihoods = toy_likelihoods(config, observations, names, morphed, grid, model_files, unbinned_only=True)
    return {method: neyman.construct(results[method], likelihood, morphed, grid, settings["toys"], rng)
            for method, likelihood in likelihoods.items() if method in results and results[method].q is not None}


def coverage_table(document: Mapping[str, Any]) -> list[str]:
    """The coverage document as a Markdown table: one row per true θ, method and parameter.

    An asterisk marks a coverage more than two binomial errors below its level.
    """
    labels = list(document["meta"]["confidence_levels"])
    head = ["θ_true (" + ", ".join(document["meta"]["parameters"]) + ")", "method", "parameter"]
    lines = ["| " + " | ".join(head + [f"{label}% CL coverage" for label in labels]) + " |",
             "|" + "---|" * (len(head) + len(labels))]
    for point in document["points"]:
        theta = "(" + ", ".join(f"{value:+.3f}" for value in point["theta"]) + ")"
        for method, entry in point["methods"].items():
            for name in document["meta"]["parameters"]:
                cells = []
                for label in labels:
                    cell = entry[label][name]
                    mark = " *" if cell["undercovers"] else ""
                    cells.append(f"{cell['coverage']:.3f} ± {cell['error']:.3f}{mark}")
                lines.append(f"| {theta} | {method} | {name} | " + " | ".join(cells) + " |")
    return lines

"""Experiment design: the EIG of a setting of an experiment variable, and the Bayesian-optimisation loop.

An evaluation runs the analysis's own stages at one setting (generate → detect → truth Fisher
information of the detected events) and turns the information into the EIG about θ under the
prior of the ``design`` section (:mod:`goldmine.experiment.eig`). The loop evaluates a space-filling
first round, then proposes ``batch_size`` settings per round from the GP surrogate
(:mod:`goldmine.experiment.surrogate`); the settings of a round are evaluated in parallel. The
Snakemake workflow (``workflow/rules/design.smk``) runs the same steps as jobs, one command
each: :func:`propose_round`, :func:`setting_config`, :func:`evaluate_events`, :func:`design_document`.
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.exceptions import ConfigError
from goldmine.experiment.eig import information_gain_of, prior_covariance

__all__ = ["VARIABLES", "design_document", "evaluate_events", "evaluate_setting", "evaluation_index",
           "propose_round", "round_sizes", "run_design", "setting_config"]

#: experiment variables: name → (config section, key) that a setting replaces.
VARIABLES = {"sqrt_s": ("process", "sqrt_s")}


def _settings(config: Mapping[str, Any]) -> Mapping[str, Any]:
    if "design" not in config:
        raise ConfigError("config key 'design': experiment design needs the section 'design' (variable, range, "
                          "prior width, rounds)")
    return config["design"]


def round_sizes(config: Mapping[str, Any]) -> list[int]:
    """Evaluations per round: ``initial_points``, then ``batch_size`` for each of ``rounds``.

    Example:
        >>> round_sizes({"design": {"initial_points": 4, "batch_size": 2, "rounds": 3}})
        [4, 2, 2, 2]
    """
    design = _settings(config)
    return [design["initial_points"]] + [design["batch_size"]] * design["rounds"]


def evaluation_index(config: Mapping[str, Any], round_number: int, index: int) -> int:
    """The evaluation's number over all rounds, which seeds its generator and detector (``--chunk``).

    Example:
        >>> evaluation_index({"design": {"initial_points": 4, "batch_size": 2, "rounds": 3}}, 2, 1)
        7
    """
    return sum(round_sizes(config)[:round_number]) + index


def setting_config(config: Mapping[str, Any], value: float) -> dict[str, Any]:
    """The analysis at one setting: the design variable set to ``value``, ``design.events`` events in one chunk.

    Raises:
        ConfigError: naming ``design.range`` when ``value`` lies outside it.
    """
    design = _settings(config)
    low, high = design["range"]
    if not low <= value <= high:
        raise ConfigError(f"config key 'design.range': the setting {value} lies outside [{low}, {high}]")
    section, key = VARIABLES[design["variable"]]
    changed = copy.deepcopy(dict(config))
    changed[section][key] = float(value)
    changed["generation"] = dict(changed["generation"], chunks=1, events_per_chunk=design["events"])
    return changed


def evaluate_events(config: Mapping[str, Any], event_file: str | Path) -> dict[str, Any]:
    """The EIG ± MC error of the experiment whose events (at one setting) are ``event_file``.

    The Fisher information is the truth-level one at the file's reference point (the prior
    mean), scaled to the design's budget: ``design.luminosity`` (default ``inference.luminosity``)
    or, with ``design.budget: events``, the luminosity that gives ``design.budget_events``
    selected events at this setting.

    Returns:
        dict: ``setting``, ``eig``, ``eig_error``, ``luminosity_pb``, ``fisher`` (at that
        luminosity), ``cross_section_pb`` (selected events) and ``events`` (simulated).
    """
    from goldmine.inference.fisher import event_file_information

    design = _settings(config)
    information = event_file_information(event_file, luminosity=1.0)
    prior = prior_covariance(design["prior_width"], information["parameters"])
    if design["budget"] == "events":
        gain = information_gain_of(information, prior, events=design["budget_events"])
    else:
        gain = information_gain_of(information, prior, luminosity=design.get("luminosity",
                                                                             config["inference"]["luminosity"]))
    section, key = VARIABLES[design["variable"]]
    return {"setting": float(config[section][key]), **gain, "parameters": information["parameters"],
            "cross_section_pb": information["cross_section_pb"], "events": information["events"]}


def evaluate_setting(config: Mapping[str, Any], setup: str | Path, value: float, evaluation: int,
                     directory: str | Path) -> dict[str, Any]:
    """One evaluation in-process: generate and detect ``design.events`` events at ``value``
    (seeded by the evaluation's number) into ``directory``, then :func:`evaluate_events`."""
    from goldmine import stages

    changed = setting_config(config, value)
    lhe_file, event_file = Path(directory) / f"{evaluation}.lhe.gz", Path(directory) / f"{evaluation}.h5"
    stages.generate(changed, setup, evaluation, lhe_file)
    stages.detect(changed, setup, lhe_file, evaluation, event_file)
    lhe_file.unlink()
    return evaluate_events(changed, event_file)


def propose_round(config: Mapping[str, Any], round_number: int,
                  evaluations: Sequence[Mapping[str, Any]]) -> list[float]:
    """The settings of a round: Sobol points in round 0, else the GP's q-batch proposal from all evaluations.

    Seeds: ``design.seed`` for the first round, ``design.seed + round`` for the acquisition.
    """
    from goldmine.experiment.surrogate import fit_surrogate, initial_settings, propose

    design = _settings(config)
    bounds = tuple(design["range"])
    if round_number == 0:
        return initial_settings(design["initial_points"], bounds, design["seed"])
    surrogate = fit_surrogate([e["setting"] for e in evaluations], [e["eig"] for e in evaluations],
                              [e["eig_error"] for e in evaluations], bounds)
    return propose(surrogate, design["batch_size"], design["seed"] + round_number)


def design_document(config: Mapping[str, Any], evaluations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """design.json: the recommendation, the history and the final surrogate on a dense grid.

    The recommended setting maximises the surrogate's posterior mean (not the noisiest lucky
    evaluation) over ``design.grid_points`` settings spanning the range.
    """
    from goldmine.experiment.surrogate import fit_surrogate

    design = _settings(config)
    bounds = tuple(design["range"])
    history = sorted(evaluations, key=lambda e: (e["round"], e["index"]))
    surrogate = fit_surrogate([e["setting"] for e in history], [e["eig"] for e in history],
                              [e["eig_error"] for e in history], bounds)
    grid = np.linspace(*bounds, design["grid_points"])
    mean, std = surrogate.posterior(grid)
    best = int(np.argmax(mean))
    return {
        "meta": {"variable": design["variable"], "range": list(bounds), "budget": design["budget"],
                 "prior_width": design["prior_width"], "parameters": history[0]["parameters"],
                 "rounds": design["rounds"], "batch_size": design["batch_size"],
                 "initial_points": design["initial_points"], "events_per_evaluation": design["events"],
                 "seed": design["seed"], "acquisition": "qLogNoisyExpectedImprovement (BoTorch)",
                 "eig_units": "nats"},
        "recommendation": {"setting": float(grid[best]), "eig": float(mean[best]), "eig_std": float(std[best])},
        "history": [dict(e) for e in history],
        "surrogate": {"settings": grid.tolist(), "mean": mean.tolist(), "std": std.tolist()},
    }


def run_design(config: Mapping[str, Any], setup: str | Path, workers: int = 1,
               directory: str | Path | None = None) -> dict[str, Any]:
    """The whole Bayesian-optimisation loop in this process (the workflow runs it as jobs).

    Args:
        config: the validated configuration, with a ``design`` section.
        setup: the setup file (benchmarks; they do not depend on the design variable).
        workers: processes that evaluate the settings of a round in parallel.
        directory: where the event files of the evaluations go; default a temporary folder, removed.

    Returns:
        dict: the design document (:func:`design_document`).
    """
    evaluations: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        folder = Path(directory or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        # One evaluation costs less than starting a process pool: none for one worker.
        mapper = stack.enter_context(ProcessPoolExecutor(workers)).map if workers > 1 else map
        for round_number in range(len(round_sizes(config))):
            settings = propose_round(config, round_number, evaluations)
            numbers = [evaluation_index(config, round_number, i) for i in range(len(settings))]
            results = mapper(evaluate_setting, [config] * len(settings), [setup] * len(settings), settings, numbers,
                             [folder] * len(settings))
            evaluations += [dict(result, round=round_number, index=i) for i, result in enumerate(results)]
    return design_document(config, evaluations)

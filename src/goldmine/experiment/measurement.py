"""The measurement a design is for: the parameters measured from pseudo-data at the design's
recommended setting and at a naive one (config section ``measurement``).

Each setting is an ordinary analysis (:func:`measurement_configs`): ``goldmine generate`` and
``goldmine detect`` make its test events and, with another seed, the pool that ``goldmine
pseudodata`` draws the data from at the true θ, and ``goldmine infer --data`` measures them.
:func:`measurement_document` puts the two observed results side by side.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.exceptions import ConfigError
from goldmine.experiment.loop import VARIABLES, evaluate_setting

__all__ = ["LABELS", "measurement_configs", "measurement_document", "measurement_table"]

#: the two measurements: at the design's recommendation and at ``measurement.naive``.
LABELS = ("chosen", "naive")


def measurement_configs(config: Mapping[str, Any], design: Mapping[str, Any],
                        setup: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The analysis at the recommended setting of ``design`` (design.json) and at ``measurement.naive``.

    Each has the design variable set, ``measurement.events`` events per chunk (the workflow
    generates two chunks per setting: the test events and the pseudo-data's pool),
    ``finite_differences.grid`` (where the parameters do not morph, the setup's benchmarks
    include the grid that ``goldmine infer`` scans) and, with ``measurement.span`` (one
    parameter), its range ``measurement.truth`` ± span σ within the configured range, σ = 1/√F the expected standard
    deviation at that setting and the analysis's luminosity: F is the truth Fisher information
    of a design evaluation there (:func:`goldmine.experiment.loop.evaluate_setting`, seeded
    2000 + the label's number). A grid that resolves the narrow interval at a good setting
    would not reach the ends of the wide one at a poor setting; the surrogate's EIG would
    not do either, far from the evaluated settings.

    Args:
        config: the validated configuration, with ``design`` and ``measurement`` sections.
        design: design.json.
        setup: the setup file of the design's evaluations (needed with ``measurement.span``).

    Example:
        >>> config = {"process": {"sqrt_s": 91.2, "parameters": {"s": [0.2, 0.3]}},
        ...           "generation": {"chunks": 4, "events_per_chunk": 10}, "design": {"variable": "sqrt_s"},
        ...           "measurement": {"naive": 130.0, "events": 500, "truth": [0.23]}}
        >>> configs = measurement_configs(config, {"recommendation": {"setting": 91.5}})
        >>> [(c["process"]["sqrt_s"], c["generation"]["events_per_chunk"]) for c in configs.values()]
        [(91.5, 500), (130.0, 500)]

    Raises:
        ConfigError: when the configuration has no ``measurement`` or ``design`` section, or a
            ``measurement.span`` with more than one parameter or without ``setup``.
    """
    for section in ("design", "measurement"):
        if section not in config:
            raise ConfigError(f"config key {section!r}: the measurement at the design's recommendation needs a "
                              f"{section!r} section")
    settings = config["measurement"]
    section, key = VARIABLES[config["design"]["variable"]]
    values = {"chosen": design["recommendation"]["setting"], "naive": settings["naive"]}
    names = list(config["process"]["parameters"])
    if "span" in settings and (len(names) != 1 or setup is None):
        raise ConfigError(f"config key 'measurement.span': the range from the expected width needs one parameter "
                          f"(not {names}) and the setup file of the design; else give the range in process.parameters")
    configs = {}
    for number, label in enumerate(LABELS):
        changed = copy.deepcopy(dict(config))
        changed[section][key] = float(values[label])
        changed["generation"] = dict(changed["generation"], events_per_chunk=settings["events"])
        changed["finite_differences"] = dict(changed.get("finite_differences", {}), grid=True)
        if "span" in settings:
            with tempfile.TemporaryDirectory() as directory:
                evaluation = evaluate_setting(config, setup, float(values[label]), 2000 + number, directory)
            information = evaluation["fisher"][0][0] / evaluation["luminosity_pb"] * config["inference"]["luminosity"]
            half_width = settings["span"] / np.sqrt(information)
            truth = settings["truth"][0]
            low, high = config["process"]["parameters"][names[0]]
            changed["process"]["parameters"] = {names[0]: [float(max(truth - half_width, low)),
                                                           float(min(truth + half_width, high))]}
        configs[label] = changed
    return configs


def measurement_document(config: Mapping[str, Any], design: Mapping[str, Any],
                         limits: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The measurement at each setting from its limits.json (``goldmine infer --data``).

    Args:
        config: the configuration (``measurement.method``: the method whose observed result counts).
        design: design.json.
        limits: label ("chosen", "naive") → limits.json with an ``observed`` block.

    Returns:
        dict: ``meta`` (parameters, truth, method, luminosity, the design's recommendation and
        number of evaluations) and per label its ``setting``, ``events`` (data), ``best_fit``,
        observed and expected ``intervals`` (68, 95: per parameter low, high, width) and
        whether each observed interval ``contains_truth``.

    Raises:
        ConfigError: when a limits file has no observed result of the method.
    """
    settings = config["measurement"]
    method = settings["method"]
    variable_section, variable_key = VARIABLES[config["design"]["variable"]]
    first = limits[LABELS[0]]["meta"]
    names = first["parameters"]
    truth = np.asarray(settings["truth"], dtype=float)
    measurements = {}
    for label in LABELS:
        document = limits[label]
        entry = document["methods"].get(method, {})
        if "observed" not in entry:
            raise ConfigError(f"config key 'measurement.method': the limits of the {label} setting have no observed "
                              f"result of {method!r} (methods: {list(document['methods'])}; infer needs --data)")
        observed = entry["observed"]
        measurements[label] = {
            "setting": float(design["recommendation"]["setting"] if label == "chosen" else settings["naive"]),
            "events": int(document["meta"]["data"]["events"]),
            "best_fit": dict(zip(names, observed["best_fit"])),
            "intervals": {kind: _widths(intervals) for kind, intervals in
                          (("observed", observed["intervals"]), ("expected", entry["intervals"]))},
            "contains_truth": {level: {name: _contains(interval, value) for (name, interval), value
                                       in zip(per_parameter.items(), truth)}
                               for level, per_parameter in observed["intervals"].items()},
        }
    return {"meta": {"parameters": names, "truth": truth.tolist(), "method": method,
                     "variable": f"{variable_section}.{variable_key}", "luminosity_pb": first["luminosity_pb"],
                     "recommended": design["recommendation"], "evaluations": len(design["history"]),
                     "seed": settings["seed"]},
            **measurements}


def _widths(intervals: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Interval ends per level and parameter, with the width (None where an end is open)."""
    return {level: {name: {"low": i["low"], "high": i["high"],
                           "width": None if i["low"] is None or i["high"] is None else i["high"] - i["low"]}
                    for name, i in per_parameter.items()}
            for level, per_parameter in intervals.items()}


def _contains(interval: Mapping[str, Any], value: float) -> bool:
    """Whether ``value`` lies in the interval (an open end extends to the grid's edge)."""
    return bool((interval["low"] is None or interval["low"] <= value)
                and (interval["high"] is None or value <= interval["high"]))


def measurement_table(document: Mapping[str, Any]) -> str:
    """The two measurements as text: setting, data events, best fit and observed (expected) intervals.

    Example:
        >>> interval = {"low": 0.2, "high": 0.3, "width": 0.1}
        >>> entry = {"setting": 91.0, "events": 9, "best_fit": {"s": 0.25},
        ...          "intervals": {"observed": {"68": {"s": interval}}, "expected": {"68": {"s": interval}}}}
        >>> print(measurement_table({"meta": {"parameters": ["s"], "method": "exact", "variable": "process.sqrt_s",
        ...                                   "truth": [0.25]}, "chosen": entry, "naive": entry}))
        ... # doctest: +NORMALIZE_WHITESPACE
        measurement (exact), truth s = 0.25
        chosen  process.sqrt_s = 91   9 events  s = 0.25  68% CL [0.2, 0.3] (expected width 0.1)
        naive   process.sqrt_s = 91   9 events  s = 0.25  68% CL [0.2, 0.3] (expected width 0.1)
    """
    meta = document["meta"]
    truth = ", ".join(f"{name} = {value:.6g}" for name, value in zip(meta["parameters"], meta["truth"]))
    lines = [f"measurement ({meta['method']}), truth {truth}"]
    for label in LABELS:
        entry = document[label]
        for name in meta["parameters"]:
            levels = "  ".join(
                f"{level}% CL [{_end(interval['low'])}, {_end(interval['high'])}] (expected width "
                f"{_end(entry['intervals']['expected'][level][name]['width'])})"
                for level, per_parameter in entry["intervals"]["observed"].items()
                for interval in (per_parameter[name],))
            lines.append(f"{label:7s} {meta['variable']} = {entry['setting']:.4g}  {entry['events']} events  "
                         f"{name} = {entry['best_fit'][name]:.6g}  {levels}")
    return "\n".join(lines) + "\n"


def _end(value: float | None) -> str:
    return "open" if value is None else f"{value:.6g}"

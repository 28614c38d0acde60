"""The results files other programs read: limits.json and fisher.json, with their schemas.

Both are ``{"meta": {...}, "methods": {...}}`` (schemas ``goldmine/schemas/limits.schema.json``
and ``fisher.schema.json``, format version :data:`FORMAT_VERSION`) and are validated when
built. An interval is ``{"low": x | null, "high": x | null, "flags": [...]}``: null for an
end where q stays below the threshold up to the edge of the grid (the interval is open
there; the edge is no limit). :func:`flag_intervals` marks intervals a physicist would
call impossible. On data (``goldmine infer --data``), each method's entry has an ``observed``
block (q, best fit, intervals from the data; the method's ``intervals`` stay the expected
ones, the median expected band) and ``meta.data`` names the data; files without data are
unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import numpy as np

from goldmine.inference.grid import Grid
from goldmine.inference.limits import Interval
from goldmine.inference.methods import CONFIDENCE_LEVELS, MethodResult
from goldmine.inference.observed import Observed

__all__ = [
    "FORMAT_VERSION",
    "NARROWER_TOLERANCE",
    "fisher_document",
    "flag_intervals",
    "interval_from_json",
    "limits_document",
    "validate",
]

log = logging.getLogger("goldmine")

FORMAT_VERSION = "1.0.0"

#: an interval counts as narrower than the exact one below (1 − this) × its width: on the
#: default run the histogram's 68% interval of c_aa comes out 0.5% narrower than the exact
#: one, the Monte Carlo noise of the finite test sample, not a physics claim.
NARROWER_TOLERANCE = 0.01

EXCLUDES_ASIMOV_POINT = "excludes_asimov_point"
FAILED = "failed"
NARROWER_THAN_EXACT = "narrower_than_exact"


@cache
def _schema(kind: str) -> dict[str, Any]:
    return json.loads(resources.files("goldmine").joinpath(f"schemas/{kind}.schema.json").read_text())


def validate(document: Mapping[str, Any], kind: str) -> None:
    """Check a results document against its schema.

    Args:
        document: the document.
        kind: "limits", "fisher" or "coverage".

    Raises:
        jsonschema.ValidationError: naming the offending path.
    """
    jsonschema.Draft202012Validator(_schema(kind)).validate(document)


def _interval_json(interval: Interval) -> dict[str, Any]:
    return {"low": interval.low, "high": interval.high, "flags": list(interval.flags)}


def interval_from_json(entry: Mapping[str, Any]) -> Interval:
    """An interval read back from limits.json.

    Example:
        >>> interval_from_json({"low": None, "high": 0.1, "flags": []})
        Interval(low=None, high=0.1, flags=())
    """
    return Interval(entry["low"], entry["high"], tuple(entry["flags"]))


def _intervals_json(intervals: Mapping[str, tuple[Interval, ...]], names: tuple[str, ...]) -> dict[str, Any]:
    return {label: {name: _interval_json(i) for name, i in zip(names, per_parameter)}
            for label, per_parameter in intervals.items()}


def flag_intervals(results: Mapping[str, MethodResult], reference: np.ndarray, names: tuple[str, ...],
                   failed: Sequence[Mapping[str, Any]] = (), exact: str = "exact") -> dict[str, MethodResult]:
    """Flag (and log a warning for) every interval that excludes the reference (Asimov) point,
    that is narrower than the exact likelihood's (when ``results`` has ``exact``), or that the
    validation marked ``failed`` (:func:`goldmine.inference.diagnostics.compare_with_exact`).

    Example:
        >>> from goldmine.inference.methods import MethodResult
        >>> results = {"exact": MethodResult(intervals={"68": (Interval(-1.0, 1.0),)}),
        ...            "net": MethodResult(intervals={"68": (Interval(-0.5, 0.5),)})}
        >>> flag_intervals(results, np.zeros(1), ("c",))["net"].intervals["68"][0].flags
        ('narrower_than_exact',)
    """
    failing = {(f["method"], f["confidence_level"], f["parameter"]) for f in failed}
    flagged = {}
    for method, result in results.items():
        intervals = {}
        for label, per_parameter in result.intervals.items():
            reference_intervals = results[exact].intervals[label] if exact in results and method != exact else None
            new = []
            for k, interval in enumerate(per_parameter):
                flags = []
                if not interval.contains(float(reference[k])):
                    flags.append(EXCLUDES_ASIMOV_POINT)
                if reference_intervals is not None and (
                        interval.width < (1 - NARROWER_TOLERANCE) * reference_intervals[k].width):
                    flags.append(NARROWER_THAN_EXACT)
                if (method, label, names[k]) in failing:
                    flags.append(FAILED)
                if flags:
                    log.warning("%s: %s%% CL interval of %s [%s, %s] is flagged %s", method, label, names[k],
                                interval.low, interval.high, ", ".join(flags))
                new.append(dataclasses.replace(interval, flags=tuple(flags)))
            intervals[label] = tuple(new)
        flagged[method] = dataclasses.replace(result, intervals=intervals)
    return flagged


def limits_document(results: Mapping[str, MethodResult], grid: Grid, luminosity: float,
                    observed: Mapping[str, Observed] | None = None, data: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """limits.json: q, intervals and the members' intervals of every method that has q; validated.

    Args:
        results: the expected results, by method.
        grid: the grid.
        luminosity: in pb⁻¹.
        observed: the observed results on data, by method (:mod:`goldmine.inference.observed`).
        data: what the data are, ``{"file": ..., "events": ...}`` (``meta.data``).
    """
    methods = {}
    for method, result in results.items():
        if result.q is None:
            continue
        entry: dict[str, Any] = {"q": result.q.tolist(), "q_exact_below": result.q_exact_below,
                                 "q_interpolation_error": result.q_interpolation_error,
                                 "construction": result.construction,
                                 "intervals": _intervals_json(result.intervals, grid.names)}
        if result.members:
            entry["members"] = [{"intervals": _intervals_json(m.intervals, grid.names)} for m in result.members]
        if observed is not None and method in observed:
            entry["observed"] = {"q": observed[method].q.tolist(), "best_fit": observed[method].best_fit.tolist(),
                                 "intervals": _intervals_json(observed[method].intervals, grid.names)}
            if observed[method].band is not None:
                entry["observed"]["expected_band"] = {label: dict(zip(grid.names, per_parameter))
                                                      for label, per_parameter in observed[method].band.items()}
        methods[method] = entry
    document = {
        "meta": {"format_version": FORMAT_VERSION, "parameters": list(grid.names),
                 "axes": [axis.tolist() for axis in grid.axes], "luminosity_pb": float(luminosity),
                 "reference": grid.reference.tolist(), "confidence_levels": dict(CONFIDENCE_LEVELS)},
        "methods": methods,
    }
    if data is not None:
        document["meta"]["data"] = dict(data)
    validate(document, "limits")
    return document


def fisher_document(results: Mapping[str, MethodResult], grid: Grid, luminosity: float) -> dict[str, Any]:
    """fisher.json: the Fisher information (and ensemble spread) of every method that has one; validated.

    With systematics, ``matrix`` is the information with the nuisance parameters known (projected)
    and ``profiled`` the one with them profiled.
    """
    methods = {}
    for method, result in results.items():
        if result.information is None:
            continue
        methods[method] = {"matrix": np.asarray(result.information).tolist()}
        if result.information_std is not None:
            methods[method]["ensemble_std"] = np.asarray(result.information_std).tolist()
        if result.profiled_information is not None:
            methods[method]["profiled"] = np.asarray(result.profiled_information).tolist()
    document = {
        "meta": {"format_version": FORMAT_VERSION, "parameters": list(grid.names), "luminosity_pb": float(luminosity),
                 "reference": grid.reference.tolist()},
        "methods": methods,
    }
    validate(document, "fisher")
    return document
